"""The search context: a strategy's only door to data, compute, randomness and the archive."""
from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, Sequence

import numpy as np
from torch import nn

from nasbench import indicators
from nasbench.archive import Archive, objectives
from nasbench.errors import ConfigError, InvalidArchitecture
from nasbench.evaluator import Evaluator
from nasbench.ledger import Ledger
from nasbench.records import Architecture, Cost, Evaluation, Fidelity
from nasbench.training import Recipe, mean_loss, recalibrate_batchnorm, train

if TYPE_CHECKING:  # pragma: no cover
    from nasbench.proxies import Proxy
    from nasbench.tasks.base import SearchView, Split
    from spaces.base import SearchSpace

log = logging.getLogger(__name__)


class SearchContext:
    """What one (strategy, tasks, seed) search may use; every spend goes through its ledger.

    The test split is not reachable from here: evaluations are always on the validation split.
    """

    def __init__(
        self,
        space: "SearchSpace",
        evaluators: Mapping[str, Evaluator],
        ledger: Ledger,
        seed: int,
        k: int,
        on_evaluation: Callable[[Evaluation, Ledger], None] | None = None,
    ) -> None:
        if not evaluators:
            raise ConfigError("a search needs at least one task")
        self.space = space
        self.tasks: tuple[str, ...] = tuple(evaluators)
        self.ledger = ledger
        self.seed = seed
        self.k = k
        self.rng = np.random.default_rng(seed)
        self.archive = Archive()
        self._evaluators = dict(evaluators)
        self._on_evaluation = on_evaluation

    # -- which task ----------------------------------------------------------------------
    @property
    def task(self) -> str:
        """The task of a single-task search."""
        if len(self.tasks) != 1:
            raise ConfigError(f"this search has several tasks {self.tasks}; name one")
        return self.tasks[0]

    def _evaluator(self, task: str | None) -> Evaluator:
        name = self.task if task is None else task
        if name not in self._evaluators:
            raise ConfigError(f"unknown task {name!r}; this search has {', '.join(self.tasks)}")
        return self._evaluators[name]

    def metric_name(self, task: str | None = None) -> str:
        return self._evaluator(task).metric_name

    def search_fidelity(self, task: str | None = None) -> Fidelity:
        return self._evaluator(task).search_fidelity

    # -- spending ------------------------------------------------------------------------
    def _check(self, arch: Architecture) -> Architecture:
        if arch.space != self.space.name:
            raise InvalidArchitecture(f"architecture of space {arch.space!r} given to a {self.space.name!r} search")
        return self.space.make(arch.genes)

    def evaluate(self, arch: Architecture, task: str | None = None, fidelity: Fidelity | None = None) -> Evaluation:
        """Train ``arch`` at ``fidelity`` (the task's search fidelity by default) and score it on val.

        Every call is charged, repeats included; raises ``BudgetExhausted`` before training
        when the charge would not fit.
        """
        arch = self._check(arch)
        evaluator = self._evaluator(task)
        fidelity = fidelity or evaluator.search_fidelity
        with self.ledger.operation(evaluator.compute(arch, fidelity), queries=1, what=f"evaluate {arch.key}"):
            result = evaluator.evaluate(arch, fidelity, self.seed, split="val")
        self.archive.add(result, self.ledger.used)
        if self._on_evaluation is not None:
            self._on_evaluation(result, self.ledger)
        return result

    def evaluate_many(
        self, archs: Sequence[Architecture], task: str | None = None, fidelity: Fidelity | None = None
    ) -> list[Evaluation]:
        """Evaluate a batch in order (stops with ``BudgetExhausted`` at the first that does not fit)."""
        return [self.evaluate(a, task, fidelity) for a in archs]

    def cost(self, arch: Architecture, task: str | None = None) -> Cost:
        """MACs, parameters and latency: free, nothing is charged."""
        return self._evaluator(task).cost(self._check(arch))

    def score(self, arch: Architecture, proxy: "str | Proxy", task: str | None = None) -> float:
        """A data-free proxy's score of ``arch`` built for ``task``'s input (higher is better).

        Charged ``proxy.compute`` MACs and one query before it runs (``BudgetExhausted`` when that
        does not fit); seeded by the search seed, so the same network scores the same.
        """
        from nasbench.proxies import Subject, get_proxy

        arch = self._check(arch)
        scorer = get_proxy(proxy)
        evaluator = self._evaluator(task)
        subject = Subject(self.space, arch, evaluator.network_task(), evaluator.cost)
        what = f"{scorer.name} score of {arch.key}"
        with self.ledger.operation(scorer.compute(subject.cost), queries=1, what=what):
            return scorer.score(subject, self.seed)

    @contextlib.contextmanager
    def charge(self, macs: float, what: str) -> Iterator[None]:
        """Meter an operation a strategy runs itself (a supernet step, a proxy score)."""
        with self.ledger.operation(macs, queries=0, what=what):
            yield

    # -- data and metered training, for strategies that train their own networks -----------
    def network_task(self, task: str | None = None) -> "SearchView":
        """The task to build networks and heads for (``space.build(arch, view)``); no test split."""
        from nasbench.tasks.base import SearchView

        return SearchView(self._evaluator(task).network_task())

    def data(self, split: str = "train", task: str | None = None) -> "Split":
        """The task's ``train`` or ``val`` split; the test split is not open to a search."""
        return self.network_task(task).split(split)

    def recipe(self, task: str | None = None) -> Recipe:
        """The shared training recipe of the task's evaluator."""
        return getattr(self._evaluator(task), "recipe", Recipe())

    def train_steps(
        self, model: nn.Module, macs_per_sample: float, *, task: str | None = None, epochs: int = 1,
        data: "Split | None" = None, seed: int | None = None, what: str = "training",
    ) -> int:
        """Train ``model`` in place with the shared recipe; charged 3 x ``macs_per_sample`` per sample and epoch.

        ``data`` defaults to the whole training split; refused (``BudgetExhausted``) before it runs
        when the charge does not fit. Returns the samples processed; raises ``Diverged``.
        """
        view = self.network_task(task)
        data = view.split("train") if data is None else data
        with self.ledger.operation(3.0 * macs_per_sample * len(data) * epochs, queries=0, what=what):
            return train(model, view, data, epochs, self.seed if seed is None else seed, self.recipe(task))

    def recalibrate(
        self, model: nn.Module, macs_per_sample: float, *, task: str | None = None, samples: int | None = None
    ) -> int:
        """Reset BatchNorm statistics to averages over training samples (charged as inference)."""
        recipe = self.recipe(task)
        data = self.data("train", task)
        samples = min(len(data), recipe.bn_recalibration_samples if samples is None else samples)
        with self.ledger.operation(float(macs_per_sample) * samples, queries=0, what="BatchNorm recalibration"):
            return recalibrate_batchnorm(model, data, samples, recipe.batch_size)

    def validate(
        self, model: nn.Module, macs_per_sample: float, *, task: str | None = None,
        data: "Split | None" = None, loss: bool = False,
    ) -> float:
        """The task metric (or, with ``loss``, the mean task loss) of ``model`` on ``data`` (val by default).

        Charged one forward pass per sample.
        """
        view = self.network_task(task)
        data = view.split("val") if data is None else data
        with self.ledger.operation(float(macs_per_sample) * len(data), queries=0, what="validation"):
            return mean_loss(model, view, data) if loss else float(view.score(model, data))

    # -- results -------------------------------------------------------------------------
    def front(self, task: str | None = None, k: int | None = None) -> list[Architecture]:
        """The archive's non-dominated architectures (val metric up, MACs down), at most ``k`` spread along it."""
        task = self.task if task is None else task
        unique: dict[Architecture, Evaluation] = {}
        for e in self.archive.evaluations(task):
            if e.ok:
                unique[e.arch] = e
        if not unique:
            return []
        evaluations = list(unique.values())
        F = objectives(evaluations)
        front = np.flatnonzero(indicators.non_dominated(F))
        keep = indicators.select_spread(F[front], self.k if k is None else k)
        return [evaluations[i].arch for i in front[keep]]
