"""Digit classification on warped, cluttered 24x24 digits: global-pool + linear head, accuracy (a tensor task)."""
from __future__ import annotations

from torch import Tensor

from nasbench.tasks.digits import standardise
from nasbench.tasks.tensors import TensorClassificationTask
from nasbench.tasks.warped import CANVAS, render_warped


class ClassificationTask(TensorClassificationTask):
    """Which of 10 digits a warped, cluttered, noisy 24x24 image shows (``warped``); metric: accuracy."""

    description = "which of 10 digits a warped, cluttered 24x24 image shows (scikit-learn's digits); accuracy"

    name = "cls"
    metric_name = "accuracy"
    num_classes = 10
    input_shape = (1, CANVAS, CANVAS)
    search_epochs = 1
    final_epochs = 4

    def load(self, split: str) -> tuple[Tensor, Tensor]:
        data = render_warped(split)
        return standardise(data.images, render_warped("train").images), data.labels
