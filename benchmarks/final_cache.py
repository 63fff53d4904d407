"""What the shared final-evaluation cache saved in a results folder: trainings and their wall time.

Run: python benchmarks/final_cache.py RESULTS_FOLDER [--doc PATH]
Every proposal of every run needs a final training (task, architecture, seed); the cache trains
each distinct one once. Saved = proposals beyond the first of each key, at the recorded wall
time of the training that served them.
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasbench.runner.store import ResultStore, read_folder  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bullets import emit  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--doc", help="also write the figures as markdown to this file")
    args = parser.parse_args()
    _, runs, _ = read_folder(args.folder)
    cache = ResultStore(args.folder).finals_cache()
    uses = collections.Counter(f"{r['task']}|{f['arch']}|seed{r['seed']}" for r in runs for f in r["finals"])
    saved = {key: n - 1 for key, n in uses.items() if n > 1}
    seconds = sum(n * (cache.get(key) or {}).get("wall_seconds", 0.0) for key, n in saved.items())
    trained = sum((cache.get(key) or {}).get("wall_seconds", 0.0) for key in uses)
    lines = [
        f"runs: {len(runs)}; proposals needing a final training: {sum(uses.values())}",
        f"distinct (task, architecture, seed) trained: {len(uses)}; trainings saved by the cache: {sum(saved.values())}",
        f"final-training wall time spent: {trained:.0f} s; saved: {seconds:.0f} s",
    ]
    emit(lines, args.doc, f"python benchmarks/final_cache.py {args.folder}", "Final-evaluation cache")


if __name__ == "__main__":
    main()
