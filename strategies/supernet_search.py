"""What the differentiable supernet strategies (dnas, fbnetv5) share: data, schedule, metered steps, proposals.

- Sources: tasks whose training images are identical (det and seg read the same canvases) form
  one source, so one backbone pass per batch serves all their heads; each source's training
  split is cut 80/20 (seeded) into a part for the weights and a part for the architecture.
- Schedule: weights-only warm-up epochs, then per epoch one pass of weight steps (80% part)
  and one of architecture steps (20% part). An epoch has as many steps as the largest source
  needs for one pass; with several sources the steps take turns (round-robin), so the number of
  steps, and the backbone compute, do not grow with the number of tasks.
- Ledger: a step is charged (``ctx.charge``) the MACs of the network that ran, computed by the
  space's cost model (the sampled backbone from the latency table's exact MACs plus the heads
  fed) times the batch, times 3 when it back-propagates (DESIGN's training-step rule), once when
  it only runs forward; the runner audits these declared charges. Epochs are cut to what a MACs
  budget can pay before training starts.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from nasbench.context import SearchContext
from nasbench.errors import BudgetExhausted, ConfigError
from spaces.latency_lut import load_table
from nasbench.records import Architecture
from nasbench.tasks.base import Split
from spaces.mixed import ArchDistribution, Choice, CostModel, Supernet, to_arch
from spaces.mobile import MobileSpace
from strategies.base import Interval, Options, Rule, TupleOf

if TYPE_CHECKING:  # pragma: no cover
    from nasbench.tasks.base import Task
    from spaces.base import SearchSpace

log = logging.getLogger(__name__)

#: FBNet's temperature: 5.0, times exp(-0.045) per epoch of its 90-epoch search; rescaled so a
#: search of E epochs anneals over the same range (tau_E = 5.0 * exp(-0.045 * 90)).
TAU0, TAU_DECAY, PAPER_EPOCHS = 5.0, 0.045, 90
WEIGHT_FRACTION = 0.8


def tau(epoch: int, epochs: int) -> float:
    """Gumbel-softmax temperature at ``epoch`` of ``epochs``."""
    return TAU0 * math.exp(-TAU_DECAY * epoch * PAPER_EPOCHS / max(1, epochs))


def fbnet_loss(task_loss: Tensor, cost: Tensor | float, alpha: float, beta: float) -> Tensor:
    """FBNet's loss ``L * alpha * (log COST) ** beta``; ``cost`` in units that keep log COST > 1."""
    return task_loss * alpha * torch.log(torch.as_tensor(cost, dtype=torch.float64)).float() ** beta


@dataclass(frozen=True)
class Source:
    """Training images shared by ``tasks``, cut into a weights part and an architecture part.

    Targets are keyed ``task/name`` so several tasks' labels ride on one batch.
    """

    tasks: tuple[str, ...]
    input_shape: tuple[int, ...]
    weights: Split
    arch: Split

    @staticmethod
    def targets_of(targets: Mapping[str, Tensor], task: str) -> dict[str, Tensor]:
        prefix = f"{task}/"
        return {k[len(prefix):]: v for k, v in targets.items() if k.startswith(prefix)}


def make_sources(ctx: SearchContext, rng: np.random.Generator) -> list[Source]:
    """Group ``ctx.tasks`` by identical training images and cut each group's split 80/20 (seeded)."""
    groups: list[tuple[list[str], Tensor, dict[str, Tensor]]] = []
    for task in ctx.tasks:
        data = ctx.data("train", task)
        targets = {f"{task}/{k}": v for k, v in data.targets.items()}
        same = [g for g in groups if g[1].shape == data.inputs.shape and torch.equal(g[1], data.inputs)]
        if same:
            same[0][0].append(task)
            same[0][2].update(targets)
        else:
            groups.append(([task], data.inputs, targets))
    sources = []
    for tasks, inputs, targets in groups:
        split = Split(inputs, targets)
        order = torch.as_tensor(rng.permutation(len(split)))
        cut = int(round(WEIGHT_FRACTION * len(split)))
        sources.append(Source(tuple(tasks), tuple(inputs.shape[1:]), split.subset(order[:cut]), split.subset(order[cut:])))
    return sources


def _batches(split: Split, batch_size: int, generator: torch.Generator) -> Iterator[tuple[Tensor, dict[str, Tensor]]]:
    """Endless shuffled mini-batches of ``split`` (batches of one sample are dropped: BatchNorm)."""
    while True:
        for inputs, targets in split.batches(batch_size, generator):
            if len(inputs) > 1:
                yield inputs, targets


@dataclass(frozen=True)
class Schedule:
    """Supernet epochs (cut to the budget), weights-only warm-up epochs, batch sizes of the two kinds of step."""

    epochs: int
    warmup: int
    batch_size: int
    arch_batch_size: int

    def __post_init__(self) -> None:
        if self.epochs < 1 or not 0 <= self.warmup < self.epochs or self.batch_size < 2 or self.arch_batch_size < 2:
            raise ConfigError(f"supernet schedule needs epochs >= 1, 0 <= warmup < epochs, batch sizes >= 2; got {self}")


def supernet_constraints() -> dict[str, object]:
    """Hyper-parameter constraints shared by the supernet strategies (``dnas``, ``fbnetv5``)."""
    from spaces.latency_lut import MODES

    return {
        "epochs": Interval(int, 1, 10_000),
        "warmup": Interval(int, 0, 10_000),
        "batch_size": Interval(int, 2, 100_000),
        "arch_batch_size": Interval(int, 2, 100_000),
        "alpha": Interval(float, 0.0, 1e6, closed="right"),
        "betas": TupleOf(Interval(float, 0.0, 100.0), min_len=1),
        "cost": Options("latency", "macs"),
        "theta_lr": Interval(float, 0.0, 10.0, closed="right"),
        "lut": Options(*MODES),
        "head_width": Interval(int, 1, 4096),
    }


#: ``warmup < epochs``: at least one epoch updates the architecture distributions.
SCHEDULE_RULE = Rule(("warmup", "epochs"), lambda p: p["warmup"] < p["epochs"], "warmup < epochs")


def check_supernet(strategy: str, space: "SearchSpace", tasks: Mapping[str, "Task"]) -> None:
    """``ConfigError`` unless ``space`` has the mixed-op supernet and every task has data with one input channel count."""
    if not {"mixed", "backbone"} <= space.capabilities or not isinstance(space, MobileSpace):
        raise ConfigError(
            f"strategy {strategy!r} trains the mixed-op supernet of the mobile space (capability 'mixed'); "
            f"space {space.name!r} has none"
        )
    tabular = [name for name, task in tasks.items() if not getattr(task, "trainable", True)]
    if tabular:
        raise ConfigError(f"strategy {strategy!r} trains a supernet: task {', '.join(tabular)} has no data to train on")
    channels = {tuple(task.input_shape)[0] for task in tasks.values()}
    if len(channels) > 1:
        raise ConfigError(f"strategy {strategy!r}: tasks with different input channels {sorted(channels)} cannot share one supernet")


class SupernetSearch:
    """One supernet for ``ctx.tasks`` and its metered training; strategies supply the architecture steps.

    ``propose`` picks the architecture of a weight step; ``arch_step`` updates the architecture
    distributions on a batch of the 20% part at temperature ``tau``.
    """

    def __init__(
        self, ctx: SearchContext, schedule: Schedule, cost: str = "latency", lut: str = "cached", head_width: int | None = None
    ) -> None:
        if not isinstance(ctx.space, MobileSpace):
            raise ConfigError(f"the supernet strategies search the mobile space, not {ctx.space.name!r}")
        self.ctx = ctx
        self.space: MobileSpace = ctx.space
        self.schedule = schedule
        self.cost = cost
        self.views = {t: ctx.network_task(t) for t in ctx.tasks}
        self.costs = {t: CostModel(self.space, load_table(self.space, view, lut)) for t, view in self.views.items()}
        self.sources = make_sources(ctx, ctx.rng)
        channels = {view.input_shape[0] for view in self.views.values()}
        if len(channels) != 1:
            raise ConfigError(f"tasks with different input channels {sorted(channels)} cannot share one supernet")
        torch.manual_seed(ctx.seed)
        self.generator = torch.Generator().manual_seed(ctx.seed)
        self.net = Supernet(self.space, self.views, channels.pop(), head_width)
        self.head_macs = {t: self.net.head_macs(t, self.views[t].input_shape) for t in ctx.tasks}

    # -- costs -------------------------------------------------------------------------
    def cost_of(self, task: str, probs: Sequence[Tensor]) -> Tensor:
        """The search's cost term of ``task`` under ``probs``: latency in microseconds or backbone kMACs."""
        scale = 1000.0 if self.cost == "latency" else 1e-3
        return self.costs[task].expected(probs, self.cost) * scale

    def step_macs(self, source: Source, choice: Choice) -> float:
        """MACs of one sample through the backbone of ``choice`` and the heads of the source's tasks."""
        backbone = self.costs[source.tasks[0]].of(choice, "macs")
        return backbone + sum(self.head_macs[t] for t in source.tasks)

    def charge(self, source: Source, choice: Choice, samples: int, passes: int, what: str):
        """``ctx.charge`` for ``samples`` through ``choice`` and the source's heads, ``passes`` times (3 with a backward pass)."""
        return self.ctx.charge(passes * self.step_macs(source, choice) * samples, what)

    def losses(self, source: Source, inputs: Tensor, targets: Mapping[str, Tensor], choice: Choice,
               gates: Sequence[Tensor] | None = None) -> dict[str, Tensor]:
        """Each of the source's task losses from one supernet pass of ``choice``."""
        outputs = self.net(inputs, choice, source.tasks, gates)
        return {t: self.views[t].loss(outputs[t], Source.targets_of(targets, t)) for t in source.tasks}

    # -- the schedule --------------------------------------------------------------------
    def plan(self, mean_choice: Choice, arch_passes: int) -> Schedule:
        """The schedule cut to the remaining budget (estimated with ``mean_choice``'s MACs per sample)."""
        s = self.schedule
        per_sample = float(np.mean([self.step_macs(src, mean_choice) for src in self.sources]))
        weight_samples = self._steps("weights", s.batch_size) * s.batch_size
        arch_samples = self._steps("arch", s.arch_batch_size) * s.arch_batch_size
        epoch = per_sample * (3 * weight_samples + arch_passes * arch_samples)
        warm = per_sample * 3 * weight_samples
        if self.ctx.unit != "macs" or s.warmup * warm + (s.epochs - s.warmup) * epoch <= self.ctx.remaining:
            return s
        fraction = s.warmup / s.epochs
        epochs = max(1, int(self.ctx.remaining / (fraction * warm + (1 - fraction) * epoch)))
        log.info("supernet epochs cut from %d to %d to fit the budget", s.epochs, epochs)
        return Schedule(epochs, min(epochs - 1, int(fraction * epochs)), s.batch_size, s.arch_batch_size)

    def _steps(self, part: str, batch_size: int) -> int:
        return max(math.ceil(len(getattr(src, part)) / batch_size) for src in self.sources)

    def train(self, schedule: Schedule, propose, arch_step) -> None:
        """Warm-up, then alternate weight and architecture passes; stops quietly when the budget runs out."""
        recipe = self.ctx.recipe(self.ctx.tasks[0])
        optimizer = torch.optim.AdamW(self.net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
        steps = schedule.epochs * self._steps("weights", schedule.batch_size)
        lr = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: 0.5 * (1 + math.cos(math.pi * min(i, steps) / steps)))
        weights = itertools.cycle([(s, _batches(s.weights, schedule.batch_size, self.generator)) for s in self.sources])
        archs = itertools.cycle([(s, _batches(s.arch, schedule.arch_batch_size, self.generator)) for s in self.sources])
        self.net.train()
        with contextlib.suppress(BudgetExhausted):
            for epoch in range(schedule.epochs):
                t = tau(epoch, schedule.epochs)
                for _ in range(self._steps("weights", schedule.batch_size)):
                    source, batches = next(weights)
                    inputs, targets = next(batches)
                    choice = propose(source)
                    with self.charge(source, choice, len(inputs), 3, "supernet weight step"):
                        loss = sum(self.losses(source, inputs, targets, choice).values())
                        optimizer.zero_grad(set_to_none=True)
                        loss.backward()
                        nn.utils.clip_grad_norm_(self.net.parameters(), recipe.grad_clip)
                        optimizer.step()
                        lr.step()
                if epoch >= schedule.warmup:
                    for _ in range(self._steps("arch", schedule.arch_batch_size)):
                        source, batches = next(archs)
                        arch_step(source, *next(batches), t)


def proposals(space: MobileSpace, distributions: Sequence[ArchDistribution], k: int, rng: np.random.Generator,
              tries: int = 50) -> list[Architecture]:
    """The most likely architecture of each distribution, then samples from them in turn, at most ``k``."""
    out = list(dict.fromkeys(to_arch(space, d.argmax()) for d in distributions))[:k]
    for i in range(tries * k):
        if len(out) >= k:
            break
        arch = to_arch(space, distributions[i % len(distributions)].sample(rng))
        if arch not in out:
            out.append(arch)
    return out
