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


class ToyTask:
    """What a strategy may read of a synthetic task through ``ctx.network_task()``: no data at all."""

    metric_name = "score"
    input_shape = (1, 1, 1)
    num_classes = None
    search_epochs, final_epochs = 1, 3
    trainable = False
    splits = ("train", "val")

    def __init__(self, name: str) -> None:
        self.name = name

    def split(self, name: str):
        from nasbench.errors import ConfigError

        raise ConfigError(f"the synthetic task {self.name!r} has no data")


class SyntheticEvaluator(Evaluator):
    """Metric rises with the genes' sum (with a seed-free deterministic wiggle); MACs rise too."""

    def __init__(self, space: SearchSpace, task: str, diverge_on: frozenset[int] = frozenset()) -> None:
        self.space = space
        self.task = ToyTask(task)
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


def search_context(space, evaluators, budget=1e9, unit="macs", seed=0, k=3, **kwargs):
    """A context as the runner builds it, with the ledger and archive the runner keeps: ``(ctx, ledger, archive)``."""
    from nasbench.archive import Archive
    from nasbench.context import SearchContext
    from nasbench.ledger import Ledger

    ledger, archive = Ledger(budget, unit), Archive()
    return SearchContext(space, evaluators, ledger, archive, seed, k, **kwargs), ledger, archive
