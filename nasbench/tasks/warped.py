"""Warped digits: each 8x8 digit of a split's pool drawn onto a larger canvas, distorted, among clutter.

One sample is one digit, rotated, scaled, sheared, shifted and elastically distorted onto a
``CANVAS`` x ``CANVAS`` canvas, with fragments of other digits of the same pool as distractors
and Gaussian pixel noise. The label is the digit's class. A split draws from its own pool only
(``digits.load_pools``), every digit of the pool equally often, so no test digit appears in a
training or validation image; the generator is seeded per split, so the splits are the same in
every process. Rendering is batched through ``affine_grid``/``grid_sample`` and takes about a
second per split.

Why this design: on the native 8x8 images the classifier saturates (0.97-0.997 test accuracy)
and the choices of the mobile space barely matter. On larger, distorted, cluttered images the
kernel size and the depth of a network change how fast it learns, and a test split many times
the pool's size makes one test image move the accuracy by well under 0.001. The settings were
chosen by measurement (``docs/task_calibration.md``).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from nasbench.tasks.base import SPLITS
from nasbench.tasks.digits import load_pools

#: Canvas side in pixels.
CANVAS = 24
#: Images per split: the training split is what one search epoch costs (1 ms a sample for the
#: reference on one thread), the test split is read only by final evaluations.
COUNTS = {"train": 2000, "val": 1000, "test": 5000}
SEED = 0


@dataclass(frozen=True)
class Distortion:
    """The ranges every image's distortion is drawn from (uniformly).

    ``side``: the digit's side on the canvas in pixels (the 8x8 source is 8 px);
    ``rotation``: degrees either way; ``shear``: horizontal shear factor either way;
    ``shift``: pixels the digit's centre moves from the canvas centre, either way, per axis;
    ``elastic``: standard deviation, in pixels, of a smooth random displacement (drawn at 4x4
    control points, interpolated bicubically);
    ``fragments``: distractors per image (inclusive range), each a 3-5 px window of another
    digit warped like a digit and placed anywhere, at ``fragment_intensity`` of full ink;
    ``noise``: standard deviation of the per-image Gaussian pixel noise, drawn from [0, noise].
    """

    side: tuple[float, float] = (11.0, 17.0)
    rotation: float = 30.0
    shear: float = 0.3
    shift: float = 1.0
    elastic: float = 0.7
    fragments: tuple[int, int] = (0, 1)
    fragment_intensity: tuple[float, float] = (0.3, 0.6)
    noise: float = 0.15


DISTORTION = Distortion()


@dataclass(frozen=True)
class WarpedDigits:
    """One split: ``images`` ``(N, 1, CANVAS, CANVAS)``, ``labels`` ``(N,)`` and ``sources`` ``(N, 1 + F)``,
    the pool index (``digits.load_pools``) of each image's digit then of its fragments (-1 pads)."""

    images: Tensor
    labels: Tensor
    sources: Tensor


@functools.lru_cache(maxsize=None)
def render_warped(split: str, count: int | None = None, distortion: Distortion | None = None) -> WarpedDigits:
    """The images of ``split``: ``COUNTS[split]`` of them with ``DISTORTION`` unless given."""
    pools = load_pools()
    pool = pools.indices[split].numpy()
    count = COUNTS[split] if count is None else count
    distortion = DISTORTION if distortion is None else distortion
    rng = np.random.default_rng([SEED, SPLITS.index(split)])
    # every pool digit equally often (up to one), in a random order
    digits = np.concatenate([rng.permutation(pool) for _ in range(math.ceil(count / len(pool)))])[:count]
    images = _warp(pools.images[torch.as_tensor(digits)][:, None], rng, distortion, np.zeros(count, dtype=bool))
    fragments = rng.integers(distortion.fragments[0], distortion.fragments[1] + 1, size=count)
    sources = np.full((count, 1 + distortion.fragments[1]), -1, dtype=np.int64)
    sources[:, 0] = digits
    for k in range(distortion.fragments[1]):
        present = fragments > k
        others = rng.choice(pool, size=count)
        sources[present, 1 + k] = others[present]
        pieces = _warp(pools.images[torch.as_tensor(others)][:, None] * _window_masks(rng, count), rng, distortion,
                       np.ones(count, dtype=bool))
        intensity = rng.uniform(*distortion.fragment_intensity, size=count) * present
        images = torch.maximum(images, pieces * torch.as_tensor(intensity, dtype=torch.float32)[:, None, None, None])
    sigma = torch.as_tensor(rng.uniform(0.0, distortion.noise, size=count), dtype=torch.float32)
    noise = torch.as_tensor(rng.standard_normal(images.shape), dtype=torch.float32)
    return WarpedDigits(images + sigma[:, None, None, None] * noise, pools.labels[torch.as_tensor(digits)], torch.from_numpy(sources))


def _window_masks(rng: np.random.Generator, count: int) -> Tensor:
    """Per image an ``(8, 8)`` mask of one random window 3-5 px on a side: the part of a digit a fragment keeps."""
    masks = np.zeros((count, 1, 8, 8), dtype=np.float32)
    heights, widths = rng.integers(3, 6, size=(2, count))
    rows, cols = rng.integers(0, 9 - heights), rng.integers(0, 9 - widths)
    for n in range(count):
        masks[n, 0, rows[n] : rows[n] + heights[n], cols[n] : cols[n] + widths[n]] = 1.0
    return torch.from_numpy(masks)


def _warp(sources: Tensor, rng: np.random.Generator, d: Distortion, anywhere: np.ndarray) -> Tensor:
    """``sources`` ``(N, 1, 8, 8)`` drawn onto the canvas with random affine and elastic distortions.

    A digit is centred within ``d.shift`` pixels of the canvas centre; where ``anywhere`` is
    true (fragments) its centre may be anywhere on the canvas.
    """
    n = len(sources)
    side = rng.uniform(*d.side, size=n)
    angle = np.radians(rng.uniform(-d.rotation, d.rotation, size=n))
    shear = rng.uniform(-d.shear, d.shear, size=n)
    reach = np.where(anywhere, CANVAS / 2, d.shift)
    centre = rng.uniform(-1.0, 1.0, size=(2, n)) * reach * 2 / CANVAS  # in normalised canvas units
    # output (canvas) coordinates -> input (digit) coordinates: scale, rotate and shear about the centre
    zoom = CANVAS / side
    cos, sin = np.cos(angle), np.sin(angle)
    a = np.stack([np.stack([cos, -sin + shear * cos], 1), np.stack([sin, cos + shear * sin], 1)], 1) * zoom[:, None, None]
    offset = -np.einsum("nij,nj->ni", a, centre.T)
    theta = torch.as_tensor(np.concatenate([a, offset[:, :, None]], axis=2), dtype=torch.float32)
    grid = F.affine_grid(theta, [n, 1, CANVAS, CANVAS], align_corners=False)
    field = torch.as_tensor(rng.standard_normal((n, 2, 4, 4)), dtype=torch.float32) * (d.elastic * 2 / CANVAS)
    field = F.interpolate(field, size=(CANVAS, CANVAS), mode="bicubic", align_corners=True)
    grid = grid + field.permute(0, 2, 3, 1) * torch.as_tensor(zoom, dtype=torch.float32)[:, None, None, None]
    return F.grid_sample(sources, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
