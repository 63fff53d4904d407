"""FMAS quality: does a slice's no-fine-tune subset score rank its fine-tuned score, and what do cheaper slices lose?

Per task: train the parent once (the task's final-recipe epochs: a given, fully trained parent), take
candidates spread over MACs (random architectures at evenly spaced MACs quantiles of a random pool,
plus near-parent variants: the largest genotype with one or two genes one step lower, where FMAS's
headline lives), score each slice exactly as the fmas strategy does (BatchNorm re-estimated on a few
training batches, a random validation subset, no fine-tuning; its metric and its mean loss there),
then fine-tune it on the full training split and score it on the full validation split. Prints per
task the Spearman correlation of each subset score with the fine-tuned metric and the variants with >= 10% fewer MACs than the parent, as markdown for
docs/fmas.md; raw rows go to ``--json``.

    python benchmarks/fmas_quality.py --tasks cls,det,seg
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nasbench.archive import Archive  # noqa: E402
from nasbench.context import SearchContext  # noqa: E402
from nasbench.ledger import Ledger  # noqa: E402
from nasbench.records import Architecture  # noqa: E402
from nasbench.tasks import SEARCH_SPLITS, get_task  # noqa: E402
from nasbench.trained import TrainingEvaluator  # noqa: E402
from spaces import get_space  # noqa: E402
from spaces.slicing import SlicingSupernet  # noqa: E402
from strategies.fmas import FMAS  # noqa: E402


def candidates(space, ctx: SearchContext, n_random: int, n_near: int, rng: np.random.Generator) -> list[Architecture]:
    """``n_random`` random architectures at evenly spaced MACs quantiles, then ``n_near`` near-parent variants."""
    pool = sorted({space.sample(rng) for _ in range(20 * n_random)}, key=lambda a: ctx.cost(a).macs)
    chosen = [pool[i] for i in np.linspace(0, len(pool) - 1, n_random).round().astype(int)]
    largest = space.bounds[1]
    while len(chosen) < n_random + n_near:
        genes = list(largest)
        for i in rng.choice(np.flatnonzero(largest > 0), size=int(rng.integers(1, 3)), replace=False):
            genes[i] -= 1
        arch = space.make(genes)
        if arch not in chosen:
            chosen.append(arch)
    return chosen


def measure(task: str, args: argparse.Namespace) -> dict:
    """Parent, candidates, their subset and fine-tuned scores on ``task``."""
    start = time.perf_counter()
    space = get_space("mobile")
    archive = Archive()
    evaluator = TrainingEvaluator(space, get_task(task, SEARCH_SPLITS), latency=False)
    ctx = SearchContext(space, {task: evaluator}, Ledger(1e18), archive, args.seed, 5)
    settings = dict(subset_fraction=args.subset_fraction, recalibration_batches=args.recalibration_batches,
                    parent_epochs=args.parent_epochs, finetune_epochs=args.finetune_epochs, pretrained_parent=True)
    fmas, by_loss = FMAS.create(**settings), FMAS.create(**settings, error="loss")
    torch.manual_seed(args.seed)
    supernet = SlicingSupernet(space, ctx.network_task())
    fmas.train_parent(ctx, supernet)
    parent_macs = ctx.cost(supernet.largest).macs
    parent_metric = ctx.validate(supernet.parent)
    subset = fmas.validation_subset(ctx)
    rows = []
    for arch in candidates(space, ctx, args.random, args.near, ctx.rng):
        subset_metric = 1.0 - fmas.subset_error(ctx, supernet, arch, subset)
        subset_loss = by_loss.subset_error(ctx, supernet, arch, subset)
        fmas.finetune(ctx, supernet, arch, 1.0 - subset_metric)
        e = archive.evaluations()[-1]
        rows.append({"arch": arch.key, "describe": space.describe(arch), "macs": e.cost.macs,
                     "subset_metric": subset_metric, "subset_loss": subset_loss, "finetuned_metric": e.metric})
        print(f"  {task} {len(rows):3d} {e.cost.macs / parent_macs:6.1%} subset {subset_metric:.3f} fine-tuned {e.metric:.3f}", flush=True)
    finetuned = [r["finetuned_metric"] for r in rows]
    rho = spearmanr([r["subset_metric"] for r in rows], finetuned).statistic
    rho_loss = spearmanr([-r["subset_loss"] for r in rows], finetuned).statistic
    near = rows[args.random:]
    rho_near = spearmanr([r["subset_metric"] for r in near], [r["finetuned_metric"] for r in near]).statistic
    return {"task": task, "metric": ctx.network_task().metric_name, "parent": supernet.largest.key, "parent_macs": parent_macs,
            "parent_metric": parent_metric, "spearman": float(rho), "spearman_loss": float(rho_loss),
            "spearman_near": float(rho_near), "near": len(near), "rows": rows,
            "finetune_epochs": args.finetune_epochs or ctx.network_task().search_epochs,
            "parent_epochs": args.parent_epochs or ctx.network_task().final_epochs,
            "wall_seconds": time.perf_counter() - start}


def report(results: list[dict]) -> str:
    """Markdown: Spearman per task, then per task the >= 10%-cheaper variants closest to the parent."""
    lines = ["| task | candidates | parent epochs | fine-tune epochs | Spearman: subset metric | subset loss | "
             "subset metric, near-parent only | parent metric | wall s |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['task']} | {len(r['rows'])} | {r['parent_epochs']} | {r['finetune_epochs']} | {r['spearman']:.3f} | "
                     f"{r['spearman_loss']:.3f} | {r['spearman_near']:.3f} ({r['near']}) | {r['metric']} {r['parent_metric']:.4f} | "
                     f"{r['wall_seconds']:.0f} |")
    for r in results:
        cheaper = [row for row in r["rows"] if row["macs"] <= 0.9 * r["parent_macs"]]
        best = sorted(cheaper, key=lambda row: r["parent_metric"] - row["finetuned_metric"])[:5]
        lines += ["", f"{r['task']}: the five >= 10%-cheaper variants closest to the parent after fine-tuning "
                  f"(parent {r['parent_macs']} MACs, {r['metric']} {r['parent_metric']:.4f})", "",
                  "| variant | MACs vs parent | subset score (no fine-tune) | fine-tuned | loss (points) |", "|---|---|---|---|---|"]
        lines += [f"| `{row['describe']}` | {row['macs'] / r['parent_macs'] - 1:+.1%} | {row['subset_metric']:.4f} | "
                  f"{row['finetuned_metric']:.4f} | {100 * (r['parent_metric'] - row['finetuned_metric']):.2f} |" for row in best]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", default="cls,det,seg")
    p.add_argument("--random", type=int, default=30, help="random candidates spread over MACs")
    p.add_argument("--near", type=int, default=8, help="near-parent variants")
    p.add_argument("--subset-fraction", type=float, default=0.25)
    p.add_argument("--recalibration-batches", type=int, default=2)
    p.add_argument("--parent-epochs", type=int, default=0, help="0: the task's final-recipe epochs")
    p.add_argument("--finetune-epochs", type=int, default=0, help="0: the task's search-fidelity epochs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default="fmas_quality.json", help="raw rows, rewritten after every task")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    results = []
    for task in args.tasks.split(","):
        results.append(measure(task, args))
        Path(args.json).write_text(json.dumps(results, indent=1))
    print(report(results))


if __name__ == "__main__":
    main()
