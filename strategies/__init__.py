"""Search strategies, registered by name through the ``nasbench.strategies`` entry-point group.

The built-ins are declared in pyproject.toml like any plug-in's; ``register`` adds a class in
this process only (interactive use and tests).
"""
from __future__ import annotations

from nasbench.registry import STRATEGIES
from strategies.base import AskTellStrategy, Proposals, Strategy, register


def get_strategy(name: str) -> type[Strategy]:
    """The strategy class registered as ``name``; ``ConfigError`` listing the choices otherwise."""
    return STRATEGIES.get(name)


def load_all() -> dict[str, type[Strategy]]:
    """Every registered strategy, built-ins and installed plug-ins, by name."""
    return STRATEGIES.load()


__all__ = ["AskTellStrategy", "Proposals", "Strategy", "get_strategy", "load_all", "register"]
