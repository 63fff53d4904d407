"""Acceptance figures of dnas and fbnetv5: search compute against task count, a cost-weight sweep, LUT fidelity.

Run: python benchmarks/dnas_acceptance.py [--epochs 4] [--sweep-epochs 20] [--archs 20] [--parts compute,sweep,lut]
Prints (a) ledger compute of fbnetv5 on each task alone and on all three with the same schedule,
beside dnas run per task; (b) dnas with one beta per run: the derived architecture's MACs and
measured latency per beta; (c) Spearman correlation of LUT-predicted and measured latency over
random architectures. One torch thread throughout (the LUT's setting).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nasbench.archive import Archive  # noqa: E402
from nasbench.context import SearchContext  # noqa: E402
from nasbench.costs import count_macs, measure_latency_ms  # noqa: E402
from spaces.latency_lut import load_table  # noqa: E402
from nasbench.ledger import Ledger  # noqa: E402
from nasbench.tasks import SEARCH_SPLITS, get_task  # noqa: E402
from spaces import get_space  # noqa: E402
from strategies import get_strategy  # noqa: E402

TASKS = ("cls", "det", "seg")
SPACE = get_space("mobile")


def search(name: str, tasks: tuple[str, ...], **params) -> tuple[object, float, float]:
    """Proposals, ledger GMACs and wall seconds of one search with an unlimited budget."""
    ledger = Ledger(1e18)
    ctx = SearchContext(SPACE, {t: get_task(t, SEARCH_SPLITS).evaluator(SPACE) for t in tasks}, ledger, Archive(), 0, 5)
    start = time.perf_counter()
    found = get_strategy(name).create(**params).run(ctx)
    return found, ledger.spent.macs / 1e9, time.perf_counter() - start


def compute_table(epochs: int) -> None:
    schedule = dict(epochs=epochs, warmup=1)
    print(f"(a) search compute, same schedule ({epochs} supernet epochs, 1 warm-up), GMACs charged")
    print("| strategy | tasks | GMACs | wall s |\n|---|---|---:|---:|")
    single = {}
    for task in TASKS:
        _, single[task], wall = search("fbnetv5", (task,), **schedule)
        print(f"| fbnetv5 | {task} | {single[task]:.1f} | {wall:.0f} |")
    _, joint, wall = search("fbnetv5", TASKS, **schedule)
    print(f"| fbnetv5 | {'+'.join(TASKS)} | {joint:.1f} | {wall:.0f} |")
    dnas = {}
    for task in TASKS:
        _, dnas[task], wall = search("dnas", (task,), **schedule)
        print(f"| dnas | {task} | {dnas[task]:.1f} | {wall:.0f} |")
    print(f"| dnas | sum over tasks | {sum(dnas.values()):.1f} | |")
    mean = np.mean(list(single.values()))
    print("fbnetv5 3 tasks / 1 task: " + ", ".join(f"{joint / single[t]:.2f}x vs {t}" for t in TASKS)
          + f", {joint / mean:.2f}x vs the mean single-task run")
    print(f"dnas per task summed / mean single-task dnas run: {sum(dnas.values()) / np.mean(list(dnas.values())):.2f}x; "
          f"fbnetv5 3 tasks / dnas summed: {joint / sum(dnas.values()):.2f}x\n")


def sweep(epochs: int, betas: tuple[float, ...], task: str) -> None:
    print(f"(b) dnas on {task}, one beta per run ({epochs} epochs): the most likely architecture")
    print("| beta | architecture | MACs | measured latency ms | LUT latency ms |\n|---:|---|---:|---:|---:|")
    view = get_task(task)
    table = load_table(SPACE, view)
    for beta in betas:
        found, _, _ = search("dnas", (task,), epochs=epochs, warmup=max(1, epochs // 4), betas=(beta,))
        arch = found[0]
        model = SPACE.build(arch, view)
        print(f"| {beta:g} | {SPACE.describe(arch)} | {count_macs(model, view.input_shape):,} | "
              f"{measure_latency_ms(model, view.input_shape, warmup=10, repeats=100):.3f} | {table.latency_ms(SPACE, arch):.3f} |")
    print()


def lut_fidelity(n: int) -> None:
    print(f"(c) LUT-predicted against measured batch-1 latency, {n} random architectures (one thread)")
    print("| task | Spearman | predicted ms (median) | measured ms (median) |\n|---|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for task in TASKS:
        view = get_task(task)
        table = load_table(SPACE, view)
        archs = [SPACE.sample(rng) for _ in range(n)]
        predicted = [table.latency_ms(SPACE, a) for a in archs]
        measured = [measure_latency_ms(SPACE.build(a, view), view.input_shape, warmup=10, repeats=100) for a in archs]
        rho = spearmanr(predicted, measured).statistic
        print(f"| {task} | {rho:.3f} | {np.median(predicted):.3f} | {np.median(measured):.3f} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4, help="supernet epochs of the compute table")
    parser.add_argument("--sweep-epochs", type=int, default=20)
    parser.add_argument("--sweep-task", default="cls")
    parser.add_argument("--betas", default="0,0.6,2,6")
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--parts", default="lut,compute,sweep")
    args = parser.parse_args()
    torch.set_num_threads(1)
    parts = args.parts.split(",")
    if "lut" in parts:
        lut_fidelity(args.archs)
    if "compute" in parts:
        compute_table(args.epochs)
    if "sweep" in parts:
        sweep(args.sweep_epochs, tuple(float(b) for b in args.betas.split(",")), args.sweep_task)


if __name__ == "__main__":
    main()
