"""The proxy interface: a seeded, data-free score of an untrained network that declares its compute."""
from __future__ import annotations

import abc
import math
import sys
from dataclasses import dataclass, replace
from typing import Any, Callable, ClassVar, TypeVar

import torch

from nasbench.errors import ConfigError
from nasbench.evaluator import SearchSpace
from nasbench.records import Architecture, Cost

#: Scores are logarithms; a quantity that vanishes (a disconnected network) is floored here, never -inf.
TINY = sys.float_info.min


def safe_log(value: float) -> float:
    """``log(value)``, floored at ``log(TINY)`` (about -708) so a dead network scores low but finite."""
    return math.log(max(float(value), TINY))


@dataclass(frozen=True)
class Subject:
    """What a proxy scores: an architecture of a space, built for a task's input, and how to cost it."""

    space: "SearchSpace"
    arch: Architecture
    #: The object ``space.build(arch, task)`` takes (a ``Task`` or an ``NB201Task``).
    task: Any
    #: MACs and parameters of an architecture on this task (an evaluator's ``cost``: cached or tabulated).
    costs: Callable[[Architecture], Cost]

    @property
    def cost(self) -> Cost:
        return self.costs(self.arch)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.task.input_shape)

    def of(self, arch: Architecture) -> "Subject":
        """The same space, task and costing for another architecture."""
        return replace(self, arch=arch)


class Proxy(abc.ABC):
    """A data-free score of an untrained network; higher should mean better once trained.

    ``passes`` is the compute the proxy executes, in forward passes of the whole network at
    batch 1 (a backward pass counts as two): the ledger charges ``passes x MACs`` before it runs.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    #: Capabilities the search space must offer (``backbone`` for the entropy proxies).
    requires: ClassVar[frozenset[str]] = frozenset()

    @property
    @abc.abstractmethod
    def passes(self) -> float:
        """Forward-pass equivalents at batch 1 that one score executes."""

    def compute(self, cost: Cost) -> float:
        """MACs one score of a network of ``cost`` executes, known before it runs."""
        return float(self.passes * cost.macs)

    def score(self, subject: Subject, seed: int) -> float:
        """The score of ``subject``: the same network and seed give the same score; torch's global RNG is untouched."""
        missing = self.requires - subject.space.capabilities
        if missing:
            needs = ", ".join(sorted(missing))
            raise ConfigError(f"proxy {self.name!r} needs {needs}, which space {subject.space.name!r} lacks")
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(seed)
            value = float(self._score(subject, seed))
        if not math.isfinite(value):
            raise ArithmeticError(f"proxy {self.name} gave {value} for {subject.arch.key}")
        return value

    @abc.abstractmethod
    def _score(self, subject: Subject, seed: int) -> float:
        """The score itself, run with torch's RNG seeded by ``seed`` under ``torch.no_grad``."""


PROXIES: dict[str, Proxy] = {}

P = TypeVar("P", bound=type[Proxy])


def register_proxy(cls: P) -> P:
    """Class decorator: make a proxy (with its default settings) available by ``cls.name``."""
    if cls.name in PROXIES and type(PROXIES[cls.name]) is not cls:
        raise TypeError(f"proxy name {cls.name!r} is taken by {type(PROXIES[cls.name]).__qualname__}")
    PROXIES[cls.name] = cls()
    return cls


def get_proxy(proxy: "str | Proxy") -> Proxy:
    """A proxy by registered name, or ``a+b`` for their combination; a ``Proxy`` instance passes through."""
    if isinstance(proxy, Proxy):
        return proxy
    if proxy not in PROXIES and "+" in proxy:
        from nasbench.proxies.combined import Combined

        PROXIES[proxy] = Combined([get_proxy(name) for name in proxy.split("+")])
    if proxy not in PROXIES:
        choices = ", ".join(sorted(PROXIES))
        raise ConfigError(f"unknown proxy {proxy!r}; choose from {choices}, or join names with '+'")
    return PROXIES[proxy]
