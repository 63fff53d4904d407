"""Fixtures of the task tests: a tiny backbone with the feature strides the mobile space yields."""
from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from nasbench.model import Backbone, TaskModel
from nasbench.tasks.base import Split, Task


class TinyBackbone(Backbone):
    """Four strided 3x3 conv stages: features at strides (s, 2s, 4s, 8s) with stem stride ``s``."""

    def __init__(self, in_channels: int, stem_stride: int, channels: tuple[int, ...] = (8, 12, 16, 24)) -> None:
        super().__init__()
        self.channels = channels
        self.strides = tuple(stem_stride * 2**i for i in range(len(channels)))
        widths = (in_channels, *channels)
        self.stages = nn.ModuleList(
            nn.Sequential(nn.Conv2d(cin, cout, 3, stem_stride if i == 0 else 2, 1), nn.BatchNorm2d(cout), nn.ReLU())
            for i, (cin, cout) in enumerate(zip(widths, widths[1:]))
        )

    def forward(self, x: Tensor) -> list[Tensor]:
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


class Oracle(nn.Module):
    """Answers each input of ``split`` with the precomputed output of its row (found by exact match)."""

    def __init__(self, split: Split, outputs: Tensor | dict[str, Tensor]) -> None:
        super().__init__()
        self.inputs = split.inputs.flatten(1)
        self.outputs = outputs

    def forward(self, x: Tensor) -> Tensor | dict[str, Tensor]:
        rows = torch.cdist(x.flatten(1), self.inputs).argmin(dim=1)
        if isinstance(self.outputs, dict):
            return {key: value[rows] for key, value in self.outputs.items()}
        return self.outputs[rows]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one torch thread is fastest, and two stall badly when the 2 cores are busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_model():
    """Factory of a small seeded model for a task: the tiny backbone and the task's head."""

    def build(task: Task) -> TaskModel:
        torch.manual_seed(0)
        in_channels, height, _ = task.input_shape
        backbone = TinyBackbone(in_channels, 1 if height <= 16 else 2)
        return TaskModel(backbone, task.head(backbone.channels, backbone.strides))

    return build


@pytest.fixture
def oracle():
    return Oracle


@pytest.fixture
def losses():
    """Losses of a few Adam steps of ``model`` on the first ``n`` training samples of ``task``."""

    def run(task: Task, model: nn.Module, steps: int = 8, n: int = 16) -> list[float]:
        inputs, targets = next(task.split("train").batches(n))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        model.train()
        history = []
        for _ in range(steps):
            loss = task.loss(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history.append(loss.item())
        return history

    return run
