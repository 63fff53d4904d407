"""Zen-NAS on NAS-Bench-201 at the baselines' compute, beside random search, REA and NSGA-II.

Run:
  python benchmarks/zen_nb201.py --time 20                       # seconds per zen score here, scores a run makes
  python benchmarks/zen_nb201.py --precompute --workers 2        # every cell's zen score into zen's score table
  python benchmarks/zen_nb201.py --seeds 100 [--out DIR] [--doc docs/zen_nb201.md]
  python benchmarks/zen_nb201.py --ceiling                       # what the best Zen-scores are worth (full table)

The comparison: ``--budget-unit queries --budget 100`` (K = 10); zen counts in MACs
(``budget_in_macs``), so it gets the compute of 100 twelve-epoch trainings of the reference cell.
At that compute zen's evolution scores most of the 15,625 cells, about a CPU-second each here,
so the scores are computed once: zen draws a network's score with a fixed seed (its default
``score_seed=0``) and keeps it in the per-machine table every search reads (``strategies.zen``).
``--precompute`` fills that table for all cells with the zen proxy itself, on networks in
channels-last memory format (the same arithmetic, 1.9x faster on this CPU: avg-pooling and
convolutions of 16-channel maps); ``--check N`` first scores N cells both ways and prints the
largest difference. The searches are charged as if every score were computed.
"""
from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasbench.nb201_table import N_CELLS  # noqa: E402
from nasbench.proxies import Subject, get_proxy  # noqa: E402
from nasbench.tasks import SEARCH_SPLITS, get_task  # noqa: E402
from spaces.nb201 import NB201Space  # noqa: E402
from strategies import get_strategy, zen  # noqa: E402

DATASET = "cifar10"
DEFAULT_STRATEGIES = ("zen", "random", "rea", "nsga2")
#: Random search's mean best test accuracy at 100 queries over 100 seeds (docs/nb201_baselines.md): zen's bar.
RANDOM_MEAN = 93.76


class ChannelsLast(nn.Module):
    """A backbone that runs in channels-last memory format; its weights are converted at the first forward,
    after the proxy's Gaussian initialisation, so they hold the values the plain network would."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net, self.converted = net, False

    def forward(self, x):
        if not self.converted:
            self.net.to(memory_format=torch.channels_last)
            self.converted = True
        return self.net(x.contiguous(memory_format=torch.channels_last))


class ChannelsLastSpace:
    """The NB201 space whose backbones run channels-last (what the proxy reads: name, capabilities, backbone)."""

    def __init__(self, space: NB201Space) -> None:
        self.space, self.name, self.capabilities = space, space.name, space.capabilities

    def backbone(self, arch, task, *, residual=True):
        return ChannelsLast(self.space.backbone(arch, task, residual=residual))


def _setup():
    space = NB201Space()
    evaluator = get_task(DATASET, SEARCH_SPLITS).evaluator(space)
    strategy = get_strategy("zen").create()
    proxy = get_proxy(strategy.proxy_for(DATASET))
    return space, evaluator, strategy, proxy


def _score_cells(indices: list[int]) -> list[tuple[str, float]]:
    """Worker: zen scores (channels-last) of the cells at ``indices``, at the strategy's score seed."""
    torch.set_num_threads(1)
    space, evaluator, strategy, proxy = _setup()
    fast = ChannelsLastSpace(space)
    out = []
    for i in indices:
        arch = space.from_index(i)
        subject = Subject(fast, arch, evaluator.network_task(), evaluator.cost)
        out.append((f"{arch.key}@{strategy.score_seed}", proxy.score(subject, strategy.score_seed)))
    return out


def table() -> "zen.ScoreTable":
    """Zen's per-machine score table of NB201 cifar10 at one torch thread (the runner's workers' setting)."""
    torch.set_num_threads(1)
    space, evaluator, _, proxy = _setup()
    return zen.ScoreTable.of(proxy, Subject(space, space.reference(), evaluator.network_task(), evaluator.cost))


def ceiling() -> None:
    """What ranking by the Zen-score can reach on NB201 cifar10: the test accuracy of the top-scoring cells.

    Reads the full score table (``--precompute``); prints the Spearman correlation of the score
    with the 200-epoch test accuracy, the mean accuracy of the top 1 / 10 / 100 cells by score
    under MACs limits at quantiles of the space (1.0: unconstrained) and the share of cells above
    random search's mean: the ceiling of a search that returns the best score it finds.
    """
    from scipy import stats

    from nasbench.nb201_table import accuracy_table, cost_table

    space, scores = NB201Space(), table()
    seed = get_strategy("zen").create().score_seed
    acc = accuracy_table().columns[f"{DATASET}_test_200ep"]
    macs = cost_table()[f"{DATASET}_macs"]
    score = np.array([scores.get(f"{space.from_index(i).key}@{seed}", np.nan) for i in range(N_CELLS)])
    known = np.isfinite(score)
    print(f"cells scored: {known.sum():,} of {N_CELLS:,}; Spearman(score, test acc.) {stats.spearmanr(score[known], acc[known])[0]:.3f}")
    order = np.argsort(-np.where(known, score, -np.inf))
    print(f"optimum of the table {acc.max():.2f}; cells above {RANDOM_MEAN} (random search's mean at 100 queries): "
          f"{(acc > RANDOM_MEAN).mean():.2%}")
    print("| MACs limit (quantile of the space) | top-1 cell's test acc. | mean of top 10 | mean of top 100 |")
    print("|---|---|---|---|")
    for q in (0.25, 0.5, 0.75, 0.9, 1.0):
        under = order[macs[order] <= np.quantile(macs, q)]
        print(f"| {q:g} ({np.quantile(macs, q) / 1e6:.0f} M) | {acc[under[0]]:.2f} | {acc[under[:10]].mean():.2f} | {acc[under[:100]].mean():.2f} |")


def time_scores(n: int) -> None:
    torch.set_num_threads(1)
    space, evaluator, strategy, proxy = _setup()
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(n)]
    for label, subject_space in (("as built", space), ("channels-last", ChannelsLastSpace(space))):
        start = time.process_time()
        values = [proxy.score(Subject(subject_space, a, evaluator.network_task(), evaluator.cost), 0) for a in archs]
        cpu = (time.process_time() - start) / n
        print(f"zen score, {label}: {cpu:.3f} CPU s per cell (mean of {n} random cells, one thread)")
        if label == "as built":
            plain = values
    print(f"largest |difference| channels-last vs as built: {max(abs(a - b) for a, b in zip(plain, values)):.2e} "
          f"(scores {min(plain):.1f} .. {max(plain):.1f})")
    query = evaluator.compute(space.reference(), evaluator.search_fidelity)
    mean_score = statistics.fmean(proxy.compute(evaluator.cost(a)) for a in archs)
    print(f"100 reference queries = {100 * query:.3g} MACs = {100 * query / mean_score:,.0f} zen scores of an average cell")


def precompute(workers: int, chunk: int, limit: int | None = None) -> None:
    scores = table()
    space, _, strategy, _ = _setup()
    missing = [i for i in range(N_CELLS) if f"{space.from_index(i).key}@{strategy.score_seed}" not in scores]
    todo = missing[:limit]
    print(f"{N_CELLS - len(missing)} of {N_CELLS} cells already in {scores.path}; scoring {len(todo)} with {workers} workers")
    start = time.perf_counter()
    parts = [todo[i : i + chunk] for i in range(0, len(todo), chunk)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for done, rows in enumerate(pool.imap_unordered(_score_cells, parts), start=1):
            for key, value in rows:
                scores[key] = value
            print(f"  {done}/{len(parts)} chunks, {time.perf_counter() - start:.0f} s", flush=True)


def fmt(values: list[float], digits: int = 2) -> str:
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}" if len(values) > 1 else f"{values[0]:.{digits}f}"


def compare_runs(seeds: int, out: str, workers: int, strategies: tuple[str, ...], doc: str | None) -> None:
    from nasbench.runner.compare import compare
    from nasbench.runner.config import Settings
    from nasbench.runner.report import pairwise_block
    from nasbench.runner.stats import pairwise

    settings = Settings(strategies=strategies, tasks=(DATASET,), space="nb201", budget=100, budget_unit="queries",
                        seeds=seeds, k=10)
    start = time.perf_counter()
    _, store, runs = compare(settings, out, executor="pool", workers=workers)
    searches = store.searches()
    store.close()
    seconds = time.perf_counter() - start
    searched = sum(s.get("wall_seconds") or 0.0 for s in searches.values())  # stored (resumed) runs count too
    rows = ["| strategy | test acc. of returned arch (%) | HV ratio | IGD | scores / queries per run | compute used / budget |",
            "|---|---|---|---|---|---|"]
    for name in strategies:
        group = [r for r in runs if r["strategy"] == name and r["status"] == "ok"]
        counted = [searches[(name, r["seed"], DATASET)]["queries"] for r in group]
        used = [r["compute_used"] / r["budget"] for r in group]
        rows.append(f"| {name} | {fmt([r['indicators']['best_test_acc'] for r in group])} | "
                    f"{fmt([r['indicators']['hv_ratio'] for r in group], 3)} | {fmt([r['indicators']['igd'] for r in group], 3)} | "
                    f"{np.mean(counted):,.0f} (min {min(counted):,}, max {max(counted):,}) | {np.mean(used):.4f} |")
    table = pairwise([r for r in runs if r["status"] == "ok"], metrics=("best_test_acc", "hv_ratio"))
    rows += ["", "Pairs with zen, paired by seed (Holm over all pairs of a metric; A12 = P(a beats b)):", "",
             pairwise_block(table[(table["strategy_a"] == "zen") | (table["strategy_b"] == "zen")])]
    reasons = sorted({r["stop_reason"] for r in runs if r["strategy"] == "zen"})
    text = "\n".join(rows)
    print(text)
    timing = f"{len(runs)} runs; searches {searched:.0f} s of wall time summed over the runs; this call {seconds:.0f} s"
    print(f"zen stop reasons: {reasons}; {timing}")
    if doc:
        command = f"python benchmarks/zen_nb201.py --seeds {seeds} --workers {workers}" + (
            f" --strategies {','.join(strategies)}" if strategies != DEFAULT_STRATEGIES else "")
        Path(doc).write_text(f"# Zen-NAS on NAS-Bench-201 cifar10 at the baselines' compute ({seeds} seeds)\n\n"
                             f"Produced by `{command}` (mean ± std over seeds 0-{seeds - 1}; zen reads the score table "
                             f"filled by `--precompute`, charged as if it computed every score).\n\n"
                             f"{text}\n\nzen stop reasons: {reasons}; {timing}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time", type=int, default=0, metavar="N", help="time N zen scores both ways and compare them")
    parser.add_argument("--precompute", action="store_true")
    parser.add_argument("--ceiling", action="store_true", help="the test accuracy of the top Zen-scores of the full table")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=200)
    parser.add_argument("--limit", type=int, default=None, help="score at most this many missing cells (resume later)")
    parser.add_argument("--seeds", type=int, default=0)
    parser.add_argument("--strategies", default=",".join(DEFAULT_STRATEGIES))
    parser.add_argument("--out", default=None, help="results folder (resumable); a temporary one by default")
    parser.add_argument("--doc", help="also write the table to this file")
    args = parser.parse_args()
    if args.time:
        time_scores(args.time)
    if args.precompute:
        precompute(args.workers, args.chunk, args.limit)
    if args.ceiling:
        ceiling()
    if args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            compare_runs(args.seeds, args.out or tmp, args.workers, tuple(args.strategies.split(",")), args.doc)


if __name__ == "__main__":
    main()
