"""The search context: a strategy's only door to data, compute, randomness and results.

The runner builds one ``SearchContext`` per search from a fresh evaluator per task, its own
``Ledger`` and ``Archive``; it reads the ledger and the archive itself after the search. None of
them is reachable from ``ctx``: they live in a module-level ``WeakKeyDictionary`` keyed by the
context, and the context has ``__slots__`` holding only what it shows (space, task names, seed,
K, the random generator). No attribute path from ``ctx`` (instance slots, containers, bound
methods, closures, property values) leads to the ledger, the archive, an evaluator or test data.
Python cannot forbid ``import nasbench.context`` and reading its globals; the runner's compute
audit (CPU time against charged work) is what catches a strategy working around the door.

Everything a strategy spends is priced by ``ctx``, never declared by the caller:

- ``evaluate`` charges the evaluator's known compute (training at search fidelity + scoring);
- ``score`` charges the proxy's forward passes times the architecture's MACs;
- ``train`` / ``recalibrate`` / ``validate`` on a strategy's own network charge 3 x / 1 x / 1 x
  the model's forward MACs (counted by ``ctx`` with torch's FLOP counter) per sample;
- ``charge`` meters supernet steps whose MACs the space's cost model computes (``dnas``,
  ``fbnetv5``): the only declared amount, audited by the runner;
- ``given`` declares work that is not charged (a pretrained parent): metered into
  ``ledger.given`` and reported by the runner.

Recipes (``nasbench.recipes``): ``evaluate(..., recipe=)`` trains with a recipe of the task's
``recipe_space()`` (charged the epochs it runs), and ``recommend(arch, recipe)`` records the
recipe a strategy proposes with an architecture into the runner's ``recipes`` dict (private,
like the archive), which trains each proposal with it as well.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import math
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

import numpy as np
from torch import nn

from nasbench.archive import Archive
from nasbench.costs import count_macs
from nasbench.errors import ConfigError, InvalidArchitecture, SearchTimeout
from nasbench.evaluator import Evaluator, SearchSpace
from nasbench.ledger import Ledger
from nasbench.recipes import RecipeSpace, recipe_space
from nasbench.records import Architecture, Cost, Evaluation, Fidelity, Status
from nasbench.tasks.base import SearchView, Split
from nasbench.training import Recipe, mean_loss, recalibrate_batchnorm, train

if TYPE_CHECKING:  # pragma: no cover
    from nasbench.proxies import Proxy

log = logging.getLogger(__name__)

#: A training step costs a forward and a backward pass: 3 forward passes per sample.
TRAINING_PASSES = 3


@dataclass(eq=False)
class _State:
    """Everything of a context a strategy must not reach; held in ``_STATE``, never on the context."""

    ledger: Ledger
    archive: Archive
    evaluators: dict[str, Evaluator]
    deadline: float | None
    on_evaluation: Callable[[Evaluation, Ledger], None] | None
    #: task -> architecture key -> the recipe the strategy recommends with it (the runner's dict).
    recipes: dict[str, dict[str, Recipe]] = field(default_factory=dict)
    costs: dict[tuple[str, Architecture], Cost] = field(default_factory=dict)
    memo: dict[tuple[str, Architecture, Fidelity, Recipe | None], Evaluation] = field(default_factory=dict)
    recipe_spaces: dict[str, RecipeSpace | None] = field(default_factory=dict)
    views: dict[str, SearchView] = field(default_factory=dict)
    model_macs: dict[tuple[Any, ...], int] = field(default_factory=dict)
    given: str | None = None


_STATE: "weakref.WeakKeyDictionary[SearchContext, _State]" = weakref.WeakKeyDictionary()


def _open(ctx: "SearchContext") -> _State:
    """The private state of ``ctx``; ``SearchTimeout`` once its deadline has passed."""
    state = _STATE[ctx]
    if state.deadline is not None and time.monotonic() >= state.deadline:
        raise SearchTimeout("the search ran past its deadline")
    return state


class Estimate:
    """A strategy's own validation estimate of an architecture, filled inside ``ctx.estimate``.

    Set ``metric`` (the validation metric), optionally ``status`` and ``extra`` figures; ``ctx``
    fills cost, compute and wall time and records it. An estimate left without a metric is
    recorded as failed.
    """

    __slots__ = ("arch", "task", "fidelity", "metric", "status", "extra")

    def __init__(self, arch: Architecture, task: str, fidelity: Fidelity) -> None:
        self.arch, self.task, self.fidelity = arch, task, fidelity
        self.metric: float | None = None
        self.status = Status.OK
        self.extra: dict[str, float] = {}


class SearchContext:
    """What one (strategy, tasks, seed) search may use; every spend is priced and charged here.

    Read-only: ``space``, ``tasks`` (names), ``task`` (of a single-task search), ``seed``, ``k``,
    ``rng``, and the budget figures ``budget``, ``unit``, ``used``, ``remaining``. After
    ``deadline`` (a ``time.monotonic()`` value) every call raises ``SearchTimeout``.

    ``recipes``: the runner's dict that ``recommend`` fills (task -> architecture key ->
    ``Recipe``); None gives the context a dict of its own. Never reachable from ``ctx``.
    """

    __slots__ = ("__weakref__", "_space", "_tasks", "_seed", "_k", "_rng")

    def __init__(
        self,
        space: "SearchSpace",
        evaluators: Mapping[str, Evaluator],
        ledger: Ledger,
        archive: Archive,
        seed: int,
        k: int,
        *,
        deadline: float | None = None,
        on_evaluation: Callable[[Evaluation, Ledger], None] | None = None,
        recipes: dict | None = None,
    ) -> None:
        if not evaluators:
            raise ConfigError("a search needs at least one task")
        if not isinstance(ledger, Ledger) or not isinstance(archive, Archive):
            raise TypeError("a search context needs the runner's Ledger and Archive")
        setattr_ = object.__setattr__
        setattr_(self, "_space", space)
        setattr_(self, "_tasks", tuple(evaluators))
        setattr_(self, "_seed", int(seed))
        setattr_(self, "_k", int(k))
        setattr_(self, "_rng", np.random.default_rng(seed))
        if recipes is not None and not isinstance(recipes, dict):
            raise TypeError("recipes must be the runner's dict (or None)")
        _STATE[self] = _State(ledger, archive, dict(evaluators), deadline, on_evaluation,
                              recipes=recipes if recipes is not None else {})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"the search context is read-only ({name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"the search context is read-only ({name!r})")

    def __reduce__(self) -> Any:
        raise TypeError("a search context belongs to one search and cannot be copied or pickled")

    def __repr__(self) -> str:
        return f"SearchContext(space={self._space.name!r}, tasks={self._tasks}, seed={self._seed}, k={self._k})"

    # -- what the search is ---------------------------------------------------------------
    @property
    def space(self) -> "SearchSpace":
        _open(self)
        return self._space

    @property
    def tasks(self) -> tuple[str, ...]:
        """Names of the tasks this search serves."""
        _open(self)
        return self._tasks

    @property
    def task(self) -> str:
        """The task of a single-task search."""
        _open(self)
        if len(self._tasks) != 1:
            raise ConfigError(f"this search has several tasks {self._tasks}; name one")
        return self._tasks[0]

    @property
    def seed(self) -> int:
        _open(self)
        return self._seed

    @property
    def k(self) -> int:
        """Proposals per task, the same for every strategy."""
        _open(self)
        return self._k

    @property
    def rng(self) -> np.random.Generator:
        """The search's random generator, seeded by ``seed``."""
        _open(self)
        return self._rng

    # -- the budget, as numbers ---------------------------------------------------------
    @property
    def budget(self) -> float:
        return _open(self).ledger.budget

    @property
    def unit(self) -> str:
        """``macs``, ``seconds`` or ``queries``."""
        return _open(self).ledger.unit

    @property
    def used(self) -> float:
        return _open(self).ledger.used

    @property
    def remaining(self) -> float:
        return _open(self).ledger.remaining

    # -- helpers --------------------------------------------------------------------------
    def _name(self, task: str | None) -> str:
        name = self.task if task is None else task
        if name not in self._tasks:
            raise ConfigError(f"unknown task {name!r}; this search has {', '.join(self._tasks)}")
        return name

    def _check(self, arch: Architecture) -> Architecture:
        if not isinstance(arch, Architecture):
            raise InvalidArchitecture(f"expected an Architecture, got {type(arch).__name__}")
        if arch.space != self._space.name:
            raise InvalidArchitecture(f"architecture of space {arch.space!r} given to a {self._space.name!r} search")
        return self._space.make(arch.genes)

    @staticmethod
    def _not_given(state: _State, what: str) -> None:
        if state.given is not None:
            raise ConfigError(f"{what} cannot run inside ctx.given({state.given!r}): only train, recalibrate and validate can")

    def _record(self, state: _State, evaluation: Evaluation) -> None:
        state.archive.add(evaluation, state.ledger.used)
        if state.on_evaluation is not None:
            state.on_evaluation(evaluation, state.ledger)

    # -- evaluations ------------------------------------------------------------------------
    def evaluate(
        self, arch: Architecture, task: str | None = None, fidelity: Fidelity | None = None, *, recipe: Recipe | None = None
    ) -> Evaluation:
        """Train ``arch`` at ``fidelity`` (the task's search fidelity by default) and score it on val.

        Every call is charged, repeats included: the evaluator's compute in MACs, one query, and
        under the ``seconds`` unit the measured time (a tabular look-up: the simulated training
        time it stands for; a repeat: the first evaluation's recorded time). Raises
        ``BudgetExhausted`` before training when the charge would not fit.

        ``recipe``: train with this member of ``recipe_space(task)`` instead of the shared recipe.
        Without a ``fidelity`` it trains its whole schedule (``Fidelity(recipe.epochs)``); with
        one, that schedule stopped after ``fidelity.epochs`` (early stopping). Charged the epochs
        run. ``ConfigError`` for a recipe outside the space, on a task whose recipe is fixed
        (NAS-Bench-201), or with more epochs than its schedule.
        """
        state = _open(self)
        self._not_given(state, "ctx.evaluate")
        arch, name = self._check(arch), self._name(task)
        evaluator = state.evaluators[name]
        if recipe is not None:
            recipe = self._recipe_space(state, name, "train with a recipe of its own").check(recipe)
            fidelity = fidelity or Fidelity(recipe.epochs or evaluator.final_fidelity.epochs)
            if recipe.epochs is not None and fidelity.epochs > recipe.epochs:
                raise ConfigError(f"fidelity {fidelity.epochs} epochs exceeds the recipe's {recipe.epochs}-epoch schedule")
        fidelity = fidelity or evaluator.search_fidelity
        key = (name, arch, fidelity, recipe)
        seconds = None
        if state.ledger.unit == "seconds":
            seconds = evaluator.simulated_seconds(arch, fidelity) if recipe is None else None
            if seconds is None and key in state.memo:
                seconds = state.memo[key].wall_seconds
        with_recipe = {} if recipe is None else {"recipe": recipe}  # evaluators without recipes keep their signature
        compute = evaluator.compute(arch, fidelity, **with_recipe)
        with state.ledger.operation(compute, queries=1, what=f"evaluate {arch.key}", seconds=seconds):
            result = evaluator.evaluate(arch, fidelity, self._seed, split="val", **with_recipe)
        state.memo.setdefault(key, result)
        self._record(state, result)
        return result

    def evaluate_many(
        self, archs: Sequence[Architecture], task: str | None = None, fidelity: Fidelity | None = None
    ) -> list[Evaluation]:
        """Evaluate a batch in order (stops with ``BudgetExhausted`` at the first that does not fit)."""
        return [self.evaluate(a, task, fidelity) for a in archs]

    def cost(self, arch: Architecture, task: str | None = None) -> Cost:
        """MACs, parameters and latency (from the space's latency table; NaN without one): free, cached."""
        state = _open(self)
        arch, name = self._check(arch), self._name(task)
        key = (name, arch)
        if key not in state.costs:
            state.costs[key] = state.evaluators[name].cost(arch)
        return state.costs[key]

    def score(self, arch: Architecture, proxy: "str | Proxy", task: str | None = None) -> float:
        """A data-free proxy's score of ``arch`` built for ``task``'s input (higher is better).

        Charged ``proxy.compute`` MACs and one query before it runs (``BudgetExhausted`` when that
        does not fit); seeded by the search seed, so the same network scores the same.
        """
        from nasbench.proxies import Subject, get_proxy

        state = _open(self)
        self._not_given(state, "ctx.score")
        arch, name = self._check(arch), self._name(task)
        scorer = get_proxy(proxy)
        subject = Subject(self._space, arch, self.network_task(name), functools.partial(self.cost, task=name))
        what = f"{scorer.name} score of {arch.key}"
        with state.ledger.operation(scorer.compute(subject.cost), queries=1, what=what):
            return scorer.score(subject, self._seed)

    @contextlib.contextmanager
    def estimate(
        self, arch: Architecture, fidelity: Fidelity | None = None, task: str | None = None
    ) -> Iterator[Estimate]:
        """Record a strategy's own validation estimate of ``arch`` (e.g. a fine-tuned slice).

        ``with ctx.estimate(arch, Fidelity(epochs)) as est: ...; est.metric = ctx.validate(model)``.
        The work inside is charged as usual (``train``, ``recalibrate``, ``validate``); on leaving
        the block ``ctx`` records an ``Evaluation`` whose compute is the MACs charged inside it.
        Nothing is recorded when the block raises (e.g. ``BudgetExhausted``).
        """
        state = _open(self)
        self._not_given(state, "ctx.estimate")
        arch, name = self._check(arch), self._name(task)
        fidelity = fidelity or state.evaluators[name].search_fidelity
        estimate = Estimate(arch, name, fidelity)
        macs, start = state.ledger.spent.macs, time.perf_counter()
        yield estimate
        status = Status(estimate.status)
        metric = math.nan if estimate.metric is None else float(estimate.metric)
        if estimate.metric is None and status is Status.OK:
            status = Status.FAILED
        evaluation = Evaluation(
            arch, name, fidelity, metric, self.cost(arch, name), state.ledger.spent.macs - macs,
            time.perf_counter() - start, status, split="val", seed=self._seed, extra=dict(estimate.extra),
        )
        self._record(state, evaluation)

    # -- work a strategy runs on its own networks, priced by ctx ------------------------------
    @contextlib.contextmanager
    def charge(self, macs: float, what: str) -> Iterator[None]:
        """Meter a supernet step whose MACs the space's cost model computes (``dnas``, ``fbnetv5``).

        The only place a strategy states an amount itself; the runner audits it against the
        CPU time the search used. Everything else is priced by ``ctx``.
        """
        state = _open(self)
        self._not_given(state, "ctx.charge")
        with state.ledger.operation(macs, queries=0, what=what):
            yield

    @contextlib.contextmanager
    def given(self, name: str) -> Iterator[None]:
        """Declare the work inside as given, not charged (e.g. ``with ctx.given("pretrained parent"): ...``).

        ``train``, ``recalibrate`` and ``validate`` inside the block are metered as usual but
        recorded in the ledger's ``given`` list (name, what, MACs) instead of being charged; the
        runner reports them beside the run. Evaluations, scores and charges are refused inside.
        """
        state = _open(self)
        if state.given is not None:
            raise ConfigError(f"ctx.given({name!r}) inside ctx.given({state.given!r})")
        log.warning("search declares %r as given: its work is recorded, not charged", name)
        state.given = str(name)
        try:
            yield
        finally:
            state.given = None

    @contextlib.contextmanager
    def _meter(self, state: _State, macs: float, what: str) -> Iterator[None]:
        if state.given is not None:
            with state.ledger.given_operation(state.given, macs, what):
                yield
        else:
            with state.ledger.operation(macs, queries=0, what=what):
                yield

    def _forward_macs(self, state: _State, model: nn.Module, input_shape: tuple[int, ...]) -> int:
        """MACs of one forward pass of ``model`` at batch 1, cached by the model's structure."""
        if not isinstance(model, nn.Module):
            raise TypeError(f"expected a torch module, got {type(model).__name__}")
        signature = (
            tuple(input_shape),
            repr(model),
            tuple((n, tuple(p.shape)) for n, p in model.named_parameters()),
            tuple((n, tuple(b.shape)) for n, b in model.named_buffers()),
        )
        if signature not in state.model_macs:
            state.model_macs[signature] = count_macs(model, tuple(input_shape))
        return state.model_macs[signature]

    @staticmethod
    def _split(data: Any) -> Split:
        if not isinstance(data, Split):
            raise TypeError(f"data must be a Split from ctx.data(), got {type(data).__name__}")
        return data

    def train(
        self, model: nn.Module, *, epochs: int = 1, data: Split | None = None, task: str | None = None,
        seed: int | None = None, what: str = "training",
    ) -> int:
        """Train ``model`` in place with the shared recipe on ``data`` (the whole training split by default).

        Charged 3 x the model's forward MACs (counted here) per sample and epoch, refused
        (``BudgetExhausted``) before it runs when that does not fit. Returns the samples
        processed; raises ``Diverged``.
        """
        state = _open(self)
        name = self._name(task)
        view = self.network_task(name)
        data = view.split("train") if data is None else self._split(data)
        macs = self._forward_macs(state, model, tuple(data.inputs.shape[1:]))
        with self._meter(state, float(TRAINING_PASSES) * macs * len(data) * int(epochs), what):
            return train(model, view, data, int(epochs), self._seed if seed is None else seed, self.recipe(name))

    def recalibrate(self, model: nn.Module, *, samples: int | None = None, task: str | None = None) -> int:
        """Reset BatchNorm statistics to averages over the first training samples (recipe's count by default).

        Charged one forward pass per sample.
        """
        state = _open(self)
        name = self._name(task)
        recipe, data = self.recipe(name), self.data("train", name)
        samples = min(len(data), recipe.bn_recalibration_samples if samples is None else int(samples))
        macs = self._forward_macs(state, model, tuple(data.inputs.shape[1:]))
        with self._meter(state, float(macs) * max(0, samples), "BatchNorm recalibration"):
            return recalibrate_batchnorm(model, data, samples, recipe.batch_size)

    def validate(self, model: nn.Module, *, data: Split | None = None, loss: bool = False, task: str | None = None) -> float:
        """The task metric (or, with ``loss``, the mean task loss) of ``model`` on ``data`` (val by default).

        Charged one forward pass per sample.
        """
        state = _open(self)
        name = self._name(task)
        view = self.network_task(name)
        data = view.split("val") if data is None else self._split(data)
        macs = self._forward_macs(state, model, tuple(data.inputs.shape[1:]))
        with self._meter(state, float(macs) * len(data), "validation"):
            return mean_loss(model, view, data) if loss else float(view.score(model, data))

    # -- data ---------------------------------------------------------------------------
    def network_task(self, task: str | None = None) -> SearchView:
        """The task to build networks and heads for (``space.build(arch, view)``): a view with no test split."""
        state = _open(self)
        name = self._name(task)
        if name not in state.views:
            state.views[name] = SearchView(state.evaluators[name].network_task())
        return state.views[name]

    def data(self, split: str = "train", task: str | None = None) -> Split:
        """The task's ``train`` or ``val`` split; the test split is not open to a search."""
        return self.network_task(task).split(split)

    def recipe(self, task: str | None = None) -> Recipe:
        """The shared training recipe of the task's evaluator."""
        state = _open(self)
        return getattr(state.evaluators[self._name(task)], "recipe", Recipe())

    # -- recipes as part of a proposal -----------------------------------------------------
    def recipe_space(self, task: str | None = None) -> RecipeSpace | None:
        """The recipes ``evaluate`` and ``recommend`` accept on ``task``; None when the recipe is fixed (a table)."""
        state = _open(self)
        return self._space_of(state, self._name(task))

    def recommend(self, arch: Architecture, recipe: Recipe, task: str | None = None) -> None:
        """Record ``recipe`` as the one ``arch`` should be trained with (free; the latest call wins).

        The runner trains each proposal with its recommended recipe too, beside the shared
        final recipe, so the report separates what the architecture and the recipe bought.
        ``ConfigError`` when the recipe is outside ``recipe_space(task)`` or the task has none.
        """
        state = _open(self)
        arch, name = self._check(arch), self._name(task)
        recipe = self._recipe_space(state, name, "have a recipe recommended").check(recipe)
        state.recipes.setdefault(name, {})[arch.key] = recipe

    @staticmethod
    def _space_of(state: _State, name: str) -> RecipeSpace | None:
        if name not in state.recipe_spaces:
            evaluator = state.evaluators[name]
            base = getattr(evaluator, "recipe", None)
            task = getattr(evaluator, "task", None)
            state.recipe_spaces[name] = None if base is None or task is None else recipe_space(task, base)
        return state.recipe_spaces[name]

    def _recipe_space(self, state: _State, name: str, what: str) -> RecipeSpace:
        space = self._space_of(state, name)
        if space is None:
            raise ConfigError(f"task {name!r} cannot {what}: its training recipe is fixed (a tabular benchmark)")
        return space

    # -- results -------------------------------------------------------------------------
    def evaluations(self, task: str | None = None) -> tuple[Evaluation, ...]:
        """Every evaluation of this search so far (of ``task``, or of all tasks when None), oldest first."""
        state = _open(self)
        return tuple(state.archive.evaluations(None if task is None else self._name(task)))

    def front(self, task: str | None = None, k: int | None = None) -> list[Architecture]:
        """The non-dominated evaluated architectures (val metric up, MACs down), at most ``k`` spread along it."""
        state = _open(self)
        return state.archive.front(self._name(task), self._k if k is None else k)
