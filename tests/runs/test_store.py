"""Records that survive a kill: a group's rows reach all its tables or none, torn lines are dropped and said so,
unfinished groups are retrained and never reported, and a rerun ends with the files a clean run writes."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from mnist_hw.runs import files
from mnist_hw.publish import grade
from mnist_hw.runs import store
from mnist_hw.runs.store import JOURNAL, RowStore, commit

CONTEXT = {"code_version": "c1", "device": "cpu"}
TIMING = ["time_s", "time_share_s"]


def stores(folder):
    return (RowStore(folder / "results.csv", ["cfg", "lr"], CONTEXT),
            RowStore(folder / "curves.csv", ["cfg", "lr", "epoch"], CONTEXT))


def group(i):
    """One stack's rows: its results row and its three epochs of curves."""
    return (pd.DataFrame({"cfg": [i], "lr": [1e-3], "acc": [90.0 + i], "diverged": [False]}),
            pd.DataFrame({"cfg": [i] * 3, "lr": [1e-3] * 3, "epoch": [1, 2, 3], "loss": [1.0, 0.5, 0.25 + i]}))


def commit_groups(folder, ids):
    res, cur = stores(folder)
    for i in ids:
        rows, curves = group(i)
        commit((res, rows), (cur, curves))


def contents(folder):
    return {name: (folder / name).read_bytes() for name in ("results.csv", "curves.csv")}


@pytest.fixture
def clean(tmp_path):
    """The files of three groups committed without interruption."""
    commit_groups(tmp_path / "clean", range(3))
    return contents(tmp_path / "clean")


def test_a_group_reaches_both_tables_as_plain_csv(tmp_path, clean):
    res, cur = stores(tmp_path / "clean")
    assert res.done().cfg.tolist() == [0, 1, 2] and len(cur.done()) == 9
    assert pd.read_csv(tmp_path / "clean" / "results.csv").columns.tolist() == ["cfg", "lr", "acc", "diverged",
                                                                               "code_version", "device"]
    assert res.missing(pd.DataFrame({"cfg": [0, 3], "lr": [0.001, 0.001]})).cfg.tolist() == [3]


@pytest.mark.parametrize("name", ["results.csv", "curves.csv", JOURNAL])
def test_a_torn_last_line_is_dropped_once_with_a_message_and_its_group_retrained(tmp_path, clean, capsys, name):
    folder = tmp_path / "run"
    commit_groups(folder, range(3))
    text = (folder / name).read_bytes()
    (folder / name).write_bytes(text[:text.rstrip(b"\n").rfind(b"\n") + 1 + 7])  # the last line cut after 7 bytes
    res, cur = stores(folder)
    assert res.keys() == {("0", "0.001"), ("1", "0.001")}  # group 2 did not finish: in neither table
    assert sorted(cur.done().cfg.unique()) == [0, 1] and res.keys() == {("0", "0.001"), ("1", "0.001")}
    out = capsys.readouterr().out
    assert out.count("torn last line") == 1 and f"{name}:" in out  # said once, naming the file
    commit_groups(folder, [2])  # the rerun trains it again: no 'already holds rows', no duplicate
    assert contents(folder) == clean


def test_a_half_row_that_kept_its_key_is_never_read_as_finished(tmp_path):
    folder = tmp_path / "run"
    commit_groups(folder, range(2))
    path = folder / "results.csv"
    text = path.read_text()
    path.write_text(text[:text.rstrip("\n").rfind("\n") + 1] + "1,0.001,9")  # key complete, metrics cut
    res, cur = stores(folder)
    assert res.keys() == {("0", "0.001")} and res.done().acc.notna().all()
    assert res.missing(pd.DataFrame({"cfg": [0, 1], "lr": [0.001, 0.001]})).cfg.tolist() == [1]
    assert cur.done().cfg.unique().tolist() == [0]


def test_rows_written_before_a_kill_cut_the_commit_are_not_finished(tmp_path, clean, monkeypatch):
    folder = tmp_path / "run"
    commit_groups(folder, range(2))
    real = store.append_durable

    def killed_at_the_journal(path, text):
        if path.name == JOURNAL:
            raise KeyboardInterrupt  # the process dies after both tables got the rows, before the commit line
        real(path, text)

    monkeypatch.setattr(store, "append_durable", killed_at_the_journal)
    with pytest.raises(KeyboardInterrupt):
        commit_groups(folder, [2])
    monkeypatch.undo()
    res, cur = stores(folder)
    assert len(pd.read_csv(folder / "results.csv")) == 3  # the rows are in the file ...
    assert res.keys() == {("0", "0.001"), ("1", "0.001")} and len(cur.done()) == 6  # ... but not finished
    commit_groups(folder, [2])
    assert contents(folder) == clean


def test_a_retrain_killed_halfway_does_not_revive_the_unfinished_group(tmp_path, clean, monkeypatch):
    """Group 2's results line was torn; its retrain is killed after results.csv got the new row, before curves.csv:
    the old curves and the new row must not add up to a finished group (the old commit line was dropped first)."""
    folder = tmp_path / "run"
    commit_groups(folder, range(3))
    text = (folder / "results.csv").read_bytes()
    (folder / "results.csv").write_bytes(text[:-5])
    for name in ("append_durable", "write_atomic"):
        def killed_at_the_curves(path, text, real=getattr(store, name)):
            if path.name == "curves.csv":
                raise KeyboardInterrupt
            real(path, text)

        monkeypatch.setattr(store, name, killed_at_the_curves)
    with pytest.raises(KeyboardInterrupt):
        commit_groups(folder, [2])
    assert pd.read_csv(folder / "results.csv").cfg.tolist() == [0, 1, 2]  # the retrained row is in the file
    monkeypatch.undo()
    res, cur = stores(folder)
    assert res.keys() == {("0", "0.001"), ("1", "0.001")} and sorted(cur.done().cfg.unique()) == [0, 1]
    commit_groups(folder, [2])
    assert contents(folder) == clean


def test_a_rewrite_for_a_new_column_cannot_lose_rows(tmp_path, monkeypatch):
    folder = tmp_path / "run"
    commit_groups(folder, range(2))
    res, _ = stores(folder)
    before = (folder / "results.csv").read_bytes()
    wider = pd.DataFrame({"cfg": [5], "lr": [1e-3], "acc": [95.0], "diverged": [False], "extra": [7]})

    def killed(src, dst):
        raise KeyboardInterrupt  # killed with the new file written beside the old, before the rename

    monkeypatch.setattr(files.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        res.append(wider)
    monkeypatch.undo()
    assert (folder / "results.csv").read_bytes() == before and res.done().cfg.tolist() == [0, 1]
    res.append(wider)
    table = res.done()
    assert table.cfg.tolist() == [0, 1, 5] and table.extra.isna().tolist() == [True, True, False]
    assert (folder / "results.csv").read_text().startswith(before.decode().splitlines()[0] + ",extra\n")


CHILD = """
import sys
import pandas as pd
from pathlib import Path
from mnist_hw.runs.store import RowStore, commit
folder = Path(sys.argv[1])
context = {"code_version": "c1", "device": "cpu"}
res = RowStore(folder / "results.csv", ["cfg"], context)
cur = RowStore(folder / "curves.csv", ["cfg", "epoch"], context)
for i in range(int(sys.argv[2])):
    commit((res, pd.DataFrame({"cfg": [i], "acc": [i / 7]})),
           (cur, pd.DataFrame({"cfg": i, "epoch": range(1000), "loss": [e / 3 for e in range(1000)]})))
    print(i, flush=True)
"""


@pytest.mark.skipif(os.name != "posix", reason="POSIX only: kills the writer with SIGKILL, which Windows lacks")
def test_killing_a_process_while_it_writes_loses_no_committed_group(tmp_path):
    run = [sys.executable, "-c", CHILD]
    subprocess.run([*run, str(tmp_path / "clean"), "12"], check=True, capture_output=True)
    child = subprocess.Popen([*run, str(tmp_path / "run"), "12"], stdout=subprocess.PIPE, text=True)
    committed = [int(child.stdout.readline()) for _ in range(3)]
    os.kill(child.pid, signal.SIGKILL)  # most likely inside the next group's writes
    child.wait()
    res = RowStore(tmp_path / "run" / "results.csv", ["cfg"], CONTEXT)
    cur = RowStore(tmp_path / "run" / "curves.csv", ["cfg", "epoch"], CONTEXT)
    finished = set(res.done().cfg)
    assert set(committed) <= finished and len(finished) < 12
    assert (cur.done().groupby("cfg").size() == 1000).all() and set(cur.done().cfg) == finished  # never a part
    for i in sorted(set(range(12)) - finished):  # the rerun: the missing groups, nothing twice
        commit((res, pd.DataFrame({"cfg": [i], "acc": [i / 7]})),
               (cur, pd.DataFrame({"cfg": i, "epoch": range(1000), "loss": [e / 3 for e in range(1000)]})))
    assert contents(tmp_path / "run") == contents(tmp_path / "clean")


def sweep(folder, epochs=8):
    """A small grid on synthetic data, six lockstep stacks, rows and curves stored in `folder`."""
    import torch

    from mnist_hw.engine.data import Split, Splits
    from mnist_hw.runs.sweep import sweep_configs
    from mnist_hw.engine.train import CONFIG_KEY, TrainConfig

    g = torch.Generator().manual_seed(0)
    y = torch.arange(400) % 3
    x = torch.randn(400, 20, generator=g) + 3 * torch.nn.functional.one_hot(y, 20).float()
    splits = Splits(Split(x, y), Split(x[:60], y[:60]), Split(x[:60], y[:60]))
    configs = [TrainConfig(hidden=h, lr=1e-2, epochs=epochs, batch_size=b) for b in (4, 8, 16, 32, 64, 128) for h in (4, 8)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same arithmetic in the test process and in the child
    try:
        sweep_configs(configs, lambda s: splits, 3, store=RowStore(folder / "results.csv", CONFIG_KEY, CONTEXT),
                      curves_store=RowStore(folder / "curves.csv", [*CONFIG_KEY, "epoch"], CONTEXT), progress=False)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.skipif(os.name != "posix", reason="POSIX only: kills the writer with SIGKILL, which Windows lacks")
def test_a_sweep_killed_mid_grid_resumes_to_every_row_once(tmp_path):
    """kill -9 of the training process after some stacks, then the same sweep again: the rows a clean run has."""
    (tmp_path / "run").mkdir()
    child = subprocess.Popen([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(Path(__file__).parents[2])!r}); "
                              f"from pathlib import Path; from tests.runs.test_store import sweep; "
                              f"sweep(Path({str(tmp_path / 'run')!r}))"])
    journal = tmp_path / "run" / JOURNAL
    while child.poll() is None and not (journal.exists() and journal.read_bytes().count(b"\n") >= 2):
        time.sleep(0.005)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert journal.read_bytes().count(b"\n") < 6, "the sweep finished before it was killed"
    sweep(tmp_path / "clean")
    sweep(tmp_path / "run")
    for name in ("results.csv", "curves.csv"):
        clean, resumed = (pd.read_csv(tmp_path / f / name) for f in ("clean", "run"))
        assert not resumed.duplicated([c for c in resumed if c not in ("train_loss", *TIMING)]).any()
        pd.testing.assert_frame_equal(resumed.drop(columns=TIMING, errors="ignore"), clean.drop(columns=TIMING, errors="ignore"))


def test_grading_with_a_missing_reference_file_is_a_failed_check(tmp_path, capsys):
    (tmp_path / "rerun").mkdir()
    checks = grade.grade(tmp_path / "empty", {"q4": tmp_path / "rerun"})
    assert [(c.check, c.passed) for c in checks] == [("outputs readable", False)] and "FileNotFoundError" in checks[0].rerun


def row_store(tmp_path, code="c1"):
    return RowStore(tmp_path / "rows.csv", ["method", "lr"], {"code_version": code, "device": "cpu"})


def test_row_store_resumes_by_identity_and_never_doubles(tmp_path):
    s = row_store(tmp_path)
    s.append(pd.DataFrame({"method": ["a", "b"], "lr": [1e-3, 0.01], "f1": [0.5, 0.6]}))
    todo = s.missing(pd.DataFrame({"method": ["a", "b", "c"], "lr": [0.001, 0.01, 0.01]}))
    assert todo.method.tolist() == ["c"]  # 1e-3 read back from the CSV as 0.001 is the same row
    with pytest.raises(ValueError, match="stored once"):
        s.append(pd.DataFrame({"method": ["a"], "lr": [0.001], "f1": [0.9]}))
    s.append(pd.DataFrame({"method": ["c"], "lr": [0.01], "f1": [0.7], "extra": [1]}))  # a new column widens the file
    assert s.done().method.tolist() == ["a", "b", "c"] and len(pd.read_csv(s.path)) == 3


def test_rows_of_other_code_are_neither_reused_nor_deleted(tmp_path):
    row_store(tmp_path, "old").append(pd.DataFrame({"method": ["a"], "lr": [0.1], "f1": [0.5]}))
    new = row_store(tmp_path, "new")
    assert new.done().empty and len(new.missing(pd.DataFrame({"method": ["a"], "lr": [0.1]}))) == 1
    new.append(pd.DataFrame({"method": ["a"], "lr": [0.1], "f1": [0.6]}))
    assert len(pd.read_csv(new.path)) == 2 and new.done().f1.tolist() == [0.6]
