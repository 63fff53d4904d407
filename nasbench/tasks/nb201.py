"""NAS-Bench-201 as a tabular task: evaluations are answered from the published table.

Protocol of the benchmark: a search reads only the 12-epoch *validation* accuracy; the
architectures it returns are reported with their 200-epoch *test* accuracy. Costs (MACs,
parameters) were measured once on the built networks and ship in ``nasbench/data``;
regenerate them with ``python -m nasbench.tasks.nb201``.
"""
from __future__ import annotations

import csv
import functools
import gzip
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from nasbench import indicators
from nasbench.errors import ConfigError, InvalidArchitecture
from nasbench.evaluator import Evaluator
from nasbench.nb201_table import COSTS_FILE, N_CELLS, accuracy_table, cost_table
from nasbench.records import Architecture, Cost, Evaluation, Fidelity
from spaces.nb201 import NB201Space

SEARCH_FIDELITY = Fidelity(12)
FINAL_FIDELITY = Fidelity(200)
#: (split, epochs) -> the table column suffix that answers it; nothing else is in the table.
COLUMNS = {("val", SEARCH_FIDELITY.epochs): "val_12ep", ("test", FINAL_FIDELITY.epochs): "test_200ep"}
#: A training step costs a forward and a backward pass: about 3 forward passes.
TRAINING_PASSES = 3


@dataclass(frozen=True)
class NB201Task:
    """One NAS-Bench-201 dataset: what the builder needs and the size of the run a lookup stands for.

    ``n_train`` is the training set of the 12-epoch runs behind the search signal: CIFAR-10
    trains on the 25K "train" half of its training set (the other half is the validation
    split); CIFAR-100 on its 50K training set (validation and test are halves of its test set);
    ImageNet16-120 on its 151.7K training images.
    """

    name: str
    input_shape: tuple[int, int, int]
    num_classes: int
    n_train: int
    metric_name: ClassVar[str] = "accuracy"


TASKS = {
    "cifar10": NB201Task("cifar10", (3, 32, 32), 10, 25_000),
    "cifar100": NB201Task("cifar100", (3, 32, 32), 100, 50_000),
    "imagenet16": NB201Task("imagenet16", (3, 16, 16), 120, 151_700),
}


def get_task(name: str) -> NB201Task:
    """The NAS-Bench-201 task of a dataset name; unknown names raise ``ConfigError``."""
    if name not in TASKS:
        raise ConfigError(f"unknown NAS-Bench-201 dataset {name!r}; choose from {', '.join(TASKS)}")
    return TASKS[name]


class NB201Evaluator(Evaluator):
    """Answers (arch, fidelity, split) from the table: val at 12 epochs in search, test at 200 for finals.

    The table holds means over the benchmark's seeds, so ``seed`` does not change the answer.
    """

    def __init__(self, space: NB201Space | None = None, dataset: str = "cifar10") -> None:
        if space is not None and not isinstance(space, NB201Space):
            raise ConfigError(f"the NAS-Bench-201 table answers only for the nb201 space, not {space.name!r}")
        self.space = space or NB201Space()
        self.task = get_task(dataset)
        self.task_name = dataset
        self.metric_name = NB201Task.metric_name
        self.search_fidelity = SEARCH_FIDELITY
        self.final_fidelity = FINAL_FIDELITY

    def _index(self, arch: Architecture) -> int:
        if arch.space != self.space.name:
            raise InvalidArchitecture(f"nb201 evaluator got an architecture of space {arch.space!r}")
        return self.space.to_index(arch)

    def cost(self, arch: Architecture) -> Cost:
        """MACs and parameters measured on the built network (from the shipped table); latency NaN."""
        costs, i = cost_table(), self._index(arch)
        return Cost(int(costs[f"{self.task_name}_macs"][i]), int(costs[f"{self.task_name}_params"][i]))

    def compute(self, arch: Architecture, fidelity: Fidelity) -> float:
        """MACs the training run a lookup stands for executes: 3 x MACs x training images x epochs.

        ``n_train`` is the 12-epoch run's training set; the 200-epoch (final, never charged)
        figure reuses it, although CIFAR-10's 200-epoch runs trained on train+valid (50K).
        """
        samples = self.task.n_train * fidelity.data_fraction * fidelity.epochs
        return float(TRAINING_PASSES * self.cost(arch).macs * samples)

    def evaluate(self, arch: Architecture, fidelity: Fidelity, seed: int, split: str = "val") -> Evaluation:
        """The tabulated accuracy (a fraction) of ``arch``; ``ValueError`` for a fidelity the table lacks."""
        start = time.perf_counter()
        suffix = COLUMNS.get((split, fidelity.epochs))
        if suffix is None or fidelity.data_fraction != 1.0:
            raise ValueError(
                f"NAS-Bench-201 answers split='val' at {SEARCH_FIDELITY.epochs} epochs (search) and "
                f"split='test' at {FINAL_FIDELITY.epochs} epochs (final), on the full training set; "
                f"got split={split!r} at {fidelity}"
            )
        metric = float(accuracy_table().columns[f"{self.task_name}_{suffix}"][self._index(arch)]) / 100.0
        cost = self.cost(arch)
        return Evaluation(
            arch=arch,
            task=self.task_name,
            fidelity=fidelity,
            metric=metric,
            cost=cost,
            compute=self.compute(arch, fidelity),
            wall_seconds=time.perf_counter() - start,
            split=split,
            seed=seed,
        )

    @property
    def reference_macs(self) -> float:
        """MACs of the largest network of the space on this dataset (the all-3x3-convolution cell)."""
        return float(cost_table()[f"{self.task_name}_macs"].max())


@functools.cache
def _true_front(dataset: str) -> np.ndarray:
    get_task(dataset)  # unknown names raise ConfigError
    F = np.column_stack(
        [1.0 - accuracy_table().columns[f"{dataset}_test_200ep"] / 100.0, cost_table()[f"{dataset}_macs"]]
    )
    front = np.unique(F[indicators.non_dominated(F)], axis=0)
    front.flags.writeable = False
    return front


def true_front(dataset: str) -> np.ndarray:
    """The distinct (200-epoch test error in [0, 1], MACs) points of the non-dominated cells, by error."""
    return _true_front(dataset).copy()


def measure_cost_table() -> dict[str, np.ndarray]:
    """MACs and parameters of all 15,625 networks per dataset, measured on built networks.

    Every cell edge maps C channels to C at one resolution, and only convolutions and the
    classifier carry MACs and parameters, so a network's cost depends only on how many of its
    edges are 1x1 and 3x3 convolutions: one representative per such pair (28) is built and
    measured per dataset, then assigned to every cell with the same counts.
    """
    space = NB201Space()
    n_edges = space.n_genes
    genes = np.array([space.from_index(i).genes for i in range(N_CELLS)])
    n1, n3 = (genes == 2).sum(axis=1), (genes == 3).sum(axis=1)
    table: dict[str, np.ndarray] = {}
    for name, task in TASKS.items():
        macs, params = np.zeros(N_CELLS, dtype=np.int64), np.zeros(N_CELLS, dtype=np.int64)
        for a, b in sorted(set(zip(n1.tolist(), n3.tolist()))):
            representative = space.make((3,) * b + (2,) * a + (0,) * (n_edges - a - b))
            cost = space.cost(representative, task, latency=False)
            same = (n1 == a) & (n3 == b)
            macs[same], params[same] = cost.macs, cost.params
        table[f"{name}_macs"], table[f"{name}_params"] = macs, params
    return table


def write_cost_table(path: Path) -> None:
    """Write ``measure_cost_table()`` as the gzipped CSV ``nb201_table.cost_table`` reads (byte-reproducible)."""
    table = measure_cost_table()
    with gzip.GzipFile(path, "wb", mtime=0) as raw, io.TextIOWrapper(raw, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["index", *table])
        writer.writerows(zip(range(N_CELLS), *(column.tolist() for column in table.values())))


if __name__ == "__main__":
    write_cost_table(Path(__file__).resolve().parents[1] / "data" / COSTS_FILE)
