"""Run identity: a hash of everything that determines a run, and of the code that ran it."""
from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping

from nasbench.registry import module_files

#: Distributions whose versions can change a result; recorded in every folder's identity.
DEPENDENCIES = ("torch", "numpy", "scipy", "pymoo", "deap", "scikit-learn", "torchmetrics", "pycocotools")


def digest(value: Any) -> str:
    """SHA-256 of ``value``'s canonical JSON."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


@functools.cache
def code_fingerprint() -> str:
    """Hash of the source of the framework's packages and of every loaded plug-in module."""
    roots = [Path(__file__).resolve().parents[1]]  # nasbench/
    files = {p for root in roots for p in root.rglob("*.py")}
    files |= {Path(f).resolve() for f in module_files()}
    for package in ("spaces", "strategies"):
        module = sys.modules.get(package)
        if module is not None and getattr(module, "__file__", None):
            files |= set(Path(module.__file__).resolve().parent.rglob("*.py"))
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def versions() -> dict[str, str]:
    """Python, this package and the dependencies that can change a number."""
    found = {"python": platform.python_version()}
    for name in ("nasbench", *DEPENDENCIES):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


@functools.cache
def machine() -> dict[str, Any]:
    """CPU model and core count of this machine (recorded, not part of a run's identity)."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpu": model, "cores": os.cpu_count(), "platform": platform.platform()}


def run_fingerprint(shared: Mapping[str, Any], strategy: str, params: Mapping[str, Any], task: str,
                    task_settings: Mapping[str, Any], seed: int, searched_with: Iterable[str]) -> str:
    """Fingerprint of one (strategy, task, seed) run: shared settings, resolved hyper-parameters, task, seed."""
    return digest({
        "shared": dict(shared), "strategy": strategy, "params": dict(params), "task": task,
        "task_settings": dict(task_settings), "seed": seed, "searched_with": sorted(searched_with),
    })[:24]
