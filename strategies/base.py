"""The strategy interface: the base owns the search loop, strategies fill small hooks.

- ``Strategy``: one required method, ``search(ctx)``. ``run(ctx)`` calls it and treats
  ``BudgetExhausted`` as the normal end of a search, answering with ``propose(ctx)`` (by default
  the non-dominated evaluated architectures of each task, at most K), as pymoo's
  ``Algorithm.run`` owns termination.
- ``AskTellStrategy``: black-box strategies write ``ask`` (candidates) and ``tell`` (their
  results), optionally ``setup``, ``assess`` (default ``ctx.evaluate``), ``has_next`` and
  ``propose``; the base runs ``setup; while has_next: ask -> assess -> tell; propose``.
- Up-front checks: ``requires`` (space capabilities) and ``check(space, tasks, k)`` raise a
  one-line ``ConfigError`` before any compute is spent.
- Hyper-parameters, scikit-learn style: ``__init__`` only stores its keywords; the class
  declares ``parameter_constraints`` (and ``parameter_rules`` across parameters) and one
  validator, ``validate_parameters``, checks them in ``create`` (and again in ``run``).
"""
from __future__ import annotations

import abc
import inspect
import logging
import math
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Sequence, TypeVar

from nasbench.context import SearchContext
from nasbench.registry import STRATEGIES
from nasbench.errors import BudgetExhausted, ConfigError
from nasbench.records import Architecture

if TYPE_CHECKING:  # pragma: no cover
    from nasbench.tasks.base import Task
    from spaces.base import SearchSpace

log = logging.getLogger(__name__)

#: What ``search`` returns: proposals for the context's task, or a mapping task -> proposals.
Proposals = Sequence[Architecture] | Mapping[str, Sequence[Architecture]]

S = TypeVar("S", bound=type["Strategy"])

#: Largest sequence and string a hyper-parameter may hold.
MAX_ITEMS = 64
MAX_CHARS = 200


def register(cls: S) -> S:
    """Class decorator: make a strategy available to the runner under ``cls.name`` (in this process).

    Other packages declare an entry point in the ``nasbench.strategies`` group instead, so that
    worker processes and ``--list`` find them without importing anything by hand.
    """
    return STRATEGIES.register(cls)


# -- hyper-parameter constraints ------------------------------------------------------------
class Constraint(abc.ABC):
    """What values one hyper-parameter accepts; ``str()`` describes them for error messages."""

    @abc.abstractmethod
    def accepts(self, value: Any) -> bool:
        """Whether ``value`` satisfies the constraint."""

    @abc.abstractmethod
    def __str__(self) -> str:
        """E.g. ``an int in [1, 100000]``."""


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or type(value).__name__ == "bool_"


def _is_int(value: Any) -> bool:
    """An integer; a bool is not one."""
    return isinstance(value, numbers.Integral) and not _is_bool(value)


def _is_real(value: Any) -> bool:
    """A finite real number; a bool is not one."""
    return isinstance(value, numbers.Real) and not _is_bool(value) and math.isfinite(value)


class Interval(Constraint):
    """A number of ``kind`` (``int``: integers only, bool excluded; ``float``: any finite real) in a range.

    ``closed`` is ``both``, ``left``, ``right`` or ``neither``; None bounds are open-ended.
    """

    def __init__(self, kind: type, low: float | None = None, high: float | None = None, *, closed: str = "both") -> None:
        if kind not in (int, float) or closed not in ("both", "left", "right", "neither"):
            raise TypeError("Interval(kind=int|float, low, high, closed=both|left|right|neither)")
        self.kind, self.low, self.high, self.closed = kind, low, high, closed

    def accepts(self, value: Any) -> bool:
        if not (_is_int(value) if self.kind is int else _is_real(value)):
            return False
        if self.low is not None and (value < self.low or value == self.low and self.closed in ("right", "neither")):
            return False
        if self.high is not None and (value > self.high or value == self.high and self.closed in ("left", "neither")):
            return False
        return True

    def __str__(self) -> str:
        what = "an int" if self.kind is int else "a number"
        if self.low is None and self.high is None:
            return what
        if self.high is None:
            return f"{what} {'>=' if self.closed in ('both', 'left') else '>'} {self.low:g}"
        if self.low is None:
            return f"{what} {'<=' if self.closed in ('both', 'right') else '<'} {self.high:g}"
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        return f"{what} in {left}{self.low:g}, {self.high:g}{right}"


class Options(Constraint):
    """One of a fixed set of values (compared with their type: ``1`` does not match ``True``)."""

    def __init__(self, *choices: Any) -> None:
        self.choices = choices

    def accepts(self, value: Any) -> bool:
        return any(type(value) is type(c) and value == c for c in self.choices)

    def __str__(self) -> str:
        return "one of " + ", ".join(map(repr, self.choices))


class Boolean(Constraint):
    """``True`` or ``False`` (not 0 or 1)."""

    def accepts(self, value: Any) -> bool:
        return _is_bool(value)

    def __str__(self) -> str:
        return "True or False"


class Nothing(Constraint):
    """``None``."""

    def accepts(self, value: Any) -> bool:
        return value is None

    def __str__(self) -> str:
        return "None"


class TupleOf(Constraint):
    """A tuple (or list) of ``min_len`` .. ``max_len`` items, each accepted by ``item``."""

    def __init__(self, item: Constraint, min_len: int = 0, max_len: int = MAX_ITEMS) -> None:
        self.item, self.min_len, self.max_len = item, min_len, max_len

    def accepts(self, value: Any) -> bool:
        return (isinstance(value, (tuple, list)) and self.min_len <= len(value) <= self.max_len
                and all(self.item.accepts(v) for v in value))

    def __str__(self) -> str:
        return f"a tuple of {self.min_len}-{self.max_len} items, each {self.item}"


class Satisfies(Constraint):
    """A plain value for which ``predicate`` holds (described by ``description``)."""

    def __init__(self, predicate: Callable[[Any], bool], description: str) -> None:
        self.predicate, self.description = predicate, description

    def accepts(self, value: Any) -> bool:
        try:
            return bool(self.predicate(value))
        except Exception:
            return False

    def __str__(self) -> str:
        return self.description


@dataclass(frozen=True)
class Rule:
    """A constraint across parameters, e.g. ``Rule(("warmup", "epochs"), lambda p: p["warmup"] < p["epochs"], "warmup < epochs")``."""

    params: tuple[str, ...]
    holds: Callable[[Mapping[str, Any]], bool]
    text: str


def _plain(value: Any) -> bool:
    """A scalar (None, bool, number, short string) or a short flat tuple/list of scalars."""
    def scalar(v: Any) -> bool:
        return v is None or _is_bool(v) or isinstance(v, numbers.Number) or isinstance(v, str) and len(v) <= MAX_CHARS

    if isinstance(value, (tuple, list)):
        return len(value) <= MAX_ITEMS and all(scalar(v) for v in value)
    return scalar(value)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate_parameters(
    strategy: str,
    params: Mapping[str, Any],
    constraints: Mapping[str, Constraint | Sequence[Constraint | None] | None],
    rules: Sequence[Rule] = (),
) -> None:
    """The one hyper-parameter validator: types, ranges and choices, then the rules across parameters.

    ``constraints[name]`` is a constraint, or a list of them (any may accept; ``None`` in the list
    admits None). Every value must also be plain (a scalar or a short flat tuple); a parameter
    without a declared constraint is checked for that only. Raises ``ConfigError`` with one line
    naming the strategy, the parameter, the value given and what is valid.
    """
    for name, value in params.items():
        declared = constraints.get(name)
        if declared is None:
            options: list[Constraint] = []
        elif isinstance(declared, (list, tuple)):
            options = [Nothing() if c is None else c for c in declared]
        else:
            options = [declared]
        valid = " or ".join(map(str, options)) or "a scalar or a short flat tuple"
        if not _plain(value) or (options and not any(c.accepts(value) for c in options)):
            raise ConfigError(f"strategy {strategy!r}: parameter {name}={_shown(value)} is invalid; valid: {valid}")
    for rule in rules:
        if all(p in params for p in rule.params) and not rule.holds(params):
            given = ", ".join(f"{p}={_shown(params[p])}" for p in rule.params)
            what = "parameter" if len(rule.params) == 1 else "parameters"
            verb = "is" if len(rule.params) == 1 else "are"
            raise ConfigError(f"strategy {strategy!r}: {what} {given} {verb} invalid; valid: {rule.text}")


# -- strategies -------------------------------------------------------------------------------
class Strategy(abc.ABC):
    """A search strategy. Hyper-parameters are constructor keywords with defaults (sklearn style).

    ``__init__`` only stores its keywords under their own names; ``parameter_constraints`` and
    ``parameter_rules`` declare what is valid. ``search(ctx)`` spends only through ``ctx`` and
    returns at most ``ctx.k`` architectures per task; ``run(ctx)`` owns the end of the search.
    """

    name: ClassVar[str]
    #: One line shown by ``run_compare.py --list``.
    description: ClassVar[str] = ""
    #: Capabilities the search space must offer (see ``SearchSpace.capabilities``).
    requires: ClassVar[frozenset[str]] = frozenset({"sample"})
    #: Whether one search serves all selected tasks at once (FBNetV5-style).
    multitask: ClassVar[bool] = False
    #: Whether a ``queries`` budget is converted to the same compute in MACs for this strategy (zero-shot
    #: methods: a proxy score costs a tiny fraction of a query, so counting it as one would be meaningless).
    budget_in_macs: ClassVar[bool] = False
    #: Per hyper-parameter: a ``Constraint`` or a list of them (``None`` in the list admits None).
    parameter_constraints: ClassVar[Mapping[str, Any]] = {}
    #: Constraints across hyper-parameters.
    parameter_rules: ClassVar[tuple[Rule, ...]] = ()

    @abc.abstractmethod
    def search(self, ctx: SearchContext) -> Proposals:
        """Run the search and return the proposed architectures."""

    def run(self, ctx: SearchContext) -> Proposals:
        """Validate the hyper-parameters, search, and end normally when the budget runs out (``propose``)."""
        self.validate()
        try:
            return self.search(ctx)
        except BudgetExhausted as exc:
            log.debug("%s: budget exhausted (%s)", self.name, exc)
            return self.propose(ctx)

    def propose(self, ctx: SearchContext) -> Proposals:
        """The proposals when the search ends: here the non-dominated evaluated architectures, at most K per task."""
        if len(ctx.tasks) == 1:
            return ctx.front()
        return {task: ctx.front(task) for task in ctx.tasks}

    # -- up-front checks ---------------------------------------------------------------------
    def check(self, space: "SearchSpace", tasks: Mapping[str, "Task"], k: int) -> None:
        """``ConfigError`` (one line) when this strategy cannot search ``space`` for ``tasks`` with K = ``k``.

        Called by the runner before any compute is spent. The base checks ``requires``;
        strategies extend it with what their hyper-parameters imply.
        """
        missing = self.missing_capabilities(space)
        if missing:
            raise ConfigError(
                f"strategy {self.name!r} needs {', '.join(sorted(missing))}, which space {space.name!r} lacks; "
                f"it fits spaces offering {', '.join(sorted(self.requires))}"
            )

    @classmethod
    def missing_capabilities(cls, space: "SearchSpace") -> frozenset[str]:
        """What this strategy needs that ``space`` does not offer (empty: it fits)."""
        return frozenset(cls.requires - space.capabilities)

    def check_trainable(self, tasks: Mapping[str, "Task"], why: str) -> None:
        """``ConfigError`` unless every task has data to train networks on (``why``: what needs it)."""
        tabular = [name for name, task in tasks.items() if not getattr(task, "trainable", True)]
        if tabular:
            raise ConfigError(f"strategy {self.name!r} {why}: task {', '.join(tabular)} has no data to train on")

    # -- hyper-parameters --------------------------------------------------------------------
    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        """Hyper-parameters and their defaults, read from ``__init__``'s signature."""
        params = inspect.signature(cls.__init__).parameters.values()
        return {p.name: p.default for p in params if p.name != "self" and p.kind is p.KEYWORD_ONLY}

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.param_defaults()}

    def validate(self) -> None:
        """Check the current hyper-parameters against the declared constraints (``ConfigError``)."""
        validate_parameters(self.name, self.get_params(), self.parameter_constraints, self.parameter_rules)

    @classmethod
    def create(cls, **params: Any) -> "Strategy":
        """Instantiate with user-given hyper-parameters, refusing unknown names and invalid values (defaults too)."""
        unknown = set(params) - set(cls.param_defaults())
        if unknown:
            valid = ", ".join(cls.param_defaults()) or "none"
            raise ConfigError(f"unknown parameter(s) {', '.join(sorted(unknown))} for strategy {cls.name!r}; valid: {valid}")
        validate_parameters(cls.name, params, cls.parameter_constraints, ())
        strategy = cls(**params)
        strategy.validate()
        return strategy


class AskTellStrategy(Strategy):
    """A black-box strategy as hooks; the base owns the loop (pymoo's ``Algorithm.run``)::

        setup(ctx)
        while has_next(ctx):                       # at most max_iterations rounds
            archs = ask(ctx)                       # candidates (may be empty: nothing to assess)
            results = [assess(ctx, a) for a in archs]   # default ctx.evaluate: charged
            tell(ctx, archs, results)
        return propose(ctx)                        # default: ctx.front() per task

    ``BudgetExhausted`` from any hook ends the loop (``run`` calls ``propose``); a round cut
    short by it is not told. Per-search state lives on the instance under names ending in
    ``_`` (scikit-learn's convention for fitted attributes), reset by ``setup``.
    """

    #: Safety cap on rounds, so a strategy whose candidates cost nothing cannot loop forever.
    max_iterations: ClassVar[int] = 1_000_000

    def setup(self, ctx: SearchContext) -> None:
        """Prepare the per-search state."""

    def has_next(self, ctx: SearchContext) -> bool:
        """Whether to run another round (the budget ends the search otherwise)."""
        return True

    @abc.abstractmethod
    def ask(self, ctx: SearchContext) -> list[Architecture]:
        """The next candidates to assess."""

    def assess(self, ctx: SearchContext, arch: Architecture) -> Any:
        """One candidate's result: its evaluation at search fidelity (charged)."""
        return ctx.evaluate(arch)

    def tell(self, ctx: SearchContext, archs: list[Architecture], results: list[Any]) -> None:
        """Learn from the assessed candidates."""

    def search(self, ctx: SearchContext) -> Proposals:
        self.setup(ctx)
        for _ in range(self.max_iterations):
            if not self.has_next(ctx):
                break
            archs = list(self.ask(ctx))
            results = [self.assess(ctx, arch) for arch in archs]
            self.tell(ctx, archs, results)
        else:
            log.warning("%s: stopped at the safety cap of %d rounds", self.name, self.max_iterations)
        return self.propose(ctx)
