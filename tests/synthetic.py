"""A tiny synthetic benchmark for fast tests: a toy integer space and an evaluator with a known answer."""
from __future__ import annotations

import numpy as np
from torch import nn

from nasbench.evaluator import Evaluator
from nasbench.records import Architecture, Cost, Evaluation, Fidelity, Status
from spaces.base import SearchSpace


class ToySpace(SearchSpace):
    """Six genes with four options each; the network is irrelevant to the synthetic evaluator."""

    name = "toy"

    @property
    def choices(self) -> tuple[int, ...]:
        return (4,) * 6

    def build(self, arch: Architecture, task) -> nn.Module:
        return nn.Linear(1, 1 + sum(arch.genes))


class SyntheticEvaluator(Evaluator):
    """Metric rises with the genes' sum (with a seed-free deterministic wiggle); MACs rise too."""

    def __init__(self, space: SearchSpace, task: str, diverge_on: frozenset[int] = frozenset()) -> None:
        self.space = space
        self.task_name = task
        self.metric_name = "score"
        self.search_fidelity = Fidelity(1)
        self.final_fidelity = Fidelity(3)
        self.diverge_on = diverge_on
        self.calls = 0

    def cost(self, arch: Architecture) -> Cost:
        return Cost(macs=1000 * (6 + sum(arch.genes)), params=10 + sum(arch.genes))

    def compute(self, arch: Architecture, fidelity: Fidelity) -> float:
        return 3.0 * self.cost(arch).macs * 100 * fidelity.epochs

    def true_metric(self, arch: Architecture) -> float:
        g = np.asarray(arch.genes, dtype=float)
        return float(0.3 + 0.05 * np.sqrt(g).sum() - 0.02 * abs(g[0] - g[1]))

    def evaluate(self, arch: Architecture, fidelity: Fidelity, seed: int, split: str = "val") -> Evaluation:
        self.calls += 1
        diverged = sum(arch.genes) in self.diverge_on
        noise = 0.0 if split == "test" else 0.002 * ((hash(arch.genes) + seed) % 7)
        return Evaluation(
            arch=arch, task=self.task_name, fidelity=fidelity,
            metric=float("nan") if diverged else min(1.0, self.true_metric(arch) + noise),
            cost=self.cost(arch), compute=self.compute(arch, fidelity), wall_seconds=0.0,
            status=Status.DIVERGED if diverged else Status.OK, split=split, seed=seed,
        )
