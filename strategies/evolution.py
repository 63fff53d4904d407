"""Regularised (ageing) evolution, Real et al. 2019, with deap's fitness and selection tools."""
from __future__ import annotations

import collections

from deap import base, tools

from nasbench.context import SearchContext
from nasbench.records import Architecture, Evaluation
from strategies import warm_start
from strategies.base import AskTellStrategy, Interval, register


class _Fitness(base.Fitness):
    weights = (1.0,)  # maximise the validation metric


class _Member:
    """A population member: an evaluation with the deap fitness that selection compares."""

    __slots__ = ("evaluation", "fitness")

    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation
        self.fitness = _Fitness((evaluation.metric if evaluation.ok else float("-inf"),))


@register
class RegularizedEvolution(warm_start.WarmStartable, AskTellStrategy):
    """Ageing evolution (Real et al. 2019, Algorithm 1): mutate the best of a random sample, retire the oldest.

    population <- P random architectures, each trained (or, with a warm start, the P best of
                  ``warm_start_pool`` random architectures by a data-free proxy: Abdelfattah et al. 2021)
    repeat:
        sample <- S members drawn at random; parent <- the best of the sample
        child <- mutate(parent), trained; add child; remove the oldest member
    return the non-dominated evaluated architectures (at most K)

    Hyper-parameters: ``population`` (P), ``sample`` (S); ``warm_start`` (a proxy name, None: random
    start) and ``warm_start_pool`` (architectures scored, each score charged; see strategies/warm_start.py).
    """

    name = "rea"
    description = "regularised evolution (Real et al. 2019): tournament of a sample, mutate, drop the oldest"
    requires = frozenset({"sample", "mutate"})
    parameter_constraints = {"population": Interval(int, 1, 100_000), "sample": Interval(int, 1, 100_000),
                             **warm_start.CONSTRAINTS}
    parameter_rules = (warm_start.pool_rule("population"),)

    def __init__(self, *, population: int = 10, sample: int = 3, warm_start: str | None = None,
                 warm_start_pool: int = 1000) -> None:
        self.population = population
        self.sample = sample
        self.warm_start = warm_start
        self.warm_start_pool = warm_start_pool

    def setup(self, ctx: SearchContext) -> None:
        self.members_: collections.deque[_Member] = collections.deque()
        self.initial_ = warm_start.initial(ctx, self.warm_start, self.warm_start_pool, self.population)

    def ask(self, ctx: SearchContext) -> list[Architecture]:
        if len(self.members_) < self.population:  # the initial population: warm-start ranking, else random
            if len(self.members_) < len(self.initial_):
                return [self.initial_[len(self.members_)]]
            return [ctx.space.sample(ctx.rng)]
        picks = ctx.rng.choice(len(self.members_), size=min(self.sample, len(self.members_)), replace=False)
        parent = tools.selBest([self.members_[i] for i in picks], 1)[0]
        return [ctx.space.mutate(parent.evaluation.arch, ctx.rng)]

    def tell(self, ctx: SearchContext, archs: list[Architecture], results: list[Evaluation]) -> None:
        for evaluation in results:
            self.members_.append(_Member(evaluation))
            if len(self.members_) > self.population:
                self.members_.popleft()  # ageing: the oldest dies
