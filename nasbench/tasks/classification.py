"""Digit classification on the native 8x8 images: global-pool + linear head, accuracy (a tensor task)."""
from __future__ import annotations

from torch import Tensor

from nasbench.tasks.digits import load_pools, standardise
from nasbench.tasks.tensors import TensorClassificationTask


class ClassificationTask(TensorClassificationTask):
    """Which of 10 digits an 8x8 image shows; metric: accuracy."""

    description = "which of 10 digits an 8x8 image shows (scikit-learn's digits); accuracy"

    name = "cls"
    metric_name = "accuracy"
    num_classes = 10
    input_shape = (1, 8, 8)
    search_epochs = 2
    final_epochs = 10

    def load(self, split: str) -> tuple[Tensor, Tensor]:
        pools = load_pools()
        index = pools.indices[split]
        inputs = standardise(pools.images[index], pools.images[pools.indices["train"]])
        return inputs[:, None], pools.labels[index]
