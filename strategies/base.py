"""The strategy interface: one required method, ``search(ctx)``, and a registration decorator."""
from __future__ import annotations

import abc
import inspect
from typing import Any, ClassVar, Mapping, Sequence, TypeVar

from nasbench.context import SearchContext
from nasbench.errors import ConfigError
from nasbench.records import Architecture

#: What ``search`` returns: proposals for the context's task, or a mapping task -> proposals.
Proposals = Sequence[Architecture] | Mapping[str, Sequence[Architecture]]

REGISTRY: dict[str, type["Strategy"]] = {}

S = TypeVar("S", bound=type["Strategy"])


def register(cls: S) -> S:
    """Class decorator: make a strategy available to the runner under ``cls.name``."""
    if not getattr(cls, "name", None):
        raise TypeError(f"{cls.__qualname__} needs a class attribute 'name'")
    existing = REGISTRY.get(cls.name)
    if existing is not None and existing is not cls:
        raise TypeError(f"strategy name {cls.name!r} is taken by {existing.__module__}.{existing.__qualname__}")
    REGISTRY[cls.name] = cls
    return cls


class Strategy(abc.ABC):
    """A search strategy. Hyper-parameters are constructor keywords with defaults (sklearn style).

    ``search(ctx)`` spends only through ``ctx`` and returns at most ``ctx.k`` architectures per
    task; when the budget runs out mid-search, the runner falls back to ``ctx.front()``.
    """

    name: ClassVar[str]
    #: One line shown by ``run_compare.py --list``.
    description: ClassVar[str] = ""
    #: Capabilities the search space must offer (see ``SearchSpace.capabilities``).
    requires: ClassVar[frozenset[str]] = frozenset({"sample"})
    #: Whether one search serves all selected tasks at once (FBNetV5-style).
    multitask: ClassVar[bool] = False

    @abc.abstractmethod
    def search(self, ctx: SearchContext) -> Proposals:
        """Run the search and return the proposed architectures."""

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        """Hyper-parameters and their defaults, read from ``__init__``'s signature."""
        params = inspect.signature(cls.__init__).parameters.values()
        return {p.name: p.default for p in params if p.name != "self" and p.kind is p.KEYWORD_ONLY}

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.param_defaults()}

    @classmethod
    def create(cls, **params: Any) -> "Strategy":
        """Instantiate with user-given hyper-parameters, refusing unknown names."""
        unknown = set(params) - set(cls.param_defaults())
        if unknown:
            valid = ", ".join(cls.param_defaults()) or "none"
            raise ConfigError(f"unknown parameter(s) {', '.join(sorted(unknown))} for strategy {cls.name!r}; valid: {valid}")
        return cls(**params)
