"""The compute ledger: one budget, one currency, enforced before every operation runs."""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import asdict, dataclass
from typing import Any, Iterator, Mapping

from nasbench.errors import BudgetExhausted, ConfigError

UNITS = ("macs", "seconds", "queries")


@dataclass
class Spend:
    """Running totals of what a search executed, in every unit (only ``unit`` is enforced).

    ``seconds`` is what was charged in seconds: the measured wall time of an operation, or the
    known time it stands for (a memoised evaluation's original training time, a tabular
    look-up's simulated training time). ``wall_seconds`` and ``cpu_seconds`` are always measured.
    """

    macs: float = 0.0
    queries: int = 0
    seconds: float = 0.0
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0


@dataclass(frozen=True)
class Given(Mapping[str, Any]):
    """Work a search declared as given (not charged): who declared it, what ran, its MACs and wall time.

    A frozen record that also reads as a mapping (``dict(given)``, ``given["macs"]``).
    """

    name: str
    what: str
    macs: float
    wall_seconds: float = 0.0

    def __getitem__(self, key: str) -> Any:
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dataclass_fields__)

    def __len__(self) -> int:
        return len(self.__dataclass_fields__)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Ledger:
    """A budget in one unit: MACs executed (default), seconds, or evaluation queries.

    MACs and queries are known before an operation runs, so an operation that would not fit
    is refused (``BudgetExhausted``) and nothing overspends. Seconds are known in advance only
    when the caller passes them (``seconds=``); otherwise an operation may start while budget
    remains and a run overspends by at most the one operation in flight.

    ``given`` lists work a search declared as given (e.g. a pretrained parent): metered, not
    charged, and reported by the runner beside the run so a reader sees what was free.
    """

    def __init__(self, budget: float, unit: str = "macs") -> None:
        if unit not in UNITS:
            raise ConfigError(f"unknown budget unit {unit!r}; choose from {', '.join(UNITS)}")
        if not (isinstance(budget, (int, float)) and math.isfinite(budget) and budget > 0):
            raise ConfigError(f"budget must be a positive number, got {budget!r}")
        self.budget = float(budget)
        self.unit = unit
        self.spent = Spend()
        self.given: list[Given] = []

    @property
    def used(self) -> float:
        """Budget used so far, in the ledger's unit."""
        return {"macs": self.spent.macs, "seconds": self.spent.seconds, "queries": self.spent.queries}[self.unit]

    @property
    def remaining(self) -> float:
        return max(0.0, self.budget - self.used)

    def fits(self, macs: float, queries: int = 1, seconds: float | None = None) -> bool:
        """Whether an operation of this size may start now."""
        if self.unit == "macs":
            return self.spent.macs + macs <= self.budget
        if self.unit == "queries":
            return self.spent.queries + queries <= self.budget
        if seconds is not None:
            return self.spent.seconds + seconds <= self.budget
        return self.spent.seconds < self.budget

    @contextlib.contextmanager
    def operation(
        self, macs: float, queries: int = 1, what: str = "operation", seconds: float | None = None
    ) -> Iterator[None]:
        """Run one metered operation: refused up front if it does not fit, then charged.

        ``seconds``: the operation's known charge in seconds (refused up front like MACs when it
        would not fit); None charges the measured wall time.
        """
        if macs < 0 or queries < 0 or (seconds is not None and not seconds >= 0):
            raise ValueError(f"negative charge for {what}: macs={macs}, queries={queries}, seconds={seconds}")
        if not self.fits(macs, queries, seconds):
            need = f"{seconds:.3g} s" if self.unit == "seconds" and seconds is not None else f"{macs:.3g} MACs / {queries} queries"
            raise BudgetExhausted(f"{what} needs {need}; {self.remaining:.3g} {self.unit} of {self.budget:.3g} left")
        self.spent.macs += macs
        self.spent.queries += queries
        if seconds is not None:
            self.spent.seconds += seconds
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - wall
            self.spent.wall_seconds += elapsed
            self.spent.cpu_seconds += time.process_time() - cpu
            if seconds is None:
                self.spent.seconds += elapsed

    @contextlib.contextmanager
    def given_operation(self, name: str, macs: float, what: str) -> Iterator[None]:
        """Run work declared as given: recorded in ``given`` with its MACs and wall time, not charged."""
        if macs < 0:
            raise ValueError(f"negative MACs for given {what}: {macs}")
        start = time.perf_counter()
        try:
            yield
        finally:
            self.given.append(Given(name, what, float(macs), time.perf_counter() - start))

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "unit": self.unit,
            "used": self.used,
            "macs": self.spent.macs,
            "queries": self.spent.queries,
            "seconds": self.spent.seconds,
            "wall_seconds": self.spent.wall_seconds,
            "cpu_seconds": self.spent.cpu_seconds,
            "given": [g.to_dict() for g in self.given],
        }
