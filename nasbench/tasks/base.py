"""The task interface: fixed data splits, a head factory, a loss and a metric."""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar, Iterator, Mapping, Sequence

import torch
from torch import Tensor, nn

SPLITS = ("train", "val", "test")
#: What a search may read; the test split is for the final evaluation only.
SEARCH_SPLITS = ("train", "val")


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
    """A learning problem: data splits, the head a backbone feeds, a loss, a metric.

    The backbone built by a search space returns a list of feature maps (finest first) with
    known channels and strides; ``head`` turns them into the task's outputs.
    """

    name: ClassVar[str]
    #: Name of the metric reported (``accuracy``, ``mAP``, ``mIoU``...); higher is better.
    metric_name: ClassVar[str]
    #: Shape of one input sample, ``(C, H, W)``.
    input_shape: tuple[int, int, int]
    #: Epochs of a search-fidelity and of a final-recipe training.
    search_epochs: int
    final_epochs: int

    @abc.abstractmethod
    def split(self, name: str) -> Split:
        """The fixed ``train``/``val``/``test`` split (the same for every seed)."""

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


class SearchView:
    """A task as a search strategy sees it: heads, loss, metric and data, but no test split."""

    def __init__(self, task: Task) -> None:
        self._task = task

    def __getattr__(self, name: str):
        return getattr(self._task, name)

    def split(self, name: str) -> Split:
        if name not in SEARCH_SPLITS:
            from nasbench.errors import ConfigError

            raise ConfigError(f"split {name!r} is not open to a search; choose from {', '.join(SEARCH_SPLITS)}")
        return self._task.split(name)
