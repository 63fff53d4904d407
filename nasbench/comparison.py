"""The comparison runner: every strategy gets the same space, tasks, budget and final recipe."""
from __future__ import annotations

import json
import logging
import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from nasbench import indicators
from nasbench.archive import Archive
from nasbench.benchmarks import Benchmark, get_benchmark
from nasbench.context import SearchContext
from nasbench.errors import BudgetExhausted, ConfigError, CorruptResults
from nasbench.evaluator import Evaluator
from nasbench.ledger import UNITS, Ledger
from nasbench.records import Architecture, Evaluation

log = logging.getLogger(__name__)

BUDGET_UNITS = ("evals",) + UNITS


@dataclass(frozen=True)
class ComparisonConfig:
    """What to compare. ``budget`` is per (strategy, task, seed), in ``budget_unit``.

    ``evals`` counts trainings of the space's reference (mid-size) architecture at search
    fidelity, converted to MACs per task so that the ledger stays in MACs. A multitask strategy
    (``Strategy.multitask``) searches all tasks of a seed in one run whose budget is the sum of
    the per-task budgets: the same total compute a single-task strategy gets over the tasks.
    """

    strategies: tuple[str, ...]
    tasks: tuple[str, ...]
    benchmark: str = "embedded"
    budget: float = 20.0
    budget_unit: str = "evals"
    seeds: int = 1
    k: int = 5
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def validate(self) -> Benchmark:
        """Check every setting before any compute is spent; returns the benchmark."""
        from strategies import get_strategy

        bench = get_benchmark(self.benchmark)
        if not self.strategies:
            raise ConfigError("no strategy given")
        for name in self.strategies:
            get_strategy(name)
        bench.check_tasks(self.tasks)
        if self.budget_unit not in BUDGET_UNITS:
            raise ConfigError(f"unknown budget unit {self.budget_unit!r}; choose from {', '.join(BUDGET_UNITS)}")
        if not (math.isfinite(self.budget) and self.budget > 0):
            raise ConfigError(f"budget must be > 0, got {self.budget:g}")
        if self.seeds <= 0:
            raise ConfigError(f"seeds must be >= 1, got {self.seeds}")
        if self.k <= 0:
            raise ConfigError(f"k (proposals per task) must be >= 1, got {self.k}")
        for name, params in self.params.items():
            if name not in self.strategies:
                raise ConfigError(f"parameters given for {name!r}, which is not among the strategies {', '.join(self.strategies)}")
            get_strategy(name).create(**params)
        return bench

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["params"] = {k: dict(v) for k, v in self.params.items()}
        return d


@dataclass(frozen=True)
class RunResult:
    """One (strategy, task, seed) search and the final evaluation of its proposals."""

    strategy: str
    task: str
    seed: int
    status: str
    budget: float
    budget_unit: str
    k: int
    compute_used: float
    wall_seconds: float
    n_evaluations: int
    finals: tuple[dict[str, Any], ...]
    hypervolume: float
    best_metric: float
    selected_metric: float
    indicators: Mapping[str, float] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.strategy, self.task, self.seed)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["finals"] = list(self.finals)
        d["indicators"] = dict(self.indicators)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RunResult":
        return cls(**{**d, "finals": tuple(d["finals"]), "indicators": dict(d.get("indicators", {}))})


def normalized_hypervolume(metrics: np.ndarray, macs: np.ndarray, reference_macs: float) -> float:
    """HV of (1 - metric, MACs / reference MACs) with the fixed reference point (1, 1): in [0, 1]."""
    if len(metrics) == 0:
        return 0.0
    F = np.column_stack([1.0 - metrics, macs / reference_macs])
    return indicators.hypervolume(F, np.array([1.0, 1.0]))


class Comparison:
    """Runs the (strategy x task x seed) grid and writes results incrementally to ``out``.

    Runs already in ``out/runs.jsonl`` with the same settings are skipped (resume), so an
    interrupted comparison loses nothing it had finished.
    """

    RUNS = "runs.jsonl"
    ARCHIVE = "archive.jsonl"
    CONFIG = "config.json"

    def __init__(
        self,
        config: ComparisonConfig,
        out: Path | None = None,
        on_event: Callable[..., None] | None = None,
        workers: int = 1,
    ) -> None:
        if workers < 1:
            raise ConfigError(f"workers must be >= 1, got {workers}")
        self.config = config
        self.workers = workers
        self.bench = config.validate()
        self.out = Path(out) if out is not None else None
        self._notify = on_event or (lambda *args, **kwargs: None)
        from spaces import get_space

        self.space = get_space(self.bench.space)
        self._evaluators: dict[str, Evaluator] = {}
        if self.out is not None:
            self._prepare_out()

    # -- output folder -------------------------------------------------------------------
    def _prepare_out(self) -> None:
        assert self.out is not None
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            probe = self.out / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise ConfigError(f"output folder {str(self.out)!r} is not writable ({exc.strerror}); choose another --out") from None
        (self.out / self.CONFIG).write_text(json.dumps(self.config.to_dict(), indent=2))

    def completed(self) -> dict[tuple[str, str, int], RunResult]:
        """Runs already recorded in the output folder under the same budget and K."""
        if self.out is None or not (self.out / self.RUNS).exists():
            return {}
        return {
            run.key: run
            for run in load_runs(self.out / self.RUNS)
            if run.task in self.config.tasks
            and run.k == self.config.k
            and (run.budget, run.budget_unit) == self.budget_for(run.task)
        }

    def evaluator(self, task: str) -> Evaluator:
        if task not in self._evaluators:
            self._evaluators[task] = self.bench.make_evaluator(self.space, task)
        return self._evaluators[task]

    def budget_for(self, task: str) -> tuple[float, str]:
        """The ledger budget and unit of one run on ``task``."""
        if self.config.budget_unit != "evals":
            return self.config.budget, self.config.budget_unit
        ev = self.evaluator(task)
        return self.config.budget * ev.compute(self.space.reference(), ev.search_fidelity), "macs"

    # -- running -------------------------------------------------------------------------
    def run(self) -> list[RunResult]:
        from strategies import get_strategy

        done = self.completed()
        tasks = {t: self.evaluator(t).network_task() for t in self.config.tasks}
        for name in self.config.strategies:
            get_strategy(name).create(**self.config.params.get(name, {})).check(self.space, tasks, self.config.k)
        grid = [(n, t, s) for n in self.config.strategies for t in self.config.tasks for s in range(self.config.seeds)]
        results = {key: done[key] for key in grid if key in done}
        todo = [key for key in grid if key not in done]
        # one job per search: a multitask strategy's tasks of one seed share one
        jobs = list(dict.fromkeys(
            (n, self.config.tasks if get_strategy(n).multitask else (t,), s) for n, t, s in todo
        ))
        if self.workers > 1 and len(jobs) > 1:
            finished = self._run_parallel(jobs)
        else:
            finished = (run for job in jobs for run in self.run_job(*job))
        for result, archive in finished:
            if result.key in results:  # a multitask search re-run for one missing task
                continue
            self._record(result, archive)
            results[result.key] = result
        return [results[key] for key in grid]

    def _run_parallel(self, jobs: list[tuple[str, tuple[str, ...], int]]) -> Iterator[tuple[RunResult, list[dict[str, Any]]]]:
        """Searches in worker processes (one torch thread each), their runs yielded as they finish."""
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker, initargs=(self.config,)) as pool:
            futures = [pool.submit(_run_in_worker, job) for job in jobs]
            for future in as_completed(futures):
                for result, archive in future.result():
                    self._notify("run_end", result=result)
                    yield result, archive

    def run_job(self, name: str, tasks: tuple[str, ...], seed: int) -> list[tuple[RunResult, list[dict[str, Any]]]]:
        """One search over ``tasks`` (one task, or all of a multitask strategy's), then its finals.

        The budget is the sum of the tasks' budgets. Returns one run record per task with its
        archive rows; each record carries its task's budget, and the shared compute and search
        time split in proportion to the task budgets (the records of one search add up to its totals).
        """
        from strategies import get_strategy

        strategy = get_strategy(name).create(**self.config.params.get(name, {}))
        budgets = {t: self.budget_for(t) for t in tasks}
        ledger, archive = Ledger(sum(b for b, _ in budgets.values()), budgets[tasks[0]][1]), Archive()
        label = "+".join(tasks)
        ctx = SearchContext(
            self.space, {t: self.evaluator(t) for t in tasks}, ledger, archive, seed, self.config.k,
            on_evaluation=lambda e, led: self._notify("evaluation", strategy=name, task=label, seed=seed, ledger=led),
        )
        self._notify("run_start", strategy=name, task=label, seed=seed, ledger=ledger)
        start = time.perf_counter()
        status = "ok"
        try:
            found = strategy.run(ctx)
            proposals = {t: self._normalise(found, t) for t in tasks}
        except BudgetExhausted:
            proposals = {t: archive.front(t, self.config.k) for t in tasks}
        except Exception as exc:  # one strategy crashing must not stop the comparison
            log.exception("strategy %s failed on %s seed %d", name, label, seed)
            status, proposals = f"failed: {type(exc).__name__}: {exc}", {t: [] for t in tasks}
        search_seconds = time.perf_counter() - start
        runs = []
        rows = archive_rows(name, seed, archive)
        for task in tasks:
            archs, task_status = proposals[task], status
            if len(archs) > self.config.k:
                task_status, archs = f"failed: proposed {len(archs)} architectures for {task}, K={self.config.k}", []
            self._notify("finals", strategy=name, task=task, seed=seed, n=len(archs))
            evaluator = self.evaluator(task)
            finals = [evaluator.evaluate(a, evaluator.final_fidelity, seed, split="test") for a in archs]
            share = budgets[task][0] / ledger.budget
            result = self._summarise(name, task, seed, task_status, ledger, search_seconds, archive, finals, share)
            self._notify("run_end", result=result)
            runs.append((result, [row for row in rows if row["task"] == task]))
        return runs

    def _normalise(self, proposals: Any, task: str) -> list[Architecture]:
        """Proposals as a de-duplicated list of valid architectures of this space."""
        if isinstance(proposals, Mapping):
            proposals = proposals.get(task, [])
        archs = []
        for arch in proposals:
            if arch.space != self.space.name:
                raise ConfigError(f"proposed an architecture of space {arch.space!r} in a {self.space.name!r} comparison")
            archs.append(self.space.make(arch.genes))
        return list(dict.fromkeys(archs))

    def _summarise(
        self, name: str, task: str, seed: int, status: str, ledger: Ledger,
        search_seconds: float, archive: Archive, finals: list[Evaluation], share: float = 1.0,
    ) -> RunResult:
        val_metric = {e.arch: e.metric for e in archive.evaluations(task) if e.ok}
        selected = max(finals, key=lambda f: val_metric.get(f.arch, -np.inf), default=None)
        selected_metric = selected.metric if selected is not None else float("nan")
        ok = [f for f in finals if f.ok]
        metrics = np.array([f.metric for f in ok])
        macs = np.array([float(f.cost.macs) for f in ok])
        on_front = indicators.non_dominated(np.column_stack([1.0 - metrics, macs])) if ok else np.array([], bool)
        front_of = {f.arch: bool(m) for f, m in zip(ok, on_front)}
        rows = tuple(
            {
                "arch": f.arch.key,
                "metric": f.metric,
                "macs": f.cost.macs,
                "params": f.cost.params,
                "latency_ms": f.cost.latency_ms,
                "status": f.status.value,
                "on_front": front_of.get(f.arch, False),
                "selected": f is selected,
            }
            for f in finals
        )
        extra = dict(self.bench.indicators(task, metrics, macs, selected_metric)) if self.bench.indicators else {}
        return RunResult(
            strategy=name, task=task, seed=seed, status=status,
            budget=self.budget_for(task)[0], budget_unit=ledger.unit, k=self.config.k,
            compute_used=ledger.spent.macs * share, wall_seconds=search_seconds * share,
            n_evaluations=len(archive.evaluations(task)), finals=rows,
            hypervolume=normalized_hypervolume(metrics, macs, self.evaluator(task).reference_macs),
            best_metric=float(metrics.max()) if len(metrics) else float("nan"),
            selected_metric=selected_metric,
            indicators=extra,
        )

    # -- persistence ---------------------------------------------------------------------
    def _record(self, result: RunResult, archive: list[dict[str, Any]]) -> None:
        """Append a finished run and its archive to the output folder."""
        if self.out is None:
            return
        with open(self.out / self.ARCHIVE, "a") as f:
            f.writelines(json.dumps(row) + "\n" for row in archive)
        with open(self.out / self.RUNS, "a") as f:
            f.write(json.dumps(result.to_dict()) + "\n")


_worker_comparison: Comparison | None = None


def _init_worker(config: ComparisonConfig) -> None:
    global _worker_comparison
    import torch

    torch.set_num_threads(1)
    _worker_comparison = Comparison(config)


def _run_in_worker(job: tuple[str, tuple[str, ...], int]) -> list[tuple[RunResult, list[dict[str, Any]]]]:
    assert _worker_comparison is not None
    return _worker_comparison.run_job(*job)


def archive_rows(strategy: str, seed: int, archive: Archive) -> list[dict[str, Any]]:
    """A search's archive as JSON-ready rows, tagged with the strategy and seed."""
    return [
        {"strategy": strategy, "seed": seed, "index": i, "budget_used": entry.budget_used, **entry.evaluation.to_dict()}
        for i, entry in enumerate(archive)
    ]


def load_runs(path: Path) -> list[RunResult]:
    """Read ``runs.jsonl`` back; ``CorruptResults`` names the first bad line."""
    runs = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                runs.append(RunResult.from_dict(json.loads(line)))
            except (json.JSONDecodeError, TypeError, KeyError) as exc:
                raise CorruptResults(f"{path} line {number} is not a valid run record ({exc}); repair or remove it") from None
    return runs
