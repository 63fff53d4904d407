"""Training throughput of the shared evaluator against a bare torch loop on the same model and batches.

Run: python benchmarks/train_throughput.py [--task cls] [--epochs 3] [--repeats 5]
Prints images/s of both and their ratio (median of interleaved repeats, so machine noise hits both).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nasbench.tasks import get_task  # noqa: E402
from nasbench.training import Recipe, task_recipe, train  # noqa: E402
from spaces import get_space  # noqa: E402


def bare_loop(model: torch.nn.Module, batches, loss_fn, recipe: Recipe, epochs: int) -> int:
    """The plainest loop over the same batches: forward, loss, backward, AdamW step."""
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    model.train()
    seen = 0
    for _ in range(epochs):
        for inputs, targets in batches:
            loss = loss_fn(model(inputs), targets)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(inputs)
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="cls")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    task = get_task(args.task)
    space = get_space("mobile")
    arch = space.reference()
    data = task.split("train")
    recipe = task_recipe(task)
    batches = list(data.batches(recipe.batch_size, torch.Generator().manual_seed(0)))
    ours, bare = [], []
    for r in range(args.repeats):
        torch.manual_seed(r)
        model = space.build(arch, task)
        start = time.perf_counter()
        n = train(model, task, data, args.epochs, seed=r, recipe=recipe)
        ours.append(n / (time.perf_counter() - start))
        torch.manual_seed(r)
        model = space.build(arch, task)
        start = time.perf_counter()
        n = bare_loop(model, batches, task.loss, recipe, args.epochs)
        bare.append(n / (time.perf_counter() - start))
    o, b = statistics.median(ours), statistics.median(bare)
    print(f"task {args.task}, architecture {arch.key} ({space.describe(arch)}), {len(data)} images x {args.epochs} epochs, "
          f"{args.repeats} interleaved repeats, torch threads {torch.get_num_threads()}")
    print(f"evaluator training: {o:8.0f} images/s (median)")
    print(f"bare torch loop:    {b:8.0f} images/s (median)")
    print(f"ratio evaluator/bare: {o / b:.3f}")


if __name__ == "__main__":
    main()
