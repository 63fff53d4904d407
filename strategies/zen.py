"""Zen-NAS / ZenDet: mutation-only evolution maximising a data-free proxy under MACs constraints."""
from __future__ import annotations

import hashlib
import heapq
import inspect
import itertools
import json
import logging
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np
import torch

from nasbench.context import SearchContext
from nasbench.errors import ConfigError
from nasbench.proxies import PROXIES, Proxy, Subject, get_proxy
from nasbench.records import Architecture, Cost
from strategies.base import AskTellStrategy, Boolean, Interval, Options, Proposals, Satisfies, TupleOf, register

if TYPE_CHECKING:  # pragma: no cover
    from nasbench.tasks.base import Task
    from spaces.base import SearchSpace

log = logging.getLogger(__name__)

#: The authors' search (``evolution_search.py``, ``scripts/Zen_NAS_*.sh``): population 512 for 480,000 iterations.
PAPER_POPULATION, PAPER_ITERATIONS = 512, 480_000
#: The authors draw random structures while the population has at most this many members.
RANDOM_START = 10
#: Smallest population ``population="auto"`` gives (above ``RANDOM_START``, so that selection acts).
MIN_POPULATION = 16


def paper_population(scores: float) -> int:
    """The paper's population scaled to ``scores`` candidates per constraint.

    The authors keep 512 members for 480,000 iterations; scaling by the square root of the
    iterations keeps both the population's share of the search and the number of generations
    (iterations / population) growing with the budget: 512 at the paper's 480,000, 138 at 35,000,
    16 below about 470.
    """
    scaled = PAPER_POPULATION * math.sqrt(max(0.0, scores) / PAPER_ITERATIONS)
    return int(min(PAPER_POPULATION, max(MIN_POPULATION, round(scaled))))


class _Population:
    """The members kept under one MACs constraint with their scores; the worst is dropped when over size."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.members: list[Architecture] = []  # random choice in O(1)
        self.where: dict[Architecture, int] = {}
        self.scores: dict[Architecture, float] = {}
        self.heap: list[tuple[float, int, Architecture]] = []  # worst first; ties: the oldest first
        self.counter = itertools.count()

    def __len__(self) -> int:
        return len(self.members)

    def add(self, arch: Architecture, score: float, size: int | None) -> None:
        if arch in self.where:
            return
        self.where[arch] = len(self.members)
        self.members.append(arch)
        self.scores[arch] = score
        heapq.heappush(self.heap, (score, next(self.counter), arch))
        while size is not None and len(self.members) > size:
            self._drop(heapq.heappop(self.heap)[2])

    def _drop(self, arch: Architecture) -> None:
        i, last = self.where.pop(arch), self.members.pop()
        if last != arch:
            self.members[i], self.where[last] = last, i
        del self.scores[arch]

    def random(self, rng: np.random.Generator) -> Architecture:
        return self.members[int(rng.integers(len(self.members)))]

    def best(self) -> tuple[Architecture, float]:
        arch = max(self.members, key=self.scores.__getitem__)
        return arch, self.scores[arch]


def _proxy_name(value: object) -> bool:
    """Whether ``value`` names a registered proxy or an ``a+b`` combination of them."""
    if not isinstance(value, str):
        return False
    get_proxy(value)
    return True


@register
class ZenNAS(AskTellStrategy):
    """Zen-NAS (Lin et al., 2021) and ZenDet (Sun et al., 2022): zero-shot evolution, no training.

    levels <- K MACs limits at quantiles of random architectures' MACs
    repeat until the ledger cannot pay the next score (or ``iterations`` candidates, a safety cap):
        level <- the next level in turn
        if the level has at most 10 members: child <- a random architecture (the authors' start)
        else: child <- a random member of the level mutated twice (the authors' two replacements)
        reject the child if its MACs exceed the level's limit (MACs are free; backbone MACs where the space has a table)
        score it with the data-free proxy (charged; a network's score is never paid twice)
        add it to every level whose limit it fits; each drops its worst member while over the population
    return the best member of each level, highest score first

    As the authors' ``evolution_search.py``: mutation only, the worst member dies, the best under
    the constraint is the answer. The authors run one search per constraint; here the K levels
    take turns and share every score (a network under a tight limit also fits the looser ones),
    so no level's scores are lost to the others. The population is the paper's scaled to the
    budget (``paper_population``), decided after the random start from the compute the first
    scores took. Zen trains nothing and has no validation metric, so it records no evaluations in
    the archive (its proxy scores are not validation estimates); the runner selects its first
    proposal, the highest-scoring one.

    Scores: a network's score is one draw of the proxy's Gaussian weights and inputs seeded by
    ``score_seed``: by default the same draw in every search, as zero-cost benchmark tables keep
    one score per network, so that a per-machine table (``score_cache``, under
    ``$NASBENCH_CACHE``) answers for a network any search scored before; the ledger is charged the
    proxy's compute either way. ``score_seed=None`` draws with each search's seed instead.

    Hyper-parameters:
      population: members kept per constraint; ``auto`` scales the authors' 512 to the budget.
      iterations: safety cap on candidates drawn, rejected ones included (authors: 480,000).
      constraints: MACs constraints as quantiles of random architectures' MACs, at most K of
        them; empty gives K levels evenly spread, 1/K .. 1.
      proxy: a proxy name or ``a+b`` combination; ``auto`` is ``zendet`` on the detection task
        (``det``) and ``zen`` on every other task.
      range_samples: random architectures whose MACs place the constraints (also the first random candidates).
      score_seed: seed of the proxy's draws; None: the search seed.
      score_cache: keep scores in the per-machine table (read and appended).
    """

    name = "zen"
    description = "Zen-NAS/ZenDet zero-shot evolution: maximise a data-free proxy under MACs constraints until the budget is spent"
    requires = frozenset({"sample", "mutate", "backbone"})
    budget_in_macs = True
    parameter_constraints = {
        "population": [Options("auto"), Interval(int, 1, 100_000)],
        "iterations": Interval(int, 1, 100_000_000),
        "constraints": TupleOf(Interval(float, 0.0, 1.0, closed="right")),
        "proxy": [Options("auto"), Satisfies(_proxy_name, f"a proxy ({', '.join(sorted(PROXIES))}) or an a+b combination")],
        "range_samples": Interval(int, 1, 100_000),
        "score_seed": [Interval(int, 0, 2**31 - 1), None],
        "score_cache": Boolean(),
    }

    def __init__(
        self,
        *,
        population: int | str = "auto",
        iterations: int = PAPER_ITERATIONS,
        constraints: tuple[float, ...] = (),
        proxy: str = "auto",
        range_samples: int = 64,
        score_seed: int | None = 0,
        score_cache: bool = True,
    ) -> None:
        self.population = population
        self.iterations = iterations
        self.constraints = constraints
        self.proxy = proxy
        self.range_samples = range_samples
        self.score_seed = score_seed
        self.score_cache = score_cache

    def proxy_for(self, task: str) -> str:
        """The proxy this search maximises on ``task``."""
        if self.proxy != "auto":
            return self.proxy
        return "zendet" if task == "det" else "zen"

    def quantiles(self, k: int) -> tuple[float, ...]:
        """The constraint levels as MACs quantiles: the given ones, or K evenly spread."""
        if len(self.constraints) > k:
            raise ConfigError(f"strategy 'zen': {len(self.constraints)} constraints give more than K={k} proposals")
        return tuple(self.constraints) or tuple((i + 1) / k for i in range(k))

    def check(self, space: "SearchSpace", tasks: Mapping[str, "Task"], k: int) -> None:
        super().check(space, tasks, k)
        self.quantiles(k)
        for task in tasks:
            missing = get_proxy(self.proxy_for(task)).requires - space.capabilities
            if missing:
                raise ConfigError(f"strategy 'zen': proxy {self.proxy_for(task)!r} needs {', '.join(sorted(missing))}, "
                                  f"which space {space.name!r} lacks")

    # -- the hooks ------------------------------------------------------------------------
    def setup(self, ctx: SearchContext) -> None:
        self.proxy_ = Drawn(get_proxy(self.proxy_for(ctx.task)), self.score_seed, self.score_cache)
        self.pool_ = [ctx.space.sample(ctx.rng) for _ in range(self.range_samples)]
        measure, known = backbone_macs(ctx), {}
        self.macs_ = lambda arch: known[arch] if arch in known else known.setdefault(arch, measure(arch))
        limits = np.quantile([self.macs_(a) for a in self.pool_], self.quantiles(ctx.k))
        self.levels_ = [_Population(float(limit)) for limit in limits]
        self.size_: int | None = None if self.population == "auto" else int(self.population)
        self.scores_: dict[Architecture, float] = {}  # a network's score is deterministic: never pay twice
        self.iteration_ = 0

    def has_next(self, ctx: SearchContext) -> bool:
        return self.iteration_ < self.iterations

    def ask(self, ctx: SearchContext) -> list[Architecture]:
        self.level_ = self.levels_[self.iteration_ % len(self.levels_)]
        self.iteration_ += 1
        if len(self.level_) <= RANDOM_START:
            child = self.pool_.pop() if self.pool_ else ctx.space.sample(ctx.rng)
        else:
            if self.size_ is None:
                self.size_ = paper_population(self._expected_scores(ctx) / len(self.levels_))
                log.info("zen: population %d per constraint", self.size_)
            child = self._mutated(ctx, self.level_.random(ctx.rng))
        if self.macs_(child) > self.level_.limit:
            return []  # over the constraint: rejected before any score is paid
        return [child]

    def assess(self, ctx: SearchContext, arch: Architecture) -> float | None:
        """The child's score, or None when it was scored before (the levels already hold it or anything better)."""
        if arch in self.scores_:
            return None
        self.scores_[arch] = ctx.score(arch, self.proxy_)
        return self.scores_[arch]

    def tell(self, ctx: SearchContext, archs: list[Architecture], results: list[float | None]) -> None:
        for arch, score in zip(archs, results):
            if score is None:
                continue
            macs = self.macs_(arch)
            for level in self.levels_:
                if macs <= level.limit:
                    level.add(arch, score, self.size_)

    def propose(self, ctx: SearchContext) -> Proposals:
        best = dict(level.best() for level in getattr(self, "levels_", []) if len(level))
        return sorted(best, key=best.__getitem__, reverse=True)

    # -- helpers ----------------------------------------------------------------------------
    def _expected_scores(self, ctx: SearchContext) -> float:
        """Scores the whole budget pays, from what the scores so far cost (any budget unit)."""
        made = len(self.scores_)
        return made * ctx.budget / ctx.used if ctx.used > 0 else float(self.iterations)

    @staticmethod
    def _mutated(ctx: SearchContext, parent: Architecture) -> Architecture:
        """``parent`` mutated twice (a second mutation that undoes the first is dropped)."""
        once = ctx.space.mutate(parent, ctx.rng)
        twice = ctx.space.mutate(once, ctx.rng)
        return once if twice == parent else twice


def backbone_macs(ctx: SearchContext) -> Callable[[Architecture], float]:
    """The MACs the constraints limit: the backbone's, exact from the space's latency table, where it has one.

    ZenDet limits the backbone's FLOPs (the detector's head is not searched), and the table
    answers in microseconds where ``ctx.cost`` builds the network and counts its FLOPs (about
    30 ms on the mobile space against 60 ms for a zen score). Elsewhere (NAS-Bench-201's shipped
    cost table, whose networks end in a 64 x classes classifier) the whole network's ``ctx.cost``.
    """
    if "latency" not in ctx.space.capabilities:
        return lambda arch: ctx.cost(arch).macs
    from spaces.latency_lut import load_table

    table, space = load_table(ctx.space, ctx.network_task()), ctx.space
    return lambda arch: table.backbone_macs(space, arch)


# -- scores: one draw per network, kept per machine --------------------------------------------
class Drawn(Proxy):
    """``proxy`` drawing with a fixed ``seed`` (None: the caller's), answered from the machine's score table when known.

    Charged exactly as ``proxy`` (same ``passes``); only the work of recomputing a known score is saved.
    """

    def __init__(self, proxy: Proxy, seed: int | None, cached: bool = True) -> None:
        self.proxy, self.seed, self.cached = proxy, seed, cached
        self.name = proxy.name  # type: ignore[misc]
        self.requires = proxy.requires  # type: ignore[misc]

    @property
    def passes(self) -> float:
        return self.proxy.passes

    def compute(self, cost: Cost) -> float:
        return self.proxy.compute(cost)

    def score(self, subject: Subject, seed: int) -> float:
        seed = seed if self.seed is None else self.seed
        table = ScoreTable.of(self.proxy, subject) if self.cached else None
        key = f"{subject.arch.key}@{seed}"
        if table is not None and key in table:
            return table[key]
        value = self.proxy.score(subject, seed)
        if table is not None:
            table[key] = value
        return value

    def _score(self, subject: Subject, seed: int) -> float:  # pragma: no cover - score() is overridden
        raise NotImplementedError


def describe(value: Any) -> Any:
    """A JSON-able description of a proxy's settings (nested proxies included, private state left out)."""
    if isinstance(value, Proxy):
        settings = {k: describe(v) for k, v in sorted(vars(value).items()) if not k.startswith("_")}
        source = inspect.getsourcefile(type(value))
        digest = hashlib.sha1(Path(source).read_bytes()).hexdigest()[:12] if source else ""
        return {"class": f"{type(value).__module__}.{type(value).__qualname__}", "source": digest, **settings}
    if isinstance(value, (list, tuple)):
        return [describe(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


class ScoreTable(dict):
    """Known scores of one (proxy, space, input shape, machine), appended to a JSON-lines file as they come.

    ``$NASBENCH_CACHE/scores-<fingerprint>.jsonl`` (default ``~/.cache/nasbench``), like the latency
    tables; the fingerprint covers what a score depends on: the proxy's class, source and settings,
    the space's name and configuration, the input shape, torch, the CPU and the thread count.
    Appends are single small writes, so processes sharing a table do not corrupt it; a line that
    does not parse is skipped.
    """

    _open: dict[Path, "ScoreTable"] = {}

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path: Path | None = path
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    row = json.loads(line)
                    super().__setitem__(row["key"], float(row["score"]))
                except (ValueError, KeyError, TypeError):
                    continue

    @classmethod
    def of(cls, proxy: Proxy, subject: Subject) -> "ScoreTable":
        path = cache_dir() / f"scores-{fingerprint(proxy, subject.space, subject.input_shape)}.jsonl"
        if path not in cls._open:
            cls._open[path] = cls(path)
        return cls._open[path]

    def __setitem__(self, key: str, value: float) -> None:
        super().__setitem__(key, value)
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as f:
                f.write(json.dumps({"key": key, "score": value}) + "\n")
        except OSError as exc:  # a read-only cache costs time, never a result
            log.warning("zen: cannot append to %s: %s", self.path, exc)
            self.path = None


def cache_dir() -> Path:
    return Path(os.environ.get("NASBENCH_CACHE", Path.home() / ".cache" / "nasbench"))


def fingerprint(proxy: Proxy, space: Any, input_shape: tuple[int, ...]) -> str:
    """Hash of what a proxy score depends on besides the architecture and the seed."""
    from spaces.latency_lut import cpu_model

    config = {
        "proxy": describe(proxy), "space": space.name,
        "space_config": {k: describe(v) for k, v in sorted(vars(space).items()) if not k.startswith("_")},
        "input": list(input_shape), "torch": torch.__version__, "cpu": cpu_model(), "threads": torch.get_num_threads(),
    }
    return hashlib.sha1(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
