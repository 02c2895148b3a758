"""Durable writes: whole files and folders put in place by a rename, so a kill leaves the old version or the new.

A file is written beside its target, flushed to disk and renamed over it (`write_atomic`); an append is one write
flushed to disk (`append_durable`: a kill can cut its last line, which readers detect). A folder cannot be renamed
over a non-empty one, so `replace_folder` renames the old one away, the new one in, then deletes the old, and
`restore` undoes a swap that a kill cut between its two renames.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..engine.repository import REPO, outside

if REPO is None:  # a regular install used outside a checkout: no notebooks/, nowhere for runs/ (never site-packages)
    raise SystemExit(outside())


def shown(path: str | Path) -> str:
    """A path as printed in notebooks: relative to the repository when inside it (no machine paths)."""
    path = Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (renames, new files) to disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Replace `path` by `data` in one rename: readers and a later run see the old file or the new, never a part."""
    path = Path(path)
    tmp = beside(path, "tmp")
    with open(tmp, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    sync_folder(path.parent)


def append_durable(path: str | Path, text: str) -> None:
    """Append whole lines in one write and flush them to disk before returning."""
    with open(path, "ab") as f:
        f.write(text.encode())
        f.flush()
        os.fsync(f.fileno())


def beside(target: Path, role: str) -> Path:
    """The hidden sibling `.name.tmp`, `.name.new` or `.name.old` that a replacement is written to or moved to (same
    folder, so same file system: renames work)."""
    return target.with_name(f".{target.name}.{role}")


def replace_folder(staged: Path, target: Path) -> None:
    """Put the complete folder `staged` in the place of `target` (which may be missing) and delete the old one."""
    old = beside(target, "old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.rename(target, old)
    os.rename(staged, target)
    sync_folder(target.parent)
    shutil.rmtree(old, ignore_errors=True)


def restore(target: Path) -> None:
    """Undo what a killed replace_folder, staging or write_atomic left: the old folder back if the new never arrived,
    leftovers gone."""
    old, new = beside(target, "old"), beside(target, "new")
    beside(target, "tmp").unlink(missing_ok=True)
    if old.exists():
        if target.exists():  # the swap finished; only deleting the old folder was cut short
            shutil.rmtree(old)
        else:
            os.rename(old, target)
            sync_folder(target.parent)
    if new.exists():
        shutil.rmtree(new)
