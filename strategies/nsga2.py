"""NSGA-II (Deb et al. 2002) through pymoo's ask/tell interface, on trained candidates.

Also the integer-genotype machinery every pymoo algorithm here uses (``integer_problem``,
``integer_operators``, ``CanonicalRepair``): nsga2, fmas and the ``pymoo`` adapter.
"""
from __future__ import annotations

from typing import Any, Sequence

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
from strategies import warm_start
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


def initial_sampling(initial: Sequence[Architecture] = ()) -> Any:
    """pymoo's initial population: the given architectures' genotypes, or pymoo's integer random sampling."""
    return np.array([a.genes for a in initial], dtype=int) if initial else IntegerRandomSampling()


def integer_operators(space: SearchSpace, eta_crossover: float = 3.0, eta_mutation: float = 3.0,
                      initial: Sequence[Architecture] = ()) -> dict[str, Any]:
    """A pymoo GA's operators on a space's integer genotype: SBX and polynomial mutation rounded, canonical, no duplicates.

    ``initial``: the first population's architectures (a warm start); pymoo's integer random sampling otherwise.
    """
    return dict(
        sampling=initial_sampling(initial),
        crossover=SBX(eta=eta_crossover, vtype=float, repair=RoundingRepair()),
        mutation=PM(eta=eta_mutation, vtype=float, repair=RoundingRepair()),
        repair=CanonicalRepair(space),
        eliminate_duplicates=True,
    )


def integer_nsga2(space: SearchSpace, population: int, eta_crossover: float = 3.0, eta_mutation: float = 3.0,
                  initial: Sequence[Architecture] = ()) -> _PymooNSGA2:
    """pymoo's NSGA-II for a space's integer genotype (``integer_operators``)."""
    return _PymooNSGA2(pop_size=population, **integer_operators(space, eta_crossover, eta_mutation, initial))


@register
class NSGA2(warm_start.WarmStartable, AskTellStrategy):
    """Non-dominated sorting GA (Deb et al. 2002) on (validation error, MACs), through pymoo's ask/tell.

    population <- N random architectures (pymoo's integer sampling, canonical, no duplicates), or with a
                  warm start the N best of ``warm_start_pool`` random ones by a data-free proxy (Abdelfattah et al. 2021)
    repeat:
        offspring <- binary tournament, SBX crossover, polynomial mutation (rounded, canonical)
        train every offspring at search fidelity: objectives (1 - val metric, MACs)
        population <- the best N of population + offspring by rank and crowding distance
    return the non-dominated evaluated architectures (at most K)

    Hyper-parameters: ``population`` (N), ``eta_crossover``, ``eta_mutation`` (distribution indices),
    ``warm_start`` (a proxy name, None: random start), ``warm_start_pool`` (scored, each charged).
    """

    name = "nsga2"
    description = "NSGA-II (pymoo) on (val error, MACs), every candidate trained"
    parameter_constraints = {
        "population": Interval(int, 2, 100_000),
        "eta_crossover": Interval(float, 0, 1000, closed="right"),
        "eta_mutation": Interval(float, 0, 1000, closed="right"),
        **warm_start.CONSTRAINTS,
    }
    parameter_rules = (warm_start.pool_rule("population"),)

    def __init__(self, *, population: int = 10, eta_crossover: float = 3.0, eta_mutation: float = 3.0,
                 warm_start: str | None = None, warm_start_pool: int = 1000) -> None:
        self.population = population
        self.eta_crossover = eta_crossover
        self.eta_mutation = eta_mutation
        self.warm_start = warm_start
        self.warm_start_pool = warm_start_pool

    def setup(self, ctx: SearchContext) -> None:
        initial = warm_start.initial(ctx, self.warm_start, self.warm_start_pool, self.population)
        self.algorithm_ = integer_nsga2(ctx.space, self.population, self.eta_crossover, self.eta_mutation, initial)
        self.algorithm_.setup(integer_problem(ctx.space), termination=MaximumGenerationTermination(10**9), seed=ctx.seed)

    def ask(self, ctx: SearchContext) -> list[Architecture]:
        self.offspring_ = self.algorithm_.ask()
        return [ctx.space.make(x) for x in self.offspring_.get("X")]

    def tell(self, ctx: SearchContext, archs: list[Architecture], results: list[Evaluation]) -> None:
        self.offspring_.set("F", objectives(results))
        self.algorithm_.tell(infills=self.offspring_)
