"""Evaluators answer "how good is this architecture on this task at this fidelity, at what compute".

``TrainingEvaluator`` trains with the shared recipe; a tabular evaluator (NAS-Bench-201)
answers from a table behind the same interface, so a strategy cannot tell them apart.
"""
from __future__ import annotations

import abc
from typing import Any, ClassVar, Protocol, Sequence, runtime_checkable

import numpy as np

from nasbench.errors import ConfigError
from nasbench.records import Architecture, Cost, Evaluation, Fidelity


@runtime_checkable
class SearchSpace(Protocol):
    """What the core needs of a search space; ``spaces.base.SearchSpace`` implements it.

    Declared here so that the core never imports ``spaces`` (layers import downward only).
    """

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[str]]

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]: ...

    def make(self, genes: Sequence[int]) -> Architecture: ...

    def sample(self, rng: np.random.Generator) -> Architecture: ...

    def reference(self) -> Architecture: ...

    def build(self, arch: Architecture, task: Any) -> Any: ...

    def cost(self, arch: Architecture, task: Any, latency: bool = True) -> Cost: ...


class Evaluator(abc.ABC):
    """One (space, task) pair's source of evaluations; deterministic given (arch, fidelity, seed)."""

    space: "SearchSpace"
    task_name: str
    metric_name: str
    search_fidelity: Fidelity
    final_fidelity: Fidelity

    @abc.abstractmethod
    def cost(self, arch: Architecture) -> Cost:
        """MACs, parameters and latency of ``arch`` on this task (free: nothing is charged)."""

    @abc.abstractmethod
    def compute(self, arch: Architecture, fidelity: Fidelity) -> float:
        """MACs the ledger is charged for evaluating ``arch`` at ``fidelity``, known in advance."""

    @abc.abstractmethod
    def evaluate(self, arch: Architecture, fidelity: Fidelity, seed: int, split: str = "val") -> Evaluation:
        """Train (or look up) ``arch`` and measure its metric on ``split`` (``test`` only for finals)."""

    def simulated_seconds(self, arch: Architecture, fidelity: Fidelity) -> float | None:
        """Seconds an evaluation is charged under ``--budget-unit seconds`` when known in advance.

        None (the default): the evaluation's measured wall time is charged. A tabular evaluator
        returns the training time the look-up stands for, never the look-up's own time.
        """
        return None

    def network_task(self) -> Any:
        """The task object ``space.build(arch, task)`` takes (input shape, head...): proxies build networks from it.

        Evaluators keep it as ``self.task`` (a trained ``Task``, or the tabular ``NB201Task``); a
        search only ever sees it through a ``SearchView``.
        """
        task = getattr(self, "task", None)
        if task is None:
            raise ConfigError(f"the {self.task_name!r} evaluator builds no networks: proxies cannot score on it")
        return task

    @property
    def reference_macs(self) -> float:
        """MACs of the largest network of the space on this task: the fixed hypervolume reference."""
        hi = self.space.bounds[1]
        return float(self.cost(self.space.make(hi)).macs)
