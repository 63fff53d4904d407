"""Null check of the statistics: one algorithm under two names must rarely be declared different.

Run: python benchmarks/null_check.py [--repetitions 20] [--seeds 30] [--strategy random] [--doc PATH]
Registers two copies of one strategy whose random streams are independent (each salts the
search seed with its own name), runs both on NAS-Bench-201 cifar10 (100 queries, K 10) over
``--seeds`` seeds, and tests them as the report does (paired Wilcoxon, Holm, alpha 0.05) on
the headline metrics. Repeated on disjoint seed ranges; prints the fraction of repetitions
that declared a significant difference, which should be about alpha and at most 0.1.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasbench.registry import STRATEGIES  # noqa: E402
from nasbench.runner import stats  # noqa: E402
from nasbench.runner.compare import compare  # noqa: E402
from nasbench.runner.config import Settings  # noqa: E402

METRICS = ("best_test_acc", "hv_ratio")


def twin(base: type, label: str) -> type:
    """``base`` under another name, drawing from its own random stream (the search seed salted by the name)."""

    class Twin(base):  # type: ignore[misc, valid-type]
        name = f"{base.name}-{label}"

        def setup(self, ctx):
            super().setup(ctx)
            self.stream_ = np.random.default_rng([ctx.seed, sum(map(ord, label))])

        def ask(self, ctx):
            return [ctx.space.sample(self.stream_)]

    Twin.__name__ = Twin.__qualname__ = f"{base.__name__}{label.upper()}"
    return Twin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--strategy", default="random", help="an ask/tell strategy whose ask() samples the space")
    parser.add_argument("--doc", help="also write the result as markdown to this file")
    args = parser.parse_args()
    a, b = (STRATEGIES.register(twin(STRATEGIES.get(args.strategy), label)) for label in ("a", "b"))
    start = time.perf_counter()
    declared = {m: 0 for m in METRICS}
    any_declared = 0
    for rep in range(args.repetitions):
        settings = Settings(strategies=(a.name, b.name), tasks=("cifar10",), space="nb201", budget=100,
                            budget_unit="queries", seeds=args.seeds, seed_start=rep * args.seeds, k=10)
        with tempfile.TemporaryDirectory() as out:
            _, store, runs = compare(settings, out)
            store.close()
        table = stats.pairwise(stats.flatten_runs(runs), list(METRICS))
        significant = {row.metric: bool(row.p_holm < 0.05) for row in table.itertuples()}
        for metric in METRICS:
            declared[metric] += significant[metric]
        any_declared += any(significant.values())
    lines = [f"{args.repetitions} repetitions x {args.seeds} seeds of {a.name} vs {b.name} "
             f"(NAS-Bench-201 cifar10, 100 queries), {time.perf_counter() - start:.0f} s"]
    lines += [f"- {metric}: significant (Holm 0.05) in {declared[metric]}/{args.repetitions} = "
              f"{declared[metric] / args.repetitions:.2f} of repetitions" for metric in METRICS]
    lines.append(f"- either metric: {any_declared}/{args.repetitions} = {any_declared / args.repetitions:.2f}")
    print("\n".join(lines))
    if args.doc:
        command = f"python benchmarks/null_check.py --repetitions {args.repetitions} --seeds {args.seeds} --strategy {args.strategy}"
        Path(args.doc).write_text(f"# Null check of the statistics\n\n`{command}`\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
