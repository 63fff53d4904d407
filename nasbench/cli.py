"""Command line of ``run_compare.py``: parse, validate (exit 2 on bad input), run, report.

``run_compare.py [options]`` runs a comparison; ``run_compare.py report FOLDER [FOLDER ...]``
regenerates the outputs from stored results, merging folders of the same settings (seed shards).
"""
from __future__ import annotations

import argparse
import ast
import logging
import sys
import time
from pathlib import Path
from typing import Any, NoReturn, Sequence

from nasbench.errors import ConfigError, NasBenchError

#: A benchmark is a space with its default tasks and budget unit.
BENCHMARKS: dict[str, dict[str, str]] = {
    "embedded": {"space": "mobile", "tasks": "cls,det,seg", "budget_unit": "evals"},
    "nb201": {"space": "nb201", "tasks": "cifar10,cifar100,imagenet16", "budget_unit": "queries"},
}
PRESETS: dict[str, dict[str, Any]] = {
    "quick": dict(benchmark="embedded", strategies="random,rea,nsga2", tasks="cls", budget=20, budget_unit="evals", seeds=1, k=5, workers=2),
    "full": dict(benchmark="embedded", strategies="random,rea,nsga2", tasks="cls,det,seg", budget=40, budget_unit="evals", seeds=3, k=5, workers=2),
    "nb201": dict(benchmark="nb201", strategies="random,rea,nsga2", tasks="cifar10", budget=100, budget_unit="queries", seeds=100, k=10, workers=1),
}
#: --param values: at most this many characters and this nesting depth.
PARAM_CHARS, PARAM_DEPTH = 1000, 3


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one-line ``ConfigError``s (exit 2 at ``main``), never usage dumps."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(" ".join(message.split()) + "; see run_compare.py --help")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="run_compare.py", description="Compare NAS strategies on one search space, one compute ledger and one final recipe.")
    p.add_argument("--preset", help=f"starting settings ({', '.join(PRESETS)}); default quick (nb201 with --benchmark nb201); flags override it")
    p.add_argument("--benchmark", help=f"{' or '.join(BENCHMARKS)}: a space with its default tasks and budget unit")
    p.add_argument("--space", help="search space (see --list); overrides the benchmark's")
    p.add_argument("--strategies", help="comma-separated strategy names (see --list), or 'all': every strategy that fits the space")
    p.add_argument("--tasks", help="comma-separated tasks (see --list): cls,det,seg on the embedded benchmark, cifar10,... on nb201")
    p.add_argument("--dataset", dest="tasks", help="alias of --tasks for nb201")
    p.add_argument("--budget", type=float, help="compute budget per (strategy, task, seed), in --budget-unit")
    p.add_argument("--budget-unit", help="evals (trainings of the mid-size reference network), macs, seconds, or queries")
    p.add_argument("--seeds", type=int, help="number of seeds")
    p.add_argument("--seed-start", type=int, help="first seed (default 0): run a shard of seeds, merge shards with 'report'")
    p.add_argument("--k", type=int, help="proposals per task, the same for every strategy")
    p.add_argument("--param", action="append", default=[], metavar="STRATEGY.NAME=VALUE",
                   help="a strategy hyper-parameter, e.g. rea.population=20 (repeatable)")
    p.add_argument("--lut", choices=("cached", "rebuild"), help="latency tables of the supernet strategies: reuse this machine's or re-measure")
    p.add_argument("--workers", type=int, help="parallel jobs (processes or Ray tasks); quick/full: 2")
    p.add_argument("--executor", choices=("pool", "inprocess", "ray"), default="pool",
                   help="where jobs run: a local process pool (default; in-process with --workers 1), in this process, or Ray")
    p.add_argument("--ray-address", help="address of an existing Ray cluster (default: start a local Ray instance)")
    p.add_argument("--job-cpus", type=int, default=1, help="CPUs (torch threads) per job (default 1)")
    p.add_argument("--time-limit", type=float, default=6 * 3600.0, help="wall-clock seconds a search may take before it is stopped and recorded (default 21600)")
    p.add_argument("--out", help="output folder (default results/<preset>); finished runs there are kept and skipped")
    p.add_argument("--beside", action="store_true", help="if --out holds other settings, write to a new folder next to it instead of refusing")
    p.add_argument("--list", action="store_true", help="list strategies, spaces and tasks, and exit")
    p.add_argument("-v", "--verbose", action="store_true", help="with --list: show hyper-parameters; otherwise log more")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _report_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="run_compare.py report", description="Regenerate summary, statistics, plots and report from stored results.")
    p.add_argument("folders", nargs="+", help="results folders of the same settings (e.g. seed shards)")
    p.add_argument("--out", help="where to write the merged outputs (default: the first folder when only one is given)")
    return p


def parse_params(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``STRATEGY.NAME=VALUE`` items as nested dicts; values read as Python literals, else as text."""
    params: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        strategy, dot, name = key.partition(".")
        if not (sep and dot and strategy and name.isidentifier()):
            raise ConfigError(f"malformed --param {item[:60]!r}; expected STRATEGY.NAME=VALUE, e.g. rea.population=20")
        if len(raw) > PARAM_CHARS:
            raise ConfigError(f"--param {key} value is {len(raw)} characters; at most {PARAM_CHARS}")
        if _depth(raw) > PARAM_DEPTH:
            raise ConfigError(f"--param {key} value is nested {_depth(raw)} deep; at most {PARAM_DEPTH}")
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            value = raw
        params.setdefault(strategy, {})[name] = value
    return params


def _depth(text: str) -> int:
    depth = deepest = 0
    for char in text:
        depth += char in "([{"
        depth -= char in ")]}"
        deepest = max(deepest, depth)
    return deepest


def _list(verbose: bool) -> None:
    from nasbench.registry import SPACES, STRATEGIES, TASKS

    print("strategies:")
    for name, cls in STRATEGIES.load().items():
        print(f"  {name:12s} {getattr(cls, 'description', '')}")
        if verbose:
            for param, default in cls.param_defaults().items():
                print(f"  {'':12s}   {param} = {default!r}")
    print("spaces:")
    for name, cls in SPACES.load().items():
        print(f"  {name:12s} {(cls.__doc__ or '').strip().splitlines()[0] if cls.__doc__ else ''}")
    print("tasks:")
    for name, factory in TASKS.load().items():
        print(f"  {name:12s} {getattr(factory, 'description', '')}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in argv or "--verbose" in argv
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if argv[:1] == ["report"]:
            return _report(_report_parser().parse_args(argv[1:]))
        return _run(_parser().parse_args(argv))
    except NasBenchError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished runs are kept in the output folder and a re-run resumes", file=sys.stderr)
        return 130


def _fitting_strategies(space_name: str) -> list[str]:
    """Every registered strategy whose required capabilities the space offers (``--strategies all``)."""
    from nasbench.registry import SPACES, STRATEGIES

    space = SPACES.get(space_name)()
    names = [n for n in STRATEGIES.names() if not STRATEGIES.get(n).missing_capabilities(space)]
    left_out = [n for n in STRATEGIES.names() if n not in names]
    if left_out:
        print(f"all: {len(names)} strategies fit space {space_name!r}; left out: {', '.join(left_out)}", file=sys.stderr)
    return names


def settings_from(args: argparse.Namespace) -> tuple[Any, str, int]:
    """The validated ``Settings``, the preset's name and the worker count from parsed flags."""
    from nasbench.registry import STRATEGIES
    from nasbench.runner.config import LIMITS, Settings

    preset = args.preset or ("nb201" if args.benchmark == "nb201" else "quick")
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    values = dict(PRESETS[preset])
    for key in ("benchmark", "strategies", "tasks", "budget", "budget_unit", "seeds", "k", "workers"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    if values["benchmark"] not in BENCHMARKS:
        raise ConfigError(f"unknown benchmark {values['benchmark']!r}; choose from {', '.join(BENCHMARKS)}")
    space = args.space or BENCHMARKS[values["benchmark"]]["space"]
    workers = values["workers"]
    if not (isinstance(workers, int) and 1 <= workers <= LIMITS["workers"]):
        raise ConfigError(f"workers must be an integer in [1, {LIMITS['workers']}], got {workers!r}")
    names = _fitting_strategies(space) if values["strategies"] == "all" else _split(values["strategies"])
    params = parse_params(args.param)
    if args.lut:
        for name in names:
            if name in STRATEGIES and "lut" in STRATEGIES.get(name).param_defaults():
                params.setdefault(name, {})["lut"] = args.lut
    settings = Settings(
        strategies=tuple(names), tasks=tuple(_split(values["tasks"])), space=space, budget=values["budget"],
        budget_unit=values["budget_unit"], seeds=values["seeds"], seed_start=args.seed_start or 0, k=values["k"],
        params=params, time_limit=args.time_limit, job_cpus=args.job_cpus,
    )
    return settings, preset, workers


def _run(args: argparse.Namespace) -> int:
    from nasbench.runner import outputs
    from nasbench.runner.compare import compare
    from nasbench.runner.progress import Progress

    if args.list:
        _list(args.verbose)
        return 0
    settings, preset, workers = settings_from(args)
    if args.out is not None and not args.out.strip():
        raise ConfigError("--out is empty; give a folder path")
    out = Path(args.out if args.out is not None else f"results/{preset}")
    options = {"address": args.ray_address, "job_cpus": settings.job_cpus} if args.executor == "ray" else {}
    start = time.perf_counter()
    with Progress(enabled=not args.no_progress) as progress:
        _, store, runs = compare(settings, out, executor=args.executor, workers=workers, notify=progress,
                                 beside=args.beside, **options)
    with store:
        table = outputs.write_all(store.folder, outputs.results_of(store.folder, runs), outputs.true_fronts(settings.tasks))
    print(table)
    print(f"\nresults in {store.folder}/ (summary.csv, stats.csv, finals.csv, archive.jsonl, plots/, report.md); "
          f"wall time {time.perf_counter() - start:.1f} s")
    return 0


def _report(args: argparse.Namespace) -> int:
    from nasbench.runner import outputs

    folders = [Path(f) for f in args.folders]
    if args.out is None and len(folders) > 1:
        raise ConfigError("merging several folders needs --out for the merged outputs")
    out = Path(args.out) if args.out else folders[0]
    print(outputs.merge_and_write(folders, out))
    return 0


def _split(text: Any) -> list[str]:
    return [s.strip() for s in str(text).split(",") if s.strip()]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
