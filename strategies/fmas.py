"""FMAS (Xiong et al., 2023): NSGA-II over sub-networks of one trained parent, scored without fine-tuning."""
from __future__ import annotations

import logging
import math
from contextlib import suppress
from typing import TYPE_CHECKING, Mapping

import numpy as np
import torch
from pymoo.termination.max_gen import MaximumGenerationTermination

from nasbench import indicators
from nasbench.context import SearchContext
from nasbench.errors import BudgetExhausted, ConfigError
from nasbench.records import Architecture, Fidelity, Status
from nasbench.tasks.base import Split
from nasbench.training import Diverged
from spaces.slicing import SlicingSupernet
from strategies.base import Boolean, Interval, Options, Proposals, Strategy, register
from strategies.nsga2 import integer_nsga2, integer_problem

if TYPE_CHECKING:  # pragma: no cover
    from nasbench.tasks.base import Task
    from spaces.base import SearchSpace

log = logging.getLogger(__name__)

OBJECTIVES = ("macs", "latency")
#: NSGA-II generations when the budget is not counted in MACs (its cost cannot be planned).
DEFAULT_GENERATIONS = 8
ERRORS = ("metric", "loss")


@register
class FMAS(Strategy):
    """FMAS: subsample a trained parent, search the sub-networks with NSGA-II, fine-tune only the front.

    1. Parent: the space's largest network, trained on the full training split (charged unless
       ``pretrained_parent``), BatchNorm recalibrated, channels sorted by L1 importance.
    2. NSGA-II (pymoo ask/tell) over the genotype, for as many generations as the budget pays
       once the finalists' fine-tuning is set aside. A candidate is sliced from the parent
       (weights copied, nothing trained), its BatchNorm statistics optionally re-estimated on a
       few training batches, and scored on one random subset of the validation split drawn per
       search; that subset metric is recorded in the archive as the candidate's estimate
       (fidelity 0 epochs: no fine-tuning; ``extra.val_subset`` its share of the split).
       Objectives: (1 - metric, MACs) or (1 - metric, measured latency); the mean task loss can
       stand in for 1 - metric.
    3. The non-dominated candidates, at most K spread along the front, are fine-tuned from their
       slices on the full training split, scored on the full validation split (recorded in the
       archive) and proposed. When the budget runs out, what was scored so far is used.

    Hyper-parameters (defaults sized for the quick preset's 25 evals; arithmetic in docs/fmas.md):
      population: NSGA-II's population.
      generations: NSGA-II's generations; None: as many as the budget pays after the finalists'
        fine-tuning (8 under a budget not counted in MACs).
      subset_fraction: fraction of the validation split a candidate is scored on.
      recalibration_batches: training batches re-estimating BatchNorm statistics before scoring (0: off).
      objective: ``macs`` or ``latency`` (the space's per-machine latency table).
      error: ``metric`` (1 - metric, the paper's) or ``loss`` (mean task loss on the subset).
      parent_epochs: epochs of parent training; 0 gives the task's final-recipe epochs, capped (when
        charged in MACs) so the parent takes at most ``parent_share`` of the budget.
      parent_share: the cap above, as a fraction of the budget.
      finetune_epochs: fine-tuning epochs of each finalist; 0 gives the task's search-fidelity epochs.
      pretrained_parent: treat the parent as given: its training is declared through ``ctx.given``
        (recorded in the run's given work, not charged).
    """

    name = "fmas"
    description = "FMAS: NSGA-II over slices of a trained parent, scored without fine-tuning on a val subset"
    requires = frozenset({"sample", "slicing"})

    parameter_constraints = {
        "population": Interval(int, 2, 100_000),
        "generations": [Interval(int, 1, 1_000_000), None],
        "subset_fraction": Interval(float, 0.0, 1.0, closed="right"),
        "recalibration_batches": Interval(int, 0, 100_000),
        "objective": Options(*OBJECTIVES),
        "error": Options(*ERRORS),
        "parent_epochs": Interval(int, 0, 10_000),
        "parent_share": Interval(float, 0.0, 1.0, closed="right"),
        "finetune_epochs": Interval(int, 0, 10_000),
        "pretrained_parent": Boolean(),
    }

    def __init__(
        self,
        *,
        population: int = 16,
        generations: int | None = None,
        subset_fraction: float = 0.25,
        recalibration_batches: int = 2,
        objective: str = "macs",
        error: str = "metric",
        parent_epochs: int = 0,
        parent_share: float = 0.4,
        finetune_epochs: int = 0,
        pretrained_parent: bool = False,
    ) -> None:
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

    def check(self, space: "SearchSpace", tasks: Mapping[str, "Task"], k: int) -> None:
        super().check(space, tasks, k)
        self.check_trainable(tasks, "trains a parent network")
        if self.objective == "latency" and "latency" not in space.capabilities:
            raise ConfigError(f"strategy 'fmas': objective='latency' needs a space with a latency table, which {space.name!r} lacks")
        if max(getattr(space, "expansions", (2,))) == 1:
            raise ConfigError(f"strategy 'fmas': the slicing supernet needs an expansion option above 1 in space {space.name!r}")

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
        finalists = self._front(ctx, scored)
        for arch in sorted(finalists, key=lambda a: ctx.cost(a).macs):  # cheapest first: most fit the budget
            with suppress(BudgetExhausted):
                self.finetune(ctx, supernet, arch, scored[arch][0])
        return finalists

    def train_parent(self, ctx: SearchContext, supernet: SlicingSupernet) -> None:
        """Step 1: train the parent on the full training split, recalibrate its BatchNorm, sort its channels."""
        epochs = self.parent_epochs or ctx.network_task().final_epochs
        if self.pretrained_parent:
            log.warning("fmas: the parent (%d epochs) is treated as given: its training is not charged", epochs)
            with ctx.given("pretrained parent"):
                self._train_parent(ctx, supernet, epochs)
        else:
            if not self.parent_epochs and ctx.unit == "macs":
                per_epoch = 3.0 * ctx.cost(supernet.largest).macs * len(ctx.data("train"))
                epochs = max(1, min(epochs, math.floor(self.parent_share * ctx.remaining / per_epoch)))
            self._train_parent(ctx, supernet, epochs)
        log.info("fmas: parent %s trained %d epochs", supernet.largest.key, epochs)
        supernet.sort_channels()

    @staticmethod
    def _train_parent(ctx: SearchContext, supernet: SlicingSupernet, epochs: int) -> None:
        ctx.train(supernet.parent, epochs=epochs, what="FMAS parent training")
        ctx.recalibrate(supernet.parent)

    def validation_subset(self, ctx: SearchContext) -> Split:
        """The random validation subset every candidate is scored on, drawn once per search."""
        val = ctx.data("val")
        return val.subset(ctx.rng.permutation(len(val))[: max(1, round(self.subset_fraction * len(val)))])

    def evolve(
        self, ctx: SearchContext, supernet: SlicingSupernet, subset: Split, scored: dict[Architecture, tuple[float, float]]
    ) -> None:
        """Step 2: NSGA-II generations, every candidate a parent slice scored without fine-tuning."""
        algorithm = integer_nsga2(ctx.space, self.population)
        generations = self.generations or (DEFAULT_GENERATIONS if ctx.unit != "macs" else 10**6)
        algorithm.setup(integer_problem(ctx.space), termination=MaximumGenerationTermination(generations), seed=ctx.seed)
        while algorithm.has_next():
            offspring = algorithm.ask()
            archs = [ctx.space.make(x) for x in offspring.get("X")]
            if self.generations is None and ctx.unit == "macs" and not self._affordable(ctx, archs, scored):
                log.info("fmas: generations end, the rest of the budget fine-tunes the finalists")
                return
            for arch in archs:
                if arch not in scored:
                    scored[arch] = (self.subset_error(ctx, supernet, arch, subset), self.cost(ctx, arch))
            offspring.set("F", np.array([scored[a] for a in archs]))
            algorithm.tell(infills=offspring)

    def _affordable(self, ctx: SearchContext, archs: list[Architecture], scored: dict[Architecture, tuple[float, float]]) -> bool:
        """Whether scoring ``archs`` leaves enough to fine-tune K finalists (at the current front's mean MACs)."""
        n_val, n_train = len(ctx.data("val")), len(ctx.data("train"))
        per_sample = self.recalibration_batches * ctx.recipe().batch_size + max(1, round(self.subset_fraction * n_val))
        scoring = sum(ctx.cost(a).macs * per_sample for a in archs if a not in scored)
        front = self._front(ctx, scored) or archs
        mean = float(np.mean([ctx.cost(a).macs for a in front]))
        epochs = self.finetune_epochs or ctx.network_task().search_epochs
        finetune = ctx.k * mean * (3 * n_train * epochs + ctx.recipe().bn_recalibration_samples + n_val)
        return scoring + finetune <= ctx.remaining

    @staticmethod
    def _front(ctx: SearchContext, scored: dict[Architecture, tuple[float, float]]) -> list[Architecture]:
        """The non-dominated scored candidates, at most K spread along the front (the finalists)."""
        if not scored:
            return []
        archs = list(scored)
        F = np.array([scored[a] for a in archs])
        front = np.flatnonzero(indicators.non_dominated(F))
        return [archs[i] for i in front[indicators.select_spread(F[front], ctx.k)]]

    def subset_error(self, ctx: SearchContext, supernet: SlicingSupernet, arch: Architecture, subset: Split) -> float:
        """1 - metric (or the loss) of ``arch``'s slice on the validation subset, BatchNorm re-estimated first if asked.

        Recorded as the candidate's estimate: its subset metric (the loss too with ``error=loss``).
        """
        model = supernet.extract(arch)
        with ctx.estimate(arch, Fidelity(0)) as estimate:
            estimate.extra = {"val_subset": len(subset) / len(ctx.data("val")), "parent_charged": float(not self.pretrained_parent)}
            if self.recalibration_batches:
                ctx.recalibrate(model, samples=self.recalibration_batches * ctx.recipe().batch_size)
            metric = ctx.validate(model, data=subset)
            estimate.metric = metric
            if self.error == "loss":
                loss = ctx.validate(model, data=subset, loss=True)
                estimate.extra = {**estimate.extra, "val_loss": loss}
                return loss
        return 1.0 - metric

    def cost(self, ctx: SearchContext, arch: Architecture) -> float:
        """The second objective: MACs or the latency table's latency."""
        cost = ctx.cost(arch)
        if self.objective == "macs":
            return float(cost.macs)
        if math.isnan(cost.latency_ms):
            raise ConfigError("strategy 'fmas': objective 'latency' needs a space with a latency table")
        return cost.latency_ms

    def finetune(self, ctx: SearchContext, supernet: SlicingSupernet, arch: Architecture, subset_error: float) -> None:
        """Step 3: fine-tune a finalist's slice on the full training split; its val metric is recorded through ctx."""
        epochs = self.finetune_epochs or ctx.network_task().search_epochs
        with ctx.estimate(arch, Fidelity(epochs)) as estimate:
            estimate.extra = {"subset_error": subset_error, "parent_charged": float(not self.pretrained_parent)}
            model = supernet.extract(arch)
            try:
                ctx.train(model, epochs=epochs, what=f"FMAS fine-tuning of {arch.key}")
                ctx.recalibrate(model)
                estimate.metric = ctx.validate(model)
            except Diverged as exc:
                estimate.status = Status.DIVERGED
                log.warning("fmas: fine-tuning %s diverged: %s", arch.key, exc)
