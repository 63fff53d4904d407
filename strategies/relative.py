"""RelativeNAS (Tan et al., 2020): slow learners move toward fast learners of random pairs."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Mapping

import numpy as np
from torch import nn

from nasbench import indicators
from nasbench.context import SearchContext
from nasbench.errors import ConfigError
from nasbench.records import Architecture, Fidelity, Status
from nasbench.tasks.base import Split
from nasbench.training import Diverged
from spaces.continuous import ContinuousBox
from spaces.slicing import SlicingSupernet
from strategies.base import Interval, Options, Proposals, Rule, Strategy, register

if TYPE_CHECKING:  # pragma: no cover
    from nasbench.tasks.base import Task
    from spaces.base import SearchSpace

#: A pair's estimates: (validation loss, MACs) of each member.
Estimate = tuple[float, float]


def faster(a: Estimate, b: Estimate, cost_weight: float | None, span: Estimate = (1.0, 1.0)) -> bool:
    """Whether ``a`` is the fast learner of the pair (``a``, ``b``).

    ``cost_weight`` None: the lower validation loss (single objective). Otherwise Pareto dominance
    on (loss, MACs); when neither dominates, the lower ``(1 - w) loss / span_loss + w macs / span_macs``.
    """
    if cost_weight is None or a[1] == b[1]:
        return a[0] <= b[0]
    if a[0] <= b[0] and a[1] <= b[1]:
        return True
    if b[0] <= a[0] and b[1] <= a[1]:
        return False
    w = cost_weight
    return (1 - w) * (a[0] - b[0]) / span[0] + w * (a[1] - b[1]) / span[1] <= 0.0


def learn_from(x_slow: np.ndarray, v_slow: np.ndarray, x_fast: np.ndarray, box: ContinuousBox,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The slow learner's move: ``v = r1 v + r2 (x_fast - x_slow)``, ``x += v``, clipped to the box."""
    r1, r2 = rng.random(box.dim), rng.random(box.dim)
    v = r1 * v_slow + r2 * (x_fast - x_slow)
    return box.clip(x_slow + v), v


def generation(X: np.ndarray, V: np.ndarray, box: ContinuousBox, rng: np.random.Generator,
               compare: Callable[[int, int], bool]) -> None:
    """One generation in place: pair the population at random; each pair's slow learner learns from its fast one.

    ``compare(i, j)`` trains/estimates both members and says whether ``i`` is the faster.
    """
    order = rng.permutation(len(X))
    for i, j in zip(order[0::2], order[1::2]):
        fast, slow = (i, j) if compare(i, j) else (j, i)
        X[slow], V[slow] = learn_from(X[slow], V[slow], X[fast], box, rng)


@register
class RelativeNAS(Strategy):
    """RelativeNAS: pairwise slow-fast learning in a continuous encoding, no offspring, no selection.

    Each generation pairs the population at random; both members start from the shared weight
    pool, train one short pass on a random part of the training split (charged), and are
    compared on validation loss: the lower one is the fast learner (``objective="single"``, the
    paper's). The pool takes the slow learner's trained weights, then the fast learner's (which
    win where both used a parameter); the slow learner moves toward the fast one. On a tabular
    benchmark (no networks to train) the estimate is the table's low-fidelity validation error,
    memoised since it cannot change. Every estimate is recorded in the archive: the member's
    validation metric after its short pass from the pool (its loss in ``extra``), or the table's.

    ``objective="multi"`` is this project's extension, not the paper's: pairs are judged by
    Pareto dominance on (validation loss, MACs) with a scalarised tie-break, and the
    non-dominated final members are proposed (at most K) instead of the best one.

    Hyper-parameters:
      population: N, an even number (paper 20).
      generations: upper limit on generations (paper 50); the budget usually ends the search first.
      objective: ``single`` (the paper's) or ``multi`` (this project's multi-objective extension).
      cost_weight: with ``multi``, weight w of MACs in the tie-break (objectives scaled by their
        spread over the estimates so far); None draws a fresh w ~ U(0, 1) per pair, which pulls
        different pairs toward different parts of the front.
      train_fraction: part of the training split each short pass sees (paper: half, one epoch).
      recalibration_samples: training samples that refresh BatchNorm statistics before validation.
      weight_pool: ``auto`` (a slicing supernet where the space has one, else the evaluator's
        own low-fidelity estimate), ``on`` or ``off``.
    """

    name = "relative"
    description = ("RelativeNAS slow-fast pairwise learning with a shared weight pool, judged on val loss (the paper's); "
                   "objective=multi (Pareto on loss and MACs) is this project's extension")
    parameter_constraints = {
        "population": Interval(int, 2, 10_000),
        "generations": Interval(int, 1, 1_000_000),
        "objective": Options("single", "multi"),
        "cost_weight": [Interval(float, 0.0, 1.0), None],
        "train_fraction": Interval(float, 0.0, 1.0, closed="right"),
        "recalibration_samples": Interval(int, 0, 1_000_000),
        "weight_pool": Options("auto", "on", "off"),
    }
    parameter_rules = (Rule(("population",), lambda p: p["population"] % 2 == 0, "an even population (members are paired)"),)

    def __init__(
        self,
        *,
        population: int = 20,
        generations: int = 50,
        objective: str = "single",
        cost_weight: float | None = None,
        train_fraction: float = 0.5,
        recalibration_samples: int = 256,
        weight_pool: str = "auto",
    ) -> None:
        self.population = population
        self.generations = generations
        self.objective = objective
        self.cost_weight = cost_weight
        self.train_fraction = train_fraction
        self.recalibration_samples = recalibration_samples
        self.weight_pool = weight_pool

    def check(self, space: "SearchSpace", tasks: Mapping[str, "Task"], k: int) -> None:
        super().check(space, tasks, k)
        if self.weight_pool == "on" and "slicing" not in space.capabilities:
            raise ConfigError(f"strategy 'relative': weight_pool='on' needs a space with a slicing supernet, which {space.name!r} lacks")
        if self._uses_pool(space):
            self.check_trainable(tasks, "trains its weight pool")

    def _uses_pool(self, space: "SearchSpace") -> bool:
        return self.weight_pool == "on" or (self.weight_pool == "auto" and "slicing" in space.capabilities)

    def search(self, ctx: SearchContext) -> Proposals:
        box = ContinuousBox(ctx.space)
        X, V = box.sample(ctx.rng, self.population), np.zeros((self.population, box.dim))
        self.estimated_: dict[int, tuple[Architecture, Estimate]] = {}  # each member's latest estimate
        pair = self._pair_estimator(ctx)

        def compare(i: int, j: int) -> bool:
            a, b = box.decode(X[i]), box.decode(X[j])
            estimate_a, estimate_b, a_is_fast = pair(a, b)
            self.estimated_[i], self.estimated_[j] = (a, estimate_a), (b, estimate_b)
            return a_is_fast

        for _ in range(self.generations):  # the budget usually ends the search first (run() then proposes)
            generation(X, V, box, ctx.rng, compare)
        return self.propose(ctx)

    def propose(self, ctx: SearchContext) -> Proposals:
        """The non-dominated estimated members (at most K), or the lowest-loss one in single-objective mode."""
        return self._proposals(ctx, dict(getattr(self, "estimated_", {}).values()))

    def _pair_estimator(self, ctx: SearchContext) -> "PairEstimator":
        low, high = np.full(2, np.inf), np.full(2, -np.inf)  # range of the finite estimates so far

        def judge(a: Estimate, b: Estimate) -> bool:
            if self.objective == "single":
                return faster(a, b, None)
            for estimate in (a, b):
                if np.isfinite(estimate[0]):
                    np.minimum(low, estimate, out=low)
                    np.maximum(high, estimate, out=high)
            span = tuple(np.maximum(high - low, 1e-12)) if np.isfinite(low).all() else (1.0, 1.0)
            w = ctx.rng.uniform() if self.cost_weight is None else self.cost_weight
            return faster(a, b, w, span)

        if self._uses_pool(ctx.space):
            return WeightPoolPair(ctx, judge, self.train_fraction, self.recalibration_samples)
        return LowFidelityPair(ctx, judge)

    def _proposals(self, ctx: SearchContext, members: dict[Architecture, Estimate]) -> list[Architecture]:
        """The non-dominated estimated members (at most K), or the lowest-loss one in single-objective mode."""
        if not members:
            return []
        archs = list(members)
        F = np.array([members[a] for a in archs])
        if self.objective == "single":
            return [archs[int(np.argmin(F[:, 0]))]]
        front = np.flatnonzero(indicators.non_dominated(F))
        return [archs[i] for i in front[indicators.select_spread(F[front], ctx.k)]]


Judge = Callable[[Estimate, Estimate], bool]
#: Estimates a pair and says whether the first is the fast learner: ``(estimate_a, estimate_b, a_is_fast)``.
PairEstimator = Callable[[Architecture, Architecture], tuple[Estimate, Estimate, bool]]


class LowFidelityPair:
    """Each member's own low-fidelity evaluation (``ctx.evaluate``): on NAS-Bench-201, the 12-epoch table.

    Loss is ``1 - validation metric``; memoised, since a deterministic estimate cannot change.
    """

    def __init__(self, ctx: SearchContext, judge: Judge) -> None:
        self.ctx, self.judge = ctx, judge
        self.memo: dict[Architecture, Estimate] = {}

    def estimate(self, arch: Architecture) -> Estimate:
        if arch not in self.memo:
            evaluation = self.ctx.evaluate(arch)
            loss = 1.0 - evaluation.metric if evaluation.ok else float("inf")
            self.memo[arch] = (loss, float(evaluation.cost.macs))
        return self.memo[arch]

    def __call__(self, a: Architecture, b: Architecture) -> tuple[Estimate, Estimate, bool]:
        estimate_a, estimate_b = self.estimate(a), self.estimate(b)
        return estimate_a, estimate_b, self.judge(estimate_a, estimate_b)


class WeightPoolPair:
    """Both members start from the shared weight pool, train one short pass, and return their weights to it.

    The pool takes the slow learner's weights, then the fast learner's, so the fast learner's
    values win on every parameter both used.
    """

    def __init__(self, ctx: SearchContext, judge: Judge, train_fraction: float, recalibration_samples: int) -> None:
        self.ctx, self.judge = ctx, judge
        self.pool = SlicingSupernet(ctx.space, ctx.network_task())
        self.train = ctx.data("train")
        self.part = max(2, round(train_fraction * len(self.train)))
        self.recalibration_samples = recalibration_samples

    def __call__(self, a: Architecture, b: Architecture) -> tuple[Estimate, Estimate, bool]:
        part = self.train.subset(self.ctx.rng.permutation(len(self.train))[: self.part])
        (model_a, estimate_a), (model_b, estimate_b) = self.learn(a, part), self.learn(b, part)
        a_is_fast = self.judge(estimate_a, estimate_b)
        fast, slow = ((a, model_a), (b, model_b)) if a_is_fast else ((b, model_b), (a, model_a))
        self.pool.absorb(*slow)
        self.pool.absorb(*fast)
        return estimate_a, estimate_b, a_is_fast

    def learn(self, arch: Architecture, part: Split) -> tuple[nn.Module, Estimate]:
        """``arch`` from the pool after one charged pass over ``part``, with its validation loss.

        Recorded in the archive as an estimate: the validation metric (one more charged pass over
        the validation split), the loss that judges the pair in ``extra``.
        """
        ctx, macs = self.ctx, float(self.ctx.cost(arch).macs)
        model = self.pool.extract(arch)
        loss = float("inf")
        with ctx.estimate(arch, Fidelity(1, len(part) / len(self.train))) as estimate:
            try:
                ctx.train(model, data=part, what=f"relative: short pass of {arch.key}")
                if self.recalibration_samples:
                    ctx.recalibrate(model, samples=self.recalibration_samples)
                loss = ctx.validate(model, loss=True)
                estimate.metric = ctx.validate(model)
                estimate.extra = {"val_loss": loss}
            except Diverged:
                estimate.status = Status.DIVERGED
        return model, (loss if np.isfinite(loss) else float("inf"), macs)
