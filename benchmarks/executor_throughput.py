"""The quick preset's wall time in-process, in a local process pool and on local Ray, in one run.

Run: python benchmarks/executor_throughput.py [--executors inprocess,pool,ray] [--workers 2] [--doc PATH]
Each layout runs the same comparison (the quick preset's settings) into a fresh folder, in a
subprocess, one after the other; the summaries are checked to be identical (timing columns
aside). Wall time includes process start-up, as a user sees it.
"""
from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMING = {"wall_seconds", "cpu_seconds", "audit_ratio", "audit_flagged"}
LAYOUTS = {"inprocess": ["--executor", "inprocess"], "pool": ["--executor", "pool"], "ray": ["--executor", "ray"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executors", default="inprocess,pool,ray")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--doc", help="also write the table as markdown to this file")
    args = parser.parse_args()
    rows, summaries = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.executors.split(","):
            out = Path(tmp) / name
            workers = "1" if name == "inprocess" else str(args.workers)
            command = [sys.executable, str(ROOT / "run_compare.py"), "--preset", "quick", "--no-progress",
                       "--out", str(out), "--workers", workers, *LAYOUTS[name]]
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            seconds = time.perf_counter() - start
            with open(out / "summary.csv") as f:
                summaries[name] = [{k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(f)]
            rows.append(f"| {name} | {workers} | {seconds:.1f} |")
    first = next(iter(summaries.values()))
    identical = all(s == first for s in summaries.values())
    table = "\n".join(["| executor | workers | wall time (s) |", "|---|---|---|", *rows])
    print(table)
    print(f"summaries identical across executors (timing columns aside): {identical}")
    if args.doc:
        Path(args.doc).write_text(f"`python benchmarks/executor_throughput.py --executors {args.executors} "
                                  f"--workers {args.workers}`\n\n{table}\n\nSummaries identical: {identical}\n")


if __name__ == "__main__":
    main()
