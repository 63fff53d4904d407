"""FBNetV5 (Wu et al., 2021): one supernet search for many tasks, per-task distributions by REINFORCE."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Mapping

import torch

from nasbench.context import SearchContext
from spaces.mixed import ArchDistribution, from_arch, to_arch
from strategies.base import Interval, Proposals, Strategy, register
from strategies.supernet_search import (
    Sample, Schedule, SupernetSearch, check_supernet, fbnet_loss, proposals, supernet_constraints,
)

if TYPE_CHECKING:  # pragma: no cover
    from nasbench.tasks.base import Task
    from spaces.base import SearchSpace


@register
class FBNetV5(Strategy):
    """FBNetV5's task-agnostic search: one supernet and light heads for every task, trained once.

    Each task t keeps one architecture distribution P_t per cost weight beta.
    for each epoch (as many as the budget pays):
        weight steps (80% part): a ~ q, the shared proposal (per decision, the mean of every
            distribution's probabilities); one batch of every task's images through a, every
            head fed; descend the sum of the task losses in the supernet and heads
        after the warm-up, architecture steps (20% part), forward only: a ~ q; for every task t
            and beta: R = L_t(a) * alpha * (log LAT_t(a)) ** beta with the task's own LUT,
            w = P_t(a) / q(a) (truncated at ``max_weight``), b_t a moving average of R;
            descend w (R - b_t) log P_t(a) in theta_t
    propose, per task, each beta's most likely architecture, then samples, at most K; record each
    proposal's validation metric with the supernet's weights (recalibrated BN)

    Every task's distribution moves at every step, as in the paper, which trains one
    pseudo-labelled image set for all tasks: here tasks reading the same images (det and seg)
    share a batch, and a task with images of its own (cls) brings its own batch to every step, so
    a multitask search gives each task as many steps as its single-task search; what grows with
    the tasks is a backbone pass per image source and the light heads.

    Hyper-parameters: as ``dnas`` (epochs, warmup, batch sizes, alpha, betas, cost, theta_lr, lut),
    plus ``baseline_momentum`` of the moving-average baselines, ``max_weight``, and ``head_width``,
    the channels of the light det/seg heads trained with the supernet (FBNetV5's light heads).
    """

    name = "fbnetv5"
    description = "FBNetV5 multitask supernet search: one run for all tasks, REINFORCE from a shared proposal"
    requires = frozenset({"backbone", "mixed"})
    parameter_constraints = {**supernet_constraints(),
        "baseline_momentum": Interval(float, 0.0, 1.0, closed="left"),
        "max_weight": Interval(float, 1.0, 1e6),
    }
    multitask = True

    def __init__(
        self, *, epochs: int | None = None, warmup: float = 0.25, batch_size: int = 64, arch_batch_size: int = 16,
        alpha: float = 0.2, betas: tuple[float, ...] = (0.0, 0.6, 2.0, 6.0), cost: str = "latency",
        theta_lr: float = 0.01, lut: str = "cached", baseline_momentum: float = 0.9, max_weight: float = 5.0,
        head_width: int = 16,
    ) -> None:
        self.epochs, self.warmup, self.batch_size, self.arch_batch_size = epochs, warmup, batch_size, arch_batch_size
        self.alpha, self.betas, self.cost, self.theta_lr, self.lut = alpha, betas, cost, theta_lr, lut
        self.head_width = head_width
        self.baseline_momentum, self.max_weight = baseline_momentum, max_weight

    def check(self, space: "SearchSpace", tasks: Mapping[str, "Task"], k: int) -> None:
        check_supernet(self.name, space, tasks)
        super().check(space, tasks, k)

    def search(self, ctx: SearchContext) -> Proposals:
        run = SupernetSearch(ctx, Schedule(self.epochs, self.warmup, self.batch_size, self.arch_batch_size), self.cost, self.lut,
                             self.head_width)
        thetas = {t: [ArchDistribution(ctx.space) for _ in self.betas] for t in ctx.tasks}
        everyone = [d for ds in thetas.values() for d in ds]
        optimizer = torch.optim.Adam([p for d in everyone for p in d.parameters()], lr=self.theta_lr, weight_decay=5e-4)
        baselines: dict[tuple[str, int], float] = {}

        def proposal() -> ArchDistribution:
            """q: every decision's probabilities averaged over all tasks' and betas' distributions."""
            q = ArchDistribution(ctx.space)
            with torch.no_grad():
                for logit, *ps in zip(q.logits, *(d.probs() for d in everyone)):
                    logit.copy_(torch.stack(ps).mean(dim=0).log())
            return q

        def propose() -> Sample:
            return Sample(choice=proposal().sample(ctx.rng))

        def arch_step(batches, tau: float) -> None:
            q = proposal()
            sample = Sample(choice=q.sample(ctx.rng))
            with run.charge(batches, sample, 1, "supernet forward for REINFORCE"), torch.no_grad():
                losses = run.losses(batches, sample)
            log_q = q.log_prob(sample.choice).detach()
            objective = torch.zeros(())
            for task, loss in losses.items():
                cost = run.costs[task].of(sample.choice, run.cost) * (1000.0 if run.cost == "latency" else 1e-3)
                for i, (beta, theta) in enumerate(zip(self.betas, thetas[task])):
                    reward = float(fbnet_loss(loss, cost, self.alpha, beta))
                    b = baselines.setdefault((task, i), reward)
                    log_p = theta.log_prob(sample.choice)
                    weight = math.exp(min(float(log_p.detach() - log_q), math.log(self.max_weight)))
                    objective = objective + weight * (reward - b) * log_p
                    baselines[task, i] = self.baseline_momentum * b + (1 - self.baseline_momentum) * reward
                self.updates_[task] += 1
            optimizer.zero_grad(set_to_none=True)
            objective.backward()
            optimizer.step()

        self.updates_ = {t: 0 for t in ctx.tasks}  # architecture steps that moved each task's distributions
        reference = Sample(choice=from_arch(ctx.space, ctx.space.reference()))
        run.train(run.plan(reference, reference, 1, lambda: sum(run.proposals_reserve(ds, ctx.k, t) for t, ds in thetas.items())),
                  propose, arch_step)
        self.steps_ = {"weight": run.weight_steps, "arch": run.arch_steps, "epochs": run.epochs}
        found = {t: proposals(ctx.space, ds, ctx.k, ctx.rng) for t, ds in thetas.items()}
        for task, archs in found.items():
            argmax = {b: to_arch(ctx.space, d.argmax()) for b, d in zip(self.betas, thetas[task])}
            for arch in sorted(archs, key=lambda a: run.estimate_macs(from_arch(ctx.space, a), task)):  # cheapest first
                betas = [b for b, a in argmax.items() if a == arch]
                run.estimate(arch, task, {"beta": betas[0]} if betas else {"sampled": 1.0})
        return found
