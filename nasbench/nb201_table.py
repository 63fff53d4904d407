"""The NAS-Bench-201 tables shipped in ``nasbench/data``: accuracies (published) and costs (measured).

Row ``i`` of every column is the benchmark's architecture index ``i``. Accuracy columns are
loaded on demand, one at a time, and cached per column: a search reads only the
``<dataset>_val_12ep`` column, so the test-accuracy columns are never loaded in a search
process. Provenance of the accuracies: ``nasbench/data/NB201_PROVENANCE.md``.
"""
from __future__ import annotations

import csv
import functools
import gzip
import io
import threading
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING, Mapping

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from importlib.resources.abc import Traversable

N_CELLS = 15_625
ACCURACY_FILE = "nb201_accuracy.csv.gz"
COSTS_FILE = "nb201_costs.csv.gz"

_columns: dict[str, np.ndarray] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class AccuracyTable:
    """Per-cell accuracies in percent: ``columns[name][i]`` belongs to the cell string ``archs[i]``."""

    archs: tuple[str, ...]
    columns: Mapping[str, np.ndarray]
    rows: Mapping[str, int]

    def index(self, arch: str) -> int:
        """The benchmark index of a cell string; ``KeyError`` if it is not one of the 15,625."""
        return self.rows[arch]


def data_file(name: str) -> "Traversable":
    """A file shipped in ``nasbench/data`` (works from a checkout and from an installed wheel)."""
    return resources.files("nasbench") / "data" / name


def _read_columns(name: str, wanted: tuple[str, ...] | None) -> tuple[list[str], list[list[str]]]:
    """Header and, per row, the ``wanted`` fields (all when None) of a gzipped CSV data file.

    The file must hold every cell once, in index order; fields not wanted are dropped while reading.
    """
    with data_file(name).open("rb") as raw, gzip.open(raw, "rt", newline="") as text:
        reader = csv.reader(io.StringIO(text.read()))
        header = next(reader)
        if header[0] != "index":
            raise ValueError(f"{name}: the first column must be 'index'")
        names = list(header) if wanted is None else list(wanted)
        missing = [c for c in names if c not in header]
        if missing:
            raise KeyError(f"{name} has no column {', '.join(missing)}; columns: {', '.join(header[1:])}")
        positions = [header.index(c) for c in names]
        indices, rows = [], []
        for row in reader:
            indices.append(int(row[0]))
            rows.append([row[p] for p in positions])
    if indices != list(range(N_CELLS)):
        raise ValueError(f"{name}: expected rows for indices 0..{N_CELLS - 1} in order")
    return names, rows


def _frozen(values: np.ndarray) -> np.ndarray:
    values.flags.writeable = False
    return values


@functools.cache
def cell_strings() -> tuple[str, ...]:
    """The benchmark's cell string of every index (no accuracies are read)."""
    _, rows = _read_columns(ACCURACY_FILE, ("arch",))
    return tuple(r[0] for r in rows)


@functools.cache
def _cell_rows() -> Mapping[str, int]:
    return MappingProxyType({a: i for i, a in enumerate(cell_strings())})


def cell_index(arch: str) -> int:
    """The benchmark index of a cell string; ``KeyError`` if it is not one of the 15,625."""
    return _cell_rows()[arch]


def accuracy_column(name: str) -> np.ndarray:
    """One accuracy column in percent (e.g. ``cifar10_val_12ep``), read on first use and cached (read-only)."""
    with _lock:
        if name not in _columns:
            _, rows = _read_columns(ACCURACY_FILE, (name,))
            _columns[name] = _frozen(np.array([float(r[0]) for r in rows]))
        return _columns[name]


def loaded_columns() -> tuple[str, ...]:
    """Names of the accuracy columns loaded in this process so far."""
    with _lock:
        return tuple(_columns)


@functools.cache
def accuracy_table() -> AccuracyTable:
    """The whole published accuracy table, every column loaded (for analyses and tests, never a search).

    Columns ``<dataset>_{test_200ep,val_12ep,test_12ep}``, in percent.
    """
    header, rows = _read_columns(ACCURACY_FILE, None)
    values = np.array([r[2:] for r in rows], dtype=float)
    with _lock:
        for j, name in enumerate(header[2:]):
            _columns.setdefault(name, _frozen(values[:, j].copy()))
        columns = {name: _columns[name] for name in header[2:]}
    return AccuracyTable(archs=cell_strings(), columns=MappingProxyType(columns), rows=_cell_rows())


@functools.cache
def cost_table() -> Mapping[str, np.ndarray]:
    """MACs and parameters of every cell's network per dataset (``<dataset>_macs``, ``<dataset>_params``)."""
    header, rows = _read_columns(COSTS_FILE, None)
    values = np.array([r[1:] for r in rows], dtype=np.int64)
    return MappingProxyType({name: _frozen(values[:, j].copy()) for j, name in enumerate(header[1:])})
