"""The compute ledger: one budget, one currency, enforced before every operation runs."""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from typing import Iterator

from nasbench.errors import BudgetExhausted, ConfigError

UNITS = ("macs", "seconds", "queries")


@dataclass
class Spend:
    """Running totals of what a search executed, in every unit (only ``unit`` is enforced)."""

    macs: float = 0.0
    queries: int = 0
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0


class Ledger:
    """A budget in one unit: MACs executed (default), wall seconds, or evaluation queries.

    MACs and queries are known before an operation runs, so an operation that would not fit
    is refused (``BudgetExhausted``) and nothing overspends. Seconds are known only after:
    an operation may start while budget remains, so a run overspends by at most the one
    operation in flight.
    """

    def __init__(self, budget: float, unit: str = "macs") -> None:
        if unit not in UNITS:
            raise ConfigError(f"unknown budget unit {unit!r}; choose from {', '.join(UNITS)}")
        if not (isinstance(budget, (int, float)) and math.isfinite(budget) and budget > 0):
            raise ConfigError(f"budget must be a positive number, got {budget!r}")
        self.budget = float(budget)
        self.unit = unit
        self.spent = Spend()

    @property
    def used(self) -> float:
        """Budget used so far, in the ledger's unit."""
        return {"macs": self.spent.macs, "seconds": self.spent.wall_seconds, "queries": self.spent.queries}[self.unit]

    @property
    def remaining(self) -> float:
        return max(0.0, self.budget - self.used)

    def fits(self, macs: float, queries: int = 1) -> bool:
        """Whether an operation of this size may start now."""
        if self.unit == "macs":
            return self.spent.macs + macs <= self.budget
        if self.unit == "queries":
            return self.spent.queries + queries <= self.budget
        return self.spent.wall_seconds < self.budget

    @contextlib.contextmanager
    def operation(self, macs: float, queries: int = 1, what: str = "operation") -> Iterator[None]:
        """Run one metered operation: refused up front if it does not fit, then charged."""
        if macs < 0 or queries < 0:
            raise ValueError(f"negative charge for {what}: macs={macs}, queries={queries}")
        if not self.fits(macs, queries):
            raise BudgetExhausted(
                f"{what} needs {macs:.3g} MACs / {queries} queries; "
                f"{self.remaining:.3g} {self.unit} of {self.budget:.3g} left"
            )
        self.spent.macs += macs
        self.spent.queries += queries
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.spent.wall_seconds += time.perf_counter() - wall
            self.spent.cpu_seconds += time.process_time() - cpu

    def to_dict(self) -> dict[str, float | str]:
        return {
            "budget": self.budget,
            "unit": self.unit,
            "used": self.used,
            "macs": self.spent.macs,
            "queries": self.spent.queries,
            "wall_seconds": self.spent.wall_seconds,
            "cpu_seconds": self.spent.cpu_seconds,
        }
