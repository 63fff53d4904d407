"""FBNetV3 predictor quality on NAS-Bench-201: Spearman on held-out cells, with and without pretraining.

Run: python benchmarks/fbnetv3_predictor.py [--dataset cifar10] [--repeats 10] [--samples 20,50,100]
    [--held-out 2000] [--doc docs/fbnetv3_predictor.md]

The paper's signature (Dai et al. 2021): pretraining the predictor's encoder on statistics that
need no training improves its rank correlation most when few candidates have been trained. Per
repeat r, the predictor of ``strategies.fbnetv3`` (its defaults) is trained on n random cells'
12-epoch validation accuracy (what a search reads) and scored on held-out cells (disjoint from
the training cells) by Spearman's rho against that accuracy and against the 200-epoch test
accuracy. Three encoders:

- ``none``: no pretraining (the encoder starts from its seeded random initialisation);
- ``free``: pretrained on log MACs and log parameters of the strategy's first 512 Sobol cells
  (what fbnetv3 uses under a query budget, where a proxy score would cost a query);
- ``free+synflow``: the same plus SynFlow scores of the first 128 of them (what fbnetv3 uses
  under a MACs budget, where those scores cost about 1/300,000 of a query each).

The accuracy head is fit exactly as in the search: encoder frozen first, then fine-tuned (Huber).
Prints the table; writes it as markdown only with --doc.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasbench.archive import Archive  # noqa: E402
from nasbench.context import SearchContext  # noqa: E402
from nasbench.ledger import Ledger  # noqa: E402
from nasbench.nb201_table import accuracy_column, cost_table  # noqa: E402
from nasbench.tasks import get_task  # noqa: E402
from spaces import get_space  # noqa: E402
from strategies.fbnetv3 import Candidate, Encoder, FBNetV3, Predictor, sobol_candidates  # noqa: E402

VARIANTS = ("none", "free", "free+synflow")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--samples", default="20,50,100")
    parser.add_argument("--held-out", type=int, default=2000)
    parser.add_argument("--doc", help="also write the table as markdown to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    sizes = [int(n) for n in args.samples.split(",")]
    defaults = FBNetV3.param_defaults()
    space = get_space("nb201")
    val = np.asarray(accuracy_column(f"{args.dataset}_val_12ep"), dtype=float) / 100.0
    test = np.asarray(accuracy_column(f"{args.dataset}_test_200ep"), dtype=float) / 100.0
    costs = cost_table()
    macs = np.asarray(costs[f"{args.dataset}_macs"], dtype=float)
    params = np.asarray(costs[f"{args.dataset}_params"], dtype=float)
    encode = Encoder(space.choices, None)
    X = encode([Candidate(space.from_index(i)) for i in range(len(val))])
    # SynFlow through a search context with a budget nothing exhausts: the same code path and seed as a search.
    task = get_task(args.dataset, splits=("train", "val"))
    synflow: dict[int, float] = {}

    def score(index: int, seed: int) -> float:
        key = (index, seed)
        if key not in synflow:
            ctx = SearchContext(space, {args.dataset: task.evaluator(space)}, Ledger(1e30, "macs"), Archive(), seed, 1)
            synflow[key] = ctx.score(space.from_index(index), "synflow")
        return synflow[key]

    start = time.perf_counter()
    rho = {(v, n, target): [] for v in VARIANTS for n in sizes for target in ("val", "test")}
    for r in range(args.repeats):
        pretrain_cells = [space.to_index(c.arch) for c in sobol_candidates(space, None, defaults["pool_size"], r)]
        pretrain_cells = pretrain_cells[: defaults["pretrain_samples"]]
        S_free = np.column_stack([np.log(macs[pretrain_cells]), np.log(params[pretrain_cells])])
        proxy = np.full(len(pretrain_cells), np.nan)
        proxy[: defaults["proxy_samples"]] = [score(i, r) for i in pretrain_cells[: defaults["proxy_samples"]]]
        order = np.random.default_rng([r, 2021]).permutation(len(val))
        held = order[: args.held_out]
        rest = order[args.held_out:]
        for variant in VARIANTS:
            predictor = Predictor(X.shape[1], 2 if variant != "free+synflow" else 3, hidden=defaults["hidden"],
                                  members=defaults["members"], seed=r)
            if variant == "free":
                predictor.pretrain(X[pretrain_cells], S_free)
            elif variant == "free+synflow":
                predictor.pretrain(X[pretrain_cells], np.column_stack([S_free, proxy]))
            for n in sizes:
                train = rest[:n]
                predictor.fit(X[train], val[train])
                predicted = predictor.predict(X[held])
                rho[(variant, n, "val")].append(stats.spearmanr(predicted, val[held]).statistic)
                rho[(variant, n, "test")].append(stats.spearmanr(predicted, test[held]).statistic)
        print(f"repeat {r + 1}/{args.repeats} done ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    seconds = time.perf_counter() - start

    def cell(v: str, n: int, target: str) -> str:
        values = rho[(v, n, target)]
        return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}"

    header = "| trained cells | " + " | ".join(f"{v} (val)" for v in VARIANTS) + " | " + " | ".join(f"{v} (test)" for v in VARIANTS) + " |"
    rows = [header, "|" + "---|" * (1 + 2 * len(VARIANTS))]
    for n in sizes:
        rows.append(f"| {n} | " + " | ".join(cell(v, n, "val") for v in VARIANTS) + " | "
                    + " | ".join(cell(v, n, "test") for v in VARIANTS) + " |")
    gain = {n: np.mean(np.array(rho[("free+synflow", n, "val")]) - np.array(rho[("none", n, "val")])) for n in sizes}
    table = "\n".join(rows)
    print(table)
    print("mean gain of free+synflow pretraining over none (val rho): " + ", ".join(f"n={n}: {g:+.3f}" for n, g in gain.items()))
    print(f"{args.repeats} repeats in {seconds:.0f} s")
    command = (f"python benchmarks/fbnetv3_predictor.py --dataset {args.dataset} --repeats {args.repeats} "
               f"--samples {args.samples} --held-out {args.held_out}")
    if args.doc:
        doc = f"""# FBNetV3 predictor quality on NAS-Bench-201 ({args.dataset})

Produced by `{command}` ({seconds:.0f} s on this shared 2-core machine).

Spearman's rho (mean ± std over {args.repeats} repeats) of the fbnetv3 predictor (its default
sizes: {defaults['members']} members of width {defaults['hidden']}) on {args.held_out} held-out cells, after fitting
its accuracy head on n random cells' 12-epoch validation accuracy; against that accuracy (val)
and against the 200-epoch test accuracy (test). Encoders: `none` (not pretrained), `free`
(pretrained on log MACs and log parameters of {defaults['pretrain_samples']} Sobol cells), `free+synflow`
(plus SynFlow scores of {defaults['proxy_samples']} of them).

{table}

Mean gain of the free+synflow pretraining over none (val rho): {', '.join(f'n={n}: {g:+.3f}' for n, g in gain.items())}.
"""
        Path(args.doc).parent.mkdir(parents=True, exist_ok=True)
        Path(args.doc).write_text(doc)


if __name__ == "__main__":
    main()
