"""Exact MACs and parameters of a mobile-space network, summed from its parts, each part counted once.

A zero-shot search asks for the cost of thousands of networks, and building each one to run
torch's FLOP counter over it took about as long as scoring it. A network's MACs and parameters
are the sums of its stem's, its blocks' and its head's (a residual link's addition is not a
multiply-accumulate), and a space has few distinct parts: each is built and counted once per
process at the input shape it meets, then looked up. The sums equal ``count_macs`` and
``count_params`` of the built network (``tests/test_part_costs.py`` checks it).
"""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Callable, Hashable, MutableMapping

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from nasbench.costs import count_params

if TYPE_CHECKING:  # pragma: no cover
    from nasbench.records import Architecture
    from nasbench.tasks import Task
    from spaces.mobile import MobileSpace

Counted = tuple[int, int, Any]
#: (stem or block, its settings, input shape) -> (MACs, parameters, output shape), for this process.
_PARTS: dict[Hashable, Counted] = {}
#: Per task instance (a head may depend on its instance), feature shapes -> the head's count.
_HEADS: "weakref.WeakKeyDictionary[Any, dict[Hashable, Counted]]" = weakref.WeakKeyDictionary()


def network_cost(space: "MobileSpace", arch: "Architecture", task: "Task") -> tuple[int, int]:
    """MACs at batch 1 and parameters of ``space.build(arch, task)``, without building it."""
    from spaces.mobile import InvertedResidual, conv_bn, feature_strides, stem_stride

    in_channels, height, width = task.input_shape
    stride = stem_stride(height)
    shape = (in_channels, height, width)
    macs, params, shape = _part(("stem", space.stem_channels, stride, shape),
                                lambda: conv_bn(in_channels, space.stem_channels, 3, stride), shape)
    features = []
    for stage in space.decode(arch):
        for b in stage.blocks:
            m, p, shape = _part(("block", b.cin, b.cout, b.kernel, b.expansion, b.stride, shape),
                                lambda b=b: InvertedResidual(b.cin, b.cout, b.kernel, b.expansion, b.stride), shape)
            macs, params = macs + m, params + p
        features.append(shape)
    channels = tuple(f[0] for f in features)
    strides = feature_strides(stride)
    m, p, _ = _part(tuple(features), lambda: task.head(channels, strides), features, _HEADS.setdefault(task, {}))
    return macs + m, params + p


def _part(key: Hashable, build: Callable[[], nn.Module], shape: Any,
          cache: MutableMapping[Hashable, Counted] = _PARTS) -> Counted:
    """The cached (MACs, parameters, output shape) of the part ``build()`` makes, fed inputs of ``shape``."""
    if key not in cache:
        module = build().eval()
        inputs = [torch.zeros(1, *s) for s in shape] if isinstance(shape, list) else torch.zeros(1, *shape)
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            out = module(inputs)
        out_shape = tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else None
        cache[key] = (int(counter.get_total_flops() // 2), count_params(module), out_shape)
    return cache[key]
