"""The row store: a run's result tables as CSVs, rows committed as each unit of work finishes and resumed by identity."""
from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .files import append_durable, shown, write_atomic

JOURNAL = "commits.jsonl"  # beside the CSVs: one line per committed transaction (see commit)
_LOCK = threading.RLock()
_REPORTED: set[tuple[Path, str]] = set()


class RowStore:
    """Rows of one table in a CSV, committed as each group finishes, so an interrupted run keeps them.

    A row is identified by its `key` columns plus a fixed `context` (code version, device) stored with it:
    resuming reuses only rows of the same identity and context, and appending a row that is already there is
    an error, so a table can never hold a row twice. Rows of another context stay in the file, unused. A row
    counts as finished only once its transaction is committed (see `commit`): rows of a transaction that a kill
    cut short, and a torn last line, are never read, and the next commit drops them from the file.
    """

    def __init__(self, path: str | Path, key: Sequence[str], context: Mapping[str, Any] | None = None):
        self.path, self.key, self.context = Path(path), list(key), dict(context or {})

    def __repr__(self) -> str:
        return f"RowStore({self.path.name}, key={self.key})"

    @property
    def identity(self) -> list[str]:
        """The columns that name a row in the journal: its key and its context."""
        return [*self.key, *self.context]

    def _state(self, folder: _Snapshot | None = None) -> _State:
        folder = folder or _Snapshot(self.path.parent)
        table = folder.file(self.path.name)
        mine = [table.matches(r, self.context) for r in table.records]
        done = folder.finished(self.path.name)
        return _State(table, [m and d for m, d in zip(mine, done)], [not m or d for m, d in zip(mine, done)])

    def _read(self, state: _State | None = None) -> pd.DataFrame:
        """The finished rows of this context, with the context columns."""
        state = state or self._state()
        if not state.table.header:
            return pd.DataFrame(columns=self.identity)
        kept = [r for r, k in zip(state.table.records, state.kept) if k]
        frame = pd.read_csv(io.StringIO(_text(state.table.header, kept)))  # types inferred over the file, as written
        return frame[[f for f, k in zip(state.finished, state.kept) if k]]

    def done(self) -> pd.DataFrame:
        """The finished rows of this context, without the context columns."""
        return self._read().drop(columns=list(self.context)).reset_index(drop=True)

    def keys(self) -> set[tuple[str, ...]]:
        """Identities of the finished rows (key values as text, so 0.001 read back from CSV matches 1e-3)."""
        return set(identities(self._read(), self.key))

    def missing(self, candidates: pd.DataFrame) -> pd.DataFrame:
        """The rows of `candidates` (with the key columns) that are not finished yet."""
        done = self.keys()
        return candidates.loc[pd.Series([k not in done for k in identities(candidates, self.key)],
                                        index=candidates.index, dtype=bool)]

    def append(self, rows: pd.DataFrame) -> None:
        """Commit finished rows to the CSV at once (a transaction of this store alone); refuse rows already there."""
        commit((self, rows))


def commit(*parts: tuple[RowStore | None, pd.DataFrame]) -> None:
    """Store rows in several stores of one folder as one transaction: after a kill at any point, all are there or none.

    Each store's rows are appended in one write flushed to disk (or, when the file needs cleaning or gains a column,
    the whole file is rewritten beside it and renamed over it, so no finished row can be lost); then one line naming
    every row written is appended to the folder's journal (commits.jsonl). That line is the commit: a reader counts a
    row as finished only when a journal line names it and every row that line names is present in its file. Lines
    of transactions that are no longer complete are dropped first, so rows written again cannot revive them.
    Pairs whose store is None are skipped.
    """
    parts = [(s, r) for s, r in parts if s is not None and len(r)]
    if not parts:
        return
    folder = parts[0][0].path.parent
    if any(s.path.parent != folder for s, _ in parts):
        raise ValueError(f"one commit writes stores of one folder (one journal), got {[str(s.path) for s, _ in parts]}")
    with _LOCK:
        folder.mkdir(parents=True, exist_ok=True)
        snapshot = _Snapshot(folder)
        states = [store._state(snapshot) for store, _ in parts]
        for (store, rows), state in zip(parts, states):
            again = set(identities(store._read(state), store.key)) & set(identities(rows, store.key))
            if again:
                raise ValueError(f"{store.path.name} already holds rows {sorted(again)[:3]}: a row is stored once")
        journal, entries = folder / JOURNAL, snapshot.journal
        complete = [e for e in entries if snapshot.complete(e)]
        if len(complete) < len(entries) or _torn(journal):  # before any row is written again
            write_atomic(journal, "".join(json.dumps(e) + "\n" for e in complete))
        entry = {store.path.name: _write(store, state, rows.assign(**store.context)) for (store, rows), state in zip(parts, states)}
        append_durable(journal, json.dumps(entry) + "\n")


def _write(store: RowStore, state: _State, rows: pd.DataFrame) -> dict[str, list]:
    """Add `rows` to the store's file; return the journal's record of them (identity columns and their values)."""
    table = state.table
    header = list(table.header) or list(rows.columns)
    header += [c for c in rows.columns if c not in header]
    text = rows.reindex(columns=header).to_csv(index=False, header=False, lineterminator="\n")
    records = list(csv.reader(io.StringIO(text)))
    at = [header.index(c) for c in store.identity]
    if table.header == header and all(state.kept) and not table.damaged:
        append_durable(store.path, text)
    else:  # cleaning (rows never committed, a torn line) or a new column: the whole file, swapped in by a rename
        padding = [""] * (len(header) - len(table.header))
        kept = [r + padding for r, k in zip(table.records, state.kept) if k]
        write_atomic(store.path, _text(header, kept) + text)
    return {"columns": store.identity, "ids": [[r[i] for i in at] for r in records]}


@dataclass
class _Csv:
    """A CSV file as text records (every field as written); damaged lines (a torn tail) left out."""

    header: list[str] = field(default_factory=list)
    records: list[list[str]] = field(default_factory=list)
    damaged: bool = False

    def matches(self, record: list[str], context: Mapping[str, Any]) -> bool:
        return all(name in self.header and record[self.header.index(name)] == str(value) for name, value in context.items())

    def values(self, columns: Sequence[str]) -> list[tuple[str, ...]] | None:
        if not all(c in self.header for c in columns):
            return None
        at = [self.header.index(c) for c in columns]
        return [tuple(r[i] for i in at) for r in self.records]


@dataclass
class _State:
    """A store's file with, per record, whether it is a finished row of this context and whether a rewrite keeps it."""

    table: _Csv
    finished: list[bool]
    kept: list[bool]


def _report(path: Path, message: str) -> None:
    """Say once per process what was dropped from which file (a plain line: notebooks keep no warnings)."""
    if (path, message) not in _REPORTED:
        _REPORTED.add((path, message))
        print(f"{shown(path)}: {message}")


def _parse(path: Path) -> _Csv:
    """Read a CSV as text records; a last line without its newline (a write cut short) and short records are dropped."""
    if not path.exists():
        return _Csv()
    text, damaged = path.read_bytes().decode(), False
    if text and not text.endswith("\n"):
        cut = text.rfind("\n") + 1
        _report(path, f"dropped a torn last line (a write cut short): {text[cut:][:60]!r}")
        text, damaged = text[:cut], True
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        return _Csv(damaged=damaged)
    header, records = rows[0], []
    for n, record in enumerate(rows[1:], 2):
        if len(record) == len(header):
            records.append(record)
        else:
            _report(path, f"dropped record {n}: {len(record)} fields, the header has {len(header)}")
            damaged = True
    return _Csv(header, records, damaged)


def _journal(path: Path) -> list[dict]:
    """The journal's complete lines (a torn last line is no commit)."""
    if not path.exists():
        return []
    lines, entries = path.read_bytes().decode().split("\n"), []
    if lines[-1]:
        _report(path, f"dropped a torn last line (a commit cut short): {lines[-1][:60]!r}")
    for line in lines[:-1]:
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            _report(path, f"dropped an unreadable line: {line[:60]!r}")
    return entries


def _torn(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n")


class _Snapshot:
    """A folder's journal and CSVs, each read once: which transactions are complete, which rows are finished."""

    def __init__(self, folder: Path):
        self.folder, self.journal = folder, _journal(folder / JOURNAL)
        self._files: dict[str, _Csv] = {}
        self._values: dict[tuple[str, tuple[str, ...]], set] = {}

    def file(self, name: str) -> _Csv:
        if name not in self._files:
            self._files[name] = _parse(self.folder / name)
        return self._files[name]

    def complete(self, entry: dict) -> bool:
        """Is every row this journal line names present in its file?"""
        for name, part in entry.items():
            columns = tuple(part["columns"])
            if (name, columns) not in self._values:
                self._values[name, columns] = set(self.file(name).values(columns) or ())
            if not {tuple(i) for i in part["ids"]} <= self._values[name, columns]:
                return False
        return True

    def finished(self, name: str) -> list[bool]:
        """Per record of the file `name`: does a complete transaction name it?"""
        named: dict[tuple[str, ...], set] = {}  # identity columns -> identities of finished rows
        for entry in self.journal:
            if name in entry and self.complete(entry):
                named.setdefault(tuple(entry[name]["columns"]), set()).update(map(tuple, entry[name]["ids"]))
        table = self.file(name)
        done = [False] * len(table.records)
        for columns, ids in named.items():
            for i, value in enumerate(table.values(columns) or ()):
                done[i] = done[i] or value in ids
        return done


def _text(header: Sequence[str], records: Sequence[Sequence[str]]) -> str:
    """Records as CSV text, quoted as pandas writes them (so rewriting a file keeps every row's text)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(records)
    return out.getvalue()


def identities(table: pd.DataFrame, key: Sequence[str]) -> list[tuple[str, ...]]:
    """Each row's key values as text (see key_text): how rows are matched across a CSV round trip."""
    return [tuple(map(key_text, values)) for values in table[list(key)].itertuples(index=False)]


def key_text(value: Any) -> str:
    """One spelling per value: 64 and 64.0, 0.001 and 1e-3 compare equal after a CSV round trip."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
