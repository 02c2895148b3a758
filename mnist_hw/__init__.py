"""mnist_hw: one-hidden-layer MLPs on MNIST for the four questions of the assignment."""
