"""Segmentation: head shapes, loss, and mIoU on hand-made predictions."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from nasbench.tasks import get_task


def test_head_outputs_class_logits_at_input_resolution():
    task = get_task("seg")
    _, height, width = task.input_shape
    channels, strides = (16, 24, 32, 48), (2, 4, 8, 16)
    head = task.head(channels, strides)
    features = [torch.randn(3, c, math.ceil(height / s), math.ceil(width / s)) for c, s in zip(channels, strides)]
    assert head(features).shape == (3, 11, height, width)


def test_miou_of_perfect_and_wrong_predictions(oracle):
    task = get_task("seg")
    split = task.split("val")
    masks = split.targets["mask"]
    perfect = F.one_hot(masks, 11).permute(0, 3, 1, 2).float()
    assert task.score(oracle(split, perfect), split) == 1.0
    all_background = torch.zeros_like(perfect)
    all_background[:, 0] = 1.0
    assert task.score(oracle(split, all_background), split) < 0.1
    shifted_classes = F.one_hot((masks + 1) % 11, 11).permute(0, 3, 1, 2).float()
    assert task.score(oracle(split, shifted_classes), split) == 0.0


def test_loss_is_finite_and_decreases(tiny_model, losses):
    task = get_task("seg")
    history = losses(task, tiny_model(task))
    assert all(math.isfinite(v) for v in history) and history[-1] < 0.7 * history[0]
