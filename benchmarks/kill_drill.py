"""Kill -9 drill: interrupt a comparison at random instants, resume, and check nothing is lost or duplicated.

Run: python benchmarks/kill_drill.py [--kills 25] [--seed 0] [--workers 1] [--doc PATH]
Each round starts the same comparison in a subprocess on one results folder and SIGKILLs it
after a random delay drawn over the length of an uninterrupted run (so kills land in start-up,
search, final evaluation and the output write window), until a run finishes by itself. Then it
checks: every results file parses, one run record per (strategy, task, seed) with status ok,
archive rows unique, and summary.csv equal to that of an uninterrupted run (timing columns aside).
Last, with --workers 2, it kills the parent mid-run and checks that no worker outlives it.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bullets import emit  # noqa: E402

TIMING = {"wall_seconds", "cpu_seconds", "audit_ratio", "audit_flagged"}


def command(out: Path, workers: int, extra: list[str]) -> list[str]:
    return [sys.executable, str(ROOT / "run_compare.py"), "--benchmark", "nb201", "--strategies", "random,rea,nsga2",
            "--seeds", "6", "--no-progress", "--workers", str(workers), "--out", str(out), *extra]


def summary(out: Path) -> list[dict[str, str]]:
    with open(out / "summary.csv") as f:
        return [{k: v for k, v in row.items() if k not in TIMING} for row in csv.DictReader(f)]


def check_folder(out: Path) -> dict[str, int]:
    """Parse every file; count run records per key and archive duplicates."""
    runs = [json.loads(line) for line in open(out / "runs.jsonl")]
    keys = [(r["strategy"], r["task"], r["seed"]) for r in runs if r["status"] == "ok"]
    archive = [json.loads(line) for line in open(out / "archive.jsonl")]
    rows = [(a["fingerprint"], a["attempt"], a["index"]) for a in archive]
    for name in ("searches.jsonl", "finals_cache.jsonl"):
        if (out / name).exists():
            [json.loads(line) for line in open(out / name)]
    json.loads((out / "config.json").read_text())
    return {"run_records": len(runs), "ok_keys": len(set(keys)), "duplicate_ok_runs": len(keys) - len(set(keys)),
            "duplicate_archive_rows": len(rows) - len(set(rows))}


def orphan_check(workers: int) -> tuple[int, int, float]:
    """Kill a --workers comparison's parent mid-search; return (children seen, alive after 120 s, seconds until the last died).

    A worker still importing the framework when its parent dies exits as soon as it starts (it checks its
    parent before taking a job), so on a loaded machine that can take a few seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, str(ROOT / "run_compare.py"), "--strategies", "random,rea", "--tasks", "cls", "--budget", "4",
               "--seeds", "2", "--no-progress", "--workers", str(workers), "--out", tmp]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        children: list[int] = []
        deadline = time.time() + 120
        while len(children) < workers and time.time() < deadline:
            time.sleep(0.5)
            children = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        time.sleep(2)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        start = time.perf_counter()
        while any(_alive(p) for p in children) and time.perf_counter() - start < 120:
            time.sleep(0.5)
        return len(children), sum(_alive(p) for p in children), time.perf_counter() - start


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--doc", help="write the results as markdown to this file")
    parser.add_argument("--orphans-only", action="store_true", help="only the orphan check")
    args = parser.parse_args()
    if args.orphans_only:
        seen, alive, seconds = orphan_check(2)
        print(f"orphan check (--workers 2, parent killed): {seen} child processes seen, {alive} alive after 120 s, "
              f"the last exited {seconds:.1f} s after the parent")
        return
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        reference, drilled = Path(tmp) / "reference", Path(tmp) / "drilled"
        start = time.perf_counter()
        subprocess.run(command(reference, args.workers, []), check=True, stdout=subprocess.DEVNULL)
        duration = time.perf_counter() - start
        kills = rounds = 0
        while True:
            rounds += 1
            proc = subprocess.Popen(command(drilled, args.workers, []), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if kills < args.kills:
                try:
                    proc.wait(timeout=rng.uniform(0.0, duration))
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()
                    kills += 1
                    continue
            err = proc.communicate()[1].decode()
            if proc.returncode == 0 and kills >= args.kills:
                break
            if proc.returncode not in (0, -signal.SIGKILL):
                raise SystemExit(f"round {rounds} exited {proc.returncode}: {err.strip()}")
        counts = check_folder(drilled)
        equal = summary(drilled) == summary(reference)
    seen, alive, seconds = orphan_check(2)
    lines = [
        f"uninterrupted run: {duration:.1f} s; kills: {kills} at random instants over it; rounds: {rounds}",
        f"run records written: {counts['run_records']}, distinct ok runs: {counts['ok_keys']} (expected 18)",
        f"duplicated ok runs: {counts['duplicate_ok_runs']}, duplicated archive rows: {counts['duplicate_archive_rows']}",
        f"summary.csv equal to the uninterrupted run's (timing columns aside): {equal}",
        f"orphan check (--workers 2, parent killed): {seen} child processes seen, {alive} alive after 120 s, "
        f"the last exited {seconds:.1f} s after the parent",
    ]
    emit(lines, args.doc, f"python benchmarks/kill_drill.py --kills {args.kills} --seed {args.seed} --workers {args.workers}",
         "Kill -9 drill")


if __name__ == "__main__":
    main()
