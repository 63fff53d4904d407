"""Local search (White, Nolen & Savani, "Exploring the Loss Landscape in Neural Architecture Search", UAI 2021;
arXiv 2005.02960 "Local Search is State of the Art for NAS Benchmarks")."""
from __future__ import annotations

import math

from nasbench.context import SearchContext
from nasbench.records import Architecture, Evaluation
from strategies import warm_start
from strategies.base import AskTellStrategy, Boolean, Interval, register


def _value(evaluation: Evaluation) -> float:
    """The validation metric; a failed evaluation ranks below every successful one."""
    return evaluation.metric if evaluation.ok else -math.inf


@register
class LocalSearch(warm_start.WarmStartable, AskTellStrategy):
    """Local search over the space's one-change neighbourhood, with random restarts (White et al. 2021).

    repeat:
        current <- the best of ``init`` random architectures, each trained (with a warm start: the
                   next ``init`` of a data-free proxy's ranking of ``warm_start_pool`` random ones)
        repeat:
            train the neighbours of current (architectures one change away) in random order;
            first improvement: move to the first one better than current
            (``full_neighbourhood``: train them all, move to the best if it is better)
        until no neighbour is better (a local optimum): restart
    return the non-dominated evaluated architectures (at most K)

    An architecture is trained once per search: its evaluation is remembered, so revisiting it
    (a neighbour seen before, a restart drawing it again) costs nothing. Single objective: the
    validation metric. First improvement is the variant that did best on NAS-Bench-201
    (docs/nb201_sample_efficiency.md, tuning seeds 1000-1099).

    Hyper-parameters: ``init`` (random starts per restart; the paper's ``num_init``),
    ``full_neighbourhood`` (the paper's ``query_full_nbhd``), ``warm_start``, ``warm_start_pool``.
    """

    name = "ls"
    description = "local search (White et al. 2021): first-improvement moves to a neighbour, random restarts"
    requires = frozenset({"sample", "neighbours"})
    parameter_constraints = {"init": Interval(int, 1, 100_000), "full_neighbourhood": Boolean(), **warm_start.CONSTRAINTS}
    parameter_rules = (warm_start.pool_rule("init"),)

    def __init__(self, *, init: int = 10, full_neighbourhood: bool = False, warm_start: str | None = None,
                 warm_start_pool: int = 1000) -> None:
        self.init = init
        self.full_neighbourhood = full_neighbourhood
        self.warm_start = warm_start
        self.warm_start_pool = warm_start_pool

    # -- the hooks ------------------------------------------------------------------------
    def setup(self, ctx: SearchContext) -> None:
        self.seen_: dict[Architecture, Evaluation] = {}
        self.ranked_ = [] if self.warm_start is None else warm_start.rank(ctx, self.warm_start, self.warm_start_pool)
        self.starts_: list[Architecture] = []
        self.current_: Evaluation | None = None
        self.best_start_: Evaluation | None = None
        self.best_neighbour_: Evaluation | None = None
        self.queue_: list[Architecture] = []

    def ask(self, ctx: SearchContext) -> list[Architecture]:
        if self.current_ is None and not self.starts_:  # (re)start
            self.starts_ = self._starts(ctx)
            self.best_start_ = None
        if self.starts_:
            return [self.starts_.pop(0)]
        return [self.queue_.pop(0)]

    def assess(self, ctx: SearchContext, arch: Architecture) -> Evaluation:
        if arch not in self.seen_:
            self.seen_[arch] = ctx.evaluate(arch)
        return self.seen_[arch]

    def tell(self, ctx: SearchContext, archs: list[Architecture], results: list[Evaluation]) -> None:
        for evaluation in results:
            if self.current_ is None:  # a start
                if self.best_start_ is None or _value(evaluation) > _value(self.best_start_):
                    self.best_start_ = evaluation
                if not self.starts_:
                    self._move(ctx, self.best_start_)
            elif self.full_neighbourhood:
                if self.best_neighbour_ is None or _value(evaluation) > _value(self.best_neighbour_):
                    self.best_neighbour_ = evaluation
                if not self.queue_:
                    better = _value(self.best_neighbour_) > _value(self.current_)
                    self._move(ctx, self.best_neighbour_ if better else None)
            elif _value(evaluation) > _value(self.current_):
                self._move(ctx, evaluation)
            elif not self.queue_:
                self._move(ctx, None)  # a local optimum: restart

    # -- helpers -------------------------------------------------------------------------
    def _starts(self, ctx: SearchContext) -> list[Architecture]:
        """The next restart's candidates: the next of the warm-start ranking, else random architectures."""
        if self.ranked_:
            starts, self.ranked_ = self.ranked_[: self.init], self.ranked_[self.init :]
            return starts
        return [ctx.space.sample(ctx.rng) for _ in range(self.init)]

    def _move(self, ctx: SearchContext, to: Evaluation | None) -> None:
        """Make ``to`` the current architecture and queue its neighbours in random order (None: restart)."""
        self.current_, self.best_neighbour_ = to, None
        if to is None:
            self.queue_ = []
            return
        neighbours = ctx.space.neighbours(to.arch)
        order = ctx.rng.permutation(len(neighbours))
        self.queue_ = [neighbours[i] for i in order]
        if not self.queue_:
            self.current_ = None
