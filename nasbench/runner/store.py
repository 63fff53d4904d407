"""The results folder: locked, append-only JSONL records, atomic outputs, read defensively.

Files (all strict JSON, NaN written as null):
  config.json         the folder's identity (settings every run in it shares), written once
  searches.jsonl      one line per finished search (proposals, compute, audit): resume between stages
  archive.jsonl       every evaluation a search made, tagged with its run's fingerprint and attempt
  finals_cache.jsonl  final (test-split) evaluations by cache key, shared by every run in the folder
  runs.jsonl          one line per finished (strategy, task, seed) run; readers take the last per key
A record is appended with one ``write`` of a full line and fsynced; a truncated last line (a kill
mid-write) is dropped on open. Archive rows whose run never finished are orphans and are ignored.
Nothing inside the folder is followed through a symlink.
"""
from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import logging
import math
import os
import socket
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from nasbench.errors import ConfigError, CorruptResults
from nasbench.files import atomic_write, inside

log = logging.getLogger(__name__)

CONFIG = "config.json"
SEARCHES = "searches.jsonl"
ARCHIVE = "archive.jsonl"
FINALS_CACHE = "finals_cache.jsonl"
RUNS = "runs.jsonl"
LOCK = ".lock"
#: Outputs regenerated from the records; checked before any compute so a planted symlink stops the run early.
OUTPUTS = ("summary.csv", "finals.csv", "stats.csv", "report.md", "headline.tex", "plots")

#: Required fields and their types per record file: what a reader checks before trusting a line.
_NUMBER = (int, float, type(None))
SCHEMAS: dict[str, dict[str, tuple[type, ...]]] = {
    RUNS: {"fingerprint": (str,), "attempt": (str,), "strategy": (str,), "task": (str,), "seed": (int,),
           "status": (str,), "finals": (list,), "hypervolume": _NUMBER, "selected_metric": _NUMBER,
           "best_metric": _NUMBER, "indicators": (dict,), "budget": _NUMBER, "budget_unit": (str,),
           "compute_used": _NUMBER, "n_evaluations": (int,), "settings": (dict,)},
    SEARCHES: {"fingerprints": (dict,), "attempt": (str,), "strategy": (str,), "tasks": (list,), "seed": (int,),
               "status": (str,), "proposals": (dict,)},
    ARCHIVE: {"fingerprint": (str,), "attempt": (str,), "strategy": (str,), "task": (str,), "seed": (int,),
              "arch": (str,), "metric": _NUMBER, "macs": _NUMBER, "budget_used": _NUMBER},
    FINALS_CACHE: {"key": (str,), "evaluation": (dict,)},
}
FINAL_FIELDS: dict[str, tuple[type, ...]] = {"arch": (str,), "metric": _NUMBER, "macs": _NUMBER, "status": (str,),
                                             "on_front": (bool,), "selected": (bool,)}


# -- strict, hostile-proof serialisation ------------------------------------------------------
def jsonable(value: Any) -> Any:
    """``value`` with NaN and infinities as None, tuples as lists, numpy scalars as Python numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return jsonable(value.item())
    return value


def dumps(value: Any) -> str:
    """One strict JSON line (no NaN, no newline inside)."""
    return json.dumps(jsonable(value), allow_nan=False, sort_keys=True)


def safe_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet cannot read as a formula (text starting with = + - @ is quoted)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(value)
            return value
        except ValueError:
            return "'" + value
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return value


def csv_text(rows: list[Mapping[str, Any]], fields: list[str]) -> str:
    """CSV of ``rows`` with ``fields`` first, then any other keys, every cell made safe."""
    extra = sorted({k for row in rows for k in row} - set(fields))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields + extra, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: safe_cell(v) for k, v in row.items()} for row in rows)
    return buffer.getvalue()


# -- files inside the folder ------------------------------------------------------------------
def read_jsonl(path: Path, schema: Mapping[str, tuple[type, ...]], repair: bool = False) -> list[dict[str, Any]]:
    """Records of a JSONL file, each checked against ``schema``; a bad line is ``CorruptResults`` naming it.

    A last line without its newline is a write cut by a kill: it is dropped (and, with ``repair``,
    cut from the file) so that the run it belonged to is recomputed.
    """
    if path.is_symlink():
        raise CorruptResults(f"{path} is a symlink; results files are never read through links")
    if not path.exists():
        return []
    if not path.is_file():
        raise CorruptResults(f"{path} is not a regular file; remove it or choose another --out")
    raw = path.read_bytes()
    complete = raw[: raw.rfind(b"\n") + 1]
    if repair and len(complete) != len(raw):
        with open(path, "r+b") as f:
            f.truncate(len(complete))
    records = []
    for number, line in enumerate(complete.split(b"\n")[:-1], 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"), parse_constant=_refuse_constant)
            _check(record, schema)
        except (UnicodeDecodeError, ValueError, TypeError) as exc:
            reason = str(exc).splitlines()[0][:160]
            raise CorruptResults(f"{path} line {number} is not a valid record ({reason}); repair or remove it") from None
        records.append(record)
    return records


def _refuse_constant(name: str) -> None:
    raise ValueError(f"non-standard JSON constant {name}")


def _check(record: Any, schema: Mapping[str, tuple[type, ...]]) -> None:
    if not isinstance(record, dict):
        raise TypeError("not a JSON object")
    for key, types in schema.items():
        if key not in record:
            raise TypeError(f"missing field {key!r}")
        value = record[key]
        if isinstance(value, bool) and bool not in types:
            raise TypeError(f"field {key!r} has the wrong type bool")
        if not isinstance(value, types):
            raise TypeError(f"field {key!r} has the wrong type {type(value).__name__}")
    if "finals" in schema:
        for final in record["finals"]:
            _check(final, FINAL_FIELDS)


# -- the store --------------------------------------------------------------------------------
class ResultStore:
    """A locked results folder: identity check, appends, and the de-duplicated view for resume."""

    def __init__(self, folder: Path | str) -> None:
        if str(folder).strip() == "":
            raise ConfigError("--out is empty; give a folder path")
        self.folder = Path(folder)
        self._lock: io.BufferedRandom | None = None
        self._archived: set[tuple[str, str]] | None = None

    # -- opening --------------------------------------------------------------------------
    @classmethod
    def open_for(cls, folder: Path, identity: Mapping[str, Any], beside: bool = False) -> "ResultStore":
        """The opened store of ``folder``; with ``beside``, a folder of other settings diverts to ``folder-<hash>``."""
        store = cls(folder)
        try:
            store.open(identity)
        except ConfigError as exc:
            if not beside or "other settings" not in str(exc):
                raise
            store = cls(folder.with_name(f"{folder.name}-{hashlib.sha256(dumps(identity).encode()).hexdigest()[:8]}"))
            store.open(identity)
            log.warning("%s holds other settings; writing to %s", folder, store.folder)
        return store

    def open(self, identity: Mapping[str, Any]) -> None:
        """Create or reopen the folder for ``identity``; refused (one line) when it holds other settings."""
        if self.folder.exists() and not self.folder.is_dir():
            raise ConfigError(f"output folder {str(self.folder)!r} is not a folder; choose another --out")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"output folder {str(self.folder)!r} cannot be created ({exc.strerror}); choose another --out") from None
        self._acquire()
        try:
            stored = self.identity()
            if stored is None:
                atomic_write(self.folder, CONFIG, json.dumps(jsonable(dict(identity)), indent=2, sort_keys=True))
            else:
                difference = first_difference(stored, jsonable(dict(identity)))
                if difference:
                    raise ConfigError(
                        f"{self.folder} holds results of other settings ({difference}); "
                        "use another --out, or --beside to start these settings in a new folder next to it"
                    )
            for name in (RUNS, SEARCHES, ARCHIVE, FINALS_CACHE):
                read_jsonl(inside(self.folder, name), SCHEMAS[name], repair=True)
            for name in OUTPUTS:
                inside(self.folder, name)
            plots = self.folder / "plots"
            if plots.is_dir():
                for entry in plots.iterdir():
                    inside(self.folder, f"plots/{entry.name}")
        except BaseException:
            self.close()
            raise

    def identity(self) -> dict[str, Any] | None:
        """The stored identity, or None for a new folder; garbage is ``CorruptResults`` (never overwritten)."""
        path = inside(self.folder, CONFIG)
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_refuse_constant)
        except (UnicodeDecodeError, ValueError):
            raise CorruptResults(f"{path} is not valid JSON; repair or remove it, or choose another --out") from None
        if not isinstance(data, dict):
            raise CorruptResults(f"{path} is not a JSON object; repair or remove it, or choose another --out")
        return data

    def _acquire(self) -> None:
        path = inside(self.folder, LOCK)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        handle = os.fdopen(fd, "r+b")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = handle.read().decode("utf-8", "replace").strip() or "another process"
            handle.close()
            raise ConfigError(f"{self.folder} is in use by {holder}; wait for it to finish or choose another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}".encode())
        handle.flush()
        self._lock = handle

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- appends --------------------------------------------------------------------------
    def append(self, name: str, records: Iterable[Mapping[str, Any]]) -> None:
        """Append records to ``name`` as one write of whole lines, then fsync."""
        data = "".join(dumps(r) + "\n" for r in records).encode()
        if not data:
            return
        path = inside(self.folder, name)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def write_output(self, name: str, data: str | bytes) -> Path:
        return atomic_write(self.folder, name, data)

    # -- reading --------------------------------------------------------------------------
    def records(self, name: str) -> list[dict[str, Any]]:
        return read_jsonl(inside(self.folder, name), SCHEMAS[name])

    def runs(self) -> dict[tuple[str, str, int], dict[str, Any]]:
        """The last run record per (strategy, task, seed)."""
        return {(r["strategy"], r["task"], r["seed"]): r for r in self.records(RUNS)}

    def searches(self) -> dict[tuple[str, int, str], dict[str, Any]]:
        """The last search record per (strategy, seed, '+'.join(tasks))."""
        return {(r["strategy"], r["seed"], "+".join(r["tasks"])): r for r in self.records(SEARCHES)}

    def first_archiving(self, fingerprint: str, attempt: str) -> bool:
        """True once per (fingerprint, attempt): archive rows of a resumed run are never appended twice."""
        if self._archived is None:
            self._archived = {(r["fingerprint"], r["attempt"]) for r in self.records(ARCHIVE)}
        if (fingerprint, attempt) in self._archived:
            return False
        self._archived.add((fingerprint, attempt))
        return True

    def finals_cache(self) -> dict[str, dict[str, Any]]:
        return {r["key"]: r["evaluation"] for r in self.records(FINALS_CACHE)}


def first_difference(stored: Any, current: Any, path: str = "") -> str:
    """The first setting where ``stored`` and ``current`` differ, as ``name: stored vs now``; '' if equal."""
    if isinstance(stored, dict) and isinstance(current, dict):
        for key in sorted(set(stored) | set(current)):
            difference = first_difference(stored.get(key, "(unset)"), current.get(key, "(unset)"), f"{path}.{key}" if path else key)
            if difference:
                return difference
        return ""
    if stored != current:
        return f"{path}: {_short(stored)} stored vs {_short(current)} now"
    return ""


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


def read_folder(folder: Path | str) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(identity, runs, archive) of a results folder: the last run per key, archive rows of those runs only."""
    store = ResultStore(folder)
    if not store.folder.is_dir():
        raise ConfigError(f"{folder} is not a results folder (no such folder)")
    identity = store.identity()
    if identity is None:
        raise ConfigError(f"{folder} is not a results folder (no {CONFIG})")
    runs = list(store.runs().values())
    attempts = {(r["fingerprint"], r["attempt"]) for r in runs}
    archive = [row for row in store.records(ARCHIVE) if (row["fingerprint"], row["attempt"]) in attempts]
    return identity, runs, archive
