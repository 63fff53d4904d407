"""Value records that cross module boundaries: architectures, costs, fidelities, evaluations."""
from __future__ import annotations

import enum
import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, order=True)
class Architecture:
    """An immutable genotype (a tuple of ints) tagged with the name of its search space."""

    space: str
    genes: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "genes", tuple(int(g) for g in self.genes))

    @property
    def key(self) -> str:
        """Stable string key, e.g. ``mobile:1-0-2-...``; used for caching and in results files."""
        return f"{self.space}:{'-'.join(map(str, self.genes))}"

    def to_dict(self) -> dict[str, Any]:
        return {"space": self.space, "genes": list(self.genes)}

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class Cost:
    """Cost of one architecture on one task: MACs of a batch-1 forward pass, parameters, latency."""

    macs: int
    params: int
    latency_ms: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Fidelity:
    """How much training an estimate gets: epochs over a fraction of the training split."""

    epochs: int
    data_fraction: float = 1.0

    def __post_init__(self) -> None:
        if self.epochs < 0 or not 0.0 < self.data_fraction <= 1.0:
            raise ValueError(f"invalid fidelity {self}")

    @property
    def key(self) -> str:
        return f"e{self.epochs}f{self.data_fraction:g}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Status(str, enum.Enum):
    """Outcome of an evaluation; a failed or diverged one is recorded, never raised."""

    OK = "ok"
    FAILED = "failed"
    DIVERGED = "diverged"


class FrozenDict(dict):
    """A dict that refuses changes (a record's free-form ``extra`` figures); pickles and JSON-dumps as a dict."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a record's extra figures are read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]
    __ior__ = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))


@dataclass(frozen=True)
class Evaluation:
    """One trained (or looked-up) estimate of an architecture's task metric and its cost."""

    arch: Architecture
    task: str
    fidelity: Fidelity
    metric: float
    cost: Cost
    compute: float
    wall_seconds: float
    status: Status = Status.OK
    split: str = "val"
    seed: int = 0
    extra: dict[str, float] = field(default_factory=dict)
    #: The training recipe's fields when the evaluation trained with a recipe of its own
    #: (``ctx.evaluate(..., recipe=)``); None: the task's shared recipe.
    recipe: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.extra, FrozenDict):
            object.__setattr__(self, "extra", FrozenDict(self.extra))
        if self.recipe is not None and not isinstance(self.recipe, FrozenDict):
            object.__setattr__(self, "recipe", FrozenDict(self.recipe))

    @property
    def ok(self) -> bool:
        return self.status is Status.OK and math.isfinite(self.metric)

    def to_dict(self) -> dict[str, Any]:
        return {
            "arch": self.arch.key,
            "task": self.task,
            "fidelity": self.fidelity.to_dict(),
            "metric": self.metric,
            "macs": self.cost.macs,
            "params": self.cost.params,
            "latency_ms": self.cost.latency_ms,
            "compute": self.compute,
            "wall_seconds": self.wall_seconds,
            "status": self.status.value,
            "split": self.split,
            "seed": self.seed,
            **({"extra": dict(self.extra)} if self.extra else {}),
            **({"recipe": dict(self.recipe)} if self.recipe is not None else {}),
        }
