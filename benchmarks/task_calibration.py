"""Are the embedded tasks learnable, and do architectures differ? (acceptance figures of the core issue)

Run: python benchmarks/task_calibration.py [--tasks cls,det,seg] [--random 20]
For each task: the mid-size reference architecture trained with the final recipe (test metric),
the spread of the validation metric over random architectures at search fidelity, and the
wall time of one search-fidelity evaluation. Writes docs/task_calibration.md.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasbench.tasks import get_task  # noqa: E402
from nasbench.trained import TrainingEvaluator  # noqa: E402
from spaces import get_space  # noqa: E402


def final_metrics(evaluator: TrainingEvaluator, arch) -> dict[str, float]:
    """Train with the final recipe and report the task's detailed test metrics."""
    task = evaluator.task
    model = evaluator.train_model(arch, evaluator.final_fidelity, seed=0)
    details = getattr(task, "evaluate_details", None)
    test = task.split("test")
    return dict(details(model, test)) if details else {task.metric_name: task.score(model, test)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="cls,det,seg")
    parser.add_argument("--random", type=int, default=20)
    parser.add_argument("--doc", default=str(ROOT / "docs" / "task_calibration.md"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    space = get_space("mobile")
    rows = []
    for name in args.tasks.split(","):
        task = get_task(name)
        evaluator = TrainingEvaluator(space, task, latency=False)
        ref = space.reference()
        start = time.perf_counter()
        finals = final_metrics(evaluator, ref)
        final_seconds = time.perf_counter() - start
        rng = np.random.default_rng(0)
        archs = [space.sample(rng) for _ in range(args.random)]
        evals = [evaluator.evaluate(a, evaluator.search_fidelity, seed=0) for a in archs]
        metrics = [e.metric for e in evals if e.ok]
        times = [e.wall_seconds for e in evals]
        macs = [e.cost.macs for e in evals]
        row = {
            "task": name,
            "train/val/test": "/".join(str(len(task.split(s))) for s in ("train", "val", "test")),
            "epochs search/final": f"{task.search_epochs}/{task.final_epochs}",
            "reference final test": ", ".join(f"{k} {v:.3f}" for k, v in finals.items()),
            "final training s": f"{final_seconds:.1f}",
            f"val metric over {len(archs)} random (min/median/max)": f"{min(metrics):.3f} / {statistics.median(metrics):.3f} / {max(metrics):.3f}",
            "spread": f"{max(metrics) - min(metrics):.3f}",
            "failed": str(len(evals) - len(metrics)),
            "search eval s (median/max)": f"{statistics.median(times):.2f} / {max(times):.2f}",
            "MACs range (M)": f"{min(macs) / 1e6:.2f}-{max(macs) / 1e6:.2f}",
        }
        print(row, flush=True)
        rows.append(row)
    head = list(rows[0])
    table = "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                      + ["| " + " | ".join(r[h] for h in head) + " |" for r in rows])
    doc = f"""# Embedded task calibration

Produced by `python benchmarks/task_calibration.py --tasks {args.tasks} --random {args.random}`
(torch threads: {torch.get_num_threads()}). Reference = the space's mid-size architecture
`{space.describe(space.reference())}`, trained with the final recipe and scored on the test split;
random architectures are trained at search fidelity and scored on the validation split.

{table}
"""
    Path(args.doc).parent.mkdir(parents=True, exist_ok=True)
    Path(args.doc).write_text(doc)
    print(table)


if __name__ == "__main__":
    main()
