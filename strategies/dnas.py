"""FBNet (Wu et al., 2019): differentiable NAS of a mixed-op supernet with a latency-aware loss."""
from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Mapping

import torch

from nasbench.context import SearchContext
from spaces.mixed import ArchDistribution, from_arch, to_arch
from strategies.base import Options, Proposals, Strategy, register
from strategies.supernet_search import (
    Sample, Schedule, SupernetSearch, check_supernet, fbnet_loss, proposals, supernet_constraints,
)

if TYPE_CHECKING:  # pragma: no cover
    from nasbench.tasks.base import Task
    from spaces.base import SearchSpace

MIXTURES = ("soft", "hard")


@register
class DNAS(Strategy):
    """FBNet's DNAS, one task at a time, one architecture distribution P_theta per cost weight beta.

    for each epoch (as many as the budget pays; tau = 5 exp(-0.045 epoch), rescaled to them):
        weight steps (80% of the training split): m ~ GumbelSoftmax(theta, tau) of a distribution
            (they take turns); the supernet's output is the m-weighted sum of every candidate of
            every block; descend CE in w
        after the warm-up, architecture steps (20%): the same mixture with m differentiable in
            theta; descend CE * alpha * (log LAT(m)) ** beta in theta, LAT = E_m[LUT latency]
    propose each beta's most likely architecture (argmax per decision), then samples, at most K;
    record each proposal's validation metric with the supernet's weights (recalibrated BN)

    ``mixture="soft"`` is FBNet's: every candidate runs and is charged. ``mixture="hard"`` is
    this project's cheaper variant (straight-through hard Gumbel-softmax, as GDAS): only the
    argmax of the Gumbel-perturbed logits runs, its output multiplied by a gate carrying the
    soft weight's gradient; weight steps train networks drawn from P_theta. Its sampled
    architecture is the argmax of theta + Gumbel noise, which does not depend on the temperature
    (the Gumbel-max trick), so annealing only reshapes its gradients. The task's own loss stands
    for CE on det and seg. ``trace_`` holds, per epoch, the temperature and the mean entropies
    (nats per decision) of the mixture weights m, of P_theta and of the sampled architectures;
    ``argmax_`` each beta's most likely architecture.

    Hyper-parameters:
      mixture: ``soft`` (FBNet's) or ``hard`` (straight-through sampling, this project's variant).
      epochs: supernet epochs; None: as many as the budget pays (after the proposals' estimates).
      warmup: share of the epochs that train only the weights.
      batch_size, arch_batch_size: samples per weight step and per architecture step.
      alpha, betas: FBNet's loss coefficients; one distribution per beta (0 ignores cost).
      cost: ``latency`` (the LUT, microseconds) or ``macs`` (backbone kMACs) as LAT.
      theta_lr: Adam learning rate of the architecture logits (FBNet: 0.01, weight decay 5e-4).
      lut: ``cached`` or ``rebuild`` (re-measure this machine's latency table once).
      head_width: channels of the light det/seg heads trained with the supernet (candidates are
        trained with the task's full head).
    """

    name = "dnas"
    description = "FBNet latency-aware DNAS: soft Gumbel-softmax mixed-op supernet (mixture=hard: straight-through variant), one task per run"
    requires = frozenset({"backbone", "mixed"})
    parameter_constraints = {**supernet_constraints(), "mixture": Options(*MIXTURES)}

    def __init__(
        self, *, mixture: str = "soft", epochs: int | None = None, warmup: float = 0.25, batch_size: int = 64,
        arch_batch_size: int = 16, alpha: float = 0.2, betas: tuple[float, ...] = (0.0, 0.6, 2.0, 6.0),
        cost: str = "latency", theta_lr: float = 0.01, lut: str = "cached", head_width: int = 16,
    ) -> None:
        self.mixture = mixture
        self.epochs, self.warmup, self.batch_size, self.arch_batch_size = epochs, warmup, batch_size, arch_batch_size
        self.alpha, self.betas, self.cost, self.theta_lr, self.lut = alpha, betas, cost, theta_lr, lut
        self.head_width = head_width

    def check(self, space: "SearchSpace", tasks: Mapping[str, "Task"], k: int) -> None:
        check_supernet(self.name, space, tasks)
        super().check(space, tasks, k)

    def search(self, ctx: SearchContext) -> Proposals:
        task, soft = ctx.task, self.mixture == "soft"
        run = SupernetSearch(ctx, Schedule(self.epochs, self.warmup, self.batch_size, self.arch_batch_size), self.cost,
                             self.lut, self.head_width)
        thetas = [ArchDistribution(ctx.space) for _ in self.betas]
        optimizer = torch.optim.Adam([p for t in thetas for p in t.parameters()], lr=self.theta_lr, weight_decay=5e-4)
        turn = itertools.count()
        stats: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        sampled: dict[tuple[int, int], list[tuple[int, ...]]] = defaultdict(list)

        def propose() -> Sample:
            theta = thetas[next(turn) % len(thetas)]
            if soft:
                with torch.no_grad():
                    return Sample(mixture=theta.gumbel(self._tau(run), run.generator)[2])
            return Sample(choice=theta.sample(ctx.rng))

        def arch_step(batches, tau: float) -> None:
            i = next(turn) % len(thetas)
            choice, gates, m = thetas[i].gumbel(tau, run.generator)
            sample = Sample(mixture=m) if soft else Sample(choice=choice, gates=gates)
            with run.charge(batches, sample, 3, "supernet architecture step"):
                loss = fbnet_loss(run.losses(batches, sample)[task], run.cost_of(task, m), self.alpha, self.betas[i])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            stats[run.epoch]["tau"].append(tau)
            stats[run.epoch]["mixture_entropy"].append(_mean_entropy(m))
            stats[run.epoch]["theta_entropy"].append(_mean_entropy(thetas[i].probs()))
            sampled[run.epoch, i].append(choice)

        reference = from_arch(ctx.space, ctx.space.reference())
        sample = Sample(mixture=()) if soft else Sample(choice=reference)
        run.train(run.plan(sample, sample, 3, lambda: run.proposals_reserve(thetas, ctx.k, task)), propose, arch_step)
        self.trace_ = [
            {"epoch": e, **{k: sum(v) / len(v) for k, v in stats[e].items()},
             "sample_entropy": sum(_empirical_entropy(sampled[e, i]) for i in range(len(thetas)) if sampled[e, i])
             / max(1, sum(1 for i in range(len(thetas)) if sampled[e, i]))}
            for e in sorted(stats)
        ]
        found = proposals(ctx.space, thetas, ctx.k, ctx.rng)
        argmax = self.argmax_ = {self.betas[i]: to_arch(ctx.space, t.argmax()) for i, t in enumerate(thetas)}
        for arch in sorted(found, key=lambda a: run.estimate_macs(from_arch(ctx.space, a), task)):  # cheapest first: most fit
            betas = [b for b, a in argmax.items() if a == arch]
            run.estimate(arch, task, {"beta": betas[0]} if betas else {"sampled": 1.0})
        return found

    @staticmethod
    def _tau(run: SupernetSearch) -> float:
        from strategies.supernet_search import tau

        return tau(run.epoch, max(1, run.epochs))


def _mean_entropy(probs) -> float:
    """Mean entropy (nats) over decisions of per-decision probability vectors."""
    values = [float(-(p * torch.log(p.clamp_min(1e-12))).sum()) for p in (q.detach() for q in probs)]
    return sum(values) / len(values)


def _empirical_entropy(choices: list[tuple[int, ...]]) -> float:
    """Mean over decisions of the entropy (nats) of the options the sampled architectures took."""
    n = len(choices)
    per_decision = []
    for options in zip(*choices):
        counts = Counter(options).values()
        per_decision.append(-sum(c / n * math.log(c / n) for c in counts))
    return sum(per_decision) / len(per_decision)
