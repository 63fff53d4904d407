"""Zen-NAS / ZenDet: mutation-only evolution maximising a data-free proxy under MACs constraints."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

import numpy as np

from nasbench.context import SearchContext
from nasbench.errors import ConfigError
from nasbench.proxies import PROXIES, get_proxy
from nasbench.records import Architecture
from strategies.base import AskTellStrategy, Interval, Options, Proposals, Satisfies, TupleOf, register

if TYPE_CHECKING:  # pragma: no cover
    from nasbench.tasks.base import Task
    from spaces.base import SearchSpace


@dataclass
class _Population:
    """The members kept under one MACs constraint, with their proxy scores."""

    limit: float
    members: dict[Architecture, float] = field(default_factory=dict)

    def add(self, arch: Architecture, score: float, size: int) -> None:
        """Add a scored member; drop the worst while over ``size``."""
        self.members[arch] = score
        while len(self.members) > size:
            del self.members[min(self.members, key=self.members.__getitem__)]

    def best(self) -> tuple[Architecture, float]:
        arch = max(self.members, key=self.members.__getitem__)
        return arch, self.members[arch]


def _proxy_name(value: object) -> bool:
    """Whether ``value`` names a registered proxy or an ``a+b`` combination of them."""
    if not isinstance(value, str):
        return False
    get_proxy(value)
    return True


@register
class ZenNAS(AskTellStrategy):
    """Zen-NAS (Lin et al., 2021) and ZenDet (Sun et al., 2022): zero-shot evolution, no training.

    pool <- random architectures; their MACs quantiles place the constraints (at most K levels)
    repeat for ``iterations`` candidates, the levels taking turns:
        fill the level's population with unused pool members under its limit, then
        child <- a random member mutated once or twice
        reject the child if its MACs exceed the level's limit (MACs are free)
        score it with the data-free proxy (charged; a score is never paid twice)
        add it; drop the worst member while the population is over its size
    return the best member under each constraint, highest score first

    Hyper-parameters:
      population: members kept per constraint (authors: 256-512).
      iterations: candidates drawn in total over all constraints, rejected ones included.
      constraints: MACs constraints as quantiles of random architectures' MACs, at most K of
        them; empty gives K levels evenly spread, 1/K .. 1.
      proxy: a proxy name or ``a+b`` combination; ``auto`` is ``zendet`` on the detection task
        (``det``) and ``zen`` on every other task.
      range_samples: random architectures whose MACs place the constraints and seed the populations.
    """

    name = "zen"
    description = "Zen-NAS/ZenDet zero-shot evolution: maximise a data-free proxy under MACs constraints"
    requires = frozenset({"sample", "mutate", "backbone"})
    parameter_constraints = {
        "population": Interval(int, 1, 100_000),
        "iterations": Interval(int, 1, 10_000_000),
        "constraints": TupleOf(Interval(float, 0.0, 1.0, closed="right")),
        "proxy": [Options("auto"), Satisfies(_proxy_name, f"a proxy ({', '.join(sorted(PROXIES))}) or an a+b combination")],
        "range_samples": Interval(int, 1, 100_000),
    }

    def __init__(
        self,
        *,
        population: int = 32,
        iterations: int = 1000,
        constraints: tuple[float, ...] = (),
        proxy: str = "auto",
        range_samples: int = 64,
    ) -> None:
        self.population = population
        self.iterations = iterations
        self.constraints = constraints
        self.proxy = proxy
        self.range_samples = range_samples

    def proxy_for(self, task: str) -> str:
        """The proxy this search maximises on ``task``."""
        if self.proxy != "auto":
            return self.proxy
        return "zendet" if task == "det" else "zen"

    def quantiles(self, k: int) -> tuple[float, ...]:
        """The constraint levels as MACs quantiles: the given ones, or K evenly spread."""
        if len(self.constraints) > k:
            raise ConfigError(f"strategy 'zen': {len(self.constraints)} constraints give more than K={k} proposals")
        return tuple(self.constraints) or tuple((i + 1) / k for i in range(k))

    def check(self, space: "SearchSpace", tasks: Mapping[str, "Task"], k: int) -> None:
        super().check(space, tasks, k)
        self.quantiles(k)
        for task in tasks:
            missing = get_proxy(self.proxy_for(task)).requires - space.capabilities
            if missing:
                raise ConfigError(f"strategy 'zen': proxy {self.proxy_for(task)!r} needs {', '.join(sorted(missing))}, "
                                  f"which space {space.name!r} lacks")

    # -- the hooks ------------------------------------------------------------------------
    def setup(self, ctx: SearchContext) -> None:
        self.proxy_ = self.proxy_for(ctx.task)
        self.pool_ = [ctx.space.sample(ctx.rng) for _ in range(self.range_samples)]
        self.macs_ = {a: ctx.cost(a).macs for a in self.pool_}
        limits = np.quantile(list(self.macs_.values()), self.quantiles(ctx.k))
        self.populations_ = [_Population(float(limit)) for limit in limits]
        self.scores_: dict[Architecture, float] = {}  # a proxy score is deterministic: never pay twice
        self.iteration_ = 0

    def has_next(self, ctx: SearchContext) -> bool:
        return self.iteration_ < self.iterations

    def ask(self, ctx: SearchContext) -> list[Architecture]:
        self.level_ = self.populations_[self.iteration_ % len(self.populations_)]
        self.iteration_ += 1
        child = self._candidate(ctx, self.level_, [a for a in self.pool_ if self.macs_[a] <= self.level_.limit])
        if ctx.cost(child).macs > self.level_.limit:
            return []  # over the constraint: rejected before any score is paid
        return [child]

    def assess(self, ctx: SearchContext, arch: Architecture) -> float:
        if arch not in self.scores_:
            self.scores_[arch] = ctx.score(arch, self.proxy_)
        return self.scores_[arch]

    def tell(self, ctx: SearchContext, archs: list[Architecture], results: list[float]) -> None:
        for arch, score in zip(archs, results):
            self.level_.add(arch, score, self.population)

    def propose(self, ctx: SearchContext) -> Proposals:
        best = dict(p.best() for p in getattr(self, "populations_", []) if p.members)
        return sorted(best, key=best.__getitem__, reverse=True)

    def _candidate(self, ctx: SearchContext, population: _Population, fitting: list[Architecture]) -> Architecture:
        """A random member mutated once or twice; an unused random architecture under the limit while filling."""
        fresh = [a for a in fitting if a not in population.members]
        if len(population.members) < self.population and fresh:
            return fresh[int(ctx.rng.integers(len(fresh)))]
        parents = list(population.members)
        child = parents[int(ctx.rng.integers(len(parents)))]
        for _ in range(1 + int(ctx.rng.integers(2))):
            child = ctx.space.mutate(child, ctx.rng)
        return child
