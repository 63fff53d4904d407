"""FBNet (Wu et al., 2019): differentiable NAS of a mixed-op supernet with a latency-aware loss."""
from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Mapping

import torch

from nasbench.context import SearchContext
from spaces.mixed import ArchDistribution, from_arch
from strategies.base import Proposals, Strategy, register
from strategies.supernet_search import (
    SCHEDULE_RULE, Schedule, Source, SupernetSearch, check_supernet, fbnet_loss, proposals, supernet_constraints,
)

if TYPE_CHECKING:  # pragma: no cover
    from nasbench.tasks.base import Task
    from spaces.base import SearchSpace


@register
class DNAS(Strategy):
    """FBNet's DNAS, one task at a time, one architecture distribution per cost weight beta.

    Weight steps (80% of the training split) train the supernet on architectures sampled from
    P_theta; after the warm-up, architecture steps (20%) draw a hard Gumbel-softmax sample at
    temperature tau and descend CE * alpha * (log LAT) ** beta in theta, LAT being the expected
    latency under the Gumbel weights (the task's own loss stands for CE on det and seg).
    Proposes each beta's most likely architecture, then samples, at most K.

    Hyper-parameters:
      epochs, warmup: supernet epochs (cut to the budget) and weights-only epochs among them.
      batch_size, arch_batch_size: samples per weight step and per architecture step.
      alpha, betas: FBNet's loss coefficients; one distribution per beta (0 ignores cost).
      cost: ``latency`` (the LUT, microseconds) or ``macs`` (backbone kMACs) as LAT.
      theta_lr: Adam learning rate of the architecture logits (FBNet: 0.01, weight decay 5e-4).
      lut: ``cached`` or ``rebuild`` (re-measure this machine's latency table once).
      head_width: channels of the light det/seg heads trained with the supernet (candidates are
        trained with the task's full head).
    """

    name = "dnas"
    description = "FBNet latency-aware differentiable NAS: Gumbel-softmax mixed-op supernet, one task per run"
    requires = frozenset({"backbone", "mixed"})
    parameter_constraints = {**supernet_constraints(),
    }
    parameter_rules = (SCHEDULE_RULE,)

    def __init__(
        self, *, epochs: int = 20, warmup: int = 5, batch_size: int = 64, arch_batch_size: int = 16,
        alpha: float = 0.2, betas: tuple[float, ...] = (0.0, 0.6, 2.0, 6.0), cost: str = "latency",
        theta_lr: float = 0.01, lut: str = "cached", head_width: int = 16,
    ) -> None:
        self.epochs, self.warmup, self.batch_size, self.arch_batch_size = epochs, warmup, batch_size, arch_batch_size
        self.alpha, self.betas, self.cost, self.theta_lr, self.lut = alpha, betas, cost, theta_lr, lut
        self.head_width = head_width

    def check(self, space: "SearchSpace", tasks: Mapping[str, "Task"], k: int) -> None:
        check_supernet(self.name, space, tasks)
        super().check(space, tasks, k)

    def search(self, ctx: SearchContext) -> Proposals:
        task = ctx.task
        run = SupernetSearch(ctx, Schedule(self.epochs, self.warmup, self.batch_size, self.arch_batch_size), self.cost, self.lut,
                             self.head_width)
        thetas = [ArchDistribution(ctx.space) for _ in self.betas]
        optimizer = torch.optim.Adam([p for t in thetas for p in t.parameters()], lr=self.theta_lr, weight_decay=5e-4)
        turn = itertools.count()

        def propose(source: Source):
            return thetas[next(turn) % len(thetas)].sample(ctx.rng)

        def arch_step(source: Source, inputs, targets, tau: float) -> None:
            i = next(turn) % len(thetas)
            choice, gates, soft = thetas[i].gumbel(tau, run.generator)
            with run.charge(source, choice, len(inputs), 3, "supernet architecture step"):
                loss = fbnet_loss(run.losses(source, inputs, targets, choice, gates)[task],
                                  run.cost_of(task, soft), self.alpha, self.betas[i])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()

        run.train(run.plan(from_arch(ctx.space, ctx.space.reference()), 3), propose, arch_step)
        return proposals(ctx.space, thetas, ctx.k, ctx.rng)
