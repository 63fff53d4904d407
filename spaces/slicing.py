"""OFA-style slicing supernet of the mobile space: every architecture is a slice of the largest one.

The parent is ``space.build(largest, task)``. A sub-network of ``arch`` keeps, of the parent:
  - depth: the first ``d`` blocks of every stage;
  - width: the first ``w`` output channels of every stage (in every block's projection, every
    next block's input and every head tensor that reads the stage);
  - expansion: the first ``cin * e`` hidden channels of every block (its expand conv, depthwise
    conv and projection input, with their BatchNorm statistics);
  - kernel: the centre ``k x k`` of every depthwise kernel.
``sort_channels`` permutes the parent's channels so that these prefixes are the most important
ones (L1 norm of the filters writing a channel); the permutation leaves the parent's function
unchanged. Slicing is then a prefix everywhere, so ``extract`` and ``absorb`` are exact inverses.

Expansion 1 has no expand conv: its depthwise conv reads the block input directly and borrows the
parent's first ``cin`` hidden channels, channel ``i`` of the input meeting hidden channel ``i``.
That pairing is arbitrary (the parent's expand conv, which maps input to hidden, is skipped), so
expansion-1 blocks are an approximation of the parent, to be corrected by recalibration or
fine-tuning.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Mapping

import torch

from nasbench.errors import ConfigError, InvalidArchitecture
from nasbench.model import TaskModel
from nasbench.records import Architecture
from spaces.mobile import MobileSpace

if TYPE_CHECKING:  # pragma: no cover
    from nasbench.tasks.base import Task

#: A parent tensor and the index of its slice: (state_dict key, one slice per dimension).
Slice = tuple[str, tuple[slice, ...]]

_BLOCK_LAYER = re.compile(r"^backbone\.stages\.(\d+)\.(\d+)\.body\.(\d+)\.(.+)$")
_BN_TENSORS = ("weight", "bias", "running_mean", "running_var")
# Layers of a parent block: its body is [expand, depthwise, project], each a conv_bn (0: conv, 1: BN).
_EXPAND, _DEPTHWISE, _PROJECT = 0, 1, 2


class SlicingSupernet:
    """The largest network of a ``MobileSpace`` for one task, from which any architecture is sliced.

    ``parent`` is a regular ``TaskModel`` (train it with the usual loop); call ``sort_channels``
    after training it so that smaller architectures keep its most important channels, and do not
    re-sort between an ``extract`` and the ``absorb`` that writes that sub-network back.
    """

    def __init__(self, space: MobileSpace, task: "Task") -> None:
        if max(space.expansions) == 1:
            raise ConfigError("a slicing supernet needs an expansion option above 1 (its parent has hidden channels to slice)")
        self.space = space
        self.task = task
        self.largest = space.make(space.bounds[1])
        self.parent: TaskModel = space.build(self.largest, task)
        self._head_inputs = self._find_head_inputs()

    # -- channel ranking -----------------------------------------------------------------
    def _find_head_inputs(self) -> list[list[tuple[str, int]]]:
        """Per stage, the head tensors (key, dim) indexed by that stage's channels.

        Found by building the head with the stage one channel wider and seeing which dimensions
        grow, so any task head works without this class knowing it.
        """
        channels, strides = list(self.parent.backbone.channels), self.parent.backbone.strides
        base = {k: v.shape for k, v in self.task.head(channels, strides).state_dict().items()}
        found = []
        for s in range(len(channels)):
            grown = channels[:s] + [channels[s] + 1] + channels[s + 1 :]
            shapes = {k: v.shape for k, v in self.task.head(grown, strides).state_dict().items()}
            found.append([(f"head.{k}", d) for k, shape in shapes.items() for d in range(len(shape)) if shape[d] != base[k][d]])
        return found

    @staticmethod
    def _layer(s: int, j: int, layer: int) -> str:
        return f"backbone.stages.{s}.{j}.body.{layer}"

    def _conv_bn_outputs(self, s: int, j: int, layer: int) -> list[tuple[str, int]]:
        """The tensors indexed by a conv_bn layer's output channels: conv filters and BN entries."""
        prefix = self._layer(s, j, layer)
        return [(f"{prefix}.0.weight", 0)] + [(f"{prefix}.1.{name}", 0) for name in _BN_TENSORS]

    @torch.no_grad()
    def sort_channels(self) -> None:
        """Reorder the parent's stage and hidden channels by decreasing filter L1 norm (function unchanged)."""
        state = self.parent.state_dict()

        def l1(key: str) -> torch.Tensor:
            return state[key].abs().flatten(1).sum(1)

        depth = self.space.max_depth
        stages = len(self.parent.backbone.stages)
        moves: list[tuple[list[tuple[str, int]], torch.Tensor]] = []
        for s in range(stages):
            for j in range(depth):
                hidden = self._conv_bn_outputs(s, j, _EXPAND) + self._conv_bn_outputs(s, j, _DEPTHWISE)
                hidden.append((f"{self._layer(s, j, _PROJECT)}.0.weight", 1))
                moves.append((hidden, l1(f"{self._layer(s, j, _EXPAND)}.0.weight")))
            readers = [t for j in range(depth) for t in self._conv_bn_outputs(s, j, _PROJECT)]
            readers += [(f"{self._layer(s, j, _EXPAND)}.0.weight", 1) for j in range(1, depth)]
            if s + 1 < stages:
                readers.append((f"{self._layer(s + 1, 0, _EXPAND)}.0.weight", 1))
            importance = sum(l1(f"{self._layer(s, j, _PROJECT)}.0.weight") for j in range(depth))
            moves.append((readers + self._head_inputs[s], importance))
        for tensors, importance in moves:
            order = torch.argsort(importance, descending=True, stable=True)
            for key, dim in tensors:
                state[key].copy_(state[key].index_select(dim, order))

    # -- slicing -------------------------------------------------------------------------
    def slices(self, arch: Architecture, shapes: Mapping[str, torch.Size]) -> dict[str, Slice]:
        """For every tensor of ``arch``'s network (its state_dict shapes), the parent slice it borrows."""
        stages = self.space.decode(arch)
        no_expand = {(s, j) for s, st in enumerate(stages) for j, b in enumerate(st.blocks) if b.expansion == 1}
        parent = self.parent.state_dict()
        plan = {}
        for key, shape in shapes.items():
            match = _BLOCK_LAYER.match(key)
            parent_key = key
            if match and (int(match[1]), int(match[2])) in no_expand:
                s, j, layer, rest = int(match[1]), int(match[2]), int(match[3]), match[4]
                parent_key = f"{self._layer(s, j, layer + 1)}.{rest}"
            if parent_key not in parent or len(parent[parent_key].shape) != len(shape):
                raise InvalidArchitecture(f"{key} of {arch.key} has no counterpart in the parent")
            full = parent[parent_key].shape
            if any(n > p for n, p in zip(shape, full)):
                raise InvalidArchitecture(f"{key} of {arch.key} is larger than the parent's {tuple(full)}")
            # channel dims (0, 1) keep a prefix; kernel dims (2, 3) keep the centre
            plan[key] = (parent_key, tuple(
                slice(start, start + n) for d, (n, p) in enumerate(zip(shape, full)) for start in [(p - n) // 2 if d >= 2 else 0]
            ))
        return plan

    @torch.no_grad()
    def extract(self, arch: Architecture) -> TaskModel:
        """A standalone ``space.build(arch, task)`` network holding copies of the parent's slices (trains nothing)."""
        model = self.space.build(arch, self.task)
        state = model.state_dict()
        parent = self.parent.state_dict()
        plan = self.slices(arch, {k: v.shape for k, v in state.items()})
        model.load_state_dict({key: parent[pkey][index].clone() for key, (pkey, index) in plan.items()})
        return model

    @torch.no_grad()
    def absorb(self, arch: Architecture, model: TaskModel) -> None:
        """Write ``model`` (a network of ``arch``, e.g. trained after ``extract``) into the parent's slices."""
        stages = self.space.decode(arch)
        if tuple(len(stage) for stage in model.backbone.stages) != tuple(st.depth for st in stages) or (
            tuple(model.backbone.channels) != tuple(st.channels for st in stages)
        ):
            raise InvalidArchitecture(f"the model given to absorb is not a network of {arch.key}")
        state = model.state_dict()
        parent = self.parent.state_dict()
        for key, (pkey, index) in self.slices(arch, {k: v.shape for k, v in state.items()}).items():
            parent[pkey][index] = state[key]
