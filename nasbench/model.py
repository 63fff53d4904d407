"""A task model: a searched backbone feeding a task head."""
from __future__ import annotations

from torch import Tensor, nn


class Backbone(nn.Module):
    """Base of searched backbones: ``forward`` returns feature maps, finest first.

    ``channels[i]`` and ``strides[i]`` describe feature ``i``; task heads read them.
    """

    channels: tuple[int, ...]
    strides: tuple[int, ...]

    def forward(self, x: Tensor) -> list[Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError


class TaskModel(nn.Module):
    """``head(backbone(x))``."""

    def __init__(self, backbone: Backbone, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x: Tensor) -> Tensor | dict[str, Tensor]:
        return self.head(self.backbone(x))

