"""The package runs on Windows as well as on Linux and macOS: no POSIX-only call in mnist_hw/ without a guarded
fallback. Each use of a name that exists only on POSIX (os.fork, os.killpg, os.geteuid, os.sched_getaffinity,
os.O_DIRECTORY, signal.SIGKILL, the modules fcntl, resource, pwd, ...) or of a POSIX path (/proc, /dev, /sys) must sit
in a try block or under an if that tests the platform or the name (os.name, sys.platform, platform.system(),
hasattr/getattr). Tests that need POSIX skip elsewhere with a reason (tests/runs/test_store.py, test_folder.py)."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mnist_hw"
POSIX_ONLY = {
    "os": {"fork", "forkpty", "kill", "killpg", "getpgid", "setsid", "setpgrp", "getuid", "geteuid", "getgid",
           "getegid", "sched_getaffinity", "O_DIRECTORY", "O_NOFOLLOW", "nice", "getloadavg", "wait3", "wait4",
           "WNOHANG", "pipe2", "mkfifo", "chown", "lchown", "statvfs", "sync", "fchmod"},
    "signal": {"SIGKILL", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGCHLD", "SIGQUIT", "SIGSTOP", "SIGCONT",
               "SIGPIPE", "alarm", "setitimer", "pause", "siginterrupt", "pthread_kill"},
}
POSIX_MODULES = {"fcntl", "resource", "pwd", "grp", "termios", "tty", "pty", "posix", "crypt"}
POSIX_PATHS = ("/proc", "/dev/", "/sys/")
GUARDS = ("os.name", "sys.platform", "platform.system", "hasattr", "getattr", "POSIX")  # POSIX: a flag of the module


def unguarded(source: str, name: str = "<module>") -> list[str]:
    """'file:line: what' for each POSIX-only use that is neither in a try block nor under a platform test (an if
    around it, or an earlier `if <test>: return` in the same body)."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

    def tests_platform(node: ast.AST) -> bool:
        return any(g in ast.unparse(node) for g in GUARDS)

    def guarded(node: ast.AST) -> bool:
        while node in parents:
            parent = parents[node]
            if isinstance(parent, ast.Try) or (isinstance(parent, (ast.If, ast.IfExp)) and tests_platform(parent.test)):
                return True
            body = next((b for b in (getattr(parent, f, None) for f in ("body", "orelse")) if
                         isinstance(b, list) and any(node is s for s in b)), [])
            before = body[:[id(s) for s in body].index(id(node))] if body else []
            if any(isinstance(s, ast.If) and tests_platform(s.test) and
                   isinstance(s.body[-1], (ast.Return, ast.Raise, ast.Continue, ast.Break)) for s in before):
                return True
            node = parent
        return False

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.attr in POSIX_ONLY.get(node.value.id, ()):
            what = f"{node.value.id}.{node.attr}"
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            what = next((f"import {n}" for n in names if n.split(".")[0] in POSIX_MODULES), None)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(POSIX_PATHS):
            what = repr(node.value)
        else:
            continue
        if what and not guarded(node):
            found.append((node.lineno, node.col_offset, f"{name}:{node.lineno}: {what}"))
    return [text for *_, text in sorted(found)]


def test_no_unguarded_posix_only_call_in_the_package():
    found = [hit for path in sorted(PACKAGE.rglob("*.py"))
             for hit in unguarded(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))]
    assert not found, "POSIX-only, without a try or a platform test around it:\n" + "\n".join(found)


def test_the_check_sees_an_unguarded_call_and_passes_a_guarded_one():
    bare = "import os, signal\nos.kill(1, signal.SIGKILL)\nimport fcntl\nopen('/proc/cpuinfo')\n"
    assert unguarded(bare) == ["<module>:2: os.kill", "<module>:2: signal.SIGKILL", "<module>:3: import fcntl",
                               "<module>:4: '/proc/cpuinfo'"]
    guarded = ("import os, sys, platform\n"
               "try:\n    import fcntl\nexcept ImportError:\n    fcntl = None\n"
               "if os.name == 'posix':\n    os.killpg(1, 9)\n"
               "x = os.sched_getaffinity(0) if hasattr(os, 'sched_getaffinity') else None\n"
               "if platform.system() == 'Linux':\n    open('/proc/cpuinfo')\n"
               "def stop(pid):\n    if not POSIX:\n        return\n    os.killpg(pid, signal.SIGKILL)\n")
    assert unguarded(guarded) == []
