"""Search strategies, registered by name; other packages add theirs via the entry-point group."""
from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points

from nasbench.errors import ConfigError
from strategies.base import REGISTRY, Proposals, Strategy, register

log = logging.getLogger(__name__)

#: Modules of the built-in strategies (imported on first lookup, so importing this package stays light).
BUILTIN_MODULES = (
    "strategies.random_search",
    "strategies.evolution",
    "strategies.nsga2",
    "strategies.zen",
    "strategies.relative",
    "strategies.dnas",
    "strategies.fbnetv5",
    "strategies.fmas",
)
#: Entry-point group through which an installed package contributes strategies.
ENTRY_POINT_GROUP = "nasbench.strategies"

_loaded = False


def load_all() -> dict[str, type[Strategy]]:
    """Import the built-in strategies and every installed plug-in; return the registry."""
    global _loaded
    if not _loaded:
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                cls = ep.load()
            except Exception as exc:  # a broken plug-in must not take the others down
                log.warning("could not load strategy plug-in %s: %s", ep.name, exc)
                continue
            if isinstance(cls, type) and issubclass(cls, Strategy):
                register(cls)
        _loaded = True
    return dict(sorted(REGISTRY.items()))


def get_strategy(name: str) -> type[Strategy]:
    """The strategy class registered as ``name``; ``ConfigError`` listing the choices otherwise."""
    registry = load_all()
    if name not in registry:
        raise ConfigError(f"unknown strategy {name!r}; choose from {', '.join(registry)}")
    return registry[name]


__all__ = ["Proposals", "Strategy", "get_strategy", "load_all", "register"]
