"""A task model: a searched backbone feeding a task head."""
from __future__ import annotations

from torch import Tensor, nn


class Backbone(nn.Module):
    """Base of searched backbones: a ``stem`` then ``stages``; ``forward`` returns each stage's output, finest first.

    ``channels[i]`` and ``strides[i]`` describe feature ``i``; task heads read them.
    """

    channels: tuple[int, ...]
    strides: tuple[int, ...]
    stem: nn.Module
    stages: nn.ModuleList

    @property
    def stage_blocks(self) -> tuple[tuple[nn.Module, ...], ...]:
        """Per stage, its blocks in forward order; the stem opens the first stage (it shares its stride)."""
        return ((self.stem, *self.stages[0]), *(tuple(stage) for stage in self.stages[1:]))

    def forward(self, x: Tensor) -> list[Tensor]:
        features = []
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


class TaskModel(nn.Module):
    """``head(backbone(x))``."""

    def __init__(self, backbone: Backbone, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x: Tensor) -> Tensor | dict[str, Tensor]:
        return self.head(self.backbone(x))

