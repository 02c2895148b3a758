"""A throw-away JupyterLab server from this venv, isolated in a scratch folder, for the browser test to drive."""
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

from mnist_hw.publish.lab import ENABLE

# The user settings of a fresh Lab: every cell attached to the page (no windowing), nothing saved behind the test's
# back; and the news / update announcements plugin disabled (no pop-up over the page).
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}
DISABLED = ["@jupyterlab/apputils-extension:announcements"]


class LabServer:
    """`jupyter lab` on a free localhost port with a token, its config, settings, workspaces and runtime under `home`,
    with the server extension that `make lab` turns on (mnist_hw.publish.lab)."""

    def __init__(self, root: Path, home: Path, env: dict[str, str] | None = None):
        self.root, self.home, self.token = Path(root), Path(home), secrets.token_hex(16)
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None
        self.port: int | None = None
        self.stopped: list[psutil.Process] = []  # the server and its kernels, as they were when stopped
        self.survivors: list[psutil.Process] = []  # those that did not stop when asked

    def __enter__(self) -> "LabServer":
        dirs = {name: self.home / name for name in ("config", "data", "runtime", "settings", "workspaces")}
        for folder in dirs.values():
            folder.mkdir(parents=True, exist_ok=True)
        for plugin, values in SETTINGS.items():
            file = dirs["settings"] / f"{plugin}.jupyterlab-settings"
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(json.dumps(values))
        (dirs["config"] / "labconfig").mkdir(exist_ok=True)
        (dirs["config"] / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {name: True for name in DISABLED}}))
        env = {**os.environ, **self.extra_env, "JUPYTER_CONFIG_DIR": str(dirs["config"]),
               "JUPYTER_DATA_DIR": str(dirs["data"]), "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
               "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
               "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]), "IPYTHONDIR": str(self.home / "ipython")}
        self.log = open(self.home / "server.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", ENABLE, "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
             "--ServerApp.port=0", f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
             "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate"],
            cwd=self.root, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        info = dirs["runtime"] / f"jpserver-{self.process.pid}.json"  # written once the server listens
        deadline = time.monotonic() + 60
        while self.port is None:
            try:
                self.port = json.loads(info.read_text())["port"]
            except (OSError, ValueError):  # not written yet, or half-written
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"JupyterLab did not start; its log:\n{(self.home / 'server.log').read_text()}")
                time.sleep(0.1)
        return self

    def url(self, path: str = "lab") -> str:
        """The address of `path` on this server, with its token."""
        return f"http://127.0.0.1:{self.port}/{path}?token={self.token}"

    def processes(self) -> list[psutil.Process]:
        """The server and every process it started (kernels), while they run."""
        try:
            server = psutil.Process(self.process.pid)
            return [server, *server.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def __exit__(self, *exc) -> None:
        """Shut the server down through its API, which shuts its kernels down. Whatever still runs 30 s later is
        killed and listed in `survivors`, so that a test can fail on it without leaving it behind."""
        self.stopped = self.processes()
        if self.process.poll() is None:
            try:
                urllib.request.urlopen(urllib.request.Request(self.url("api/shutdown"), method="POST"), timeout=10)
            except (OSError, ValueError):  # not answering, or never got a port
                self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            pass
        _, self.survivors = psutil.wait_procs(self.stopped, timeout=10)
        for process in self.survivors:
            process.kill()
        self.process.wait()
        self.log.close()
