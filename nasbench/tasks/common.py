"""Pieces the digit tasks share: splits built once per task, batched inference, multi-scale fusion."""
from __future__ import annotations

import abc
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasbench.tasks.base import SPLITS, Split, Task

#: Samples per forward pass when scoring: large batches, since no gradients are kept.
INFERENCE_BATCH = 500
#: Channels of the fused features in the detection and segmentation heads: with 32 the networks
#: learnt markedly slower (the reference after 2 epochs of the current recipes: det mAP 0.11
#: against 0.23, seg mIoU 0.11 against 0.27; with the former batch of 64 and 20 epochs, seg
#: mIoU 0.42 against 0.62).
HEAD_WIDTH = 64


class DigitsTask(Task):
    """A task on the embedded digits: each split it holds is built on first use, then kept.

    ``splits`` names the splits this instance may build (``get_task(name, splits=...)``): a
    search task built with ``("train", "val")`` never builds, nor holds, test data.
    """

    num_classes: int

    def __init__(self, splits: Sequence[str] = SPLITS) -> None:
        super().__init__(splits)
        self._built: dict[str, Split] = {}

    def split(self, name: str) -> Split:
        self._refuse_split(name)
        if name not in self._built:
            self._built[name] = self.build_split(name)
        return self._built[name]

    @abc.abstractmethod
    def build_split(self, name: str) -> Split:
        """Inputs and targets of split ``name``, built from the cached digit data."""


def infer(model: nn.Module, inputs: Tensor) -> Tensor | dict[str, Tensor]:
    """``model``'s outputs on all ``inputs``, in eval mode without gradients (its mode restored after)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            outputs = [model(batch) for batch in inputs.split(INFERENCE_BATCH)]
    finally:
        model.train(was_training)
    if isinstance(outputs[0], dict):
        return {key: torch.cat([out[key] for out in outputs]) for key in outputs[0]}
    return torch.cat(outputs)


class FusedFeatures(nn.Module):
    """FPN-lite neck: features from index ``first`` on, projected to ``width`` (1x1 conv), upsampled
    to feature ``first``'s resolution, summed, then refined by a 3x3 conv + BN + ReLU."""

    def __init__(self, channels: Sequence[int], first: int, width: int) -> None:
        super().__init__()
        self.first = first
        self.lateral = nn.ModuleList(nn.Conv2d(c, width, 1) for c in channels[first:])
        self.refine = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)
        )

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        features = features[self.first :]
        size = features[0].shape[-2:]
        fused = self.lateral[0](features[0])
        for project, feature in zip(self.lateral[1:], features[1:]):
            fused = fused + F.interpolate(project(feature), size=size, mode="bilinear", align_corners=False)
        return self.refine(fused)
