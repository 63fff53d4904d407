"""Regularised (ageing) evolution, Real et al. 2019, with deap's fitness and selection tools."""
from __future__ import annotations

import collections

from deap import base, tools

from nasbench.context import SearchContext
from nasbench.records import Architecture, Evaluation
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
class RegularizedEvolution(AskTellStrategy):
    """Ageing evolution (Real et al. 2019, Algorithm 1): mutate the best of a random sample, retire the oldest.

    population <- P random architectures, each trained
    repeat:
        sample <- S members drawn at random; parent <- the best of the sample
        child <- mutate(parent), trained; add child; remove the oldest member
    return the non-dominated evaluated architectures (at most K)

    Hyper-parameters: ``population`` (P), ``sample`` (S).
    """

    name = "rea"
    description = "regularised evolution (Real et al. 2019): tournament of a sample, mutate, drop the oldest"
    requires = frozenset({"sample", "mutate"})
    parameter_constraints = {"population": Interval(int, 1, 100_000), "sample": Interval(int, 1, 100_000)}

    def __init__(self, *, population: int = 10, sample: int = 3) -> None:
        self.population = population
        self.sample = sample

    def setup(self, ctx: SearchContext) -> None:
        self.members_: collections.deque[_Member] = collections.deque()

    def ask(self, ctx: SearchContext) -> list[Architecture]:
        if len(self.members_) < self.population:  # the random initial population
            return [ctx.space.sample(ctx.rng)]
        picks = ctx.rng.choice(len(self.members_), size=min(self.sample, len(self.members_)), replace=False)
        parent = tools.selBest([self.members_[i] for i in picks], 1)[0]
        return [ctx.space.mutate(parent.evaluation.arch, ctx.rng)]

    def tell(self, ctx: SearchContext, archs: list[Architecture], results: list[Evaluation]) -> None:
        for evaluation in results:
            self.members_.append(_Member(evaluation))
            if len(self.members_) > self.population:
                self.members_.popleft()  # ageing: the oldest dies
