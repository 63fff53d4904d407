"""Everything a search evaluated, in order, with the budget used at that point (anytime curves)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from nasbench import indicators
from nasbench.records import Architecture, Evaluation


@dataclass(frozen=True)
class ArchiveEntry:
    evaluation: Evaluation
    budget_used: float


class Archive:
    """An append-only log of a search's evaluations.

    The runner creates it, hands it to the ``SearchContext`` (which appends to it and never
    exposes it) and reads it after the search.
    """

    def __init__(self) -> None:
        self._entries: list[ArchiveEntry] = []

    def add(self, evaluation: Evaluation, budget_used: float) -> None:
        self._entries.append(ArchiveEntry(evaluation, budget_used))

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[ArchiveEntry]:
        return iter(self._entries)

    def evaluations(self, task: str | None = None) -> list[Evaluation]:
        """Evaluations of ``task`` (all tasks when None), oldest first."""
        return [e.evaluation for e in self._entries if task is None or e.evaluation.task == task]

    def best(self, task: str) -> Evaluation | None:
        """The evaluation with the highest metric on ``task`` (None before any succeeded)."""
        ok = [e for e in self.evaluations(task) if e.ok]
        return max(ok, key=lambda e: e.metric) if ok else None

    def front(self, task: str, k: int) -> list[Architecture]:
        """The non-dominated architectures of ``task`` (val metric up, MACs down), at most ``k`` spread along it.

        An architecture evaluated several times counts with its latest successful evaluation.
        """
        unique: dict[Architecture, Evaluation] = {}
        for e in self.evaluations(task):
            if e.ok:
                unique[e.arch] = e
        if not unique:
            return []
        evaluations = list(unique.values())
        F = objectives(evaluations)
        front = np.flatnonzero(indicators.non_dominated(F))
        keep = indicators.select_spread(F[front], k)
        return [evaluations[i].arch for i in front[keep]]


def objectives(evaluations: list[Evaluation]) -> np.ndarray:
    """Minimisation objectives (1 - metric, MACs) of evaluations; failures get error 1."""
    return np.array(
        [[1.0 - e.metric if e.ok else 1.0, float(e.cost.macs)] for e in evaluations], dtype=float
    ).reshape(-1, 2)
