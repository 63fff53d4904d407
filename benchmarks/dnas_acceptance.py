"""Acceptance figures of dnas and fbnetv5: steps and compute per task count, cost-weight sweeps, temperature, LUT fidelity.

Run: python benchmarks/dnas_acceptance.py [--parts lut,compute,sweep,entropy] [--epochs 2] [--budget 20]
    [--betas 0,0.3,0.6,1,2,4,6] [--archs 20] [--doc PATH]
Prints (a) fbnetv5 on each task alone and on all three with the same schedule: every task's
architecture steps and the ledger compute, beside dnas run per task; (b) dnas, soft mixture and
hard sampling, one run each with one distribution per beta at the quick preset's cls budget: the
most likely architecture per beta, its MACs, LUT latency and measured latency; (c) the same runs'
per-epoch temperature and entropies (mixture weights, P_theta, sampled architectures); (d)
Spearman correlation of LUT-predicted and measured latency. One torch thread throughout.
"""
from __future__ import annotations

import argparse
import io
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nasbench.archive import Archive  # noqa: E402
from nasbench.context import SearchContext  # noqa: E402
from nasbench.costs import count_macs, measure_latency_ms  # noqa: E402
from nasbench.ledger import Ledger  # noqa: E402
from nasbench.tasks import SEARCH_SPLITS, get_task  # noqa: E402
from spaces import get_space  # noqa: E402
from spaces.latency_lut import load_table  # noqa: E402
from strategies import get_strategy  # noqa: E402

TASKS = ("cls", "det", "seg")
SPACE = get_space("mobile")


def evaluators(tasks: tuple[str, ...]) -> dict:
    return {t: get_task(t, SEARCH_SPLITS).evaluator(SPACE) for t in tasks}


def search(name: str, tasks: tuple[str, ...], budget: float = 1e18, k: int = 5, **params):
    """(strategy, proposals, ledger, archive, wall seconds) of one search, seed 0."""
    ledger, archive = Ledger(budget), Archive()
    ctx = SearchContext(SPACE, evaluators(tasks), ledger, archive, 0, k)
    strategy = get_strategy(name).create(**params)
    start = time.perf_counter()
    found = strategy.run(ctx)
    return strategy, found, ledger, archive, time.perf_counter() - start


def compute_table(epochs: int) -> None:
    schedule = dict(epochs=epochs, warmup=0.5)
    print(f"(a) steps and compute against the number of tasks: {epochs} supernet epochs ({epochs // 2} warm-up), "
          "unlimited budget, seed 0")
    print("| strategy | tasks | weight steps | architecture steps per task | GMACs charged | wall s |\n|---|---|---:|---|---:|---:|")
    single = {}
    for task in TASKS:
        s, _, ledger, _, wall = search("fbnetv5", (task,), **schedule)
        single[task] = (s.updates_[task], ledger.spent.macs / 1e9)
        print(f"| fbnetv5 | {task} | {s.steps_['weight']} | {task} {s.updates_[task]} | {single[task][1]:.1f} | {wall:.0f} |")
    s, _, ledger, _, wall = search("fbnetv5", TASKS, **schedule)
    joint = ledger.spent.macs / 1e9
    steps = ", ".join(f"{t} {s.updates_[t]}" for t in TASKS)
    print(f"| fbnetv5 | {'+'.join(TASKS)} | {s.steps_['weight']} | {steps} | {joint:.1f} | {wall:.0f} |")
    dnas = {}
    for mixture in ("soft", "hard"):
        for task in TASKS:
            d, _, ledger, _, wall = search("dnas", (task,), mixture=mixture, **schedule)
            dnas[mixture, task] = ledger.spent.macs / 1e9
            print(f"| dnas {mixture} | {task} | | | {dnas[mixture, task]:.1f} | {wall:.0f} |")
    mean = np.mean([single[t][1] for t in TASKS])
    print("fbnetv5 steps per task, 3 tasks / alone: " + ", ".join(f"{t} {s.updates_[t] / single[t][0]:.2f}" for t in TASKS))
    print(f"fbnetv5 compute, 3 tasks / mean single-task run: {joint / mean:.2f}x ("
          + ", ".join(f"{joint / single[t][1]:.2f}x vs {t}" for t in TASKS) + ")")
    for mixture in ("soft", "hard"):
        total = sum(dnas[mixture, t] for t in TASKS)
        print(f"dnas {mixture} run per task, summed: {total:.1f} GMACs = {total / np.mean([dnas[mixture, t] for t in TASKS]):.2f}x "
              f"its mean run; fbnetv5 3 tasks / this sum: {joint / total:.2f}x")
    print()


def sweep(budget_evals: float, betas: tuple[float, ...], task: str) -> dict:
    evaluator = evaluators((task,))[task]
    budget = budget_evals * evaluator.compute(SPACE.reference(), evaluator.search_fidelity)
    view = get_task(task)
    table = load_table(SPACE, view)
    traces = {}
    print(f"(b) dnas on {task}, {budget_evals:g} evals of budget ({budget:.3g} MACs), one distribution per beta in one run, "
          "seed 0: the most likely architecture per beta")
    print("| mixture | beta | architecture | MACs | LUT latency ms | measured latency ms | val metric (supernet) |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for mixture in ("soft", "hard"):
        s, found, ledger, archive, wall = search("dnas", (task,), budget=budget, k=len(betas), mixture=mixture, betas=betas)
        traces[mixture] = s.trace_
        estimates = {e.arch: e for e in archive.evaluations(task)}
        for beta in betas:
            arch = s.argmax_[beta]
            model = SPACE.build(arch, view)
            metric = f"{estimates[arch].metric:.3f}" if arch in estimates else "-"
            print(f"| {mixture} | {beta:g} | {SPACE.describe(arch)} | {count_macs(model, view.input_shape):,} | "
                  f"{table.latency_ms(SPACE, arch):.3f} | {measure_latency_ms(model, view.input_shape, warmup=10, repeats=100):.3f} | "
                  f"{metric} |")
        print(f"  {mixture}: {s.trace_[-1]['epoch'] + 1} epochs, {ledger.spent.macs / budget:.3f} of the budget, {wall:.0f} s")
    print()
    return traces


def entropy(traces: dict) -> None:
    print("(c) temperature against entropy over training (the sweep's runs; nats per decision, mean over the epoch's "
          "architecture steps): m = Gumbel-softmax weights, P = P_theta, sampled = the argmax of theta + Gumbel noise")
    print("| mixture | epoch | tau | H(m) | H(P_theta) | H(sampled architectures) |\n|---|---:|---:|---:|---:|---:|")
    for mixture, trace in traces.items():
        for row in trace:
            print(f"| {mixture} | {row['epoch']} | {row['tau']:.3f} | {row['mixture_entropy']:.3f} | {row['theta_entropy']:.3f} | "
                  f"{row['sample_entropy']:.3f} |")
    print()


def lut_fidelity(n: int) -> None:
    print(f"(d) LUT-predicted against measured batch-1 latency, {n} random architectures (one thread)")
    print("| task | Spearman | predicted ms (median) | measured ms (median) |\n|---|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for task in TASKS:
        view = get_task(task)
        table = load_table(SPACE, view)
        archs = [SPACE.sample(rng) for _ in range(n)]
        predicted = [table.latency_ms(SPACE, a) for a in archs]
        measured = [measure_latency_ms(SPACE.build(a, view), view.input_shape, warmup=10, repeats=100) for a in archs]
        print(f"| {task} | {spearmanr(predicted, measured).statistic:.3f} | {np.median(predicted):.3f} | {np.median(measured):.3f} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2, help="supernet epochs of the steps/compute table")
    parser.add_argument("--budget", type=float, default=20, help="sweep budget in evals of the task (quick preset: 20)")
    parser.add_argument("--sweep-task", default="cls")
    parser.add_argument("--betas", default="0,0.3,0.6,1,2,4,6")
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--parts", default="lut,compute,sweep,entropy")
    parser.add_argument("--doc", help="also write what is printed to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    parts = args.parts.split(",")
    out = io.StringIO()

    class Tee(io.TextIOBase):
        def write(self, text: str) -> int:
            sys.__stdout__.write(text)
            return out.write(text)

    with redirect_stdout(Tee()):
        print(f"`python benchmarks/dnas_acceptance.py {' '.join(sys.argv[1:])}`\n")
        if "lut" in parts:
            lut_fidelity(args.archs)
        if "compute" in parts:
            compute_table(args.epochs)
        if "sweep" in parts or "entropy" in parts:
            traces = sweep(args.budget, tuple(float(b) for b in args.betas.split(",")), args.sweep_task)
            if "entropy" in parts:
                entropy(traces)
    if args.doc:
        Path(args.doc).write_text(out.getvalue())


if __name__ == "__main__":
    main()
