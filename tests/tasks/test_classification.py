"""Classification: head shapes, loss, and accuracy on hand-made predictions."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from nasbench.tasks import get_task
from nasbench.tasks.base import Split
from nasbench.tasks.warped import CANVAS, COUNTS


def test_split_sizes_and_normalisation():
    task = get_task("cls")
    assert [len(task.split(name)) for name in ("train", "val", "test")] == [COUNTS[s] for s in ("train", "val", "test")]
    train = task.split("train").inputs
    assert train.shape[1:] == (1, CANVAS, CANVAS) == task.input_shape
    assert abs(train.mean().item()) < 1e-4 and abs(train.std().item() - 1) < 1e-4


def test_head_maps_features_to_class_logits():
    head = get_task("cls").head((16, 24, 32, 48), (1, 2, 4, 8))
    features = [torch.randn(5, c, 16 // s, 16 // s) for c, s in zip((16, 24, 32, 48), (1, 2, 4, 8))]
    assert head(features).shape == (5, 10)


def test_accuracy_of_perfect_and_wrong_predictions(oracle):
    task = get_task("cls")
    split = task.split("val")
    truth = F.one_hot(split.targets["label"], 10).float()
    assert task.score(oracle(split, truth), split) == 1.0
    assert task.score(oracle(split, truth.roll(1, dims=1)), split) == 0.0
    half = Split(split.inputs[:4], {"label": torch.tensor([0, 1, 2, 3])})
    assert task.score(oracle(half, F.one_hot(torch.tensor([0, 1, 9, 9]), 10).float()), half) == 0.5


def test_loss_is_finite_and_decreases(tiny_model, losses):
    task = get_task("cls")
    history = losses(task, tiny_model(task))
    assert all(math.isfinite(v) for v in history) and history[-1] < 0.5 * history[0]


def test_score_leaves_the_model_in_training_mode(tiny_model):
    task = get_task("cls")
    model = tiny_model(task)
    assert 0.0 <= task.score(model, task.split("val")) <= 1.0 and model.training
