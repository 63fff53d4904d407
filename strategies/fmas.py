"""FMAS (Xiong et al., 2023): NSGA-II over sub-networks of one trained parent, scored without fine-tuning."""
from __future__ import annotations

import logging
import math
import time
from contextlib import suppress

import numpy as np
import torch
from pymoo.termination.max_gen import MaximumGenerationTermination

from nasbench import indicators
from nasbench.context import SearchContext
from nasbench.errors import BudgetExhausted, ConfigError
from nasbench.records import Architecture, Evaluation, Fidelity, Status
from nasbench.tasks.base import Split
from nasbench.training import Diverged, recalibrate_batchnorm, train
from spaces.slicing import SlicingSupernet
from strategies.base import Proposals, Strategy, register
from strategies.nsga2 import integer_nsga2, integer_problem

log = logging.getLogger(__name__)

OBJECTIVES = ("macs", "latency")
ERRORS = ("metric", "loss")


@register
class FMAS(Strategy):
    """FMAS: subsample a trained parent, search the sub-networks with NSGA-II, fine-tune only the front.

    1. Parent: the space's largest network, trained on the full training split (charged unless
       ``pretrained_parent``), BatchNorm recalibrated, channels sorted by L1 importance.
    2. NSGA-II (pymoo ask/tell) over the genotype. A candidate is sliced from the parent (weights
       copied, nothing trained), its BatchNorm statistics optionally re-estimated on a few training
       batches, and scored on one random subset of the validation split drawn per search.
       Objectives: (1 - metric, MACs) or (1 - metric, measured latency); the mean task loss can
       stand in for 1 - metric.
    3. The non-dominated candidates, at most K spread along the front, are fine-tuned from their
       slices on the full training split, scored on the full validation split (recorded in the
       archive) and proposed. When the budget runs out, what was scored so far is used.

    Hyper-parameters (defaults sized for the quick preset's 25 evals; arithmetic in docs/fmas.md):
      population, generations: NSGA-II's population and number of generations (candidates ~ their product).
      subset_fraction: fraction of the validation split a candidate is scored on.
      recalibration_batches: training batches re-estimating BatchNorm statistics before scoring (0: off).
      objective: ``macs`` or ``latency`` (the evaluator's measured CPU latency).
      error: ``metric`` (1 - metric, the paper's) or ``loss`` (mean task loss on the subset).
      parent_epochs: epochs of parent training; 0 gives the task's final-recipe epochs, capped (when
        charged in MACs) so the parent takes at most ``parent_share`` of the budget.
      parent_share: the cap above, as a fraction of the budget.
      finetune_epochs: fine-tuning epochs of each finalist; 0 gives the task's search-fidelity epochs.
      pretrained_parent: treat the parent as given: its training runs outside the ledger (not charged).
    """

    name = "fmas"
    description = "FMAS: NSGA-II over slices of a trained parent, scored without fine-tuning on a val subset"
    requires = frozenset({"sample", "slicing"})

    def __init__(
        self,
        *,
        population: int = 16,
        generations: int = 8,
        subset_fraction: float = 0.25,
        recalibration_batches: int = 2,
        objective: str = "macs",
        error: str = "metric",
        parent_epochs: int = 0,
        parent_share: float = 0.4,
        finetune_epochs: int = 0,
        pretrained_parent: bool = False,
    ) -> None:
        if population < 2 or generations < 1 or recalibration_batches < 0 or parent_epochs < 0 or finetune_epochs < 0:
            raise ConfigError("fmas: population >= 2, generations >= 1 and batch/epoch counts >= 0 are required")
        if not (0.0 < subset_fraction <= 1.0 and 0.0 < parent_share <= 1.0):
            raise ConfigError("fmas: subset_fraction and parent_share must be in (0, 1]")
        if objective not in OBJECTIVES:
            raise ConfigError(f"fmas: objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
        if error not in ERRORS:
            raise ConfigError(f"fmas: error must be one of {', '.join(ERRORS)}, got {error!r}")
        self.population = population
        self.generations = generations
        self.subset_fraction = subset_fraction
        self.recalibration_batches = recalibration_batches
        self.objective = objective
        self.error = error
        self.parent_epochs = parent_epochs
        self.parent_share = parent_share
        self.finetune_epochs = finetune_epochs
        self.pretrained_parent = pretrained_parent

    def search(self, ctx: SearchContext) -> Proposals:
        torch.manual_seed(ctx.seed)
        supernet = SlicingSupernet(ctx.space, ctx.network_task())
        try:
            self.train_parent(ctx, supernet)
        except BudgetExhausted:
            return []
        subset = self.validation_subset(ctx)
        scored: dict[Architecture, tuple[float, float]] = {}  # (subset error, cost): never paid twice
        with suppress(BudgetExhausted):
            self.evolve(ctx, supernet, subset, scored)
        if not scored:
            return []
        archs = list(scored)
        F = np.array([scored[a] for a in archs])
        front = np.flatnonzero(indicators.non_dominated(F))
        finalists = [archs[i] for i in front[indicators.select_spread(F[front], ctx.k)]]
        for arch in sorted(finalists, key=lambda a: ctx.cost(a).macs):  # cheapest first: most fit the budget
            with suppress(BudgetExhausted):
                self.finetune(ctx, supernet, arch, scored[arch][0])
        return finalists

    def train_parent(self, ctx: SearchContext, supernet: SlicingSupernet) -> None:
        """Step 1: train the parent on the full training split, recalibrate its BatchNorm, sort its channels."""
        macs = ctx.cost(supernet.largest).macs
        epochs = self.parent_epochs or ctx.network_task().final_epochs
        if self.pretrained_parent:
            log.warning("fmas: the parent (%d epochs) is treated as given: its training is not charged", epochs)
            recipe, data = ctx.recipe(), ctx.data("train")
            train(supernet.parent, ctx.network_task(), data, epochs, ctx.seed, recipe)
            recalibrate_batchnorm(supernet.parent, data, recipe.bn_recalibration_samples, recipe.batch_size)
        else:
            if not self.parent_epochs and ctx.ledger.unit == "macs":
                per_epoch = 3.0 * macs * len(ctx.data("train"))
                epochs = max(1, min(epochs, math.floor(self.parent_share * ctx.ledger.remaining / per_epoch)))
            ctx.train_steps(supernet.parent, macs, epochs=epochs, what="FMAS parent training")
            ctx.recalibrate(supernet.parent, macs)
        log.info("fmas: parent %s trained %d epochs", supernet.largest.key, epochs)
        supernet.sort_channels()

    def validation_subset(self, ctx: SearchContext) -> Split:
        """The random validation subset every candidate is scored on, drawn once per search."""
        val = ctx.data("val")
        return val.subset(ctx.rng.permutation(len(val))[: max(1, round(self.subset_fraction * len(val)))])

    def evolve(
        self, ctx: SearchContext, supernet: SlicingSupernet, subset: Split, scored: dict[Architecture, tuple[float, float]]
    ) -> None:
        """Step 2: NSGA-II generations, every candidate a parent slice scored without fine-tuning."""
        algorithm = integer_nsga2(ctx.space, self.population)
        algorithm.setup(integer_problem(ctx.space), termination=MaximumGenerationTermination(self.generations), seed=ctx.seed)
        while algorithm.has_next():
            offspring = algorithm.ask()
            for x in offspring.get("X"):
                arch = ctx.space.make(x)
                if arch not in scored:
                    scored[arch] = (self.subset_error(ctx, supernet, arch, subset), self.cost(ctx, arch))
            offspring.set("F", np.array([scored[ctx.space.make(x)] for x in offspring.get("X")]))
            algorithm.tell(infills=offspring)

    def subset_error(self, ctx: SearchContext, supernet: SlicingSupernet, arch: Architecture, subset: Split) -> float:
        """1 - metric (or the loss) of ``arch``'s slice on the validation subset, BatchNorm re-estimated first if asked."""
        model = supernet.extract(arch)
        macs = ctx.cost(arch).macs
        if self.recalibration_batches:
            ctx.recalibrate(model, macs, samples=self.recalibration_batches * ctx.recipe().batch_size)
        if self.error == "loss":
            return ctx.validate(model, macs, data=subset, loss=True)
        return 1.0 - ctx.validate(model, macs, data=subset)

    def cost(self, ctx: SearchContext, arch: Architecture) -> float:
        """The second objective: MACs or measured latency."""
        cost = ctx.cost(arch)
        if self.objective == "macs":
            return float(cost.macs)
        if math.isnan(cost.latency_ms):
            raise ConfigError("fmas: objective 'latency' needs an evaluator that measures latency")
        return cost.latency_ms

    def finetune(self, ctx: SearchContext, supernet: SlicingSupernet, arch: Architecture, subset_error: float) -> None:
        """Step 3: fine-tune a finalist's slice on the full training split; record its val metric in the archive."""
        start, used = time.perf_counter(), ctx.ledger.spent.macs
        epochs = self.finetune_epochs or ctx.search_fidelity().epochs
        model, cost = supernet.extract(arch), ctx.cost(arch)
        status, metric = Status.OK, math.nan
        try:
            ctx.train_steps(model, cost.macs, epochs=epochs, what=f"FMAS fine-tuning of {arch.key}")
            ctx.recalibrate(model, cost.macs)
            metric = ctx.validate(model, cost.macs)
        except Diverged as exc:
            status = Status.DIVERGED
            log.warning("fmas: fine-tuning %s diverged: %s", arch.key, exc)
        extra = {"subset_error": subset_error, "parent_charged": float(not self.pretrained_parent)}
        evaluation = Evaluation(
            arch, ctx.task, Fidelity(epochs), metric, cost, ctx.ledger.spent.macs - used,
            time.perf_counter() - start, status, split="val", seed=ctx.seed, extra=extra,
        )
        ctx.archive.add(evaluation, ctx.ledger.used)
