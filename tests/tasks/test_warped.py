"""The warped digits of the classification task: own pool only, deterministic, balanced, fine-grained test."""
from __future__ import annotations

import torch

from nasbench.tasks import digits, warped
from nasbench.tasks.base import SPLITS


def test_each_split_draws_its_digits_and_fragments_from_its_own_pool_only():
    pools = digits.load_pools()
    for name in SPLITS:
        sources = warped.render_warped(name).sources
        assert set(sources[sources >= 0].tolist()) <= set(pools.indices[name].tolist())
        assert (sources[:, 0] >= 0).all()


def test_labels_are_the_classes_of_the_source_digits_and_every_pool_digit_is_used_evenly():
    pools = digits.load_pools()
    for name in SPLITS:
        data = warped.render_warped(name)
        assert torch.equal(data.labels, pools.labels[data.sources[:, 0]])
        uses = torch.bincount(data.sources[:, 0], minlength=len(pools.labels))[pools.indices[name]]
        assert uses.max() - uses.min() <= 1


def test_shapes_sizes_and_resolution():
    for name in SPLITS:
        data = warped.render_warped(name)
        assert data.images.shape == (warped.COUNTS[name], 1, warped.CANVAS, warped.CANVAS)
        assert torch.isfinite(data.images).all()
    assert warped.COUNTS["test"] >= 1000  # one test image moves the accuracy by at most 0.001


def test_generation_is_deterministic_and_splits_differ():
    for name in SPLITS:
        again = warped.render_warped.__wrapped__(name)
        assert torch.equal(again.images, warped.render_warped(name).images)
    assert not torch.equal(warped.render_warped("val").images[:10], warped.render_warped("test").images[:10])


def test_no_distortion_draws_the_digit_centred_and_clean():
    plain = warped.Distortion(side=(16.0, 16.0), rotation=0.0, shear=0.0, shift=0.0, elastic=0.0, fragments=(0, 0), noise=0.0)
    data = warped.render_warped("val", count=20, distortion=plain)
    images = data.images[:, 0]
    assert images.min() >= 0 and images.max() <= 1
    border = torch.cat([images[:, :3], images[:, -3:], images[:, :, :3].mT, images[:, :, -3:].mT], dim=1)
    assert border.abs().max() == 0  # the canvas beyond the 16 px digit stays empty
    ink = images.sum(dim=(1, 2))
    source_ink = digits.load_pools().images[data.sources[:, 0]].sum(dim=(1, 2))
    assert torch.allclose(ink, source_ink * 4, rtol=0.05)  # twice the side: four times the ink
