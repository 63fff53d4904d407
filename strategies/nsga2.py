"""NSGA-II (Deb et al. 2002) through pymoo's ask/tell interface, on trained candidates."""
from __future__ import annotations

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2 as _PymooNSGA2
from pymoo.core.problem import Problem
from pymoo.core.repair import Repair
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.repair.rounding import RoundingRepair
from pymoo.operators.sampling.rnd import IntegerRandomSampling
from pymoo.termination.max_gen import MaximumGenerationTermination

from nasbench.archive import objectives
from nasbench.context import SearchContext
from nasbench.records import Architecture, Evaluation
from spaces.base import SearchSpace
from strategies.base import AskTellStrategy, Interval, register


class CanonicalRepair(Repair):
    """Map every genotype to its space's canonical form so pymoo's duplicate check sees networks."""

    def __init__(self, space: SearchSpace) -> None:
        super().__init__()
        self.space = space

    def _do(self, problem: Problem, X: np.ndarray, **kwargs) -> np.ndarray:
        return np.array([self.space.canonical(np.rint(x).astype(int)) for x in X])


def integer_problem(space: SearchSpace, n_obj: int = 2) -> Problem:
    """A pymoo problem over the space's integer box (evaluated through ask/tell, not by pymoo)."""
    xl, xu = space.bounds
    return Problem(n_var=space.n_genes, n_obj=n_obj, xl=xl, xu=xu, vtype=int)


def integer_nsga2(space: SearchSpace, population: int, eta_crossover: float = 3.0, eta_mutation: float = 3.0) -> _PymooNSGA2:
    """pymoo's NSGA-II for a space's integer genotype: SBX and polynomial mutation rounded, canonical, no duplicates."""
    return _PymooNSGA2(
        pop_size=population,
        sampling=IntegerRandomSampling(),
        crossover=SBX(eta=eta_crossover, vtype=float, repair=RoundingRepair()),
        mutation=PM(eta=eta_mutation, vtype=float, repair=RoundingRepair()),
        repair=CanonicalRepair(space),
        eliminate_duplicates=True,
    )


@register
class NSGA2(AskTellStrategy):
    """Non-dominated sorting GA (Deb et al. 2002) on (validation error, MACs), through pymoo's ask/tell.

    population <- N random architectures (pymoo's integer sampling, canonical, no duplicates)
    repeat:
        offspring <- binary tournament, SBX crossover, polynomial mutation (rounded, canonical)
        train every offspring at search fidelity: objectives (1 - val metric, MACs)
        population <- the best N of population + offspring by rank and crowding distance
    return the non-dominated evaluated architectures (at most K)

    Hyper-parameters: ``population`` (N), ``eta_crossover``, ``eta_mutation`` (distribution indices).
    """

    name = "nsga2"
    description = "NSGA-II (pymoo) on (val error, MACs), every candidate trained"
    parameter_constraints = {
        "population": Interval(int, 2, 100_000),
        "eta_crossover": Interval(float, 0, 1000, closed="right"),
        "eta_mutation": Interval(float, 0, 1000, closed="right"),
    }

    def __init__(self, *, population: int = 10, eta_crossover: float = 3.0, eta_mutation: float = 3.0) -> None:
        self.population = population
        self.eta_crossover = eta_crossover
        self.eta_mutation = eta_mutation

    def setup(self, ctx: SearchContext) -> None:
        self.algorithm_ = integer_nsga2(ctx.space, self.population, self.eta_crossover, self.eta_mutation)
        self.algorithm_.setup(integer_problem(ctx.space), termination=MaximumGenerationTermination(10**9), seed=ctx.seed)

    def ask(self, ctx: SearchContext) -> list[Architecture]:
        self.offspring_ = self.algorithm_.ask()
        return [ctx.space.make(x) for x in self.offspring_.get("X")]

    def tell(self, ctx: SearchContext, archs: list[Architecture], results: list[Evaluation]) -> None:
        self.offspring_.set("F", objectives(results))
        self.algorithm_.tell(infills=self.offspring_)
