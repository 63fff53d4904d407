"""Any pymoo multi-objective algorithm as a strategy, through pymoo's ask/tell interface, on (val error, MACs)."""
from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np
from pymoo.core.individual import Individual
from pymoo.core.population import Population
from pymoo.termination.max_gen import MaximumGenerationTermination

from nasbench.archive import objectives
from nasbench.context import SearchContext
from nasbench.errors import ConfigError
from nasbench.records import Architecture, Evaluation
from spaces.base import SearchSpace
from strategies.base import AskTellStrategy, Interval, Options, register
from strategies.nsga2 import integer_operators, integer_problem

if TYPE_CHECKING:  # pragma: no cover
    from nasbench.tasks.base import Task


def _reference_directions(population: int) -> np.ndarray:
    """``population`` evenly spread weight vectors for two objectives (Das and Dennis)."""
    from pymoo.util.ref_dirs import get_reference_directions

    return get_reference_directions("das-dennis", 2, n_partitions=population - 1)


#: name -> (module, class, how the population is given: ``pop_size``, ``ref_dirs`` or ``both``).
ALGORITHMS: Mapping[str, tuple[str, str, str]] = {
    "nsga2": ("pymoo.algorithms.moo.nsga2", "NSGA2", "pop_size"),
    "nsga3": ("pymoo.algorithms.moo.nsga3", "NSGA3", "both"),
    "unsga3": ("pymoo.algorithms.moo.unsga3", "UNSGA3", "both"),
    "agemoea": ("pymoo.algorithms.moo.age", "AGEMOEA", "pop_size"),
    "agemoea2": ("pymoo.algorithms.moo.age2", "AGEMOEA2", "pop_size"),
    "moead": ("pymoo.algorithms.moo.moead", "MOEAD", "ref_dirs"),
    "smsemoa": ("pymoo.algorithms.moo.sms", "SMSEMOA", "pop_size"),
    "rvea": ("pymoo.algorithms.moo.rvea", "RVEA", "both"),
    "ctaea": ("pymoo.algorithms.moo.ctaea", "CTAEA", "ref_dirs"),
    "spea2": ("pymoo.algorithms.moo.spea2", "SPEA2", "pop_size"),
}


def build(name: str, space: SearchSpace, population: int, eta_crossover: float, eta_mutation: float) -> Any:
    """pymoo's ``name`` with nsga2's integer operators for ``space`` (``ConfigError`` when it cannot be built)."""
    module, cls, sizing = ALGORITHMS[name]
    options: dict[str, Any] = integer_operators(space, eta_crossover, eta_mutation)
    if sizing in ("ref_dirs", "both"):
        options["ref_dirs"] = _reference_directions(population)
    if sizing in ("pop_size", "both"):
        options["pop_size"] = population
    if name == "moead":  # MOEA/D mates within neighbourhoods and sets its own duplicate handling
        options.pop("eliminate_duplicates")
        options["n_neighbors"] = min(20, population)
    try:
        algorithm_class: Callable[..., Any] = getattr(importlib.import_module(module), cls)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return algorithm_class(**options)
    except Exception as exc:  # e.g. AGE-MOEA without numba
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"strategy 'pymoo': algorithm {name!r} cannot be built here: {reason}") from None


@register
class PymooAlgorithm(AskTellStrategy):
    """A pymoo algorithm (Blank & Deb 2020) searching (validation error, MACs), every candidate trained.

    algorithm <- pymoo's ``algorithm`` on the space's integer box, with nsga2's operators (integer
                 random sampling, SBX and polynomial mutation rounded, canonical genotypes,
                 duplicates eliminated where the algorithm allows); reference directions (NSGA-III,
                 U-NSGA-III, MOEA/D, RVEA, C-TAEA) are ``population`` Das-Dennis points
    repeat:
        offspring <- algorithm.ask(); train each at search fidelity: (1 - val metric, MACs)
        algorithm.tell(offspring)
    return the non-dominated evaluated architectures (at most K)

    Hyper-parameters: ``algorithm`` (nsga2, nsga3, unsga3, agemoea, agemoea2 — these two need
    numba —, moead, smsemoa, rvea, ctaea, spea2), ``population``, ``eta_crossover``, ``eta_mutation``.
    """

    name = "pymoo"
    description = "any pymoo algorithm (nsga3, agemoea, moead, smsemoa, ...) on (val error, MACs), every candidate trained"
    requires = frozenset({"sample"})
    parameter_constraints = {
        "algorithm": Options(*ALGORITHMS),
        "population": Interval(int, 2, 100_000),
        "eta_crossover": Interval(float, 0, 1000, closed="right"),
        "eta_mutation": Interval(float, 0, 1000, closed="right"),
    }

    def __init__(self, *, algorithm: str = "nsga3", population: int = 10, eta_crossover: float = 3.0,
                 eta_mutation: float = 3.0) -> None:
        self.algorithm = algorithm
        self.population = population
        self.eta_crossover = eta_crossover
        self.eta_mutation = eta_mutation

    def check(self, space: SearchSpace, tasks: Mapping[str, "Task"], k: int) -> None:
        super().check(space, tasks, k)
        build(self.algorithm, space, self.population, self.eta_crossover, self.eta_mutation)

    # -- the hooks ------------------------------------------------------------------------
    def setup(self, ctx: SearchContext) -> None:
        self.algorithm_ = build(self.algorithm, ctx.space, self.population, self.eta_crossover, self.eta_mutation)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.algorithm_.setup(integer_problem(ctx.space), termination=MaximumGenerationTermination(10**9), seed=ctx.seed)

    def ask(self, ctx: SearchContext) -> list[Architecture]:
        offspring = self.algorithm_.ask()
        if isinstance(offspring, Individual):  # loop-wise algorithms (MOEA/D) ask for one at a time
            offspring = Population.create(offspring)
        self.offspring_ = offspring
        return [ctx.space.make(np.rint(x).astype(int)) for x in offspring.get("X")]

    def tell(self, ctx: SearchContext, archs: list[Architecture], results: list[Evaluation]) -> None:
        self.offspring_.set("F", objectives(results))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.algorithm_.tell(infills=self.offspring_ if len(self.offspring_) != 1 or not self._loopwise()
                                 else self.offspring_[0])

    def _loopwise(self) -> bool:
        from pymoo.core.algorithm import LoopwiseAlgorithm

        return isinstance(self.algorithm_, LoopwiseAlgorithm)
