"""Any Optuna sampler as a strategy, through Optuna's ask/tell interface (optional dependency: ``nasbench[optuna]``)."""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Mapping

from nasbench.archive import objectives
from nasbench.context import SearchContext
from nasbench.errors import ConfigError
from nasbench.records import Architecture, Evaluation
from strategies.base import AskTellStrategy, Options, Rule, register

if TYPE_CHECKING:  # pragma: no cover
    from nasbench.tasks.base import Task
    from spaces.base import SearchSpace

INSTALL = "pip install 'nasbench[optuna]'"
#: Sampler names and the Optuna class each builds (with Optuna's defaults and the search seed).
SAMPLERS = {"tpe": "TPESampler", "gp": "GPSampler", "nsgaii": "NSGAIISampler", "cmaes": "CmaEsSampler",
            "random": "RandomSampler", "qmc": "QMCSampler"}
#: Samplers that model one objective only.
SINGLE_OBJECTIVE = frozenset({"cmaes"})


def import_optuna() -> Any:
    """The ``optuna`` module; ``ConfigError`` (one line) naming the extra to install when it is missing."""
    try:
        import optuna
    except ImportError:
        raise ConfigError(f"strategy 'optuna' needs the optuna package: {INSTALL}") from None
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # trial-by-trial logs and FAIL warnings are the runner's business
    return optuna


@register
class OptunaSampler(AskTellStrategy):
    """An Optuna sampler driving the search (Akiba et al. 2019), every trial trained through ``ctx``.

    study <- an Optuna study (maximise the validation metric; or, with ``objective="multi"``,
             minimise (validation error, MACs)), its sampler seeded by the search seed
    repeat:
        trial <- study.ask(one distribution per gene of the space's integer genotype)
        train the architecture of the trial's genes at search fidelity (charged)
        study.tell(trial, value); a failed or diverged evaluation is told as FAIL
    return the non-dominated evaluated architectures (at most K)

    Every trial is a query, repeats included (what a user's objective function would do); the
    space canonicalises genes that do not matter, Optuna keeps the genes it proposed.

    Hyper-parameters:
      sampler: ``tpe`` (default; Optuna's defaults), ``gp``, ``nsgaii``, ``cmaes`` (single
        objective, integer box), ``random``, ``qmc`` (scrambled Sobol, seeded).
      objective: ``single`` (maximise the validation metric) or ``multi`` ((1 - metric, MACs)).
      encoding: ``auto`` (categorical genes, integer for ``cmaes``, which samples categorical ones
        at random), ``categorical`` (unordered choices) or ``int`` (an ordered integer box).
    """

    name = "optuna"
    description = "any Optuna sampler (tpe, gp, nsgaii, cmaes, random, qmc) through ask/tell, every trial trained"
    parameter_constraints = {
        "sampler": Options(*SAMPLERS),
        "objective": Options("single", "multi"),
        "encoding": Options("auto", "categorical", "int"),
    }
    parameter_rules = (
        Rule(("sampler", "objective"), lambda p: not (p["sampler"] in SINGLE_OBJECTIVE and p["objective"] == "multi"),
             f"objective='single' with sampler {', '.join(sorted(SINGLE_OBJECTIVE))}"),
    )

    def __init__(self, *, sampler: str = "tpe", objective: str = "single", encoding: str = "auto") -> None:
        self.sampler = sampler
        self.objective = objective
        self.encoding = encoding

    def check(self, space: "SearchSpace", tasks: Mapping[str, "Task"], k: int) -> None:
        super().check(space, tasks, k)
        import_optuna()
        if self.sampler == "cmaes":
            try:
                import cmaes  # noqa: F401  (Optuna's CMA-ES sampler imports it lazily, mid-search)
            except ImportError:
                raise ConfigError(f"optuna's cmaes sampler needs the cmaes package: {INSTALL}") from None

    def genes_as(self) -> str:
        """How genes are given to Optuna: ``categorical`` or ``int``."""
        if self.encoding != "auto":
            return self.encoding
        return "int" if self.sampler == "cmaes" else "categorical"

    # -- the hooks ------------------------------------------------------------------------
    def setup(self, ctx: SearchContext) -> None:
        optuna = import_optuna()
        distributions = optuna.distributions
        if self.genes_as() == "int":
            self.distributions_ = {f"g{i}": distributions.IntDistribution(0, n - 1) for i, n in enumerate(ctx.space.choices)}
        else:
            self.distributions_ = {f"g{i}": distributions.CategoricalDistribution(list(range(n)))
                                   for i, n in enumerate(ctx.space.choices)}
        options = {"scramble": True} if self.sampler == "qmc" else {}  # unscrambled QMC ignores the seed
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = getattr(optuna.samplers, SAMPLERS[self.sampler])(seed=ctx.seed, **options)
        directions = ["maximize"] if self.objective == "single" else ["minimize", "minimize"]
        self.study_ = optuna.create_study(directions=directions, sampler=sampler)

    def ask(self, ctx: SearchContext) -> list[Architecture]:
        self.trial_ = self.study_.ask(self.distributions_)
        return [ctx.space.make(int(self.trial_.params[f"g{i}"]) for i in range(ctx.space.n_genes))]

    def tell(self, ctx: SearchContext, archs: list[Architecture], results: list[Evaluation]) -> None:
        from optuna.trial import TrialState

        for evaluation in results:
            if not evaluation.ok:
                self.study_.tell(self.trial_, state=TrialState.FAIL)
            elif self.objective == "single":
                self.study_.tell(self.trial_, float(evaluation.metric))
            else:
                self.study_.tell(self.trial_, [float(v) for v in objectives([evaluation])[0]])
