"""NAS-Bench-201 sample efficiency: who finds the best cell in 100 queries.

Run: python benchmarks/nb201_sample_efficiency.py [--seeds 100] [--rows all|NAME,NAME] [--workers N] [--out DIR] [--doc PATH]

Every row searches cifar10 for ``--seeds`` seeds (0 .. seeds-1) with K = 10 proposals and reads only
the 12-epoch validation accuracy; it prints the mean ± std of the 200-epoch test accuracy of the
architecture the search rated best on validation (``best_test_acc``) and of the HV ratio, then the
pairwise statistics (``nasbench.runner.stats.pairwise``: paired Wilcoxon by seed, Holm-corrected,
A12, wins/ties/losses) within each budget protocol. ``--out DIR`` keeps one results folder per row
under DIR (a re-run resumes); ``--doc PATH`` also writes the tables as markdown.

Two budget protocols (see strategies/warm_start.py for why both):
- ``queries``: 100 look-ups of the table, a proxy score counting as one query (ctx's rule);
- ``macs``: 4.95e15 MACs, the compute of 100 twelve-epoch trainings of the mean cell (the paper's
  12,000 simulated seconds), where a look-up costs its cell's training MACs and a proxy score its
  forward passes: what a zero-cost warm start really costs.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasbench.runner.compare import compare  # noqa: E402
from nasbench.runner.config import Settings  # noqa: E402
from nasbench.runner.stats import pairwise  # noqa: E402

#: 100 twelve-epoch CIFAR-10 trainings of the mean cell: 100 x 3 x 54,968,960 MACs x 25,000 images x 12 epochs.
MACS_BUDGET = 4.95e15

#: label -> (strategy, hyper-parameters, budget unit, budget). Order = table order.
ROWS: dict[str, tuple[str, dict[str, Any], str, float]] = {
    "random": ("random", {}, "queries", 100),
    "rea": ("rea", {}, "queries", 100),
    "nsga2": ("nsga2", {}, "queries", 100),
    "rea warm synflow/20": ("rea", {"warm_start": "synflow", "warm_start_pool": 20}, "queries", 100),
    "nsga2 warm synflow/20": ("nsga2", {"warm_start": "synflow", "warm_start_pool": 20}, "queries", 100),
    "optuna tpe": ("optuna", {"sampler": "tpe"}, "queries", 100),
    "optuna tpe multi": ("optuna", {"sampler": "tpe", "objective": "multi"}, "queries", 100),
    "pymoo unsga3": ("pymoo", {"algorithm": "unsga3"}, "queries", 100),
    "ls": ("ls", {}, "queries", 100),
    "fbnetv3": ("fbnetv3", {}, "queries", 100),
    "rea [macs]": ("rea", {}, "macs", MACS_BUDGET),
    "rea warm synflow/100 [macs]": ("rea", {"warm_start": "synflow", "warm_start_pool": 100}, "macs", MACS_BUDGET),
    "rea warm macs/1000 [macs]": ("rea", {"warm_start": "macs", "warm_start_pool": 1000}, "macs", MACS_BUDGET),
    "optuna tpe [macs]": ("optuna", {"sampler": "tpe"}, "macs", MACS_BUDGET),
    "ls [macs]": ("ls", {}, "macs", MACS_BUDGET),
    "fbnetv3 [macs]": ("fbnetv3", {}, "macs", MACS_BUDGET),
}
#: Pairs shown in the statistics table: those with one of these rows (Holm's correction covers all pairs).
FOCUS = {"best_test_acc": ("fbnetv3", "fbnetv3 [macs]", "ls", "optuna tpe", "ls [macs]", "optuna tpe [macs]", "rea", "rea [macs]"),
         "hv_ratio": ("nsga2", "optuna tpe multi", "pymoo unsga3", "fbnetv3")}
#: Reference figures (docs/nb201_baselines.md; the table's optimum).
TARGET = 94.20
OPTIMUM = 94.37


def fmt(values: list[float], digits: int = 2) -> str:
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def run_row(label: str, seeds: int, out: Path | None, workers: int = 1) -> list[dict[str, Any]]:
    strategy, params, unit, budget = ROWS[label]
    settings = Settings(strategies=(strategy,), tasks=("cifar10",), space="nb201", budget=budget,
                        budget_unit=unit, seeds=seeds, k=10, params={strategy: params})
    with tempfile.TemporaryDirectory() as scratch:
        folder = out / label.replace(" ", "_").replace("/", "-") if out else Path(scratch)
        _, store, runs = compare(settings, folder, **({"executor": "pool", "workers": workers} if workers > 1 else {}))
        store.close()
    return [{**r, "strategy": label} for r in runs]


def tables(runs: dict[str, list[dict[str, Any]]]) -> tuple[str, str]:
    rows = ["| strategy | protocol | best test acc. (%) | HV ratio | evaluations | scores+evaluations |",
            "|---|---|---|---|---|---|"]
    for label, group in runs.items():
        _, _, unit, _ = ROWS[label]
        evaluations = np.mean([r["n_evaluations"] for r in group])
        charged = np.mean([r["compute_used"] for r in group]) if unit == "queries" else np.nan
        rows.append(
            f"| {label} | {unit} | {fmt([r['indicators']['best_test_acc'] for r in group])} | "
            f"{fmt([r['indicators']['hv_ratio'] for r in group], 3)} | {evaluations:.1f} | "
            f"{'-' if np.isnan(charged) else f'{charged:.0f} queries'} |"
        )
    stats = ["| protocol | metric | a | b | n | p (Holm) | A12 | wins/ties/losses | verdict |", "|---|---|---|---|---|---|---|---|---|"]
    for unit in ("queries", "macs"):
        records = [r for label, group in runs.items() if ROWS[label][2] == unit for r in group]
        if len({r["strategy"] for r in records}) < 2:
            continue
        table = pairwise(records, metrics=("best_test_acc", "hv_ratio"))
        for row in table.itertuples():
            if row.strategy_a not in FOCUS[row.metric] and row.strategy_b not in FOCUS[row.metric]:
                continue
            stats.append(f"| {unit} | {row.metric} | {row.strategy_a} | {row.strategy_b} | {row.n} | {row.p_holm:.3g} | "
                         f"{row.a12:.2f} | {row.wins}/{row.ties}/{row.losses} | {row.verdict} |")
    return "\n".join(rows), "\n".join(stats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--rows", default="all", help=f"comma-separated labels of: {', '.join(ROWS)}")
    parser.add_argument("--out", type=Path, help="keep each row's results folder under this directory (resumable)")
    parser.add_argument("--doc", help="also write the tables as markdown to this file")
    parser.add_argument("--workers", type=int, default=1, help="worker processes per row (results do not depend on it)")
    args = parser.parse_args()
    labels = list(ROWS) if args.rows == "all" else [r.strip() for r in args.rows.split(",")]
    unknown = [label for label in labels if label not in ROWS]
    if unknown:
        parser.error(f"unknown row(s) {', '.join(unknown)}; choose from {', '.join(ROWS)}")

    start = time.perf_counter()
    runs: dict[str, list[dict[str, Any]]] = {}
    for label in labels:
        t = time.perf_counter()
        runs[label] = run_row(label, args.seeds, args.out, args.workers)
        print(f"{label}: {len(runs[label])} runs, {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    seconds = sum(r.get("wall_seconds") or 0.0 for group in runs.values() for r in group)  # stored runs count too
    print(f"{time.perf_counter() - start:.0f} s for this call", file=sys.stderr)
    results, stats = tables(runs)
    print(results)
    print()
    print(stats)
    if args.doc:
        command = f"python benchmarks/nb201_sample_efficiency.py --seeds {args.seeds}" + (
            f" --rows '{args.rows}'" if args.rows != "all" else "") + (f" --workers {args.workers}" if args.workers > 1 else "")
        Path(args.doc).parent.mkdir(parents=True, exist_ok=True)
        Path(args.doc).write_text(DOC.format(command=command, seconds=seconds, results=results, stats=stats,
                                             seeds=args.seeds, seeds_last=args.seeds - 1, target=TARGET, optimum=OPTIMUM))


DOC = """# NAS-Bench-201 sample efficiency (cifar10, 100 queries, {seeds} seeds)

Produced by `{command}` (searches: {seconds:.0f} s of wall time summed over the runs, on a shared
2-core machine; seeds 0-{seeds_last}).

Protocol: each search reads only the 12-epoch validation accuracy; `best test acc.` is the
200-epoch test accuracy of the proposal the search rated best on validation (optimum of the
table {optimum}); HV ratio is of the K = 10 proposals' test front against the true front
(docs/nb201_baselines.md). Mean ± std over seeds. `evaluations`: trainings (look-ups) made;
under `queries` the ledger also counts each proxy score as a query.

Two budget protocols:
- `queries`: 100 look-ups, a proxy score counting as one query (the context's rule for scores
  under this unit). A warm start of N scores leaves 100 - N trainings: `rea warm synflow/20`
  trains 80 cells.
- `macs`: 4.95e15 MACs, the compute of 100 twelve-epoch trainings of the mean cell (3 x 54,968,960
  MACs x 25,000 images x 12 epochs each; the paper's 12,000 simulated seconds are the same
  quantity in time). A look-up costs its own cell's training MACs, so large cells cost more, as
  in the paper's simulated-time budget; a proxy score costs its forward passes (synflow 3 x MACs,
  1/300,000 of a query of the same cell; `macs` 0). This is the fair protocol for a zero-cost
  warm start: its scores are charged what they compute, and every strategy of the table is
  charged the same way. (The runner's `budget_in_macs` conversion for zero-shot strategies uses
  the same idea: 100 queries of the mean of 200 seeded random cells, 5.07e15 MACs.)

{results}

Pairwise statistics within each protocol (`nasbench.runner.stats.pairwise`: paired Wilcoxon
signed-rank by seed, Holm-corrected over all pairs of a protocol and metric; A12 = P(a beats b);
shown: pairs with ls, TPE or rea for accuracy, with nsga2 or the multi-objective adapters for HV):

{stats}

Settings and tuning. `rea`, `nsga2` and `random` run with their defaults (rea: population 10,
sample 3, the NAS-Bench-201 paper's). The Optuna adapter runs each sampler with Optuna's own
defaults (TPE: 10 random start-up trials, 24 EI candidates), one categorical distribution per
edge, every trial a query, repeats included. `ls` (White et al. 2021) runs with its defaults,
`init=10` random starts and first-improvement moves, chosen on seeds 1000-1099, disjoint from the
reported seeds 0-99 (mean best test accuracy over those 100 tuning seeds, `queries` protocol):

| init | first improvement | full neighbourhood |
|---|---|---|
| 1 | 94.17 | 94.03 |
| 3 | 94.23 | 94.08 |
| 5 | 94.18 | 94.10 |
| 10 | 94.21 | 94.13 |
| 20 | 94.18 | 94.12 |
| 30 | 94.18 | 94.13 |

(That sweep ran on a table-lookup re-implementation of the loop that reproduces the framework's
rea exactly on seeds 0-99, 93.94 ± 0.47; differences below about 0.05 are within seed noise.)
"""


if __name__ == "__main__":
    main()
