"""Plug-in registries: strategies, spaces and tasks by name, fed by entry points and ``register``.

Built-ins are declared as entry points in pyproject.toml like any plug-in, so the core never
imports ``spaces`` or ``strategies``: it looks names up here. A plug-in that fails to import, is
not of the right kind, or takes a name already registered is skipped with one warning line; it
never breaks other commands.
"""
from __future__ import annotations

import logging
import sys
from importlib.metadata import entry_points
from typing import Any, Callable, Generic, Iterator, TypeVar

from nasbench.errors import ConfigError

log = logging.getLogger(__name__)

T = TypeVar("T")


class Registry(Generic[T]):
    """Named objects of one kind (``strategy``, ``space``, ``task``) from entry-point group ``group``."""

    def __init__(self, kind: str, group: str, accepts: Callable[[Any], bool] = lambda obj: True,
                 finder: Callable[..., Any] = entry_points) -> None:
        self.kind = kind
        self.group = group
        self.accepts = accepts
        self.finder = finder
        self._items: dict[str, T] = {}
        self._loaded = False
        self._installed: set[str] = set()
        self.skipped: list[str] = []

    def register(self, obj: T, name: str | None = None) -> T:
        """Add ``obj`` under ``name`` (default ``obj.name``); a name taken by another object is a TypeError."""
        name = name or getattr(obj, "name", None)
        if not isinstance(name, str) or not name:
            raise TypeError(f"a {self.kind} needs a non-empty string attribute 'name', got {name!r}")
        existing = self._items.get(name)
        if existing is not None and existing is not obj:
            raise TypeError(f"{self.kind} name {name!r} is taken by {_where(existing)}")
        self._items[name] = obj
        return obj

    def unregister(self, name: str) -> None:
        """Remove ``name`` (tests and interactive sessions)."""
        self._items.pop(name, None)

    def load(self) -> dict[str, T]:
        """Import every entry point of the group once; return the registry sorted by name."""
        if not self._loaded:
            self._loaded = True
            for ep in sorted(self.finder(group=self.group), key=lambda ep: (not ep.value.startswith(_BUILTIN), ep.name)):
                self._load_entry_point(ep)
        return dict(sorted(self._items.items()))

    def _load_entry_point(self, ep: Any) -> None:
        try:
            obj = ep.load()
        except BaseException as exc:  # noqa: BLE001 - a broken plug-in (even one calling sys.exit) is skipped
            if isinstance(exc, KeyboardInterrupt):
                raise
            return self._skip(f"{self.kind} plug-in {ep.name!r} ({ep.value}) could not be imported: {type(exc).__name__}: {exc}")
        if not self.accepts(obj):
            return self._skip(f"{self.kind} plug-in {ep.name!r} ({ep.value}) is not a {self.kind}; skipped")
        name = getattr(obj, "name", None) or ep.name
        existing = self._items.get(name)
        if existing is not None and existing is not obj:
            return self._skip(f"{self.kind} plug-in {ep.value} takes the name {name!r} of {_where(existing)}; skipped")
        self._items[name] = obj
        self._installed.add(name)

    def installed(self, name: str) -> bool:
        """Whether ``name`` comes from an entry point, so that a fresh worker process finds it too."""
        self.load()
        return name in self._installed

    def _skip(self, message: str) -> None:
        self.skipped.append(message)
        log.warning(message)

    def get(self, name: str) -> T:
        """The object registered as ``name``; ``ConfigError`` listing the choices otherwise."""
        items = self.load()
        if not isinstance(name, str) or name not in items:
            raise ConfigError(f"unknown {self.kind} {name!r}; choose from {', '.join(items) or '(none installed)'}")
        return items[name]

    def names(self) -> list[str]:
        return list(self.load())

    def __iter__(self) -> Iterator[str]:
        return iter(self.load())

    def __contains__(self, name: object) -> bool:
        return name in self.load()


#: Entry points of this distribution's own modules load first, so a plug-in cannot take a built-in's name.
_BUILTIN = ("strategies.", "spaces.", "nasbench.")


def _where(obj: Any) -> str:
    module = getattr(obj, "__module__", None) or type(obj).__module__
    return f"{module}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"


def _is_class_with(attr: str) -> Callable[[Any], bool]:
    def accepts(obj: Any) -> bool:
        return isinstance(obj, type) and callable(getattr(obj, attr, None))

    return accepts


STRATEGIES: Registry[type] = Registry("strategy", "nasbench.strategies", _is_class_with("search"))
SPACES: Registry[type] = Registry("space", "nasbench.spaces", _is_class_with("sample"))
TASKS: Registry[Any] = Registry("task", "nasbench.tasks", lambda obj: callable(obj))


def module_files() -> list[str]:
    """Source files of every loaded module that defines a registered object (for the code fingerprint)."""
    files = set()
    for registry in (STRATEGIES, SPACES, TASKS):
        for obj in registry.load().values():
            module = sys.modules.get(getattr(obj, "__module__", ""), None)
            path = getattr(module, "__file__", None)
            if path:
                files.add(path)
    return sorted(files)
