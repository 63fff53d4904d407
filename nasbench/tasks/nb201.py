"""NAS-Bench-201 as a tabular task: evaluations are answered from the published table.

Protocol of the benchmark: a search reads only the 12-epoch *validation* accuracy; the
architectures it returns are reported with their 200-epoch *test* accuracy. Costs (MACs,
parameters) were measured once on the built networks and ship in ``nasbench/data``;
regenerate them with ``python -m spaces.nb201``.

A search builds its task with ``splits=("train", "val")``: its evaluator answers only the
12-epoch validation column and refuses the test split, and the test-accuracy columns are never
loaded in that process (``nasbench.nb201_table`` loads columns on demand).
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np
from torch import Tensor, nn

from nasbench import indicators
from nasbench.errors import ConfigError, InvalidArchitecture
from nasbench.evaluator import Evaluator, SearchSpace
from nasbench.nb201_table import accuracy_column, cost_table
from nasbench.records import Architecture, Cost, Evaluation, Fidelity
from nasbench.tasks.base import SPLITS, Split, Task

#: The search space the table belongs to (checked by name: the core does not import ``spaces``).
SPACE = "nb201"
SEARCH_FIDELITY = Fidelity(12)
FINAL_FIDELITY = Fidelity(200)
#: (split, epochs) -> the table column suffix that answers it; nothing else is in the table.
COLUMNS = {("val", SEARCH_FIDELITY.epochs): "val_12ep", ("test", FINAL_FIDELITY.epochs): "test_200ep"}
#: A training step costs a forward and a backward pass: about 3 forward passes.
TRAINING_PASSES = 3
#: The published search budget: 12,000 simulated seconds of 12-epoch training per CIFAR-10 run
#: (Dong & Yang, NAS-Bench-201, ICLR 2020), which buys about 100 queries.
PUBLISHED_BUDGET_SECONDS = 12_000.0
PUBLISHED_BUDGET_QUERIES = 100


@dataclass(frozen=True)
class Dataset:
    """One NAS-Bench-201 dataset: what the builder needs and the size of the run a look-up stands for.

    ``n_train`` is the training set of the 12-epoch runs behind the search signal: CIFAR-10
    trains on the 25K "train" half of its training set (the other half is the validation
    split); CIFAR-100 on its 50K training set (validation and test are halves of its test set);
    ImageNet16-120 on its 151.7K training images.
    """

    name: str
    input_shape: tuple[int, int, int]
    num_classes: int
    n_train: int


DATASETS: Mapping[str, Dataset] = {
    "cifar10": Dataset("cifar10", (3, 32, 32), 10, 25_000),
    "cifar100": Dataset("cifar100", (3, 32, 32), 100, 50_000),
    "imagenet16": Dataset("imagenet16", (3, 16, 16), 120, 151_700),
}


def dataset(name: str) -> Dataset:
    """The NAS-Bench-201 dataset of a name; unknown names raise ``ConfigError``."""
    if name not in DATASETS:
        raise ConfigError(f"unknown NAS-Bench-201 dataset {name!r}; choose from {', '.join(DATASETS)}")
    return DATASETS[name]


class NB201Task(Task):
    """A NAS-Bench-201 dataset as a task: no data, answers from the table, the true front known.

    Networks can be built for it (``input_shape``, ``num_classes``: what ``NB201Space.build``
    and the data-free proxies need), but there is nothing to train or score them on here.
    """

    metric_name: ClassVar[str] = "accuracy"
    search_epochs = SEARCH_FIDELITY.epochs
    final_epochs = FINAL_FIDELITY.epochs
    trainable: ClassVar[bool] = False

    def __init__(self, name: str = "cifar10", splits: Sequence[str] = SPLITS) -> None:
        super().__init__(splits)
        info = dataset(name)
        self.name = info.name  # type: ignore[misc]
        self.input_shape = info.input_shape
        self.num_classes = info.num_classes
        self.n_train = info.n_train

    def __repr__(self) -> str:
        return f"NB201Task({self.name!r}, splits={self.splits})"

    def _tabular(self, what: str) -> ConfigError:
        return ConfigError(f"NAS-Bench-201 task {self.name!r} is a table: it has no {what}")

    def split(self, name: str) -> Split:
        raise self._tabular(f"data (split {name!r}) to train or score networks on")

    def head(self, channels: Sequence[int], strides: Sequence[int], width: int | None = None) -> nn.Module:
        raise self._tabular("separate head (the nb201 space builds the whole network)")

    def loss(self, outputs: Tensor | dict[str, Tensor], targets: Mapping[str, Tensor]) -> Tensor:
        raise self._tabular("data to compute a loss on")

    def score(self, model: nn.Module, split: Split) -> float:
        raise self._tabular("data to score a network on")

    def evaluator(self, space: Any) -> "NB201Evaluator":
        return NB201Evaluator(space, self)

    def check_space(self, space: Any) -> None:
        if getattr(space, "name", None) != SPACE:
            raise ConfigError(
                f"task {self.name!r} is the NAS-Bench-201 table: it runs only on the {SPACE} space, not {space.name!r}"
            )

    def true_front(self) -> np.ndarray:
        """The distinct (200-epoch test error in [0, 1], MACs) points of the non-dominated cells, by error."""
        if "test" not in self.splits:
            raise ConfigError(f"the true front of {self.name!r} reads test accuracies: not open to a search task")
        return true_front(self.name)


@functools.cache
def seconds_per_mac() -> float:
    """Simulated seconds per charged MAC of a look-up, under ``--budget-unit seconds``.

    A look-up stands for a 12-epoch training run; its simulated time is proportional to the MACs
    that run executes (``NB201Evaluator.compute``), scaled so that the published budget of
    12,000 seconds per CIFAR-10 search buys 100 queries of the mean cell: 120 simulated seconds
    for 3 x 54,968,960 MACs x 25,000 images x 12 epochs (about 4.9e13 MACs), i.e. about
    2.43e-12 s per MAC. CIFAR-100 and ImageNet16-120 use the same rate on their own runs' MACs.
    """
    mean_macs = float(cost_table()["cifar10_macs"].mean())
    query = TRAINING_PASSES * mean_macs * DATASETS["cifar10"].n_train * SEARCH_FIDELITY.epochs
    return PUBLISHED_BUDGET_SECONDS / (PUBLISHED_BUDGET_QUERIES * query)


class NB201Evaluator(Evaluator):
    """Answers (arch, fidelity, split) from the table: val at 12 epochs in search, test at 200 for finals.

    The table holds means over the benchmark's seeds, so ``seed`` does not change the answer.
    The test split is answered only when the task was built with it (finals), and each accuracy
    column is loaded on its first use.
    """

    def __init__(self, space: SearchSpace, task: NB201Task | str = "cifar10") -> None:
        self.task = task if isinstance(task, NB201Task) else NB201Task(task)
        self.task.check_space(space)
        self.space = space
        self.task_name = self.task.name
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

    def simulated_seconds(self, arch: Architecture, fidelity: Fidelity) -> float:
        """Training time the run a look-up stands for would take (``seconds_per_mac`` x its MACs), never the look-up's."""
        return self.compute(arch, fidelity) * seconds_per_mac()

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
        if split not in self.task.splits:
            raise ConfigError(f"split {split!r} of {self.task_name!r} is not open here (task built with {', '.join(self.task.splits)})")
        metric = float(accuracy_column(f"{self.task_name}_{suffix}")[self._index(arch)]) / 100.0
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
def _true_front(name: str) -> np.ndarray:
    dataset(name)  # unknown names raise ConfigError
    F = np.column_stack([1.0 - accuracy_column(f"{name}_test_200ep") / 100.0, cost_table()[f"{name}_macs"]])
    front = np.unique(F[indicators.non_dominated(F)], axis=0)
    front.flags.writeable = False
    return front


def true_front(name: str) -> np.ndarray:
    """The distinct (200-epoch test error in [0, 1], MACs) points of dataset ``name``'s non-dominated cells."""
    return _true_front(name).copy()


def _factory(name: str) -> Callable[[Sequence[str]], NB201Task]:
    """The entry-point callable of one dataset: ``make(splits)`` builds its task."""

    def make(splits: Sequence[str] = SPLITS) -> NB201Task:
        return NB201Task(name, splits)

    make.__name__ = make.__qualname__ = name
    make.name = name  # type: ignore[attr-defined]
    make.description = f"NAS-Bench-201 {name}: tabular, 12-epoch validation in search, 200-epoch test in finals"  # type: ignore[attr-defined]
    return make


cifar10, cifar100, imagenet16 = (_factory(name) for name in DATASETS)
