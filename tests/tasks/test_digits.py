"""The embedded data: fixed disjoint pools, canvases drawn from their own pool only, determinism."""
from __future__ import annotations

import torch

from nasbench.tasks import digits
from nasbench.tasks.base import SPLITS


def test_pools_are_disjoint_stratified_and_cover_every_digit():
    pools = digits.load_pools()
    sets = {name: set(pools.indices[name].tolist()) for name in SPLITS}
    assert not sets["train"] & sets["val"] and not sets["train"] & sets["test"] and not sets["val"] & sets["test"]
    assert set().union(*sets.values()) == set(range(len(pools.labels))) == set(range(1797))
    assert [len(sets[name]) for name in SPLITS] == [1078, 359, 360]
    for name in SPLITS:
        counts = torch.bincount(pools.labels[pools.indices[name]], minlength=10).float()
        assert counts.min() / counts.max() > 0.9  # stratified: about equal shares of every digit


def test_pools_are_fixed():
    again = digits.load_pools.__wrapped__()
    for name in SPLITS:
        assert torch.equal(again.indices[name], digits.load_pools().indices[name])


def test_canvases_use_only_their_own_pool():
    pools = digits.load_pools()
    for name in SPLITS:
        sources = digits.render_canvases(name).sources
        used = set(sources[sources >= 0].tolist())
        assert used <= set(pools.indices[name].tolist())
    test_digits = set(pools.indices["test"].tolist())
    for name in ("train", "val"):
        sources = digits.render_canvases(name).sources
        assert not set(sources[sources >= 0].tolist()) & test_digits


def test_canvas_generation_is_deterministic():
    for name in SPLITS:
        cached, fresh = digits.render_canvases(name), digits.render_canvases.__wrapped__(name)
        for field in ("images", "masks", "boxes", "sources"):
            assert torch.equal(getattr(cached, field), getattr(fresh, field))


def test_canvases_shapes_counts_and_label_consistency():
    pools = digits.load_pools()
    canvases = digits.render_canvases("val")
    n, side = digits.CANVAS_COUNTS["val"], digits.CANVAS_SIZE
    assert canvases.images.shape == (n, 1, side, side) and canvases.masks.shape == (n, side, side)
    assert 0.0 <= canvases.images.min() and canvases.images.max() <= 1.0
    valid = canvases.boxes[..., 4] >= 0
    assert torch.equal(valid, canvases.sources >= 0)
    assert valid.sum(1).min() >= digits.DIGITS_PER_CANVAS[0]
    assert torch.equal(canvases.boxes[..., 4][valid].long(), pools.labels[canvases.sources[valid]])
    for image in range(n):
        boxes = canvases.boxes[image][valid[image]]
        mask = canvases.masks[image]
        assert set(mask.unique().tolist()) - {0} == set((boxes[:, 4] + 1).long().tolist())
        inside_some_box = torch.zeros_like(mask, dtype=torch.bool)
        for x1, y1, x2, y2, label in boxes.long().tolist():
            region = mask[y1:y2, x1:x2] == label + 1
            assert region.any()
            inside_some_box[y1:y2, x1:x2] |= mask[y1:y2, x1:x2] == label + 1
        assert torch.equal(inside_some_box, mask > 0)  # every stroke pixel lies in its digit's box


def test_standardise_uses_reference_statistics():
    reference = torch.tensor([1.0, 2.0, 3.0])
    assert torch.allclose(digits.standardise(reference, reference), torch.tensor([-1.0, 0.0, 1.0]))


def test_standardised_inputs_do_not_depend_on_the_thread_count():
    # a reference large enough for torch to reduce it in parallel (above its 32,768-element grain)
    reference = torch.rand(2000, 1, 24, 24, generator=torch.Generator().manual_seed(0))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = digits.standardise(reference[:10], reference)
        torch.set_num_threads(max(2, threads))
        many = digits.standardise(reference[:10], reference)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, many) and torch.get_num_threads() == threads
