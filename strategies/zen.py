"""Zen-NAS / ZenDet: mutation-only evolution maximising a data-free proxy under MACs constraints."""
from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field

import numpy as np

from nasbench.context import SearchContext
from nasbench.errors import BudgetExhausted, ConfigError
from nasbench.proxies import get_proxy
from nasbench.records import Architecture
from strategies.base import Proposals, Strategy, register


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


@register
class ZenNAS(Strategy):
    """Zen-NAS (Lin et al., 2021) and ZenDet (Sun et al., 2022): zero-shot evolution, no training.

    One population per MACs constraint, the levels taking turns: mutate a random member (one or
    two mutations), reject a candidate over the constraint (its MACs are free), score it with
    the data-free proxy (charged), drop the worst when the population is over its size.
    Proposes the best member under each constraint, highest score first.

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

    def __init__(
        self,
        *,
        population: int = 32,
        iterations: int = 1000,
        constraints: tuple[float, ...] = (),
        proxy: str = "auto",
        range_samples: int = 64,
    ) -> None:
        if population < 1 or iterations < 1 or range_samples < 1:
            raise ConfigError("zen: population, iterations and range_samples must be >= 1")
        if not all(0.0 < q <= 1.0 for q in constraints):
            raise ConfigError(f"zen: constraints are quantiles in (0, 1], got {constraints}")
        if proxy != "auto":
            get_proxy(proxy)
        self.population = population
        self.iterations = iterations
        self.constraints = tuple(constraints)
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
            raise ConfigError(f"zen: {len(self.constraints)} constraints give more than K={k} proposals")
        return self.constraints or tuple((i + 1) / k for i in range(k))

    def search(self, ctx: SearchContext) -> Proposals:
        proxy = self.proxy_for(ctx.task)
        pool = [ctx.space.sample(ctx.rng) for _ in range(self.range_samples)]
        macs = {a: ctx.cost(a).macs for a in pool}
        limits = np.quantile(list(macs.values()), self.quantiles(ctx.k))
        populations = [_Population(float(limit)) for limit in limits]
        scores: dict[Architecture, float] = {}  # a proxy score is deterministic: never pay twice
        with suppress(BudgetExhausted):
            for iteration in range(self.iterations):
                population = populations[iteration % len(populations)]
                child = self._candidate(ctx, population, [a for a in pool if macs[a] <= population.limit])
                if ctx.cost(child).macs > population.limit:
                    continue
                if child not in scores:
                    scores[child] = ctx.score(child, proxy)
                population.add(child, scores[child], self.population)
        best = dict(p.best() for p in populations if p.members)
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
