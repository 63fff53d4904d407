"""Semantic segmentation of digit canvases into background + 10 digit classes, scored by mIoU."""
from __future__ import annotations

from typing import Mapping, Sequence

import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics.classification import MulticlassJaccardIndex

from nasbench.tasks.base import Split
from nasbench.tasks.common import HEAD_WIDTH, DigitsTask, FusedFeatures, infer
from nasbench.tasks.digits import CANVAS_SIZE, render_canvases, standardise


class SegmentationHead(nn.Module):
    """All features fused at the finest scale, classified per pixel, upsampled to the input size."""

    def __init__(self, channels: Sequence[int], num_classes: int, size: tuple[int, int], width: int = HEAD_WIDTH) -> None:
        super().__init__()
        self.fuse = FusedFeatures(channels, 0, width)
        self.classify = nn.Conv2d(width, num_classes, 1)
        self.size = size

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        logits = self.classify(self.fuse(features))
        return F.interpolate(logits, size=self.size, mode="bilinear", align_corners=False)


class SegmentationTask(DigitsTask):
    """Label every canvas pixel as background or the digit whose stroke it belongs to; metric: mIoU."""

    name = "seg"
    description = "per-pixel label (background or which digit) of a 24x24 canvas of 1-3 digits; mIoU over 11 classes"
    metric_name = "mIoU"
    num_classes = 11
    input_shape = (1, CANVAS_SIZE, CANVAS_SIZE)
    #: Chosen by measurement (``docs/task_calibration.md``): with the shared batch of 64 the networks
    #: had barely started to label digits after 6 epochs (validation mIoU 0.12-0.18), and segmentation
    #: learns abruptly, so seed noise exceeded the differences between architectures. Batches of 8
    #: take 8x the steps per epoch; by 4 epochs most networks label the digits.
    recipe_changes = {"batch_size": 8, "lr": 6e-3}
    search_epochs = 4
    final_epochs = 10

    def build_split(self, name: str) -> Split:
        canvases = render_canvases(name)
        inputs = standardise(canvases.images, render_canvases("train").images)
        return Split(inputs, {"mask": canvases.masks})

    def head(self, channels: Sequence[int], strides: Sequence[int], width: int | None = None) -> nn.Module:
        return SegmentationHead(channels, self.num_classes, self.input_shape[1:], width or HEAD_WIDTH)

    def loss(self, outputs: Tensor, targets: Mapping[str, Tensor]) -> Tensor:
        return F.cross_entropy(outputs, targets["mask"])

    def score(self, model: nn.Module, split: Split) -> float:
        return self.miou(infer(model, split.inputs), split.targets["mask"])

    def miou(self, logits: Tensor, masks: Tensor) -> float:
        """Mean over the 11 classes of the intersection over union of predicted and true pixels."""
        metric = MulticlassJaccardIndex(num_classes=self.num_classes, average="macro")
        # torchmetrics averages as a float32 sum of IoU / classes, which can overshoot 1 by an ulp.
        return min(1.0, metric(logits.argmax(dim=1), masks).item())
