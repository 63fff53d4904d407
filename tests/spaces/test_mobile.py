"""MobileSpace: genotype operators (property-based), exact size, built networks and costs."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from nasbench.errors import ConfigError, InvalidArchitecture
from spaces import get_space
from spaces.mobile import MobileSpace

SPACE = MobileSpace()
seeds = st.integers(0, 2**32 - 1)


def genes_of(space: MobileSpace) -> st.SearchStrategy[list[int]]:
    """Any in-bounds gene vector, canonical or not."""
    return st.tuples(*(st.integers(0, n - 1) for n in space.choices)).map(list)


class PoolHead(nn.Module):
    """Stand-in head: global pool of the coarsest feature + linear."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc = nn.Linear(channels, 10)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        return self.fc(features[-1].mean((2, 3)))


class FakeTask:
    """Just what ``build`` and ``cost`` read from a task."""

    def __init__(self, input_shape: tuple[int, int, int]) -> None:
        self.input_shape = input_shape

    def head(self, channels, strides) -> nn.Module:
        return PoolHead(channels[-1])


def assert_valid(space: MobileSpace, arch) -> None:
    lo, hi = space.bounds
    genes = np.asarray(arch.genes)
    assert arch.space == space.name
    assert len(genes) == space.n_genes and (genes >= lo).all() and (genes <= hi).all()
    assert space.canonical(arch.genes) == arch.genes


@given(seeds)
def test_operators_give_valid_canonical_genotypes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = SPACE.sample(rng), SPACE.sample(rng)
    for arch in (a, b, SPACE.mutate(a, rng), SPACE.crossover(a, b, rng)):
        assert_valid(SPACE, arch)


@given(seeds)
def test_mutate_changes_the_network(seed: int) -> None:
    rng = np.random.default_rng(seed)
    arch = SPACE.sample(rng)
    child = SPACE.mutate(arch, rng)
    assert child != arch and SPACE.describe(child) != SPACE.describe(arch)


@given(seeds)
def test_operators_are_deterministic_under_the_generator(seed: int) -> None:
    def run(rng: np.random.Generator):
        a, b = SPACE.sample(rng), SPACE.sample(rng)
        return a, b, SPACE.mutate(a, rng), SPACE.crossover(a, b, rng)

    assert run(np.random.default_rng(seed)) == run(np.random.default_rng(seed))


@given(seeds)
def test_crossover_takes_each_stage_gene_from_a_parent(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = SPACE.sample(rng), SPACE.sample(rng)
    child = SPACE.crossover(a, b, rng)
    for x, y, c in zip(SPACE.decode(a), SPACE.decode(b), SPACE.decode(child)):
        assert c.depth in (x.depth, y.depth) and c.channels in (x.channels, y.channels)
        for j, block in enumerate(c.blocks):
            options = [(p.blocks[j].kernel, p.blocks[j].expansion) for p in (x, y) if j < p.depth]
            assert block.kernel in {k for k, _ in options}
            assert block.expansion in {e for _, e in options}


def test_depth_growth_activates_random_block_values() -> None:
    shallow = SPACE.make([0] * SPACE.n_genes)  # depth 1 everywhere: only a depth change can add slots
    new_slot_values = set()
    for seed in range(200):
        child = SPACE.mutate(shallow, np.random.default_rng(seed))
        for s in range(4):
            stage = child.genes[s * SPACE.stage_genes : (s + 1) * SPACE.stage_genes]
            new_slot_values.update(stage[4 : 2 + 2 * SPACE.depths[stage[0]]])
    assert new_slot_values - {0}


@given(genes_of(SPACE))
def test_canonical_is_idempotent_and_make_agrees(genes: list[int]) -> None:
    once = SPACE.canonical(genes)
    assert SPACE.canonical(once) == once
    assert SPACE.make(genes).genes == once


@given(seeds)
def test_json_and_key_round_trip(seed: int) -> None:
    arch = SPACE.sample(np.random.default_rng(seed))
    assert SPACE.from_dict(json.loads(json.dumps(arch.to_dict()))) == arch
    assert SPACE.from_key(arch.key) == arch


def test_size_matches_brute_force_on_a_reduced_space() -> None:
    space = MobileSpace(widths=((4,), (4, 8), (4,), (4,)), depths=(1, 2), kernels=(3,), expansions=(1, 6))
    networks = {space.canonical(g) for g in itertools.product(*(range(n) for n in space.choices))}
    assert space.size() == len(networks) == 2592
    assert len({space.describe(space.make(g)) for g in networks}) == len(networks)
    assert SPACE.size() == (3 * (6 + 6**2 + 6**3)) ** 4


@pytest.mark.parametrize("shape, stem_stride", [((1, 8, 8), 1), ((3, 32, 32), 2)])
@pytest.mark.parametrize("corner", ["small", "large"])
def test_built_backbone_yields_four_declared_features(shape, stem_stride: int, corner: str) -> None:
    lo, hi = SPACE.bounds
    model = SPACE.build(SPACE.make(lo if corner == "small" else hi), FakeTask(shape))
    backbone = model.backbone
    assert backbone.strides == tuple(stem_stride * s for s in (1, 2, 4, 8))
    features = backbone(torch.randn(2, *shape))
    assert len(features) == len(backbone.channels) == 4
    for f, c, s in zip(features, backbone.channels, backbone.strides):
        assert f.shape == (2, c, -(-shape[1] // s), -(-shape[2] // s))
    assert model(torch.randn(2, *shape)).shape == (2, 10)


def test_largest_costs_far_more_than_smallest() -> None:
    lo, hi = SPACE.bounds
    task = FakeTask((1, 8, 8))
    small, large = (SPACE.cost(SPACE.make(g), task, latency=False) for g in (lo, hi))
    assert large.macs > 5 * small.macs and large.params > small.params


def test_describe_reads_the_genotype() -> None:
    lo, _ = SPACE.bounds
    assert SPACE.describe(SPACE.make(lo)) == "d1c12[k3e1]|d1c16[k3e1]|d1c24[k3e1]|d1c32[k3e1]"


def test_make_rejects_invalid_genotypes() -> None:
    with pytest.raises(InvalidArchitecture):
        SPACE.make([0] * (SPACE.n_genes - 1))
    for i, n in [(0, SPACE.choices[0]), (5, -1)]:
        genes = [0] * SPACE.n_genes
        genes[i] = n
        with pytest.raises(InvalidArchitecture):
            SPACE.make(genes)


def test_registry() -> None:
    assert isinstance(get_space("mobile"), MobileSpace)
    with pytest.raises(ConfigError, match="unknown space 'nope'; choose from mobile, nb201"):
        get_space("nope")
    for bad in [{"widths": ((8,), (8,))}, {"depths": (1, 1)}, {"kernels": (4,)}, {"expansions": ()}]:
        with pytest.raises(ConfigError):
            MobileSpace(**bad)
