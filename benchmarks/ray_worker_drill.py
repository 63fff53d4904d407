"""Ray drill: SIGKILL Ray worker processes mid-job; the jobs are retried and nothing is lost or duplicated.

Run: python benchmarks/ray_worker_drill.py [--kills 2] [--seed 0] [--doc PATH]
One small embedded comparison runs in-process as the reference. The same comparison then runs on
a local Ray instance (``--executor ray --workers 2``) while this script watches the machine's
processes: each time a worker is running a job (its process title is ``ray::_run_job``), it waits
a random 1-4 s and SIGKILLs that worker, until ``--kills`` workers are dead. Ray re-runs the lost
job on a new worker. Then it checks: the comparison exited 0, every results file parses, one run
record per (strategy, task, seed), all ok, no duplicated archive rows, the retried searches record
their attempt count, and summary.csv equals the in-process one (timing columns aside).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bullets import emit  # noqa: E402
from kill_drill import ROOT, check_folder, summary  # noqa: E402

COMPARISON = ["--strategies", "random,rea", "--tasks", "cls", "--budget", "6", "--k", "3", "--seeds", "2", "--no-progress"]
EXPECTED_RUNS = 4


def job_workers() -> list[int]:
    """Pids of processes whose title says they run a Ray task of the executor's job wrapper."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                title = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            if title.startswith(b"ray::_run_job"):
                pids.append(int(entry))
    return pids


def drill(out: Path, kills: int, rng: random.Random) -> tuple[int, list[str]]:
    """Run the comparison on Ray, killing ``kills`` job workers; return (exit code, what was killed when)."""
    cmd = [sys.executable, str(ROOT / "run_compare.py"), *COMPARISON, "--executor", "ray", "--workers", "2", "--out", str(out)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed: list[str] = []
    while proc.poll() is None and len(killed) < kills:
        busy = job_workers()
        if not busy:
            time.sleep(0.2)
            continue
        time.sleep(rng.uniform(1.0, 4.0))
        victim = rng.choice(busy)
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            continue  # its job finished meanwhile
        killed.append(f"pid {victim} at {time.perf_counter() - start:.1f} s")
    err = proc.communicate()[1].decode()
    if proc.returncode != 0:
        print(err, file=sys.stderr)
    return proc.returncode, killed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--doc", help="write the results as markdown to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        reference, drilled = Path(tmp) / "reference", Path(tmp) / "drilled"
        subprocess.run([sys.executable, str(ROOT / "run_compare.py"), *COMPARISON, "--executor", "inprocess",
                        "--out", str(reference)], check=True, stdout=subprocess.DEVNULL)
        code, killed = drill(drilled, args.kills, random.Random(args.seed))
        counts = check_folder(drilled)
        runs = [json.loads(line) for line in open(drilled / "runs.jsonl")]
        searches = [json.loads(line) for line in open(drilled / "searches.jsonl")]
        retried = sorted(f"{s['strategy']} seed {s['seed']}: {s['attempts']} attempts" for s in searches if s["attempts"] > 1)
        equal = summary(drilled) == summary(reference)
    lines = [
        f"comparison on local Ray (2 workers) exited {code}; workers killed mid-job: {len(killed)} ({'; '.join(killed)})",
        f"run records: {counts['run_records']}, distinct ok runs: {counts['ok_keys']} (expected {EXPECTED_RUNS}), "
        f"not ok: {sum(r['status'] != 'ok' for r in runs)}",
        f"duplicated ok runs: {counts['duplicate_ok_runs']}, duplicated archive rows: {counts['duplicate_archive_rows']}",
        f"searches retried: {', '.join(retried) or 'none (the kills hit final evaluations)'}",
        f"summary.csv equal to the in-process run's (timing columns aside): {equal}",
    ]
    emit(lines, args.doc, f"python benchmarks/ray_worker_drill.py --kills {args.kills} --seed {args.seed}")


if __name__ == "__main__":
    main()
