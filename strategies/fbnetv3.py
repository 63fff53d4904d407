"""FBNetV3 (Dai et al. 2021): joint architecture-recipe search with a predictor pretrained on free statistics.

The paper's three stages, at CPU scale (docs/fbnetv3.md says what is the paper's and what is adapted):

1. **Predictor** (``Predictor``): an MLP encoder over the candidate's encoding (one-hot genes,
   plus the recipe's unit coordinates when recipes are searched) with two heads. The encoder and
   a *proxy head* are pretrained to predict statistics that cost no training: log MACs, log
   parameters (and latency where the space has a table) from ``ctx.cost``, free, and data-free
   proxy scores (``ctx.score``, charged as always) on a subset. The *accuracy head* is then fit
   on evaluated candidates with the Huber loss, encoder frozen first, then everything fine-tuned.
2. **Constrained iterative optimisation**: a scrambled Sobol pool (``scipy.stats.qmc.Sobol``) of
   candidates inside the cost range; a first quasi-random batch is trained, then each round the
   predicted-best unevaluated candidates (adapted: ranked by an upper confidence bound over an
   ensemble, and half of each batch taken from mutations of the best measured candidate rather
   than from the pool; on NAS-Bench-201 that took the mean best test accuracy from about 94.10
   to about 94.23 on 36 tuning seeds). Early stopping: on trainable tasks the first batch is
   trained at every rung of a fidelity ladder (epochs of the candidate's own schedule), and a
   batch trains at the cheapest rung whose Spearman rank correlation with the longest rung, over
   the candidates trained at both, reaches ``rank_threshold``; a batch trained short promotes its
   ``promote`` best to the longest rung, which keeps the correlation up to date. The predictor is
   refit (from the pretrained encoder) after every batch.
3. **Adaptive genetic search on the predictor**: the cost range is cut into K constraints (MACs
   quantiles of the pool); for each, a genetic algorithm (mutation, crossover, elitist selection)
   seeded with the best measured candidates maximises the predicted accuracy under the
   constraint, using one predictor for all constraints (the paper's fast adaptation to new
   resource constraints). Its K finalists are trained (charged, budget reserved for them), and
   for each constraint the best *measured* candidate within it is proposed, with its recipe
   recommended (``ctx.recommend``) when recipes were searched.

On NAS-Bench-201 the recipe is the table's: only architectures are searched, at the table's one
fidelity (no ladder). Every evaluation goes through ``ctx.evaluate``, so every one is charged and
archived.
"""
from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from scipy import special, stats
from scipy.stats import qmc
from torch import nn

from nasbench.context import SearchContext
from nasbench.errors import BudgetExhausted, ConfigError
from nasbench.records import Architecture, Evaluation, Fidelity
from nasbench.recipes import RecipeSpace
from nasbench.training import Recipe
from strategies.base import Boolean, Interval, Rule, Satisfies, Strategy, register

log = logging.getLogger(__name__)


# -- candidates and their encoding ------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    """An architecture and the recipe to train it with (None: the shared recipe or the table's)."""

    arch: Architecture
    recipe: Recipe | None = None


class Encoder:
    """Candidates as predictor inputs: one-hot genes, then the recipe's coordinates in [0, 1]."""

    def __init__(self, choices: Sequence[int], recipes: RecipeSpace | None) -> None:
        self.choices = tuple(int(c) for c in choices)
        self.offsets = np.concatenate([[0], np.cumsum(self.choices)[:-1]]).astype(int)
        self.recipes = recipes
        self.width = int(sum(self.choices)) + (recipes.n_dims if recipes is not None else 0)

    def __call__(self, candidates: Sequence[Candidate]) -> np.ndarray:
        X = np.zeros((len(candidates), self.width), dtype=np.float32)
        n_arch = int(sum(self.choices))
        for i, c in enumerate(candidates):
            X[i, self.offsets + np.asarray(c.arch.genes)] = 1.0
            if self.recipes is not None and c.recipe is not None:
                X[i, n_arch:] = self.recipes.to_unit(c.recipe)
        return X


def sobol_candidates(
    space: Any, recipes: RecipeSpace | None, n: int, seed: int
) -> list[Candidate]:
    """``n`` distinct candidates from a scrambled Sobol sequence over genes (and recipe), in sequence order.

    Coordinate ``u`` of gene ``i`` maps to ``floor(u x choices[i])``; duplicates (of the
    architecture's canonical form, with the same recipe) are dropped, so fewer may come back.
    """
    choices = np.asarray(space.choices)
    dims = len(choices) + (recipes.n_dims if recipes is not None else 0)
    sampler = qmc.Sobol(dims, scramble=True, seed=np.random.default_rng([seed, 0x5B01]))
    U = sampler.random_base2(max(1, math.ceil(math.log2(max(2, n)))))[:n]
    seen: set[Candidate] = set()
    out = []
    for u in U:
        genes = np.minimum(np.floor(u[: len(choices)] * choices), choices - 1).astype(int)
        recipe = recipes.from_unit(u[len(choices):]) if recipes is not None else None
        c = Candidate(space.make(genes), recipe)
        if c not in seen:
            seen.add(c)
            out.append(c)
    return out


# -- the predictor ----------------------------------------------------------------------------
class _Linear(nn.Module):
    """``members`` independent linear layers applied side by side (an ensemble in one batched matmul)."""

    def __init__(self, members: int, d_in: int, d_out: int, generator: torch.Generator) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(d_in)  # nn.Linear's default initialisation, member by member
        self.weight = nn.Parameter((torch.rand(members, d_in, d_out, generator=generator) * 2 - 1) * bound)
        self.bias = nn.Parameter((torch.rand(members, 1, d_out, generator=generator) * 2 - 1) * bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class _Net(nn.Module):
    """Encoder (two ReLU layers) with a proxy head and an accuracy head, ``members`` copies batched."""

    def __init__(self, members: int, d: int, hidden: int, n_stats: int, generator: torch.Generator) -> None:
        super().__init__()
        self.members = members
        self.encoder = nn.Sequential(_Linear(members, d, hidden, generator), nn.ReLU(),
                                     _Linear(members, hidden, hidden, generator), nn.ReLU())
        self.proxy_head = _Linear(members, hidden, max(1, n_stats), generator)
        self.accuracy_head = _Linear(members, hidden, 1, generator)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.unsqueeze(0).expand(self.members, -1, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(members, n) accuracy outputs."""
        return self.accuracy_head(self.embed(x)).squeeze(-1)


class Predictor:
    """The FBNetV3 predictor as an ensemble of ``members`` MLPs: ``pretrain`` on free statistics,
    ``fit`` on accuracies, ``predict`` (the members' mean).

    ``fit`` always restarts from the pretrained weights (without pretraining: from the seeded
    initial ones), as the paper refits after each batch. Targets are standardised inside; the
    Huber loss (delta 1 on standardised targets) keeps outliers (a disconnected NAS-Bench-201
    cell at 10%) from dominating. Deterministic given ``seed``; torch's global random state is
    not used.
    """

    def __init__(self, d: int, n_stats: int, *, hidden: int = 64, members: int = 5, seed: int = 0,
                 pretrain_steps: int = 400, frozen_steps: int = 150, finetune_steps: int = 150,
                 head_lr: float = 1e-2, finetune_lr: float = 1e-3, weight_decay: float = 1e-3, targets: str = "rank") -> None:
        if targets not in ("rank", "value"):
            raise ValueError(f"targets must be 'rank' or 'value', got {targets!r}")
        self.targets = targets
        self.d, self.n_stats, self.hidden, self.members, self.seed = d, n_stats, hidden, members, seed
        self.head_lr, self.finetune_lr, self.weight_decay = head_lr, finetune_lr, weight_decay
        self.pretrain_steps, self.frozen_steps, self.finetune_steps = pretrain_steps, frozen_steps, finetune_steps
        self.net = _Net(members, d, hidden, n_stats, torch.Generator().manual_seed(seed * 1009 + 17))
        self.start = copy.deepcopy(self.net.state_dict())
        self.pretrained = False
        self.stats_mean = self.stats_std = None
        self.stats_net: _Net | None = None
        self.y_mean, self.y_std = 0.0, 1.0

    # -- stage 1: free statistics ----------------------------------------------------------
    def pretrain(self, X: np.ndarray, S: np.ndarray, batch: int = 256) -> float:
        """Train encoder + proxy head to predict the statistics ``S`` (NaN: not measured); returns the last loss."""
        S = np.asarray(S, dtype=np.float64)
        mask = np.isfinite(S)
        self.stats_mean = np.array([S[mask[:, j], j].mean() if mask[:, j].any() else 0.0 for j in range(S.shape[1])])
        self.stats_std = np.array([S[mask[:, j], j].std() + 1e-8 if mask[:, j].any() else 1.0 for j in range(S.shape[1])])
        Z = np.where(mask, (S - self.stats_mean) / self.stats_std, 0.0)
        x, z, w = (torch.as_tensor(a, dtype=torch.float32) for a in (X, Z, mask.astype(np.float32)))
        net = self.net
        generator = torch.Generator().manual_seed(self.seed * 7919 + 3)
        optimizer = torch.optim.AdamW(list(net.encoder.parameters()) + list(net.proxy_head.parameters()), lr=3e-3,
                                      weight_decay=1e-4)
        loss_value = math.nan
        for _ in range(self.pretrain_steps):
            idx = torch.randint(len(x), (min(batch, len(x)),), generator=generator)
            pred = net.proxy_head(net.embed(x[idx]))
            loss = (((pred - z[idx]) ** 2) * w[idx]).sum() / (w[idx].sum().clamp_min(1.0) * self.members)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_value = float(loss.detach())
        self.start = copy.deepcopy(net.state_dict())
        self.stats_net = copy.deepcopy(net)  # fine-tuning moves the encoder; this copy keeps predicting statistics
        self.pretrained = True
        return loss_value

    def predict_stats(self, X: np.ndarray) -> np.ndarray:
        """The proxy head's statistics (unstandardised, members' mean) of ``X``; needs ``pretrain``."""
        if self.stats_net is None:
            raise RuntimeError("the proxy head predicts statistics only after pretraining")
        with torch.no_grad():
            out = self.stats_net.proxy_head(self.stats_net.embed(torch.as_tensor(X, dtype=torch.float32))).mean(0)
        return out.numpy() * self.stats_std + self.stats_mean

    # -- stage 2: accuracy ------------------------------------------------------------------
    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        """Fit the accuracy head on ``(X, y)``: encoder frozen first, then all fine-tuned at a lower rate (Huber)."""
        y = np.asarray(y, dtype=np.float64)
        if self.targets == "rank":  # normal scores of the ranks: only the order matters, outliers cannot dominate
            z = special.ndtri(stats.rankdata(y) / (len(y) + 1))
            self.y_mean, self.y_std = 0.0, 1.0
        else:
            self.y_mean, self.y_std = float(y.mean()), float(y.std() + 1e-8)
            z = (y - self.y_mean) / self.y_std
        x = torch.as_tensor(X, dtype=torch.float32)
        t = torch.as_tensor(z, dtype=torch.float32).expand(self.members, -1)
        huber = nn.HuberLoss(delta=1.0)
        net = self.net
        net.load_state_dict(self.start)
        with torch.no_grad():
            frozen = net.embed(x)
        stages = ((list(net.accuracy_head.parameters()), self.head_lr, self.frozen_steps, True),
                  (list(net.parameters()), self.finetune_lr, self.finetune_steps, False))
        for params, lr, steps, encoder_frozen in stages:
            optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=self.weight_decay, foreach=True)
            for _ in range(steps):
                out = net.accuracy_head(frozen).squeeze(-1) if encoder_frozen else net(x)
                loss = huber(out, t)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()

    def predict(self, X: np.ndarray, optimism: float = 0.0) -> np.ndarray:
        """Predicted accuracy (members' mean, plus ``optimism`` x their standard deviation) of every row of ``X``."""
        with torch.no_grad():
            out = self.net(torch.as_tensor(X, dtype=torch.float32))
        score = out.mean(0) + (optimism * out.std(0) if optimism and self.members > 1 else 0.0)
        return score.numpy() * self.y_std + self.y_mean


# -- the strategy ------------------------------------------------------------------------------
def _rungs_valid(values: Any) -> bool:
    return (isinstance(values, (tuple, list)) and 1 <= len(values) <= 8
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 8 for v in values))


@register
class FBNetV3(Strategy):
    """FBNetV3 (Dai et al. 2021): predictor pretrained on free statistics, constrained iterative
    optimisation over a Sobol pool with early stopping, and a genetic search on the predictor.

    Hyper-parameters:
      pool_size: Sobol candidates drawn (distinct ones kept) inside the cost range.
      pretrain: pretrain the encoder on free statistics (False: the ablation, random encoder).
      pretrain_samples: pool candidates whose MACs/params (free) the encoder is pretrained on.
      proxies: data-free proxies (``ctx.score``, charged) added to the pretraining targets.
      proxy_samples: candidates scored by each proxy.
      proxy_share: at most this share of the budget goes to proxy scores; when the scores
        would not fit (e.g. NAS-Bench-201 under a query budget, where a score costs a query),
        the proxies are skipped and the pretraining uses the free statistics only.
      batch: candidates trained per round (the first batch is the Sobol pool's first ones).
      rungs: early-stopping ladder, in multiples of the task's search epochs (trainable tasks): epochs of
        the candidate's own schedule, stopped early; the longest rung is the "longer training".
      calibration_share: the first batch is trained at every rung only when that fits in this share
        of the budget (estimated from its first evaluation); otherwise one rung, the search epochs.
      rank_threshold: Spearman with the longest rung that a shorter rung needs to be used.
      promote: candidates of a batch trained short that are also trained at the longest rung.
      search_recipe: search the training recipe with the architecture (trainable tasks only).
      cost_range: (low, high) MACs as fractions of the largest network's MACs (the largest among the
        upper-bound genotype and the pretraining candidates).
      hidden, members: predictor width and ensemble size.
      optimism: a batch is ranked by the members' mean plus this many standard deviations (an
        upper confidence bound; 0: the mean, as the paper's single predictor).
      local: share of each batch taken from offspring of the best measured candidates (scored by the
        predictor) instead of the Sobol pool; elites, children: how many parents, children each.
      population, generations: the genetic search on the predictor, per constraint.
    """

    name = "fbnetv3"
    description = "FBNetV3 (Dai et al. 2021): pretrained predictor, Sobol pool + early stopping, predictor-based GA; searches recipes too"
    requires = frozenset({"sample", "mutate", "crossover"})
    parameter_constraints = {
        "pool_size": Interval(int, 16, 1 << 16),
        "pretrain": Boolean(),
        "pretrain_samples": Interval(int, 8, 1 << 16),
        "proxies": Satisfies(lambda v: isinstance(v, (tuple, list)) and all(isinstance(p, str) and p for p in v) and len(v) <= 4,
                             "a tuple of up to 4 proxy names"),
        "proxy_samples": Interval(int, 0, 1 << 14),
        "proxy_share": Interval(float, 0.0, 0.5),
        "batch": Interval(int, 1, 1000),
        "rungs": Satisfies(_rungs_valid, "a tuple of 1-8 numbers in (0, 8]"),
        "calibration_share": Interval(float, 0.0, 1.0),
        "rank_threshold": Interval(float, -1.0, 1.0),
        "promote": Interval(int, 0, 1000),
        "search_recipe": Boolean(),
        "cost_range": Satisfies(lambda v: isinstance(v, (tuple, list)) and len(v) == 2
                                and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
                                and 0.0 <= v[0] < v[1] <= 1.0, "(low, high) with 0 <= low < high <= 1"),
        "hidden": Interval(int, 4, 1024),
        "members": Interval(int, 1, 16),
        "optimism": Interval(float, 0.0, 10.0),
        "population": Interval(int, 4, 10_000),
        "generations": Interval(int, 0, 10_000),
        "local": Interval(float, 0.0, 1.0),
        "elites": Interval(int, 1, 1000),
        "children": Interval(int, 1, 10_000),
    }
    parameter_rules = (
        Rule(("pretrain_samples", "pool_size"), lambda p: p["pretrain_samples"] <= p["pool_size"],
             "pretrain_samples <= pool_size"),
        Rule(("promote", "batch"), lambda p: p["promote"] <= p["batch"], "promote <= batch"),
    )

    def __init__(self, *, pool_size: int = 4096, pretrain: bool = True, pretrain_samples: int = 512,
                 proxies: tuple[str, ...] = ("synflow",), proxy_samples: int = 128, proxy_share: float = 0.05,
                 batch: int = 8, rungs: tuple[float, ...] = (1.0, 2.0), calibration_share: float = 0.3,
                 rank_threshold: float = 0.8, promote: int = 2,
                 search_recipe: bool = True, cost_range: tuple[float, float] = (0.0, 1.0), hidden: int = 64,
                 members: int = 5, optimism: float = 1.0, population: int = 32, generations: int = 12, local: float = 0.5,
                 elites: int = 1, children: int = 32) -> None:
        self.pool_size = pool_size
        self.pretrain = pretrain
        self.pretrain_samples = pretrain_samples
        self.proxies = proxies
        self.proxy_samples = proxy_samples
        self.proxy_share = proxy_share
        self.batch = batch
        self.rungs = rungs
        self.calibration_share = calibration_share
        self.rank_threshold = rank_threshold
        self.promote = promote
        self.search_recipe = search_recipe
        self.cost_range = cost_range
        self.hidden = hidden
        self.members = members
        self.optimism = optimism
        self.population = population
        self.generations = generations
        self.local = local
        self.elites = elites
        self.children = children

    def check(self, space: Any, tasks: Any, k: int) -> None:
        super().check(space, tasks, k)
        from nasbench.proxies import get_proxy

        for proxy in self.proxies:
            try:
                get_proxy(proxy)
            except (ConfigError, KeyError) as exc:
                raise ConfigError(f"strategy {self.name!r}: unknown proxy {proxy!r} ({exc})") from None

    # -- setup: pool, fidelity ladder, pretraining --------------------------------------------
    def _setup(self, ctx: SearchContext) -> None:
        space = ctx.space
        self.recipes_ = ctx.recipe_space() if self.search_recipe else None
        trainable = ctx.recipe_space() is not None
        view = ctx.network_task()
        if trainable:
            recipes = ctx.recipe_space()
            self.base_recipe_ = None if self.recipes_ is not None else recipes.default()  # arch-only: the final schedule, early-stopped
            shortest = min(d.low for d in recipes.dimensions if d.name == "epochs")  # no rung beyond any schedule
            epochs = sorted({min(int(shortest), max(1, round(r * view.search_epochs))) for r in self.rungs})
            self.ladder_ = [Fidelity(e) for e in epochs]
        else:
            self.base_recipe_ = None
            self.ladder_ = [None]  # the table's one fidelity
        self.encoder_ = Encoder(space.choices, self.recipes_)
        pool = sobol_candidates(space, self.recipes_, self.pool_size, ctx.seed)
        if self.recipes_ is None and self.base_recipe_ is not None:
            pool = [Candidate(c.arch, self.base_recipe_) for c in pool]
        # Stage 1: free statistics of the first pool candidates (Sobol order: spread over the whole space).
        subset = pool[: self.pretrain_samples]
        costs = [ctx.cost(c.arch) for c in subset]
        stats_cols = [np.log([max(1, c.macs) for c in costs]), np.log([max(1, c.params) for c in costs])]
        latency = np.array([c.latency_ms for c in costs], dtype=float)
        if np.isfinite(latency).all() and latency.std() > 0:
            stats_cols.append(np.log(latency))
        S = np.column_stack(stats_cols)
        scores = self._proxy_scores(ctx, subset) if self.pretrain else None
        if scores is not None:
            S = np.column_stack([S, scores])
        self.n_stats_ = S.shape[1]
        self.predictor_ = Predictor(self.encoder_.width, S.shape[1], hidden=self.hidden, members=self.members, seed=ctx.seed)
        if self.pretrain:
            self.predictor_.pretrain(self.encoder_(subset), S)
        # The cost range: fractions of the largest MACs known (exact costs of the proxy head's largest guesses too).
        X_pool = self.encoder_(pool)
        known = [ctx.cost(space.make(space.bounds[1])).macs] + [c.macs for c in costs]
        if self.predictor_.pretrained:
            guesses = np.argsort(-self.predictor_.predict_stats(X_pool)[:, 0])[:16]
            known += [ctx.cost(pool[i].arch).macs for i in guesses]
        largest = float(max(known))
        self.macs_range_ = (self.cost_range[0] * largest, self.cost_range[1] * largest)
        macs = np.array([c.macs for c in costs], dtype=float)
        if tuple(self.cost_range) != (0.0, 1.0):  # the exact costs of the whole pool are needed to filter it
            keep = [i for i, c in enumerate(pool) if self._inside(ctx.cost(c.arch).macs)]
            pool, X_pool = [pool[i] for i in keep], X_pool[keep]
            macs = np.array([ctx.cost(c.arch).macs for c in pool[: self.pretrain_samples]], dtype=float)
        if not pool:
            raise ConfigError(f"strategy {self.name!r}: no Sobol candidate inside the cost range {tuple(self.cost_range)}")
        self.pool_, self.X_pool_, self.quantile_macs_ = pool, X_pool, macs
        # Search state.
        self.measured_: dict[Candidate, dict[int, float]] = {}  # candidate -> rung index -> val metric
        self.evals_: dict[Candidate, Evaluation] = {}
        self.charge_: dict[int, list[float]] = {}  # rung index -> charges in the ledger's unit
        self.rung_ = len(self.ladder_) - 1
        self.finalists_done_ = False
        self.constraints_ = self._constraints(ctx.k)

    def _inside(self, macs: float) -> bool:
        return self.macs_range_[0] <= macs <= self.macs_range_[1]

    def _proxy_scores(self, ctx: SearchContext, subset: list[Candidate]) -> np.ndarray | None:
        """Proxy scores (charged) of the first ``proxy_samples`` pretraining candidates; None when they would not fit."""
        n = min(self.proxy_samples, len(subset))
        if not self.proxies or n < 8:
            return None
        from nasbench.proxies import get_proxy

        if ctx.unit == "queries":
            estimate = float(n * len(self.proxies))
        elif ctx.unit == "macs":
            estimate = sum(get_proxy(p).compute(ctx.cost(c.arch)) for p in self.proxies for c in subset[:n])
        else:
            estimate = None  # seconds: known only by scoring; checked on the way
        share = self.proxy_share * ctx.budget
        if estimate is not None and estimate > share:
            log.info("%s: proxy scores would cost %.3g %s > %.3g (%g of the budget): free statistics only",
                     self.name, estimate, ctx.unit, share, self.proxy_share)
            return None
        S = np.full((len(subset), len(self.proxies)), np.nan)
        start = ctx.used
        for j, proxy in enumerate(self.proxies):
            for i, c in enumerate(subset[:n]):
                if ctx.used - start >= share:  # only under the seconds unit, where the charge is not known in advance
                    break
                S[i, j] = ctx.score(c.arch, proxy)
        S[~np.isfinite(S)] = np.nan
        return S

    def _constraints(self, k: int) -> np.ndarray:
        """K MACs limits spread over the pool's cost range: quantiles (j + 1) / K, the last the range's top."""
        q = np.quantile(self.quantile_macs_, [(j + 1) / k for j in range(k)])
        q[-1] = self.macs_range_[1]
        return np.maximum(q, self.macs_range_[0])

    # -- measurements ---------------------------------------------------------------------------
    def _evaluate(self, ctx: SearchContext, c: Candidate, rung: int) -> Evaluation | None:
        """Train ``c`` at ``rung``. A candidate too large for what is left is skipped (None: ``ctx``
        refused it before training), so one large network does not end the search before its finalists."""
        fidelity = self.ladder_[rung]
        before = ctx.used
        try:
            e = ctx.evaluate(c.arch, fidelity=fidelity, recipe=c.recipe)
        except BudgetExhausted:
            if ctx.remaining <= 0:
                raise
            self.measured_.setdefault(c, {})
            return None
        self.charge_.setdefault(rung, []).append(ctx.used - before)
        self.evals_[c] = e
        if e.ok:
            self.measured_.setdefault(c, {})[rung] = float(e.metric)
        else:
            self.measured_.setdefault(c, {})
        return e

    def _afford_ladder(self, ctx: SearchContext) -> None:
        """Keep the ladder only if the first batch at every rung fits in ``calibration_share`` of the budget.

        The estimate scales the first evaluation's charge by the rungs' epochs (a query per rung
        under a query budget); otherwise the ladder collapses to the rung of the search epochs.
        """
        first = self.charge_[0][0]
        epochs = [f.epochs for f in self.ladder_]
        per_candidate = first * len(epochs) if ctx.unit == "queries" else first * sum(epochs) / epochs[0]
        if self.batch * per_candidate > self.calibration_share * ctx.budget:
            search = ctx.network_task().search_epochs
            keep = min(range(len(epochs)), key=lambda r: (abs(epochs[r] - search), epochs[r]))
            log.info("%s: the early-stopping calibration would cost %.3g %s > %g of the budget: one rung, %s",
                     self.name, self.batch * per_candidate, ctx.unit, self.calibration_share, self.ladder_[keep])
            if keep != 0:  # the first evaluation was at rung 0: it does not count at the kept rung
                self.measured_.pop(self.pool_[0], None)
            self.ladder_ = [self.ladder_[keep]]
            self.charge_ = {0: self.charge_[0]} if keep == 0 else {}

    def _calibration(self) -> tuple[float, float]:
        """Linear map from the current rung's metric to the longest rung's, fit on candidates measured at both."""
        top, r = len(self.ladder_) - 1, self.rung_
        pairs = np.array([[m[r], m[top]] for m in self.measured_.values() if r in m and top in m])
        if r == top or len(pairs) < 3 or np.ptp(pairs[:, 0]) == 0:
            return 0.0, 1.0
        slope, intercept = np.polyfit(pairs[:, 0], pairs[:, 1], 1)
        return float(intercept), float(slope)

    def _values(self) -> dict[Candidate, float]:
        """Each measured candidate's value on the longest rung's scale (its own long value when it has one)."""
        top = len(self.ladder_) - 1
        a, b = self._calibration()
        out = {}
        for c, m in self.measured_.items():
            if top in m:
                out[c] = m[top]
            elif self.rung_ in m:
                out[c] = a + b * m[self.rung_]
            elif m:
                out[c] = m[max(m)]
        return out

    def _choose_rung(self) -> None:
        """The cheapest rung whose Spearman with the longest, over candidates trained at both, reaches the threshold."""
        top = len(self.ladder_) - 1
        self.rung_ = top
        for r in range(top):
            pairs = np.array([[m[r], m[top]] for m in self.measured_.values() if r in m and top in m])
            if len(pairs) >= 4 and np.ptp(pairs[:, 0]) > 0 and np.ptp(pairs[:, 1]) > 0:
                rho = float(stats.spearmanr(pairs[:, 0], pairs[:, 1]).statistic)
                log.debug("%s: rung %s vs %s: rho %.3f over %d", self.name, self.ladder_[r], self.ladder_[top], rho, len(pairs))
                if rho >= self.rank_threshold:
                    self.rung_ = r
                    return

    def _refit(self) -> None:
        values = self._values()
        if len(values) < 2:
            return
        cands = list(values)
        self.predictor_.fit(self.encoder_(cands), np.array([values[c] for c in cands]))
        self.fitted_ = True

    def _reserve(self, ctx: SearchContext) -> float:
        """Budget kept for the K finalists at the longest rung (mean charge seen so far, in the ledger's unit)."""
        top = len(self.ladder_) - 1
        charges = self.charge_.get(top) or [c for v in self.charge_.values() for c in v]
        return ctx.k * (float(np.mean(charges)) if charges else 0.0)

    # -- the search ---------------------------------------------------------------------------------
    def search(self, ctx: SearchContext) -> Any:
        self.measured_, self.evals_, self.constraints_ = {}, {}, None
        self._setup(ctx)
        self.fitted_ = False
        first = self.pool_[: self.batch]
        if first and len(self.ladder_) > 1:
            self._evaluate(ctx, first[0], 0)
            self._afford_ladder(ctx)  # may collapse the ladder to one rung
        top = len(self.ladder_) - 1
        for c in first:  # the first batch at every rung: the early-stopping correlation needs both
            for rung in range(len(self.ladder_)):
                if rung not in self.measured_.get(c, {}):
                    self._evaluate(ctx, c, rung)
        while True:
            self._choose_rung()
            self._refit()
            if not self.finalists_done_ and ctx.remaining <= self._reserve(ctx):
                self._train_finalists(ctx, top)
                continue
            batch = self._next_batch(ctx)
            if not batch:
                log.info("%s: the pool is exhausted", self.name)
                break
            trained = [self._evaluate(ctx, c, self.rung_) for c in batch]
            if all(e is None for e in trained):  # what is left pays for none of the predicted-best
                if self.finalists_done_:
                    break
                self._train_finalists(ctx, top)
                continue
            if self.rung_ < top and self.promote:
                values = self._values()
                for c in sorted(batch, key=lambda c: -values.get(c, -math.inf))[: self.promote]:
                    self._evaluate(ctx, c, top)
        return self.propose(ctx)

    def _train_finalists(self, ctx: SearchContext, top: int) -> None:
        """Stage 3: train the genetic search's finalists (one per constraint) at the longest rung, once."""
        self.finalists_done_ = True
        for c in self._finalists(ctx):
            if top not in self.measured_.get(c, {}):
                self._evaluate(ctx, c, top)

    def _next_batch(self, ctx: SearchContext) -> list[Candidate]:
        """The predicted-best unevaluated candidates: from the Sobol pool, and ``local`` of them from offspring
        (mutations and crossovers) of the best measured candidates, scored by the predictor only."""
        fresh = [c for c in self.pool_ if c not in self.measured_]
        if not self.fitted_:
            return fresh[: self.batch]
        n_local = round(self.local * self.batch)
        chosen: list[Candidate] = []
        if n_local:
            kids = [c for c in dict.fromkeys(self._offspring(ctx)) if c not in self.measured_]
            if kids:
                predicted = self.predictor_.predict(self.encoder_(kids), self.optimism)
                chosen = [kids[i] for i in np.argsort(-predicted, kind="stable")[:n_local]]
        fresh = [c for c in fresh if c not in chosen]
        if fresh:
            predicted = self.predictor_.predict(self.encoder_(fresh), self.optimism)
            order = np.argsort(-predicted, kind="stable")
            chosen += [fresh[i] for i in order[: self.batch - len(chosen)]]
        return chosen

    def _offspring(self, ctx: SearchContext) -> list[Candidate]:
        values = self._values()
        elites = sorted(values, key=lambda c: -values[c])[: self.elites]
        kids = []
        for a in elites:
            for _ in range(self.children):
                b = elites[int(ctx.rng.integers(len(elites)))]
                kids.append(self._vary(ctx, a, b))
        if tuple(self.cost_range) != (0.0, 1.0):
            macs = self._macs(ctx, kids)
            kids = [c for c, m in zip(kids, macs) if self._inside(m)]
        return kids

    # -- stage 3: genetic search on the predictor ----------------------------------------------------
    def _macs(self, ctx: SearchContext, cands: list[Candidate]) -> np.ndarray:
        """MACs of ``cands``: the proxy head's prediction when pretrained (exact costs of big spaces are slow), else exact."""
        if self.predictor_.pretrained:
            return np.exp(self.predictor_.predict_stats(self.encoder_(cands))[:, 0])
        return np.array([ctx.cost(c.arch).macs for c in cands], dtype=float)

    def _vary(self, ctx: SearchContext, a: Candidate, b: Candidate) -> Candidate:
        space, rng = ctx.space, ctx.rng
        arch = space.crossover(a.arch, b.arch, rng) if rng.random() < 0.5 else a.arch
        arch = space.mutate(arch, rng)
        recipe = a.recipe
        if self.recipes_ is not None and a.recipe is not None and b.recipe is not None:
            ua, ub = self.recipes_.to_unit(a.recipe), self.recipes_.to_unit(b.recipe)
            u = np.where(rng.random(len(ua)) < 0.5, ua, ub)
            recipe = self.recipes_.from_unit(np.clip(u, 0.0, 0.999999))
            if rng.random() < 0.5:
                recipe = self.recipes_.mutate(recipe, rng)
        return Candidate(arch, recipe)

    def _finalists(self, ctx: SearchContext) -> list[Candidate]:
        """One finalist per MACs constraint: a genetic search maximising the predicted accuracy under it."""
        values = self._values()
        measured = sorted(values, key=lambda c: -values[c])
        chosen: list[Candidate] = []
        for limit in self.constraints_:
            seeds = [c for c in measured if self._inside(self.evals_[c].cost.macs) and self.evals_[c].cost.macs <= limit]
            pool = [c for c in self.pool_ if c not in values]
            rest = [pool[i] for i in ctx.rng.permutation(len(pool))[: self.population]]
            population = list(dict.fromkeys(seeds[: self.population // 2] + rest))
            population = self._select(ctx, population, limit)
            for _ in range(self.generations):
                if len(population) < 2:
                    break
                fitness = self.predictor_.predict(self.encoder_(population))
                children = []
                for _ in range(self.population):
                    i, j = ctx.rng.integers(len(population), size=2), ctx.rng.integers(len(population), size=2)
                    a = population[i[np.argmax(fitness[i])]]
                    b = population[j[np.argmax(fitness[j])]]
                    children.append(self._vary(ctx, a, b))
                population = self._select(ctx, list(dict.fromkeys(population + children)), limit)
            taken = {c.arch for c in chosen}
            for c in population:  # ranked by prediction; exact MACs checked here
                macs = ctx.cost(c.arch).macs
                if c.arch not in taken and self._inside(macs) and macs <= limit:
                    chosen.append(c)
                    break
        return chosen

    def _select(self, ctx: SearchContext, cands: list[Candidate], limit: float) -> list[Candidate]:
        """The ``population`` predicted-best candidates whose (predicted) MACs fit ``limit``, best first."""
        if not cands:
            return []
        macs = self._macs(ctx, cands)
        ok = [i for i, m in enumerate(macs) if self.macs_range_[0] <= m <= limit]
        if not ok:
            return []
        fitness = self.predictor_.predict(self.encoder_([cands[i] for i in ok]))
        order = np.argsort(-fitness, kind="stable")[: self.population]
        return [cands[ok[i]] for i in order]

    # -- proposals ------------------------------------------------------------------------------------
    def propose(self, ctx: SearchContext) -> list[Architecture]:
        """Per MACs constraint, the best measured candidate within it (distinct architectures, at most K).

        Measured values are on the longest rung's scale; each proposal's recipe is recommended
        when recipes were searched.
        """
        values = self._values() if getattr(self, "constraints_", None) is not None else {}
        if not values:
            return ctx.front()
        best: dict[Architecture, Candidate] = {}
        for c, v in values.items():  # per architecture, its best measured recipe
            if c.arch not in best or v > values[best[c.arch]]:
                best[c.arch] = c
        ranked = sorted(best.values(), key=lambda c: -values[c])
        chosen: list[Candidate] = []
        for limit in self.constraints_:
            for c in ranked:
                if self.evals_[c].cost.macs <= limit and c not in chosen:
                    chosen.append(c)
                    break
        for c in ranked:  # fill up to K with the next best
            if len(chosen) >= ctx.k:
                break
            if c not in chosen:
                chosen.append(c)
        chosen = chosen[: ctx.k]
        if self.recipes_ is not None:
            for c in chosen:
                if c.recipe is not None:
                    ctx.recommend(c.arch, c.recipe)
        return [c.arch for c in chosen]
