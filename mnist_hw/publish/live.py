"""Notebooks running in papermill processes, shown while they run and stopped when the runner is.

Each notebook runs in a papermill process of its own process group (POSIX: its own session; Windows:
CREATE_NEW_PROCESS_GROUP), whose kernel reports its progress to a small file (mnist_hw.runs.progress). A `Board`
prints a line when a notebook starts, its progress while it runs (the step it is in, units done of the total,
elapsed time and an estimate of what is left) and a line when it ends: in a terminal one updating bar per running
notebook, otherwise plain lines, at least every `every` seconds. `stop` ends papermill and its kernel (which
jupyter_client starts in a session of its own, so it is found (psutil) and ended by process id).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil

from ..runs.progress import read_progress

POSIX = os.name == "posix"
EVERY_ENV = "MNIST_HW_PROGRESS_EVERY"  # seconds between plain progress lines (default 15)


class Stopped(KeyboardInterrupt):
    """The runner was asked to stop (SIGTERM, SIGHUP: its terminal closed, or SIGINT: Ctrl-C); `signal` names which."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signal = signal.Signals(signum)


@contextmanager
def stopping() -> Iterator[None]:
    """Within it, the first SIGTERM, SIGINT or SIGHUP (the terminal closed) raises Stopped in the main thread and later ones are ignored, so that
    the stop itself is not cut short (in another thread, signals are left alone)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = []

    def raise_stopped(signum: int, frame: Any) -> None:
        if not raised:
            raised.append(signum)
            raise Stopped(signum)
    names = [s for s in ("SIGTERM", "SIGINT", "SIGHUP", "SIGBREAK") if hasattr(signal, s)]
    before = {name: signal.signal(getattr(signal, name), raise_stopped) for name in names}
    try:
        yield
    finally:
        for name, handler in before.items():
            signal.signal(getattr(signal, name), handler)


def start(command: list[str], env: dict[str, str], log: IO[bytes]) -> subprocess.Popen:
    """A process in a process group of its own, its output into `log`."""
    group = {"start_new_session": True} if POSIX else {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, **group)


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, children of children included."""
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def stop(proc: subprocess.Popen, grace: float = 2.0) -> None:
    """End a process started by `start` and everything below it: on POSIX a SIGTERM to its group and to every
    descendant (the kernel, in a session of its own), a SIGKILL to those left after `grace` seconds; on Windows the
    whole tree at once (taskkill /T). Finished rows are safe: the row store commits each unit whole."""
    if proc.poll() is not None:
        return
    below = descendants(proc.pid)  # found now, while papermill is still the kernel's parent
    if not POSIX:
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True)
        proc.wait()
        return
    for signum in (signal.SIGTERM, signal.SIGKILL):
        _signal(os.killpg, proc.pid, signum)
        for pid in below:
            _signal(os.kill, pid, signum)
        try:
            proc.wait(grace)
            break
        except subprocess.TimeoutExpired:
            pass
    proc.wait()


def _signal(send: Any, pid: int, signum: int) -> None:
    try:
        send(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def clock(seconds: float) -> str:
    """0:07, 1:23, 1:02:03."""
    m, s = divmod(int(round(seconds)), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}" if m >= 60 else f"{m}:{s:02d}"


def step(state: dict[str, Any], now: float) -> tuple[str, int | None, int | None, float | None]:
    """What a kernel's progress says: the step it is in ('grid: configurations'), units done and total (of the
    current bar, None outside one) and the seconds left for that bar (None when it cannot tell yet)."""
    if not state:
        return "starting the kernel", None, None, None
    phase = state.get("phase")
    where = phase or (f"after {state['last_phase']}" if state.get("last_phase") else "preparing")
    if state.get("desc") is None or state.get("bar_started", 0) < state.get("phase_changed", 0):
        return where, None, None, None  # no bar since the phase began or ended
    done, total, resumed = state.get("done", 0), state.get("total", 0), state.get("resumed", 0)
    left = None
    if done > resumed and total > done:
        left = (now - state["bar_started"]) / (done - resumed) * (total - done)
    return (f"{phase}: {state['desc']}" if phase else state["desc"]), done, total, left


@dataclass
class Watched:
    """One running notebook on the board."""

    label: str
    progress: Path
    expected: float | None = None  # seconds the committed record's run of the same parameters took, when known
    started: float = field(default_factory=time.time)
    shown: str = ""  # the step last printed (plain lines)
    printed: float = 0.0
    bar: Any = None  # the tqdm bar in a terminal

    def status(self, now: float) -> tuple[str, int | None, int | None]:
        """The line's text after the label, with done and total for a bar."""
        what, done, total, left = step(read_progress(self.progress), now)
        elapsed = now - self.started
        text = what + (f" {done}/{total}" if total else "") + f", {clock(elapsed)} elapsed"
        if left is not None:
            text += f", about {clock(left)} left"
        elif self.expected:
            text += (f", about {clock(self.expected - elapsed)} left by the committed record's {clock(self.expected)}"
                     if self.expected > elapsed else f", longer than the committed record's {clock(self.expected)}")
        return text, done, total


class Board:
    """The runner's output while notebooks run (see the module's docstring); safe to call from the job threads."""

    def __init__(self, tty: bool | None = None, every: float | None = None):
        self.tty = sys.stdout.isatty() if tty is None else tty
        self.every = every if every is not None else float(os.environ.get(EVERY_ENV) or 15)
        self.lock = threading.Lock()
        self.running: dict[int, Watched] = {}
        self.processes: dict[int, subprocess.Popen] = {}
        self.stopped: Stopped | None = None

    def say(self, line: str) -> None:
        if self.tty and self.running:
            from tqdm import tqdm
            tqdm.write(line, file=sys.stdout)
        else:
            print(line, flush=True)

    def begin(self, key: int, watched: Watched, line: str) -> None:
        with self.lock:
            self.say(f"{watched.label}: {line}")
            watched.printed = time.time()
            if self.tty:
                from tqdm import tqdm
                # the size from shutil, which falls back to 80 x 24 where a terminal reports none (tqdm would hide the bar)
                size = shutil.get_terminal_size()
                watched.bar = tqdm(total=1, desc=watched.label, file=sys.stdout, leave=False, ncols=size.columns,
                                   nrows=size.lines, bar_format="|{bar:12}| {desc}")
            self.running[key] = watched

    def attach(self, key: int, proc: subprocess.Popen) -> None:
        with self.lock:
            self.processes[key] = proc
            stopped = self.stopped
        if stopped is not None:  # stop() ran before this process existed
            stop(proc)

    def trained(self, key: int) -> bool:
        """Whether a running notebook's kernel said, since it started, that it has trained (Run.phase)."""
        with self.lock:
            watched = self.running.get(key)
        if watched is None:
            return False
        state = read_progress(watched.progress)
        return bool(state.get("trained")) and state.get("updated", 0) >= watched.started

    def end(self, key: int, line: str) -> None:
        with self.lock:
            watched = self.running.pop(key, None)
            self.processes.pop(key, None)
            if watched is not None and watched.bar is not None:
                watched.bar.close()
            self.say(f"{watched.label if watched else ''}: {line}")

    def tick(self) -> None:
        """Refresh every running notebook's bar, or print its line when its step changed or `every` seconds passed."""
        now = time.time()
        with self.lock:
            for w in self.running.values():
                text, done, total = w.status(now)
                if w.bar is not None:
                    w.bar.total, w.bar.n = total or 1, done if total else 0
                    w.bar.set_description_str(f"{w.label}: {text}", refresh=False)
                    w.bar.refresh()
                    continue
                what = text.split(",")[0].rstrip("0123456789/ ")
                if what != w.shown or now - w.printed >= self.every:
                    print(f"{w.label}: {text}", flush=True)
                    w.shown, w.printed = what, now

    def wait(self, futures: list, poll: float = 0.25) -> None:
        """Tick until every future is done."""
        self.wait_until(lambda: all(f.done() for f in futures), poll)

    def wait_until(self, done: Callable[[], bool], poll: float = 0.25) -> None:
        """Tick until done() is true."""
        while not done():
            self.tick()
            time.sleep(poll)

    def stop_all(self, stopped: Stopped) -> list[str]:
        """Stop every running notebook (and any started later); return their labels."""
        with self.lock:
            self.stopped = stopped
            procs, labels = list(self.processes.values()), [w.label for w in self.running.values()]
        threads = [threading.Thread(target=stop, args=(p,)) for p in procs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return labels
