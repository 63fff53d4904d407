"""FBNet's cost tables: per-block CPU latency (batch 1, median of repeated runs) and MACs, cached per machine.

One table per (space, task): every inverted-residual block the mobile space can place at every
stage and slot, at the input shape it meets there, plus the stem and the task head. Latencies
are measured on one torch thread (``torch.set_num_threads(1)`` while measuring, restored after),
the setting the comparison's workers run with. A table is written as JSON under
``$NASBENCH_CACHE`` (default ``~/.cache/nasbench``) as ``lut-<fingerprint>.json``; the
fingerprint hashes the CPU model, torch version, thread count, space configuration and task
(name and input shape), so another machine or configuration measures its own table. Measuring
is not charged to any ledger: like ``ctx.cost``, it is a property of the hardware, not search.

The cache file is written atomically (a temporary file in the same folder, then renamed over the
target), so two processes measuring the same table at once cannot leave a corrupt file; a file
that cannot be read back (e.g. from an interrupted older version) is measured again. Tables are
kept in memory per fingerprint once loaded.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from nasbench.files import atomic_write
from nasbench.costs import count_macs
from spaces.mobile import STAGE_STRIDES, InvertedResidual, MobileSpace, conv_bn, stem_stride

MODES = ("cached", "rebuild")
#: Bump when the measuring method changes, so old tables are not reused.
VERSION = 1
#: Rounds over all entries and timed runs per entry and round; an entry's latency is the median
#: of its rounds' medians (rounds spread the measurement of an entry over time, so a burst of load
#: from another process skews one round, not the table).
ROUNDS = 3
REPEATS = 10
WARMUP = 3

_rebuilt: set[str] = set()
#: Tables loaded or measured in this process, by cache file.
_loaded: dict[Path, "CostTable"] = {}


@dataclass(frozen=True)
class Entry:
    """One table row: median batch-1 latency in milliseconds and MACs."""

    latency_ms: float
    macs: int


@dataclass(frozen=True)
class CostTable:
    """Stem, per-block and head costs of one (space, task) on this machine."""

    fingerprint: str
    stem: Entry
    head_ms: float
    blocks: dict[str, Entry]

    def block(self, stage: int, slot: int, cin: int, cout: int, kernel: int, expansion: int) -> Entry:
        """The entry of a block at ``stage`` (first slot or a later one) with these channels and candidate."""
        return self.blocks[block_key(stage, slot, cin, cout, kernel, expansion)]

    def latency_ms(self, space: MobileSpace, arch) -> float:
        """Predicted latency of ``arch``: stem + the LUT entries of its blocks + head."""
        return self.stem.latency_ms + self.head_ms + sum(self._entries(space, arch, "latency_ms"))

    def backbone_macs(self, space: MobileSpace, arch) -> int:
        """Exact MACs of ``arch``'s backbone (stem and blocks) at batch 1."""
        return self.stem.macs + sum(self._entries(space, arch, "macs"))

    def _entries(self, space: MobileSpace, arch, field: str) -> list[float]:
        return [
            getattr(self.block(s, j, b.cin, b.cout, b.kernel, b.expansion), field)
            for s, stage in enumerate(space.decode(arch))
            for j, b in enumerate(stage.blocks)
        ]

    def to_dict(self) -> dict:
        return {
            "fingerprint": self.fingerprint,
            "stem": [self.stem.latency_ms, self.stem.macs],
            "head_ms": self.head_ms,
            "blocks": {k: [e.latency_ms, e.macs] for k, e in self.blocks.items()},
        }

    @classmethod
    def from_dict(cls, d: dict) -> "CostTable":
        return cls(d["fingerprint"], Entry(*d["stem"]), d["head_ms"], {k: Entry(*v) for k, v in d["blocks"].items()})


def block_key(stage: int, slot: int, cin: int, cout: int, kernel: int, expansion: int) -> str:
    """Blocks after the first of a stage share one shape (stride 1, same resolution): one key."""
    return f"s{stage}{'first' if slot == 0 else 'later'}-{cin}-{cout}-k{kernel}e{expansion}"


@functools.cache
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fingerprint(space: MobileSpace, task) -> str:
    """Hash of what a table's numbers depend on: machine, torch, threads, space and task."""
    config = {
        "version": VERSION, "cpu": cpu_model(), "torch": torch.__version__, "threads": 1,
        "space": [space.widths, space.depths, space.kernels, space.expansions, space.stem_channels],
        "task": [task.name, list(task.input_shape)],
    }
    return hashlib.sha1(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def cache_dir() -> Path:
    return Path(os.environ.get("NASBENCH_CACHE", Path.home() / ".cache" / "nasbench"))


def load_table(space: MobileSpace, task, mode: str = "cached") -> CostTable:
    """The cached table of (space, task) on this machine, measured first if missing or if ``mode`` is ``rebuild``.

    ``rebuild`` re-measures once per process and fingerprint, then reuses the new table.
    """
    if mode not in MODES:
        raise ValueError(f"unknown LUT mode {mode!r}; choose from {', '.join(MODES)}")
    key = fingerprint(space, task)
    path = cache_dir() / f"lut-{key}.json"
    fresh = mode == "cached" or key in _rebuilt
    if fresh and path in _loaded:
        return _loaded[path]
    if fresh and path.exists():
        try:
            _loaded[path] = CostTable.from_dict(json.loads(path.read_text()))
            return _loaded[path]
        except (OSError, ValueError, KeyError, TypeError):
            pass  # unreadable: measure it again
    table = measure_table(space, task, key)
    atomic_write(path.parent, path.name, json.dumps(table.to_dict()))
    _rebuilt.add(key)
    _loaded[path] = table
    return table


def _median_ms(fn: Callable[[], object], warmup: int = WARMUP, repeats: int = REPEATS) -> float:
    times = []
    for i in range(warmup + repeats):
        start = time.perf_counter()
        fn()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


@torch.no_grad()
def measure_table(space: MobileSpace, task, key: str = "") -> CostTable:
    """Measure every block shape of the space on ``task``'s input, plus stem and head (one thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        channels, height, width = task.input_shape
        stride = stem_stride(height)
        stem = conv_bn(channels, space.stem_channels, 3, stride).eval()
        size = math.ceil(height / stride), math.ceil(width / stride)
        jobs: dict[str, tuple[torch.nn.Module, torch.Tensor]] = {}
        cins = (space.stem_channels,)
        for s, (stride, widths) in enumerate(zip(STAGE_STRIDES, space.widths)):
            after = math.ceil(size[0] / stride), math.ceil(size[1] / stride)
            for kernel in space.kernels:
                for e in space.expansions:
                    for cout in widths:
                        for cin in cins:
                            block = InvertedResidual(cin, cout, kernel, e, stride).eval()
                            jobs[block_key(s, 0, cin, cout, kernel, e)] = (block, torch.zeros(1, cin, *size))
                        if space.max_depth > 1:
                            block = InvertedResidual(cout, cout, kernel, e, 1).eval()
                            jobs[block_key(s, 1, cout, cout, kernel, e)] = (block, torch.zeros(1, cout, *after))
            cins, size = widths, after
        rounds: dict[str, list[float]] = {k: [] for k in jobs}
        for _ in range(ROUNDS):
            for k, (block, x) in jobs.items():
                rounds[k].append(_median_ms(lambda: block(x)))
        blocks = {
            k: Entry(statistics.median(rounds[k]), count_macs(block, tuple(x.shape[1:]))) for k, (block, x) in jobs.items()
        }
        x = torch.zeros(1, *task.input_shape)
        stem_entry = Entry(statistics.median(_median_ms(lambda: stem(x)) for _ in range(ROUNDS)), count_macs(stem, task.input_shape))
        model = space.build(space.reference(), task).eval()
        features = model.backbone(x)
        head_ms = statistics.median(_median_ms(lambda: model.head(features)) for _ in range(ROUNDS))
        return CostTable(key, stem_entry, head_ms, blocks)
    finally:
        torch.set_num_threads(threads)
