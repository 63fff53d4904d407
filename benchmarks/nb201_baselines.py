"""NAS-Bench-201 baselines against the published table (NB201 as ground truth).

Run: python benchmarks/nb201_baselines.py [--seeds 100] [--dataset cifar10] [--strategies random,rea,nsga2]
    [--variant relative:objective=single ...] [--doc docs/nb201_baselines.md]
Runs the comparison at the published budget (100 twelve-epoch queries, K = 10) and prints the
table; with --doc it also writes it as markdown with the published figures beside ours. A
variant is one more strategy run under its own hyper-parameters (its own row).
"""
from __future__ import annotations

import argparse
import ast
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasbench.runner.compare import compare  # noqa: E402
from nasbench.runner.config import Settings  # noqa: E402

#: NAS-Bench-201 paper, CIFAR-10 test accuracy after 12,000 simulated seconds (Dong & Yang 2020, Table 5).
PUBLISHED = {"optimum": "94.37", "rea": "93.92 ± 0.30", "random": "93.70 ± 0.36", "reinforce": "93.85 ± 0.37", "bohb": "93.61 ± 0.52"}


def literal(text: str) -> object:
    """A hyper-parameter value as Python reads it (``20``, ``0.5``, ``None``), else the string itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def fmt(values: list[float], digits: int = 2) -> str:
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--strategies", default="random,rea,nsga2")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--variant", action="append", default=[], metavar="STRATEGY:NAME=VALUE[,NAME=VALUE]",
                        help="one more row: a strategy under the given hyper-parameters (repeatable)")
    parser.add_argument("--doc", help="also write the table as markdown to this file")
    args = parser.parse_args()

    strategies = tuple(args.strategies.split(","))
    groups: dict[str, tuple[str, dict[str, str]]] = {name: (name, {}) for name in strategies}
    for variant in args.variant:
        name, _, settings = variant.partition(":")
        pairs = (item.split("=", 1) for item in settings.split(",") if item)
        groups[f"{name} ({settings})"] = (name, {key: literal(value) for key, value in pairs})
    start = time.perf_counter()
    runs: dict[str, list] = {}
    for label, (name, params) in groups.items():
        settings = Settings(strategies=(name,), tasks=(args.dataset,), space="nb201", budget=args.queries,
                            budget_unit="queries", seeds=args.seeds, k=10, params={name: params})
        with tempfile.TemporaryDirectory() as out:
            _, store, runs[label] = compare(settings, out)
            store.close()
    seconds = time.perf_counter() - start
    n_runs = sum(len(group) for group in runs.values())

    rows = ["| strategy | test acc. of returned arch (%) | published (%) | HV ratio | IGD | queries |", "|---|---|---|---|---|---|"]
    for label, group in runs.items():
        rows.append(
            f"| {label} | {fmt([r['indicators']['best_test_acc'] for r in group])} | {PUBLISHED.get(label, '-')} | "
            f"{fmt([r['indicators']['hv_ratio'] for r in group], 3)} | {fmt([r['indicators']['igd'] for r in group], 3)} | "
            f"{np.mean([r['n_evaluations'] for r in group]):.0f} |"
        )
    command = " ".join([f"python benchmarks/nb201_baselines.py --seeds {args.seeds} --dataset {args.dataset}",
                        f"--strategies {args.strategies} --queries {args.queries}", *(f"--variant {v}" for v in args.variant)])
    table = "\n".join(rows)
    print(table)
    print(f"{n_runs} runs in {seconds:.1f} s")
    doc = f"""# NAS-Bench-201 baselines ({args.dataset}, {args.seeds} seeds)

Produced by `{command}` ({n_runs} runs, {seconds:.1f} s on this machine).

Protocol: each search reads only the 12-epoch validation accuracy and may make {args.queries} queries
(the published 12,000 simulated seconds); the reported accuracy is the 200-epoch test accuracy of
the architecture the search returns (its best by validation). HV ratio and IGD are of the
non-dominated set of each run's proposals (K = 10; test error vs MACs), normalised by the true
front's ideal and nadir points (EvoXBench convention). Mean ± std over seeds.

{table}

Published (NAS-Bench-201 paper, CIFAR-10 test): optimum {PUBLISHED['optimum']}, REA {PUBLISHED['rea']},
random search {PUBLISHED['random']}, REINFORCE {PUBLISHED['reinforce']}, BOHB {PUBLISHED['bohb']}.
"""
    if args.doc:
        Path(args.doc).parent.mkdir(parents=True, exist_ok=True)
        Path(args.doc).write_text(doc)


if __name__ == "__main__":
    main()
