"""The one shared training recipe: AdamW with linear warm-up and cosine decay, epochs as fidelity."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from nasbench.records import Fidelity
from nasbench.tasks.base import Split, Task


@dataclass(frozen=True)
class Recipe:
    """Hyper-parameters shared by every training, in search and in the final evaluation."""

    lr: float = 3e-3
    weight_decay: float = 1e-4
    batch_size: int = 64
    warmup_fraction: float = 0.1
    grad_clip: float = 5.0
    #: Training samples whose batch statistics replace BatchNorm's running averages after training.
    bn_recalibration_samples: int = 1024

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


class Diverged(RuntimeError):
    """The loss became NaN or infinite."""


def training_subset(split: Split, fidelity: Fidelity, seed: int) -> Split:
    """The first ``data_fraction`` of a seeded permutation of the training split."""
    if fidelity.data_fraction >= 1.0:
        return split
    n = max(1, round(len(split) * fidelity.data_fraction))
    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(seed))
    return split.subset(order[:n])


def train(model: nn.Module, task: Task, data: Split, epochs: int, seed: int, recipe: Recipe = Recipe()) -> int:
    """Train ``model`` in place; returns the number of samples processed. Raises ``Diverged``."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps = epochs * math.ceil(len(data) / recipe.batch_size)
    warmup = max(1, int(recipe.warmup_fraction * steps))

    def lr_factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    model.train()
    seen = 0
    for _ in range(epochs):
        for inputs, targets in data.batches(recipe.batch_size, generator):
            if len(inputs) < 2:  # BatchNorm cannot train on one sample at a 1x1 resolution
                continue
            loss = task.loss(model(inputs), targets)
            if not torch.isfinite(loss):
                raise Diverged(f"loss {loss.item()} after {seen} samples")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
            optimizer.step()
            schedule.step()
            seen += len(inputs)
    return seen


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, data: Split, samples: int, batch_size: int) -> int:
    """Replace BN running statistics by exact averages over ``samples`` training inputs.

    Short trainings move the weights faster than BN's running averages follow, so eval-mode
    scores of a low-fidelity training are otherwise far below its train-mode accuracy. Returns
    the number of samples forwarded (charged as inference).
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms or samples <= 0:
        return 0
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the recalibration batches
    model.train()
    inputs = data.inputs[:samples]
    for start in range(0, len(inputs), batch_size):
        batch = inputs[start : start + batch_size]
        if len(batch) > 1:
            model(batch)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    return len(inputs)


@torch.no_grad()
def mean_loss(model: nn.Module, task: Task, data: Split, batch_size: int = 256) -> float:
    """The task loss of ``model`` averaged over ``data``, in eval mode (its mode restored after)."""
    was_training = model.training
    model.eval()
    total = 0.0
    try:
        for inputs, targets in data.batches(batch_size):
            total += float(task.loss(model(inputs), targets)) * len(inputs)
    finally:
        model.train(was_training)
    return total / max(1, len(data))
