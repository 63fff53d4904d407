"""Digit classification on the native 8x8 images: global-pool + linear head, accuracy."""
from __future__ import annotations

from typing import Mapping, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from nasbench.tasks.base import Split
from nasbench.tasks.common import DigitsTask, infer
from nasbench.tasks.digits import load_pools, standardise


class PooledClassifier(nn.Module):
    """Global average pool of the coarsest feature, then a linear layer to the class logits."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(channels, num_classes)

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        return self.linear(features[-1].mean(dim=(2, 3)))


class ClassificationTask(DigitsTask):
    """Which of 10 digits an 8x8 image shows; metric: accuracy."""

    name = "cls"
    metric_name = "accuracy"
    num_classes = 10
    input_shape = (1, 8, 8)
    search_epochs = 2
    final_epochs = 10

    def build_split(self, name: str) -> Split:
        pools = load_pools()
        index = pools.indices[name]
        inputs = standardise(pools.images[index], pools.images[pools.indices["train"]])
        return Split(inputs[:, None], {"label": pools.labels[index]})

    def head(self, channels: Sequence[int], strides: Sequence[int], width: int | None = None) -> nn.Module:
        """A pooled linear classifier: no layers of its own, so ``width`` does not apply."""
        return PooledClassifier(channels[-1], self.num_classes)

    def loss(self, outputs: Tensor, targets: Mapping[str, Tensor]) -> Tensor:
        return F.cross_entropy(outputs, targets["label"])

    def score(self, model: nn.Module, split: Split) -> float:
        predicted = infer(model, split.inputs).argmax(dim=1)
        return (predicted == split.targets["label"]).float().mean().item()
