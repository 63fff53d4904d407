"""The comparison driver: searches, then final evaluations, each streamed into the result store.

Stage 1 runs every search that has no stored record of the same fingerprint (failed ones are
retried); stage 2 trains every proposal with the final recipe once per (task, architecture,
seed), through a cache on disk shared by all strategies, workers and re-runs. The driver alone
writes the store; workers only return records.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

from nasbench.errors import ConfigError
from nasbench.runner.config import Plan, SearchSpec, Settings, validate
from nasbench.runner.executors import Executor, InProcess, Lost, make_executor
from nasbench.runner.finals import final_stage
from nasbench.runner.jobs import SearchJob, run_search
from nasbench.runner.store import ARCHIVE, RUNS, SEARCHES, ResultStore, first_difference, jsonable
from nasbench.runner.summary import run_record

Notify = Callable[..., None]


def _silent(event: str, **info: Any) -> None:
    return None


def stale_runs(plan: Plan, store: ResultStore) -> list[SearchSpec]:
    """Searches still to do; a stored run of other settings is refused, naming the first difference."""
    runs = store.runs()
    todo = []
    for spec in plan.searches:
        missing = False
        for task in spec.tasks:
            old = runs.get((spec.strategy, task, spec.seed))
            if old is not None and old["fingerprint"] != spec.fingerprints[task]:
                difference = first_difference(old["settings"], jsonable(spec.run_settings[task])) or "code or shared settings"
                raise ConfigError(
                    f"{store.folder} holds {spec.strategy}/{task}/seed {spec.seed} run with other settings ({difference}); "
                    "use another --out, or --beside to start these settings in a new folder next to it"
                )
            missing |= old is None or old["status"] != "ok"
        if missing:
            todo.append(spec)
    return todo


def compare(settings: Settings, out: Path | str, *, executor: str = "inprocess", workers: int = 1,
            notify: Notify = _silent, beside: bool = False, **options: Any) -> tuple[Plan, ResultStore, list[dict[str, Any]]]:
    """Validate ``settings``, open (lock) ``out`` and run what is missing; the caller closes the returned store.

    One executor serves both stages (every search ends before the first final training starts, so no
    search shares a worker with test data); final evaluations of tabular tasks are look-ups and run
    in this process whatever ``executor`` says.
    """
    the_plan = validate(settings)
    if executor != "inprocess" and not (executor == "pool" and workers == 1):
        _check_installed(settings)
    store = ResultStore.open_for(Path(out), the_plan.identity, beside)
    try:
        with make_executor(executor, workers, **options) as pool:
            finals = InProcess() if set(settings.tasks) <= the_plan.tabular else pool
            return the_plan, store, run_comparison(the_plan, store, pool, finals, notify)
    except BaseException:
        store.close()
        raise


def _check_installed(settings: Settings) -> None:
    """Worker processes find plug-ins through entry points only: refuse names registered in this process alone."""
    from nasbench.registry import SPACES, STRATEGIES, TASKS

    for registry, names in ((STRATEGIES, settings.strategies), (SPACES, (settings.space,)), (TASKS, settings.tasks)):
        for name in names:
            if not registry.installed(name):
                raise ConfigError(f"{registry.kind} {name!r} is registered in this process only, so worker processes cannot "
                                  "find it: declare it as an entry point (see README, Plug-ins) or use --workers 1")


def run_comparison(plan: Plan, store: ResultStore, searcher: Executor, finisher: Executor,
                   notify: Notify = _silent) -> list[dict[str, Any]]:
    """Run what is missing from ``store`` and return the run records of ``plan`` (stored and new)."""
    s = plan.settings
    todo = stale_runs(plan, store)
    stored = store.searches()
    searches: dict[tuple[str, int, str], dict[str, Any]] = {}
    to_search = []
    for spec in todo:
        old = stored.get(spec.key)
        if old is not None and old["status"] == "ok" and old["fingerprints"] == dict(spec.fingerprints):
            searches[spec.key] = old
        else:
            to_search.append(spec)
    notify("plan", searches=len(to_search), runs=sum(len(spec.tasks) for spec in todo), k=s.k)
    specs = {spec.key: spec for spec in todo}
    jobs = [SearchJob(spec, s.space, s.k, s.time_limit, s.job_cpus) for spec in to_search]
    if jobs:
        for index, result, attempts in searcher.map_unordered(run_search, jobs):
            if isinstance(result, Lost):
                result = _lost_search(jobs[index].spec, result)
            result["attempts"] = attempts
            store.append(SEARCHES, [result])
            searches[jobs[index].spec.key] = result
            notify("search", record=result)
            if result["status"] != "ok":
                _record(plan, store, specs[jobs[index].spec.key], result, {}, notify)
    ok = {k: v for k, v in searches.items() if v["status"] == "ok"}
    final_stage(plan, store, ok, finisher, notify, lambda key, search, finals: _record(plan, store, specs[key], search, finals, notify))
    return [r for key, r in store.runs().items() if _planned(plan, key)]


def _record(plan: Plan, store: ResultStore, spec: SearchSpec, search: dict[str, Any],
            finals: Mapping[str, list[dict[str, Any]]], notify: Notify) -> None:
    """Write each task's archive rows (once per attempt) and then its run record."""
    from nasbench.tasks import get_task

    for task in spec.tasks:
        front = get_task(task, splits=("train", "val", "test")).true_front() if search["status"] == "ok" else None
        rows = [r for r in search.get("archive", []) if r["task"] == task]
        if front is not None:
            rows = _with_test_metric(plan, task, rows)
        if store.first_archiving(search["fingerprints"][task], search["attempt"]):
            store.append(ARCHIVE, rows)
        run = run_record(search, task, finals.get(task, []), spec.budgets[task], plan.reference_macs[task], front,
                         spec.run_settings[task])
        store.append(RUNS, [run])
        notify("run", record=run)


def _with_test_metric(plan: Plan, task: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tabular benchmarks: add each evaluated cell's test metric (a free look-up) for test-side anytime curves."""
    from nasbench.registry import SPACES
    from nasbench.tasks import get_task

    space = SPACES.get(plan.settings.space)()
    evaluator = get_task(task, splits=("train", "val", "test")).evaluator(space)
    return [{**r, "test_metric": evaluator.evaluate(space.from_key(r["arch"]), evaluator.final_fidelity, 0, split="test").metric}
            for r in rows]


def _lost_search(spec: SearchSpec, lost: Lost) -> dict[str, Any]:
    return {"fingerprints": dict(spec.fingerprints), "attempt": f"lost{lost.attempts}", "strategy": spec.strategy,
            "tasks": list(spec.tasks), "seed": spec.seed, "status": f"failed: {lost.reason}", "proposals": {},
            "budget": sum(spec.budgets.values()), "unit": spec.unit, "archive": [], "stop_reason": "failed"}


def _planned(plan: Plan, key: tuple[str, str, int]) -> bool:
    strategy, task, seed = key
    s = plan.settings
    return strategy in s.strategies and task in s.tasks and seed in s.seed_list()
