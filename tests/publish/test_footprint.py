"""No command deletes or changes a file it did not create outside its run folder: a run with a relative run_dir,
started from a folder of the user's files, writes its whole run (notebook, CSVs, manifest) there and nowhere else;
grading it writes only into its scratch folder; the repository's files stay as they were."""
import subprocess

from mnist_hw.__main__ import main
from mnist_hw.runs import files


def snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_run_and_grade_touch_nothing_outside_their_folders(mnist_dir, tmp_path, monkeypatch, capsys):
    home = tmp_path / "work"
    (home / "thesis").mkdir(parents=True)
    (home / "thesis" / "chapter1.tex").write_text("mine")
    (home / "q1_binary_batch_size.ipynb").write_text("my own notebook of the same name")
    monkeypatch.chdir(home)
    monkeypatch.setenv("MNIST_HW_RUNS", str(tmp_path / "runs"))
    before, status = snapshot(home), subprocess.run(["git", "status", "--porcelain"], cwd=files.REPO,
                                                    capture_output=True, text=True).stdout
    assert main(["run", "q1", "-p", "run_dir", "mine", "-p", "epochs", "1", "-p", "hidden", "4",
                 "-y", "{batch_sizes: [1024], seeds: [0]}"]) == 0
    run = home / "mine"
    assert {"manifest.json", "results.csv", "q1_binary_batch_size.ipynb"} <= {p.name for p in run.iterdir()}
    main(["grade", "--rerun", "mine", "--questions", "q1", "--scratch", "graded"])  # a tiny run fails its checks
    after = snapshot(home)
    assert {k: v for k, v in after.items() if not k.startswith(("mine/", "graded/"))} == before
    assert sorted({k.split("/")[0] for k in after} - {k.split("/")[0] for k in before}) == ["graded", "mine"]
    assert subprocess.run(["git", "status", "--porcelain"], cwd=files.REPO, capture_output=True,
                          text=True).stdout == status
    assert not (tmp_path / "runs").exists()
