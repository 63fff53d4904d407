"""An out-of-tree plug-in as a user would write it: a task over their own tensors, a space, a strategy.

Installed for the tests by putting this folder (with its ``.dist-info``) on ``sys.path``.
"""
from __future__ import annotations

import os

import torch
from torch import nn

from nasbench.model import Backbone
from nasbench.tasks.tensors import TensorClassificationTask
from spaces.base import SearchSpace
from strategies.base import Strategy

SIZES = {"train": 240, "val": 120, "test": 240}


class Blobs(TensorClassificationTask):
    """Which of three corners holds a bright blob, on noisy 8x8 images (the user's own tensors)."""

    name = "blobs"
    description = "three-class blob position, 8x8 tensors from a user's package"
    input_shape = (1, 8, 8)
    num_classes = 3
    search_epochs, final_epochs = 1, 2

    def load(self, split):
        g = torch.Generator().manual_seed(("train", "val", "test").index(split))
        labels = torch.randint(0, 3, (SIZES[split],), generator=g)
        images = 0.5 * torch.randn(SIZES[split], 1, 8, 8, generator=g)
        for i, (r, c) in enumerate([(1, 1), (1, 5), (5, 3)]):
            images[labels == i, :, r:r + 2, c:c + 2] += 1.5
        return images, labels


class TinyBackbone(Backbone):
    def __init__(self, width: int, depth: int, kernel: int, channels_in: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(channels_in, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        blocks = [nn.Sequential(nn.Conv2d(width, width, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(width), nn.ReLU())
                  for _ in range(depth)]
        self.stages = nn.ModuleList([nn.Sequential(*blocks)])
        self.channels, self.strides = (width,), (1,)


class TinySpace(SearchSpace):
    """Width {4, 8, 16} x depth {1, 2, 3} x kernel {1, 3}: 18 small CNNs."""

    name = "tiny"

    @property
    def choices(self):
        return (3, 3, 2)

    def backbone(self, arch, task, *, residual=True):
        width, depth, kernel = arch.genes
        return TinyBackbone((4, 8, 16)[width], depth + 1, (1, 3)[kernel], task.input_shape[0])


class ExitsWorker(Strategy):
    """Misbehaves: kills the process it runs in."""

    name = "exits-worker"
    description = "test plug-in that calls os._exit"

    def search(self, ctx):
        os._exit(7)
