"""The one shared training recipe: AdamW with linear warm-up and cosine decay, epochs as fidelity.

``Recipe`` also carries the fields a recipe search varies (``nasbench.recipes``): label
smoothing, mixup and CutMix (classification tasks only), an exponential moving average of the
weights and the schedule length. Their defaults are off, and with them ``train`` runs exactly the
operations it always ran (bit-identical weights).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasbench.errors import ConfigError
from nasbench.records import Fidelity
from nasbench.tasks.base import Split, Task


@dataclass(frozen=True)
class Recipe:
    """Hyper-parameters of a training, shared by every training in search and in the final evaluation.

    The fields below ``bn_recalibration_samples`` are off by default (the shared recipe):

    - ``label_smoothing``: weight of the uniform target, as in ``F.cross_entropy(label_smoothing=)``;
    - ``mixup``: alpha of the Beta(alpha, alpha) mixing weight of mixup (Zhang et al. 2018), 0 off;
    - ``cutmix``: probability that a batch is mixed by CutMix (Yun et al. 2019; box area from
      Beta(1, 1)) instead;
    - ``ema``: the weights' exponential moving average spans about this fraction of the training
      steps (decay 1 - 1 / (ema x steps)) and replaces the weights when training stops; 0 off;
    - ``epochs``: length of the learning-rate schedule. ``None``: the fidelity's epochs (a full
      schedule). Set, a training of ``fidelity.epochs <= epochs`` is that schedule stopped early.

    Label smoothing, mixup and CutMix need a classification task (targets ``{"label"}``, logits out).
    """

    lr: float = 3e-3
    weight_decay: float = 1e-4
    batch_size: int = 64
    warmup_fraction: float = 0.1
    grad_clip: float = 5.0
    #: Training samples whose batch statistics replace BatchNorm's running averages after training.
    bn_recalibration_samples: int = 1024
    label_smoothing: float = 0.0
    mixup: float = 0.0
    cutmix: float = 0.0
    ema: float = 0.0
    epochs: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.epochs, numbers.Integral) and not isinstance(self.epochs, bool):
            object.__setattr__(self, "epochs", int(self.epochs))
        checks = {
            "lr": self.lr > 0, "weight_decay": self.weight_decay >= 0, "batch_size": self.batch_size >= 1,
            "warmup_fraction": 0 <= self.warmup_fraction < 1, "grad_clip": self.grad_clip > 0,
            "bn_recalibration_samples": self.bn_recalibration_samples >= 0,
            "label_smoothing": 0 <= self.label_smoothing < 1, "mixup": self.mixup >= 0,
            "cutmix": 0 <= self.cutmix <= 1, "ema": 0 <= self.ema < 1,
            "epochs": self.epochs is None or (type(self.epochs) is int and self.epochs >= 1),
        }
        for name, ok in checks.items():
            value = getattr(self, name)
            if not ok or (isinstance(value, float) and not math.isfinite(value)):
                raise ValueError(f"invalid recipe: {name}={value!r}")

    @property
    def mixes_labels(self) -> bool:
        """Whether the recipe changes the classification targets (label smoothing, mixup or CutMix)."""
        return self.label_smoothing > 0 or self.mixup > 0 or self.cutmix > 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Recipe":
        """Inverse of ``to_dict``; unknown keys raise ``ValueError``."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown recipe field(s) {', '.join(sorted(unknown))}")
        return cls(**dict(data))


def task_recipe(task: Task) -> Recipe:
    """The shared recipe as ``task`` trains with it: the defaults with the task's ``recipe_changes``."""
    return Recipe(**dict(task.recipe_changes))


class Diverged(RuntimeError):
    """The loss became NaN or infinite."""


def training_subset(split: Split, fidelity: Fidelity, seed: int) -> Split:
    """The first ``data_fraction`` of a seeded permutation of the training split."""
    if fidelity.data_fraction >= 1.0:
        return split
    n = max(1, round(len(split) * fidelity.data_fraction))
    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(seed))
    return split.subset(order[:n])


def labels_only(targets: Mapping[str, Any]) -> bool:
    """Whether a split's targets are one integer class label per sample (what label mixing needs)."""
    label = targets.get("label")
    return set(targets) == {"label"} and label is not None and label.dim() == 1 and not label.is_floating_point()


class _LabelMixer:
    """Label smoothing, mixup and CutMix of one training, seeded apart from the batch order.

    Its own generators (numpy for the mixing weights, torch for the pairing) leave the shared
    batch order untouched, so a recipe with and without mixing sees the same batches.
    """

    def __init__(self, recipe: Recipe, task: Task, seed: int) -> None:
        self.recipe, self.task = recipe, task
        self.rng = np.random.default_rng([seed, 0x6D1C])
        self.generator = torch.Generator().manual_seed(seed + 0x6D1C)

    def _loss(self, outputs: torch.Tensor, targets: Mapping[str, torch.Tensor]) -> torch.Tensor:
        loss = self.task.loss(outputs, targets)
        eps = self.recipe.label_smoothing
        if eps > 0:  # (1 - eps) CE + eps x CE against the uniform distribution: F.cross_entropy(label_smoothing=eps)
            loss = (1 - eps) * loss - eps * F.log_softmax(outputs, dim=1).mean(dim=1).mean()
        return loss

    def loss(self, model: nn.Module, inputs: torch.Tensor, targets: Mapping[str, torch.Tensor]) -> torch.Tensor:
        r = self.recipe
        use_cutmix = r.cutmix > 0 and self.rng.random() < r.cutmix
        if not use_cutmix and r.mixup <= 0:
            return self._loss(model(inputs), targets)
        perm = torch.randperm(len(inputs), generator=self.generator)
        other = {k: v[perm] for k, v in targets.items()}
        if use_cutmix:
            lam = float(self.rng.beta(1.0, 1.0))
            h, w = inputs.shape[-2:]
            cut_h, cut_w = round(h * math.sqrt(1 - lam)), round(w * math.sqrt(1 - lam))
            cy, cx = int(self.rng.integers(h)), int(self.rng.integers(w))
            y0, y1 = max(0, cy - cut_h // 2), min(h, cy + (cut_h + 1) // 2)
            x0, x1 = max(0, cx - cut_w // 2), min(w, cx + (cut_w + 1) // 2)
            inputs = inputs.clone()
            inputs[..., y0:y1, x0:x1] = inputs[perm][..., y0:y1, x0:x1]
            lam = 1.0 - (y1 - y0) * (x1 - x0) / (h * w)
        else:
            lam = float(self.rng.beta(r.mixup, r.mixup))
            inputs = lam * inputs + (1 - lam) * inputs[perm]
        outputs = model(inputs)
        return lam * self._loss(outputs, targets) + (1 - lam) * self._loss(outputs, other)


class _WeightAverage:
    """Exponential moving average of the parameters, copied into the model when training stops."""

    def __init__(self, model: nn.Module, horizon: float, steps: int) -> None:
        self.decay = 1.0 - 1.0 / max(1.0, horizon * steps)
        self.params = [p for p in model.parameters()]
        self.average = [p.detach().clone() for p in self.params]

    @torch.no_grad()
    def update(self) -> None:
        for avg, p in zip(self.average, self.params):
            avg.mul_(self.decay).add_(p.detach(), alpha=1.0 - self.decay)

    @torch.no_grad()
    def apply(self) -> None:
        for avg, p in zip(self.average, self.params):
            p.copy_(avg)


def train(model: nn.Module, task: Task, data: Split, epochs: int, seed: int, recipe: Recipe | None = None) -> int:
    """Train ``model`` in place for ``epochs`` epochs; returns the number of samples processed. Raises ``Diverged``.

    ``recipe`` None: the task's (``task_recipe``).
    The schedule spans ``recipe.epochs`` (``epochs`` when None): with ``epochs`` below it, the
    training is that schedule stopped early. ``ConfigError`` when ``epochs`` exceeds the schedule
    or the recipe mixes labels on a task that has no class labels.
    """
    recipe = task_recipe(task) if recipe is None else recipe
    total = epochs if recipe.epochs is None else recipe.epochs
    if epochs > total:
        raise ConfigError(f"cannot train {epochs} epochs of a {total}-epoch schedule")
    mixer = None
    if recipe.mixes_labels:
        if not labels_only(data.targets):
            raise ConfigError("label smoothing, mixup and CutMix need a classification task (one class label per sample)")
        mixer = _LabelMixer(recipe, task, seed)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps = total * math.ceil(len(data) / recipe.batch_size)
    warmup = max(1, int(recipe.warmup_fraction * steps))

    def lr_factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    average = _WeightAverage(model, recipe.ema, steps) if recipe.ema > 0 else None
    model.train()
    seen = 0
    for _ in range(epochs):
        for inputs, targets in data.batches(recipe.batch_size, generator):
            if len(inputs) < 2:  # BatchNorm cannot train on one sample at a 1x1 resolution
                continue
            loss = task.loss(model(inputs), targets) if mixer is None else mixer.loss(model, inputs, targets)
            if not torch.isfinite(loss):
                raise Diverged(f"loss {loss.item()} after {seen} samples")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
            optimizer.step()
            schedule.step()
            if average is not None:
                average.update()
            seen += len(inputs)
    if average is not None:
        average.apply()
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
