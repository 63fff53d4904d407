"""The task interface: data splits, a head factory, a loss, a metric, and how it is evaluated."""
from __future__ import annotations

import abc
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from nasbench.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from nasbench.evaluator import Evaluator

SPLITS = ("train", "val", "test")
#: What a search may read; the test split is for the final evaluation only.
SEARCH_SPLITS = ("train", "val")


def normalise_splits(splits: Sequence[str]) -> tuple[str, ...]:
    """``splits`` checked against ``SPLITS`` and put in their canonical order (train, val, test)."""
    splits = tuple(splits)
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise ConfigError(f"unknown split {', '.join(map(repr, unknown)) or '(none given)'}; choose from {', '.join(SPLITS)}")
    return tuple(s for s in SPLITS if s in splits)


@dataclass(frozen=True)
class Split:
    """One data split held as tensors: inputs ``(N, C, H, W)`` and a dict of per-sample targets.

    Tensors rather than a DataLoader: the embedded data are small, and slicing pre-built
    tensors keeps the training loop as fast as a bare torch loop.
    """

    inputs: Tensor
    targets: Mapping[str, Tensor]

    def __post_init__(self) -> None:
        n = len(self.inputs)
        for name, t in self.targets.items():
            if len(t) != n:
                raise ValueError(f"target {name!r} has {len(t)} rows, inputs have {n}")

    def __len__(self) -> int:
        return len(self.inputs)

    def subset(self, index: Tensor | Sequence[int]) -> "Split":
        index = torch.as_tensor(index, dtype=torch.long)
        return Split(self.inputs[index], {k: v[index] for k, v in self.targets.items()})

    def batches(
        self, batch_size: int, generator: torch.Generator | None = None
    ) -> Iterator[tuple[Tensor, dict[str, Tensor]]]:
        """Mini-batches; shuffled when a generator is given, in order otherwise."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            yield self.inputs[idx], {k: v[idx] for k, v in self.targets.items()}


class Task(abc.ABC):
    """A learning problem: data splits, the head a backbone feeds, a loss, a metric, an evaluator.

    An instance holds only the splits it was built with (``splits``): the runner builds search
    tasks with ``("train", "val")``, so no test data exists in a search. The backbone built by a
    search space returns a list of feature maps (finest first) with known channels and strides;
    ``head`` turns them into the task's outputs.
    """

    name: ClassVar[str]
    #: Name of the metric reported (``accuracy``, ``mAP``, ``mIoU``...); higher is better.
    metric_name: ClassVar[str]
    #: Shape of one input sample, ``(C, H, W)``.
    input_shape: tuple[int, int, int]
    #: Classes of a classification task (what a whole-network builder such as NAS-Bench-201's needs).
    num_classes: int | None = None
    #: Epochs of a search-fidelity and of a final-recipe training.
    search_epochs: int
    final_epochs: int
    #: Whether the task has data to train networks on (a tabular benchmark has none).
    trainable: ClassVar[bool] = True
    #: Fields of the shared training recipe (``nasbench.training.Recipe``) this task sets otherwise,
    #: e.g. a smaller batch where the training split is small. Every training on the task uses
    #: them, in a search and in the final evaluation, whatever the strategy.
    recipe_changes: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, splits: Sequence[str] = SPLITS) -> None:
        self.splits = normalise_splits(splits)

    @abc.abstractmethod
    def split(self, name: str) -> Split:
        """The fixed ``train``/``val``/``test`` split (the same for every seed); only those in ``splits``."""

    @abc.abstractmethod
    def head(self, channels: Sequence[int], strides: Sequence[int], width: int | None = None) -> nn.Module:
        """A fresh head mapping the backbone's feature list to this task's outputs.

        ``width`` sets the channels of a head's own layers (None: the task's default); supernet
        searches train light heads, while candidates are always trained with the default.
        """

    @abc.abstractmethod
    def loss(self, outputs: Tensor | dict[str, Tensor], targets: Mapping[str, Tensor]) -> Tensor:
        """Scalar training loss of a batch."""

    @abc.abstractmethod
    def score(self, model: nn.Module, split: Split) -> float:
        """The task metric of ``model`` on ``split`` (in [0, 1], higher is better)."""

    # -- how the task is evaluated and what it runs on -----------------------------------
    def evaluator(self, space: Any) -> "Evaluator":
        """A fresh evaluator of ``space``'s architectures on this task (its memo belongs to one search)."""
        from nasbench.trained import TrainingEvaluator

        self.check_space(space)
        return TrainingEvaluator(space, self)

    def check_space(self, space: Any) -> None:
        """``ConfigError`` (one line) when this task cannot run on ``space``: trained tasks need ``build``."""
        if "build" not in space.capabilities:
            raise ConfigError(
                f"task {self.name!r} trains networks: it needs a space with capability 'build', which {space.name!r} lacks"
            )

    def true_front(self) -> np.ndarray | None:
        """The true Pareto front as (1 - test metric, MACs) rows when the task knows it; None here."""
        return None

    def _refuse_split(self, name: str) -> None:
        if name not in SPLITS:
            raise ConfigError(f"unknown split {name!r}; choose from {', '.join(SPLITS)}")
        if name not in self.splits:
            raise ConfigError(
                f"split {name!r} of task {self.name!r} is not open here (this instance holds {', '.join(self.splits)})"
            )


#: The task behind each ``SearchView``, kept outside the view so no attribute path from it reaches the task.
_VIEWED: "weakref.WeakKeyDictionary[SearchView, Task]" = weakref.WeakKeyDictionary()


class SearchView:
    """A task as a search strategy sees it: what building, training and scoring a network needs, nothing else.

    Offers ``name``, ``input_shape``, ``num_classes``, ``metric_name``, ``search_epochs``,
    ``final_epochs``, ``head()``, ``loss()``, ``score()`` and ``split("train" | "val")``. The
    task itself is not reachable from the view (it is held in a module-level weak mapping).
    """

    __slots__ = ("__weakref__",)

    def __init__(self, task: Task) -> None:
        _VIEWED[self] = task

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a search view of a task is read-only ({name!r})")

    def __repr__(self) -> str:
        return f"SearchView({self.name!r})"

    @property
    def name(self) -> str:
        return _VIEWED[self].name

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(_VIEWED[self].input_shape)  # type: ignore[return-value]

    @property
    def num_classes(self) -> int | None:
        return _VIEWED[self].num_classes

    @property
    def metric_name(self) -> str:
        return _VIEWED[self].metric_name

    @property
    def search_epochs(self) -> int:
        return _VIEWED[self].search_epochs

    @property
    def final_epochs(self) -> int:
        return _VIEWED[self].final_epochs

    def head(self, channels: Sequence[int], strides: Sequence[int], width: int | None = None) -> nn.Module:
        return _VIEWED[self].head(channels, strides, width)

    def loss(self, outputs: Tensor | dict[str, Tensor], targets: Mapping[str, Tensor]) -> Tensor:
        return _VIEWED[self].loss(outputs, targets)

    def score(self, model: nn.Module, split: Split) -> float:
        return _VIEWED[self].score(model, split)

    def split(self, name: str) -> Split:
        if name not in SEARCH_SPLITS:
            raise ConfigError(f"split {name!r} is not open to a search; choose from {', '.join(SEARCH_SPLITS)}")
        return _VIEWED[self].split(name)
