"""The searchable training recipe: FBNetV3's recipe space (Dai et al. 2021, Table 1), scaled to CPU tasks.

A recipe search proposes, with each architecture, the ``Recipe`` to train it with. The paper
searches optimiser, learning rate, weight decay, mixup ratio, dropout, stochastic depth and EMA
for ImageNet trainings of hundreds of epochs. Here, for the shared AdamW recipe and trainings of
a few epochs on the embedded tasks:

============== ============================== =========================================
field          range                          paper (ImageNet)
============== ============================== =========================================
lr             [1e-3, 1e-2], log (AdamW)      [0.01, 0.15] (RMSProp/SGD)
weight_decay   [1e-5, 1e-3], log              [1e-5, 5e-5] (SGD-style L2)
label_smoothing [0, 0.2]                      fixed 0.1 in the paper's training recipe
mixup          alpha in [0, 0.4]              mixup ratio [0, 0.4]
cutmix         probability in [0, 0.5]        not searched (added: common in current recipes)
ema            off / on (horizon 20% steps)   on / off
epochs         [final / 2, final], integer    not searched (the final budget caps it here)
============== ============================== =========================================

Dropout and stochastic depth are not searched: the spaces build no dropout layers and the
networks are too shallow for stochastic depth. Label smoothing, mixup and CutMix exist only
for classification tasks (one class label per sample); on detection and segmentation those
dimensions are absent. On NAS-Bench-201 the recipe is the table's: there is no recipe space.
Every other field of a recipe of the space is the shared recipe's (batch size, warm-up,
clipping, BatchNorm recalibration), so a recipe never buys compute the shared one lacks:
epochs stay within the task's final epochs.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from nasbench.errors import ConfigError
from nasbench.training import Recipe

#: EMA horizon (fraction of the training steps the average spans) of the space's "on" value.
EMA_ON = 0.2
#: Relative tolerance of the range checks (values rounded on the way to JSON and back).
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Dimension:
    """One searched recipe field: a real range (``log`` scale optional), an integer range, or a switch.

    ``kind`` is ``real``, ``int`` or ``switch`` (``low`` off, ``high`` on). The unit value
    ``u`` in [0, 1) maps to the field's value (``value``) and back (``unit``).
    """

    name: str
    low: float
    high: float
    kind: str = "real"
    log: bool = False

    def value(self, u: float) -> Any:
        u = min(max(float(u), 0.0), 1.0)
        if self.kind == "switch":
            return self.high if u >= 0.5 else self.low
        if self.kind == "int":
            n = int(self.high) - int(self.low) + 1
            return int(self.low) + min(n - 1, int(u * n))
        if self.log:
            return float(math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low))))
        return float(self.low + u * (self.high - self.low))

    def unit(self, value: Any) -> float:
        """Where ``value`` sits in [0, 1] (the predictor's input)."""
        if self.kind == "switch":
            return 1.0 if value == self.high else 0.0
        if self.kind == "int":
            return (float(value) - self.low) / max(1.0, self.high - self.low)
        if self.log:
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (float(value) - self.low) / (self.high - self.low)

    def contains(self, value: Any) -> bool:
        if self.kind == "switch":
            return value in (self.low, self.high)
        if self.kind == "int":
            return isinstance(value, int) and self.low <= value <= self.high
        span = TOLERANCE * max(abs(self.low), abs(self.high), 1e-12)
        return isinstance(value, (int, float)) and self.low - span <= value <= self.high + span


class RecipeSpace:
    """The recipes a strategy may propose for one task: ``dimensions`` varied around the shared ``base``.

    ``from_unit(u)`` maps a point of the unit cube (Sobol, a genetic algorithm) to a ``Recipe``;
    ``to_unit(recipe)`` maps it back (the predictor's encoding); ``sample``/``mutate`` for
    evolutionary use; ``check(recipe)`` raises ``ConfigError`` for a recipe outside the space.
    """

    def __init__(self, base: Recipe, final_epochs: int, *, classification: bool) -> None:
        self.base = dataclasses.replace(base, epochs=None)
        self.final_epochs = int(final_epochs)
        self.classification = bool(classification)
        dims = [
            Dimension("lr", 1e-3, 1e-2, log=True),
            Dimension("weight_decay", 1e-5, 1e-3, log=True),
        ]
        if classification:
            dims += [Dimension("label_smoothing", 0.0, 0.2), Dimension("mixup", 0.0, 0.4), Dimension("cutmix", 0.0, 0.5)]
        dims += [
            Dimension("ema", 0.0, EMA_ON, kind="switch"),
            Dimension("epochs", max(1, math.ceil(self.final_epochs / 2)), self.final_epochs, kind="int"),
        ]
        self.dimensions: tuple[Dimension, ...] = tuple(dims)

    def __repr__(self) -> str:
        return f"RecipeSpace({', '.join(d.name for d in self.dimensions)}; final_epochs={self.final_epochs})"

    @property
    def n_dims(self) -> int:
        return len(self.dimensions)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dimensions)

    def default(self) -> Recipe:
        """The shared recipe as a member of the space: its own values, the final epochs."""
        return dataclasses.replace(self.base, epochs=self.final_epochs)

    def from_unit(self, u: Sequence[float]) -> Recipe:
        if len(u) != self.n_dims:
            raise ValueError(f"a recipe of this space has {self.n_dims} coordinates, got {len(u)}")
        return dataclasses.replace(self.base, **{d.name: d.value(x) for d, x in zip(self.dimensions, u)})

    def to_unit(self, recipe: Recipe) -> np.ndarray:
        return np.array([d.unit(getattr(recipe, d.name)) for d in self.dimensions], dtype=float)

    def sample(self, rng: np.random.Generator) -> Recipe:
        return self.from_unit(rng.random(self.n_dims))

    def mutate(self, recipe: Recipe, rng: np.random.Generator, scale: float = 0.15) -> Recipe:
        """One dimension moved: a Gaussian step of ``scale`` in unit coordinates (a switch flips)."""
        u = self.to_unit(recipe)
        i = int(rng.integers(self.n_dims))
        if self.dimensions[i].kind == "switch":
            u[i] = 1.0 - u[i]
        else:
            u[i] = float(np.clip(u[i] + rng.normal(0.0, scale), 0.0, 0.999999))
        return self.from_unit(u)

    def contains(self, recipe: Any) -> bool:
        try:
            self.check(recipe)
        except ConfigError:
            return False
        return True

    def check(self, recipe: Any) -> Recipe:
        """``recipe`` if it belongs to the space; ``ConfigError`` naming the first field that does not."""
        if not isinstance(recipe, Recipe):
            raise ConfigError(f"expected a Recipe, got {type(recipe).__name__}")
        searched = {d.name: d for d in self.dimensions}
        for f in dataclasses.fields(Recipe):
            value = getattr(recipe, f.name)
            if f.name in searched:
                if not searched[f.name].contains(value):
                    d = searched[f.name]
                    raise ConfigError(f"recipe {f.name}={value!r} is outside the recipe space [{d.low:g}, {d.high:g}]")
            elif value != getattr(self.base, f.name):
                why = " (this task has no class labels to mix)" if f.name in ("label_smoothing", "mixup", "cutmix") else ""
                raise ConfigError(f"recipe {f.name}={value!r} is not searched: it must stay {getattr(self.base, f.name)!r}{why}")
        return recipe


def recipe_space(task: Any, base: Recipe) -> RecipeSpace | None:
    """The recipe space of a task whose networks train with ``base``; None when the recipe is fixed (a table)."""
    if not getattr(task, "trainable", True):
        return None
    from nasbench.training import labels_only

    try:
        targets = task.split("train").targets
    except ConfigError:
        return None
    return RecipeSpace(base, task.final_epochs, classification=labels_only(targets))
