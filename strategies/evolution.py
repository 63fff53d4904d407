"""Regularised (ageing) evolution, Real et al. 2019, with deap's fitness and selection tools."""
from __future__ import annotations

import collections
from contextlib import suppress

from deap import base, tools

from nasbench.context import SearchContext
from nasbench.errors import BudgetExhausted
from nasbench.records import Evaluation
from strategies.base import Proposals, Strategy, register


class _Fitness(base.Fitness):
    weights = (1.0,)  # maximise the validation metric


class _Member:
    """A population member: an evaluation with the deap fitness that selection compares."""

    __slots__ = ("evaluation", "fitness")

    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation
        self.fitness = _Fitness((evaluation.metric if evaluation.ok else float("-inf"),))


@register
class RegularizedEvolution(Strategy):
    """Ageing evolution: mutate the best of a random sample, then retire the oldest member."""

    name = "rea"
    description = "regularised evolution (Real et al. 2019): tournament of a sample, mutate, drop the oldest"
    requires = frozenset({"sample", "mutate"})

    def __init__(self, *, population: int = 10, sample: int = 3) -> None:
        self.population = population
        self.sample = sample

    def search(self, ctx: SearchContext) -> Proposals:
        members: collections.deque[_Member] = collections.deque()
        with suppress(BudgetExhausted):
            while len(members) < self.population:
                members.append(_Member(ctx.evaluate(ctx.space.sample(ctx.rng))))
            while True:
                picks = ctx.rng.choice(len(members), size=min(self.sample, len(members)), replace=False)
                parent = tools.selBest([members[i] for i in picks], 1)[0]
                child = ctx.space.mutate(parent.evaluation.arch, ctx.rng)
                members.append(_Member(ctx.evaluate(child)))
                members.popleft()
        return ctx.front()
