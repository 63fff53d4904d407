"""Command line of ``run_compare.py``: parse, validate (exit 2 on bad input), run, report."""
from __future__ import annotations

import argparse
import ast
import logging
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from nasbench.errors import NasBenchError

PRESETS: dict[str, dict[str, Any]] = {
    "quick": dict(benchmark="embedded", strategies="random,rea,nsga2", tasks="cls", budget=25, budget_unit="evals", seeds=1, k=5, workers=2),
    "full": dict(benchmark="embedded", strategies="random,rea,nsga2", tasks="cls,det,seg", budget=40, budget_unit="evals", seeds=3, k=5, workers=2),
    "nb201": dict(benchmark="nb201", strategies="random,rea,nsga2", tasks="cifar10", budget=100, budget_unit="queries", seeds=100, k=10, workers=1),
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run_compare.py",
        description="Compare NAS strategies on one search space, one compute ledger and one final recipe.",
    )
    p.add_argument("--preset", help=f"starting settings ({', '.join(PRESETS)}); default quick (nb201 with --benchmark nb201); flags override it")
    p.add_argument("--benchmark", help="embedded (shared space, digits tasks) or nb201 (tabular NAS-Bench-201)")
    p.add_argument("--strategies", help="comma-separated strategy names (see --list), or 'all'")
    p.add_argument("--tasks", help="comma-separated tasks: cls,det,seg (embedded) or cifar10,cifar100,imagenet16 (nb201)")
    p.add_argument("--dataset", dest="tasks", help="alias of --tasks for nb201")
    p.add_argument("--budget", type=float, help="compute budget per (strategy, task, seed), in --budget-unit")
    p.add_argument("--budget-unit", help="evals (trainings of the mid-size reference network), macs, seconds, or queries")
    p.add_argument("--seeds", type=int, help="number of seeds (0 .. S-1)")
    p.add_argument("--k", type=int, help="proposals per task, the same for every strategy")
    p.add_argument("--param", action="append", default=[], metavar="STRATEGY.NAME=VALUE",
                   help="a strategy hyper-parameter, e.g. rea.population=20 (repeatable)")
    p.add_argument("--lut", choices=("cached", "rebuild"),
                   help="latency lookup tables of the supernet strategies (dnas, fbnetv5): reuse this machine's cached ones or re-measure")
    p.add_argument("--workers", type=int, help="runs in parallel worker processes, one torch thread each (quick/full: 2)")
    p.add_argument("--out", help="output folder (default results/<preset>); finished runs there are kept and skipped")
    p.add_argument("--list", action="store_true", help="list the strategies and exit")
    p.add_argument("-v", "--verbose", action="store_true", help="with --list: show hyper-parameters; otherwise log more")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def _parse_params(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    from nasbench.errors import ConfigError

    params: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        strategy, dot, name = key.partition(".")
        if not (sep and dot and strategy and name):
            raise ConfigError(f"malformed --param {item!r}; expected STRATEGY.NAME=VALUE, e.g. rea.population=20")
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        params.setdefault(strategy, {})[name] = value
    return params


def _list_strategies(verbose: bool) -> None:
    from strategies import load_all

    for name, cls in load_all().items():
        print(f"{name:12s} {cls.description}")
        if verbose:
            for param, default in cls.param_defaults().items():
                print(f"{'':12s}   {param} = {default!r}")


class _Progress:
    """One tqdm bar per run, advanced by the ledger's use."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None

    def __call__(self, event: str, **info: Any) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if event == "run_start":
            ledger = info["ledger"]
            self.bar = tqdm(total=100, desc=f"{info['strategy']}/{info['task']}/seed{info['seed']}",
                            bar_format="{desc:28s} {percentage:3.0f}%|{bar}| budget {postfix}", leave=True)
            self.bar.set_postfix_str(f"{ledger.used:.3g}/{ledger.budget:.3g} {ledger.unit}")
        elif event == "evaluation" and self.bar is not None:
            ledger = info["ledger"]
            self.bar.n = min(100.0, 100.0 * ledger.used / ledger.budget)
            self.bar.set_postfix_str(f"{ledger.used:.3g}/{ledger.budget:.3g} {ledger.unit}")
        elif event == "finals" and self.bar is not None:
            self.bar.set_postfix_str(f"final evaluation of {info['n']} proposals")
        elif event == "run_end":
            if self.bar is not None:
                self.bar.close()
                self.bar = None
            r = info["result"]
            tqdm.write(f"done {r.strategy}/{r.task}/seed{r.seed}: hypervolume {r.hypervolume:.4f}, "
                       f"best metric {r.best_metric:.4f}, {r.n_evaluations} evaluations, {r.status}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return _run(args)
    except NasBenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished runs are kept in the output folder", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    from nasbench.comparison import Comparison, ComparisonConfig
    from nasbench.errors import ConfigError
    from nasbench.report import write_outputs
    from strategies import get_strategy, load_all

    if args.list:
        _list_strategies(args.verbose)
        return 0
    preset_name = args.preset or ("nb201" if args.benchmark == "nb201" else "quick")
    if preset_name not in PRESETS:
        raise ConfigError(f"unknown preset {preset_name!r}; choose from {', '.join(PRESETS)}")
    settings = dict(PRESETS[preset_name])
    for key in ("benchmark", "strategies", "tasks", "budget", "budget_unit", "seeds", "k", "workers"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    strategies = list(load_all()) if settings["strategies"] == "all" else _split(settings["strategies"])
    params = _parse_params(args.param)
    if args.lut:
        for name in strategies:
            if "lut" in get_strategy(name).param_defaults():
                params.setdefault(name, {})["lut"] = args.lut
    config = ComparisonConfig(
        strategies=tuple(strategies), tasks=tuple(_split(settings["tasks"])), benchmark=settings["benchmark"],
        budget=float(settings["budget"]), budget_unit=settings["budget_unit"], seeds=int(settings["seeds"]),
        k=int(settings["k"]), params=params,
    )
    out = Path(args.out or f"results/{preset_name}")
    start = time.perf_counter()
    comparison = Comparison(config, out, on_event=_Progress(not args.no_progress), workers=int(settings["workers"]))
    runs = comparison.run()
    table = write_outputs(runs, out, title=f"Comparison on {config.benchmark}: {', '.join(config.tasks)}")
    print(table)
    print(f"\nresults in {out}/ (summary.csv, finals.csv, archive.jsonl, plots/, report.md); wall time {time.perf_counter() - start:.1f} s")
    return 0


def _split(text: str) -> list[str]:
    return [s.strip() for s in str(text).split(",") if s.strip()]
