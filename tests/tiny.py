"""The tiny parameters every notebook test uses: seconds per notebook, the same code path as the defaults."""

TINY = {
    "q1_binary_batch_size": {"epochs": 1, "batch_sizes": [64, 512], "seeds": [0, 1]},
    "q2_ten_digits_grid": {"epochs": 1, "hidden_sizes": [8, 32], "batch_sizes": [1024], "extension_hidden": [64],
                           "noise_top": 2, "noise_seeds": [0, 1]},
    "q3_imbalance": {"epochs": 1, "N_list": [100, 5000], "seeds": [0, 1]},
    "q4_autoencoder": {"epochs": 1, "batch_size": 256},
}
