"""The final-evaluation stage: every proposal trained once per (task, architecture, seed[, own recipe]).

The cache lives in the results folder (``finals_cache.jsonl``), so it is shared by every strategy,
worker and re-run; a run is recorded as soon as all of its final trainings are in it.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from nasbench.runner.config import Plan
from nasbench.runner.executors import Executor, Lost
from nasbench.runner.jobs import FinalJob, run_final
from nasbench.runner.store import FINALS_CACHE, ResultStore


def final_stage(plan: Plan, store: ResultStore, searches: Mapping[tuple, dict[str, Any]], executor: Executor,
                notify: Callable[..., None], record: Callable[[tuple, dict[str, Any], dict[str, list]], None]) -> None:
    """Train every proposal once (cache on disk), then record each run as soon as its finals are in."""
    cache = store.finals_cache()
    jobs = sorted({job for search in searches.values() for job in final_jobs(plan, search)}, key=lambda j: j.key)
    missing = [job for job in jobs if job.key not in cache]
    notify("finals", total=len(missing), cached=len(jobs) - len(missing))
    waiting = dict(searches)

    def record_ready() -> None:
        for key, search in list(waiting.items()):
            if all(job.key in cache for job in final_jobs(plan, search)):
                finals = {t: [with_own_recipe(cache, plan, search, t, a) for a in archs] for t, archs in search["proposals"].items()}
                record(key, search, finals)
                del waiting[key]

    record_ready()
    for index, result, attempts in executor.map_unordered(run_final, missing) if missing else ():
        if isinstance(result, Lost):
            result = {"arch": missing[index].arch, "task": missing[index].task, "metric": None, "macs": 0,
                      "status": "failed", "error": result.reason}
        cache[missing[index].key] = result
        store.append(FINALS_CACHE, [{"key": missing[index].key, "evaluation": result}])
        notify("final", key=missing[index].key)
        record_ready()


def final_jobs(plan: Plan, search: Mapping[str, Any]) -> list[FinalJob]:
    """A search's final trainings: each proposal with the shared recipe, and with its own recommended one."""
    s, seed = plan.settings, search["seed"]
    jobs = []
    for task, archs in search["proposals"].items():
        for arch in archs:
            jobs.append(FinalJob(s.space, task, arch, seed, s.job_cpus))
            own = search.get("recipes", {}).get(task, {}).get(arch)
            if own is not None:
                jobs.append(FinalJob(s.space, task, arch, seed, s.job_cpus, tuple(sorted(own.items()))))
    return jobs


def with_own_recipe(cache: Mapping[str, Any], plan: Plan, search: Mapping[str, Any], task: str, arch: str) -> dict[str, Any]:
    """The shared-recipe final of ``arch``, with the test metric under its own recipe as ``own_recipe_metric``."""
    s = plan.settings
    final = dict(cache[FinalJob(s.space, task, arch, search["seed"], s.job_cpus).key])
    own = search.get("recipes", {}).get(task, {}).get(arch)
    if own is not None:
        final["own_recipe_metric"] = cache[FinalJob(s.space, task, arch, search["seed"], s.job_cpus, tuple(sorted(own.items()))).key]["metric"]
    return final
