"""Settings of a comparison, checked before any compute, and the plan of searches they give.

Every bound below is documented in the README ("Limits"): a value outside it is a one-line
``ConfigError`` naming the setting, the value and the valid range.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from nasbench.errors import ConfigError
from nasbench.registry import SPACES, STRATEGIES, TASKS
from nasbench.runner.fingerprint import code_fingerprint, run_fingerprint, versions

BUDGET_UNITS = ("evals", "macs", "seconds", "queries")
#: Random architectures whose mean evaluation compute converts a ``queries`` budget to MACs.
QUERY_SAMPLES = 200
_MEAN_QUERY: dict[tuple[str, str, int], float] = {}
SEARCH_SPLITS = ("train", "val")

#: Upper bounds of the sizes a user can ask for (generous; they stop typos, not real work).
LIMITS = {"seeds": 10_000, "seed_start": 2**31 - 1, "k": 100, "budget_evals": 1e6, "workers": 64,
          "time_limit": 7 * 24 * 3600.0, "strategies": 100, "tasks": 20}


@dataclass(frozen=True)
class Settings:
    """What to compare. ``budget`` is per (strategy, task, seed) in ``budget_unit``.

    ``evals`` counts trainings of the space's reference (mid-size) architecture at search
    fidelity, converted to MACs per task. A multitask strategy searches all tasks of a seed in
    one run whose budget is the sum of the per-task budgets.
    """

    strategies: tuple[str, ...]
    tasks: tuple[str, ...]
    space: str
    budget: float
    budget_unit: str = "evals"
    seeds: int = 1
    seed_start: int = 0
    k: int = 5
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    time_limit: float = 6 * 3600.0
    job_cpus: int = 1

    def seed_list(self) -> range:
        return range(self.seed_start, self.seed_start + self.seeds)


@dataclass(frozen=True)
class SearchSpec:
    """One search job: a strategy on its task (or all tasks, when multitask) for one seed."""

    strategy: str
    tasks: tuple[str, ...]
    seed: int
    params: Mapping[str, Any]
    budgets: Mapping[str, float]
    unit: str
    fingerprints: Mapping[str, str]
    run_settings: Mapping[str, Mapping[str, Any]]

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.strategy, self.seed, "+".join(self.tasks))


@dataclass(frozen=True)
class Plan:
    """The validated settings, the folder identity they share, and the searches to run."""

    settings: Settings
    identity: Mapping[str, Any]
    searches: tuple[SearchSpec, ...]
    reference_macs: Mapping[str, float]
    task_settings: Mapping[str, Mapping[str, Any]]
    #: Tasks answered from a table (final evaluations are free look-ups there).
    tabular: frozenset[str]


def _bounded(name: str, value: Any, low: float, high: float, kind: type = int) -> None:
    ok = isinstance(value, kind) and not isinstance(value, bool) if kind is int else isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not (math.isfinite(value) and low <= value <= high):
        raise ConfigError(f"{name} must be a{'n integer' if kind is int else ' number'} in [{low:g}, {high:g}], got {value!r}")


def check_sizes(settings: Settings) -> None:
    """Types and ranges of the scalar settings."""
    if not settings.strategies:
        raise ConfigError(f"no strategy given; choose from {', '.join(STRATEGIES.names())}")
    if not settings.tasks:
        raise ConfigError(f"no task given; choose from {', '.join(TASKS.names())}")
    for name, values in (("strategies", settings.strategies), ("tasks", settings.tasks)):
        if len(values) > LIMITS[name]:
            raise ConfigError(f"at most {LIMITS[name]} {name} per comparison, got {len(values)}")
        if len(set(values)) != len(values):
            raise ConfigError(f"{name} listed twice: {', '.join(sorted({v for v in values if values.count(v) > 1}))}")
    if settings.budget_unit not in BUDGET_UNITS:
        raise ConfigError(f"unknown budget unit {settings.budget_unit!r}; choose from {', '.join(BUDGET_UNITS)}")
    high = LIMITS["budget_evals"] if settings.budget_unit in ("evals", "queries") else 1e30
    if not (isinstance(settings.budget, (int, float)) and math.isfinite(settings.budget) and 0 < settings.budget <= high):
        raise ConfigError(f"budget must be > 0 and at most {high:g} {settings.budget_unit}, got {settings.budget!r}")
    _bounded("seeds", settings.seeds, 1, LIMITS["seeds"])
    _bounded("seed-start", settings.seed_start, 0, LIMITS["seed_start"])
    _bounded("k (proposals per task)", settings.k, 1, LIMITS["k"])
    _bounded("time limit (seconds per run)", settings.time_limit, 1, LIMITS["time_limit"], float)
    _bounded("job-cpus", settings.job_cpus, 1, os.cpu_count() or 1)


def task_settings(task: Any, evaluator: Any) -> dict[str, Any]:
    """What about a task determines a run: its class, fidelities, recipe and data description."""
    recipe = getattr(evaluator, "recipe", None)
    describe = getattr(task, "settings", None)
    return {
        "class": f"{type(task).__module__}.{type(task).__qualname__}",
        "metric": evaluator.metric_name,
        "search_fidelity": evaluator.search_fidelity.to_dict(),
        "final_fidelity": evaluator.final_fidelity.to_dict(),
        "recipe": dataclasses.asdict(recipe) if dataclasses.is_dataclass(recipe) else None,
        "data": describe() if callable(describe) else None,
    }


def validate(settings: Settings) -> Plan:
    """Validate names, values and pairings (no training runs), and lay out the searches."""
    from nasbench.tasks import get_task

    check_sizes(settings)
    space = SPACES.get(settings.space)()
    classes = {name: STRATEGIES.get(name) for name in settings.strategies}
    for name in settings.params:
        if name not in classes:
            raise ConfigError(f"parameters given for {name!r}, which is not among the strategies {', '.join(settings.strategies)}")
    tasks = {name: get_task(name, splits=SEARCH_SPLITS) for name in settings.tasks}
    for task in tasks.values():
        task.check_space(space)
    strategies = {name: cls.create(**settings.params.get(name, {})) for name, cls in classes.items()}
    for strategy in strategies.values():
        strategy.check(space, tasks, settings.k)
    evaluators = {name: task.evaluator(space) for name, task in tasks.items()}
    per_task = {name: task_settings(tasks[name], ev) for name, ev in evaluators.items()}
    identity = {
        "space": space.name, "budget": settings.budget, "budget_unit": settings.budget_unit, "k": settings.k,
        "time_limit": settings.time_limit, "job_cpus": settings.job_cpus,
        "code": code_fingerprint(), "versions": versions(),
    }
    shared = {k: v for k, v in identity.items() if k != "versions"} | {"torch": identity["versions"].get("torch")}
    searches = []
    for seed in settings.seed_list():
        for name, strategy in strategies.items():
            groups = [settings.tasks] if type(strategy).multitask else [(t,) for t in settings.tasks]
            params = strategy.get_params()
            budgets, unit = _budgets(settings, space, evaluators, type(strategy).budget_in_macs)
            for group in groups:
                run_settings = {t: {"strategy": name, "params": params, "task": t, "task_settings": per_task[t],
                                    "seed": seed, "searched_with": list(group)} for t in group}
                fingerprints = {t: run_fingerprint(shared, name, params, t, per_task[t], seed, group) for t in group}
                searches.append(SearchSpec(name, group, seed, params, {t: budgets[t] for t in group}, unit,
                                           fingerprints, run_settings))
    reference = {name: ev.reference_macs for name, ev in evaluators.items()}
    tabular = frozenset(t for t, ev in evaluators.items() if getattr(ev, "tabular", False))
    return Plan(settings, identity, tuple(searches), reference, per_task, tabular)


def _budgets(settings: Settings, space: Any, evaluators: Mapping[str, Any], in_macs: bool) -> tuple[dict[str, float], str]:
    """Each task's ledger budget and unit. ``evals`` become MACs of the reference's trainings; for a strategy
    that counts in MACs, ``queries`` become the MACs that many queries cost on average (the same compute
    the query-counting strategies get, whichever architectures they query)."""
    if settings.budget_unit == "evals":
        reference = space.reference()
        return {t: settings.budget * ev.compute(reference, ev.search_fidelity) for t, ev in evaluators.items()}, "macs"
    if settings.budget_unit == "queries" and in_macs:
        return {t: settings.budget * mean_query_compute(space, ev) for t, ev in evaluators.items()}, "macs"
    return {t: float(settings.budget) for t in evaluators}, settings.budget_unit


def mean_query_compute(space: Any, evaluator: Any, samples: int = QUERY_SAMPLES) -> float:
    """Mean MACs of one search-fidelity evaluation over ``samples`` random architectures (seed 0), cached."""
    key = (space.name, evaluator.task_name, samples)
    if key not in _MEAN_QUERY:
        rng = np.random.default_rng(0)
        _MEAN_QUERY[key] = float(np.mean([evaluator.compute(space.sample(rng), evaluator.search_fidelity)
                                          for _ in range(samples)]))
    return _MEAN_QUERY[key]
