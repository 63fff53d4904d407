"""What the differentiable supernet strategies (dnas, fbnetv5) share: data, schedule, metered steps, estimates.

- Sources: tasks whose training images are identical (det and seg read the same canvases) form
  one source, so one backbone pass per batch serves all their heads; each source's training
  split is cut 80/20 (seeded) into a part for the weights and a part for the architecture.
- Steps: every step takes one batch from every source through the same sampled network (or
  soft mixture), so every task's head, loss and architecture distribution is updated at every
  step, as FBNetV5 does; an epoch has as many steps as the largest source needs for one pass.
- Schedule: weights-only warm-up epochs (a share of them), then per epoch one pass of weight
  steps (80% part) and one of architecture steps (20% part). By default the number of epochs is
  what the budget pays (FBNet's 90 epochs are the paper's scale), after the per-proposal
  validation estimates are set aside; a given number of epochs is cut to the budget.
- Ledger: a step is charged (``ctx.charge``) the MACs of what ran, computed by the space's cost
  model (a sampled backbone from the latency table's exact MACs, or every candidate of a soft
  mixture, plus the heads fed) times the batch, times 3 when it back-propagates (the ledger's
  training-step rule), once when it only runs forward; the runner audits these declared charges.
- Estimates: each proposal's network, its weights inherited from the supernet, gets its
  BatchNorm statistics recalibrated and its validation metric measured through ``ctx`` (priced
  by ``ctx``), recorded in the archive with ``ctx.estimate``.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from nasbench.context import SearchContext
from nasbench.errors import BudgetExhausted, ConfigError
from nasbench.records import Architecture, Fidelity
from nasbench.tasks.base import Split
from spaces.latency_lut import load_table
from spaces.mixed import ArchDistribution, Choice, ChoiceNetwork, CostModel, Supernet, from_arch, to_arch
from spaces.mobile import MobileSpace
from strategies.base import Interval, Options, TupleOf

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


@dataclass(frozen=True)
class Batch:
    """One source's mini-batch of a step."""

    source: Source
    inputs: Tensor
    targets: Mapping[str, Tensor]


@dataclass(frozen=True)
class Sample:
    """What a step runs: one sampled network (``choice``, with straight-through ``gates`` when
    the logits learn through it) or FBNet's soft ``mixture`` of every candidate."""

    choice: Choice | None = None
    gates: Sequence[Tensor] | None = None
    mixture: Sequence[Tensor] | None = None


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
    """Supernet epochs (None: what the budget pays), the warm-up's share of them, batch sizes of the two kinds of step."""

    epochs: int | None
    warmup: float
    batch_size: int
    arch_batch_size: int

    def __post_init__(self) -> None:
        if (self.epochs is not None and self.epochs < 1) or not 0 <= self.warmup < 1 or self.batch_size < 2 or self.arch_batch_size < 2:
            raise ConfigError(f"supernet schedule needs epochs >= 1, 0 <= warmup < 1, batch sizes >= 2; got {self}")

    def warmup_epochs(self, epochs: int) -> int:
        """Weights-only epochs among ``epochs`` (at least one epoch updates the architecture)."""
        return min(epochs - 1, int(self.warmup * epochs))


def supernet_constraints() -> dict[str, object]:
    """Hyper-parameter constraints shared by the supernet strategies (``dnas``, ``fbnetv5``)."""
    from spaces.latency_lut import MODES

    return {
        "epochs": [Interval(int, 1, 100_000), None],
        "warmup": Interval(float, 0.0, 1.0, closed="left"),
        "batch_size": Interval(int, 2, 100_000),
        "arch_batch_size": Interval(int, 2, 100_000),
        "alpha": Interval(float, 0.0, 1e6, closed="right"),
        "betas": TupleOf(Interval(float, 0.0, 100.0), min_len=1),
        "cost": Options("latency", "macs"),
        "theta_lr": Interval(float, 0.0, 10.0, closed="right"),
        "lut": Options(*MODES),
        "head_width": Interval(int, 1, 4096),
    }


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
    """One supernet for ``ctx.tasks`` and its metered training; strategies supply the sampling and architecture steps.

    ``train(propose, arch_step)``: ``propose()`` gives the ``Sample`` of a weight step;
    ``arch_step(batches, tau)`` updates the architecture distributions on one batch of every
    source's 20% part. ``epoch``, ``weight_steps`` and ``arch_steps`` count what ran.
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
        self.epoch, self.epochs, self.weight_steps, self.arch_steps = 0, 0, 0, 0
        self.reserve: Callable[[], float] | float = 0.0

    # -- costs -------------------------------------------------------------------------
    def cost_of(self, task: str, probs: Sequence[Tensor]) -> Tensor:
        """The search's cost term of ``task`` under ``probs``: latency in microseconds or backbone kMACs."""
        scale = 1000.0 if self.cost == "latency" else 1e-3
        return self.costs[task].expected(probs, self.cost) * scale

    def step_macs(self, source: Source, sample: Sample) -> float:
        """MACs of one sample through the backbone of ``sample`` (every candidate of a mixture) and the source's heads."""
        costs = self.costs[source.tasks[0]]
        backbone = costs.mixture_macs() if sample.mixture is not None else costs.of(sample.choice, "macs")
        return backbone + sum(self.head_macs[t] for t in source.tasks)

    def charge(self, batches: Sequence[Batch], sample: Sample, passes: int, what: str):
        """``ctx.charge`` for every batch through ``sample`` and its source's heads, ``passes`` times (3 with a backward pass).

        ``BudgetExhausted`` (ending the training) when the step would use the budget set aside by ``plan``.
        """
        macs = passes * sum(self.step_macs(b.source, sample) * len(b.inputs) for b in batches)
        reserve = self.reserve() if callable(self.reserve) else self.reserve
        if reserve and macs > self.ctx.remaining - reserve:
            raise BudgetExhausted(f"{what}: the rest of the budget ({self.ctx.remaining:.3g} MACs) is set aside for the estimates")
        return self.ctx.charge(macs, what)

    def losses(self, batches: Sequence[Batch], sample: Sample) -> dict[str, Tensor]:
        """Every task's loss: one supernet pass of ``sample`` per batch, feeding its source's heads."""
        out = {}
        for b in batches:
            outputs = self.net(b.inputs, sample.choice, b.source.tasks, sample.gates, sample.mixture)
            out.update({t: self.views[t].loss(outputs[t], Source.targets_of(b.targets, t)) for t in b.source.tasks})
        return out

    # -- the schedule --------------------------------------------------------------------
    def steps(self, part: str, batch_size: int) -> int:
        """Steps of one epoch: one pass over the largest source's ``part`` (smaller sources cycle)."""
        return max(math.ceil(len(getattr(src, part)) / batch_size) for src in self.sources)

    def plan(self, weight_sample: Sample, arch_sample: Sample, arch_passes: int,
             reserve: Callable[[], float] | float = 0.0) -> int:
        """Supernet epochs and the budget set aside (``reserve``, re-read at every step when callable) for after them.

        Under a MACs budget with ``epochs=None``: one more epoch than the budget pays in full, so
        training runs until only ``reserve`` is left (``charge`` refuses the step that would eat
        into it); a given number of epochs is cut to what the budget pays. Other units: the
        schedule's epochs (or FBNet's 90); the ledger ends the search. Costs are estimated with the
        given samples' MACs per step.
        """
        s = self.schedule
        self.reserve = reserve if self.ctx.unit == "macs" else 0.0
        reserve = reserve() if callable(reserve) else reserve
        if self.ctx.unit != "macs":
            return s.epochs or PAPER_EPOCHS  # queries: supernet steps are not queries; seconds: the ledger stops it

        def per_epoch(part: str, batch: int, sample: Sample, passes: int) -> float:
            return passes * self.steps(part, batch) * batch * sum(self.step_macs(src, sample) for src in self.sources)

        warm = per_epoch("weights", s.batch_size, weight_sample, 3)
        full = warm + per_epoch("arch", s.arch_batch_size, arch_sample, arch_passes)
        available = max(0.0, self.ctx.remaining - reserve)

        def fits(epochs: int) -> bool:
            warmup = s.warmup_epochs(epochs)
            return warmup * warm + (epochs - warmup) * full <= available

        if s.epochs is None:
            epochs = max(1, int(available / full))
            while fits(epochs + 1):
                epochs += 1
            return epochs + 1  # the last one runs until the budget is spent
        epochs = s.epochs
        while epochs > 1 and not fits(epochs):
            epochs -= 1
        if epochs < s.epochs:
            log.info("supernet epochs cut from %d to %d to fit the budget", s.epochs, epochs)
        return epochs

    def train(self, epochs: int, propose: Callable[[], Sample], arch_step: Callable[[Sequence[Batch], float], None]) -> None:
        """Warm-up, then alternate weight and architecture passes; stops quietly when the budget runs out."""
        s = self.schedule
        self.epochs = epochs
        recipe = self.ctx.recipe(self.ctx.tasks[0])
        optimizer = torch.optim.AdamW(self.net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
        total = epochs * self.steps("weights", s.batch_size)
        lr = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: 0.5 * (1 + math.cos(math.pi * min(i, total) / total)))
        weights = [(src, _batches(src.weights, s.batch_size, self.generator)) for src in self.sources]
        archs = [(src, _batches(src.arch, s.arch_batch_size, self.generator)) for src in self.sources]
        self.net.train()
        with contextlib.suppress(BudgetExhausted):
            for self.epoch in range(epochs):
                t = tau(self.epoch, epochs)
                for _ in range(self.steps("weights", s.batch_size)):
                    batches = [Batch(src, *next(it)) for src, it in weights]
                    sample = propose()
                    with self.charge(batches, sample, 3, "supernet weight step"):
                        loss = sum(self.losses(batches, sample).values())
                        optimizer.zero_grad(set_to_none=True)
                        loss.backward()
                        nn.utils.clip_grad_norm_(self.net.parameters(), recipe.grad_clip)
                        optimizer.step()
                        lr.step()
                    self.weight_steps += 1
                if self.epoch >= s.warmup_epochs(epochs):
                    for _ in range(self.steps("arch", s.arch_batch_size)):
                        arch_step([Batch(src, *next(it)) for src, it in archs], t)
                        self.arch_steps += 1

    # -- validation estimates of the proposals ----------------------------------------------
    def estimate_macs(self, choice: Choice, task: str) -> float:
        """What ``estimate`` of ``choice`` on ``task`` charges: BatchNorm recalibration and one validation pass."""
        samples = min(len(self.ctx.data("train", task)), self.ctx.recipe(task).bn_recalibration_samples)
        per_sample = self.costs[task].of(choice, "macs") + self.head_macs[task]
        return per_sample * (samples + len(self.ctx.data("val", task)))

    def proposals_reserve(self, distributions: Sequence[ArchDistribution], k: int, task: str) -> float:
        """What estimating ``k`` proposals on ``task`` costs when they are the distributions' current most
        likely architectures (and, beyond those, networks of their mean estimate cost)."""
        costs = [self.estimate_macs(from_arch(self.space, a), task)
                 for a in dict.fromkeys(to_arch(self.space, d.argmax()) for d in distributions)]
        return sum(costs[:k]) + max(0, k - len(costs)) * sum(costs) / len(costs)

    def estimate(self, arch: Architecture, task: str, extra: Mapping[str, float]) -> None:
        """Record ``arch``'s validation metric with the supernet's weights and light head (``ctx.estimate``).

        Its BatchNorm statistics are recalibrated on training images first (the supernet's
        running statistics mix every sampled network); both passes are priced by ``ctx``.
        Skipped, with a log line, when the budget cannot pay it.
        """
        model = ChoiceNetwork(self.net, from_arch(self.space, arch), task)
        try:
            with self.ctx.estimate(arch, Fidelity(max(1, self.epoch + 1)), task) as estimate:
                estimate.extra = {**extra, "supernet_epochs": float(self.epochs)}
                self.ctx.recalibrate(model, task=task)
                estimate.metric = self.ctx.validate(model, task=task)
        except BudgetExhausted:
            log.info("no budget left to estimate %s on %s", arch.key, task)
        finally:
            self.net.train()


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
