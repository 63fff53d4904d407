"""Benchmarks: a search space, the tasks it is searched on, and how each task is evaluated."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping

import numpy as np

from nasbench.errors import ConfigError
from nasbench.evaluator import Evaluator

if TYPE_CHECKING:  # pragma: no cover
    from spaces.base import SearchSpace


def _embedded_evaluator(space: "SearchSpace", task: str) -> Evaluator:
    from nasbench.tasks import get_task
    from nasbench.trained import TrainingEvaluator

    return TrainingEvaluator(space, get_task(task))


def _nb201_evaluator(space: "SearchSpace", task: str) -> Evaluator:
    from nasbench.tasks.nb201 import NB201Evaluator

    return NB201Evaluator(space, task)


def _nb201_indicators(task: str, metrics: np.ndarray, macs: np.ndarray, selected: float) -> dict[str, float]:
    """Test accuracy (%) of the returned architecture; HV ratio and IGD against the true front."""
    from nasbench import indicators
    from nasbench.tasks.nb201 import true_front

    F = np.column_stack([1.0 - metrics, macs])
    front = true_front(task)
    return {
        "best_test_acc": 100.0 * selected,
        "hv_ratio": indicators.hv_ratio(F, front),
        "igd": indicators.igd_to_front(F, front),
    }


@dataclass(frozen=True)
class Benchmark:
    """A named (space, tasks, evaluator) combination the runner can compare strategies on."""

    name: str
    space: str
    tasks: tuple[str, ...]
    make_evaluator: Callable[["SearchSpace", str], Evaluator]
    default_unit: str = "evals"
    #: Extra per-run indicators from the test metrics and MACs of a run's proposals and the
    #: test metric of the one its search rated best.
    indicators: Callable[[str, np.ndarray, np.ndarray, float], Mapping[str, float]] | None = field(default=None)

    def check_tasks(self, tasks: tuple[str, ...]) -> None:
        unknown = [t for t in tasks if t not in self.tasks]
        if unknown or not tasks:
            raise ConfigError(
                f"unknown task {', '.join(unknown) or '(none given)'} for benchmark {self.name!r}; "
                f"choose from {', '.join(self.tasks)}"
            )


BENCHMARKS: dict[str, Benchmark] = {
    "embedded": Benchmark("embedded", "mobile", ("cls", "det", "seg"), _embedded_evaluator),
    "nb201": Benchmark(
        "nb201", "nb201", ("cifar10", "cifar100", "imagenet16"), _nb201_evaluator, "queries", _nb201_indicators
    ),
}


def get_benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise ConfigError(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name]
