"""The two units of work an executor runs: one search, and one final evaluation.

Both are plain functions of picklable specs that return JSON-ready dicts, so the in-process,
process-pool and Ray executors run them alike. A search job builds its tasks without the
test split; only a final job builds the test split.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from nasbench.archive import Archive
from nasbench.errors import BudgetExhausted, SearchTimeout
from nasbench.ledger import Ledger
from nasbench.records import Architecture
from nasbench.registry import SPACES, STRATEGIES
from nasbench.runner.audit import expected_seconds
from nasbench.runner.config import SEARCH_SPLITS, SearchSpec
from nasbench.runner.fingerprint import machine
from nasbench.threads import torch_threads

ALL_SPLITS = ("train", "val", "test")

log = logging.getLogger(__name__)


@contextlib.contextmanager
def wall_clock_limit(seconds: float) -> Iterator[None]:
    """Raise ``SearchTimeout`` in this (main) thread after ``seconds``, even in a loop that never calls ctx."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise SearchTimeout(f"wall-clock limit of {seconds:g} s reached")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class SearchJob:
    spec: SearchSpec
    space: str
    k: int
    time_limit: float
    job_cpus: int


@dataclass(frozen=True)
class FinalJob:
    """One final training: with the shared final recipe, or (``recipe``) with the one its strategy recommended."""

    space: str
    task: str
    arch: str
    seed: int
    job_cpus: int
    recipe: tuple[tuple[str, Any], ...] | None = None

    @property
    def key(self) -> str:
        own = "" if self.recipe is None else "|recipe:" + ",".join(f"{k}={v}" for k, v in self.recipe)
        return f"{self.task}|{self.arch}|seed{self.seed}{own}"


def run_search(job: SearchJob) -> dict[str, Any]:
    """Search once; return proposals per task, the archive rows and the compute it spent (never raises)."""
    from nasbench.context import SearchContext
    from nasbench.tasks import get_task

    spec = job.spec
    attempt = uuid.uuid4().hex[:12]
    with torch_threads(job.job_cpus):
        space = SPACES.get(job.space)()
        evaluators = {t: get_task(t, splits=SEARCH_SPLITS).evaluator(space) for t in spec.tasks}
        ledger, archive, recipes = Ledger(sum(spec.budgets.values()), spec.unit), Archive(), {}
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        ctx = SearchContext(space, evaluators, ledger, archive, spec.seed, job.k,
                            deadline=time.monotonic() + job.time_limit, recipes=recipes)
        status, proposals = "ok", {}
        try:
            with wall_clock_limit(job.time_limit):
                strategy = STRATEGIES.get(spec.strategy).create(**spec.params)
                found = strategy.run(ctx)
            proposals = {t: _keys(found, t, space, spec.tasks) for t in spec.tasks}
        except KeyboardInterrupt:
            raise
        except SearchTimeout as exc:
            status = f"timeout: {exc}"
        except BudgetExhausted as exc:  # a strategy that let it escape its own bookkeeping
            status = f"failed: BudgetExhausted escaped the search: {exc}"
        except BaseException as exc:  # noqa: BLE001 - a plug-in's sys.exit or crash is a failed run, not ours
            status = f"failed: {type(exc).__name__}: {_one_line(exc)}"
            log.info("%s seed %d failed; traceback:", spec.strategy, spec.seed, exc_info=True)
        wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    for task, archs in proposals.items():
        if len(archs) > job.k and status == "ok":
            status, proposals = f"failed: proposed {len(archs)} architectures for {task}, K={job.k}", {}
    given = [dict(g) for g in getattr(ledger, "given", [])]
    expected = expected_seconds(job.space, spec.tasks[0], ledger.spent.macs + sum(g.get("macs", 0.0) for g in given))
    rows = [
        {"fingerprint": spec.fingerprints[e.evaluation.task], "attempt": attempt, "strategy": spec.strategy,
         "seed": spec.seed, "index": i, "budget_used": e.budget_used, "budget": ledger.budget, **e.evaluation.to_dict()}
        for i, e in enumerate(archive) if e.evaluation.task in spec.fingerprints
    ]
    used = [e.budget_used for e in archive]
    return {
        "ledger_check": {"archive_macs": sum(e.evaluation.compute for e in archive), "ledger_macs": ledger.spent.macs,
                         "monotonic": all(b >= a for a, b in zip(used, used[1:])) and all(u <= ledger.budget for u in used)},
        "fingerprints": dict(spec.fingerprints), "attempt": attempt, "strategy": spec.strategy, "tasks": list(spec.tasks),
        "seed": spec.seed, "status": status, "proposals": proposals if status == "ok" else {},
        "budget": ledger.budget, "unit": ledger.unit, "used": ledger.used, "macs": ledger.spent.macs,
        "queries": ledger.spent.queries, "wall_seconds": wall, "cpu_seconds": cpu, "expected_seconds": expected,
        "given": given, "stop_reason": _stop_reason(status, ledger), "archive": rows,
        "recipes": {t: {key: dataclasses.asdict(r) for key, r in recipes.get(t, {}).items() if key in proposals.get(t, [])}
                    for t in proposals},
        "machine": {"cpu": machine()["cpu"], "threads": job.job_cpus, "date": time.strftime("%Y-%m-%d")},
    }


def run_final(job: FinalJob) -> dict[str, Any]:
    """Train ``job.arch`` with the task's final recipe and score it on the test split."""
    from nasbench.tasks import get_task

    from nasbench.records import Fidelity
    from nasbench.training import Recipe

    with torch_threads(job.job_cpus):
        space = SPACES.get(job.space)()
        evaluator = get_task(job.task, splits=ALL_SPLITS).evaluator(space)
        arch = space.from_key(job.arch)
        if job.recipe is None:
            return evaluator.evaluate(arch, evaluator.final_fidelity, job.seed, split="test").to_dict()
        recipe = Recipe(**dict(job.recipe))
        fidelity = Fidelity(recipe.epochs or evaluator.final_fidelity.epochs)
        return evaluator.evaluate(arch, fidelity, job.seed, split="test", recipe=recipe).to_dict()


def _keys(found: Any, task: str, space: Any, tasks: tuple[str, ...]) -> list[str]:
    """A strategy's proposals for ``task`` as de-duplicated keys of valid architectures of ``space``."""
    if isinstance(found, Mapping):
        unknown = set(found) - set(tasks)
        if unknown:
            raise TypeError(f"proposals for tasks {sorted(unknown)} that were not searched")
        found = found.get(task, [])
    if isinstance(found, (str, bytes)) or not hasattr(found, "__iter__"):
        raise TypeError(f"search returned {type(found).__name__}, expected architectures")
    keys = []
    for arch in found:
        if not isinstance(arch, Architecture):
            raise TypeError(f"search returned a {type(arch).__name__} among its architectures")
        if arch.space != space.name:
            raise TypeError(f"proposed an architecture of space {arch.space!r} in a {space.name!r} comparison")
        keys.append(space.make(arch.genes).key)
    return list(dict.fromkeys(keys))


def _stop_reason(status: str, ledger: Ledger) -> str:
    if status != "ok":
        return status.split(":", 1)[0]
    left = ledger.remaining / ledger.budget
    return "budget spent" if left < 0.01 else f"strategy returned with {100 * left:.0f}% of the budget left"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] if text else "(no message)"
