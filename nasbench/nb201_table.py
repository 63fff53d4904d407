"""The NAS-Bench-201 tables shipped in ``nasbench/data``: accuracies (published) and costs (measured).

Both are loaded once per process into numpy arrays whose row ``i`` is the benchmark's
architecture index ``i``. Provenance of the accuracies: ``nasbench/data/NB201_PROVENANCE.md``.
"""
from __future__ import annotations

import csv
import functools
import gzip
import io
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


def _read_csv(name: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a gzipped CSV data file, checked to hold every cell once, in index order."""
    with data_file(name).open("rb") as raw, gzip.open(raw, "rt", newline="") as text:
        header, *rows = csv.reader(io.StringIO(text.read()))
    if header[0] != "index" or [int(r[0]) for r in rows] != list(range(N_CELLS)):
        raise ValueError(f"{name}: expected rows for indices 0..{N_CELLS - 1} in order")
    return header, rows


def _frozen(values: np.ndarray) -> np.ndarray:
    values.flags.writeable = False
    return values


@functools.cache
def accuracy_table() -> AccuracyTable:
    """The published accuracy table (``<dataset>_{test_200ep,val_12ep,test_12ep}`` columns, percent)."""
    header, rows = _read_csv(ACCURACY_FILE)
    archs = tuple(r[1] for r in rows)
    values = np.array([r[2:] for r in rows], dtype=float)
    columns = {name: _frozen(values[:, j].copy()) for j, name in enumerate(header[2:])}
    return AccuracyTable(
        archs=archs,
        columns=MappingProxyType(columns),
        rows=MappingProxyType({a: i for i, a in enumerate(archs)}),
    )


@functools.cache
def cost_table() -> Mapping[str, np.ndarray]:
    """MACs and parameters of every cell's network per dataset (``<dataset>_macs``, ``<dataset>_params``)."""
    header, rows = _read_csv(COSTS_FILE)
    values = np.array([r[1:] for r in rows], dtype=np.int64)
    return MappingProxyType({name: _frozen(values[:, j].copy()) for j, name in enumerate(header[1:])})
