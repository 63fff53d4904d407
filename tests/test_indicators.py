"""Pareto indicators against brute force: fronts, hypervolume, IGD, HV ratio, spread selection."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nasbench import indicators

# Coordinates on a coarse grid (ties, duplicates) or anywhere in the box.
coord = st.one_of(st.integers(0, 6).map(float), st.floats(0.0, 6.0, allow_nan=False))


def point_sets(m: int, max_size: int = 25) -> st.SearchStrategy[np.ndarray]:
    return st.lists(st.tuples(*[coord] * m), min_size=1, max_size=max_size).map(np.array)


def brute_non_dominated(F: np.ndarray) -> np.ndarray:
    return np.array([not any(np.all(q <= p) and np.any(q < p) for q in F) for p in F])


def brute_hv_2d(F: np.ndarray, ref: np.ndarray) -> float:
    """Sweep along the first objective, tracking the best second objective seen so far."""
    F = F[np.all(F < ref, axis=1)]
    F = F[np.argsort(F[:, 0], kind="stable")]
    xs = np.append(F[:, 0], ref[0])
    best_y = np.minimum.accumulate(F[:, 1]) if len(F) else F[:, 1]
    return float(sum((xs[i + 1] - xs[i]) * (ref[1] - best_y[i]) for i in range(len(F))))


def grid_hv_3d(F: np.ndarray, size: int) -> int:
    """Exact HV of integer points in ``0..size-1``^3 with reference ``(size,)*3``: count dominated unit cubes."""
    return sum(
        any(np.all(p <= c) for p in F) for c in itertools.product(range(size), repeat=3)
    )


@settings(max_examples=100, deadline=None)
@given(point_sets(2))
def test_non_dominated_matches_brute_force_2d(F: np.ndarray) -> None:
    assert np.array_equal(indicators.non_dominated(F), brute_non_dominated(F))


@settings(max_examples=60, deadline=None)
@given(point_sets(3))
def test_non_dominated_matches_brute_force_3d(F: np.ndarray) -> None:
    assert np.array_equal(indicators.non_dominated(F), brute_non_dominated(F))


def test_non_dominated_keeps_all_duplicates_and_handles_empty() -> None:
    F = np.array([[1.0, 2.0], [1.0, 2.0], [2.0, 1.0], [2.0, 2.0]])
    assert indicators.non_dominated(F).tolist() == [True, True, True, False]
    assert indicators.non_dominated(np.empty((0, 2))).shape == (0,)


@settings(max_examples=100, deadline=None)
@given(point_sets(2), st.tuples(st.floats(0.5, 7.0), st.floats(0.5, 7.0)).map(np.array))
def test_hypervolume_matches_sweep_2d(F: np.ndarray, ref: np.ndarray) -> None:
    assert indicators.hypervolume(F, ref) == pytest.approx(brute_hv_2d(F, ref), abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(*[st.integers(0, 4)] * 3), min_size=1, max_size=12).map(np.array))
def test_hypervolume_matches_grid_count_3d(F: np.ndarray) -> None:
    assert indicators.hypervolume(F, np.full(3, 5.0)) == pytest.approx(grid_hv_3d(F, 5))


def test_hypervolume_ignores_points_not_dominating_the_reference() -> None:
    ref = np.array([1.0, 1.0])
    assert indicators.hypervolume(np.empty((0, 2)), ref) == 0.0
    assert indicators.hypervolume([[1.0, 0.0], [2.0, -1.0], [0.0, 1.0]], ref) == 0.0
    assert indicators.hypervolume([[0.5, 0.5], [3.0, 0.0]], ref) == pytest.approx(0.25)


def test_normalize_maps_ideal_to_zero_and_nadir_to_one() -> None:
    out = indicators.normalize([[1.0, 10.0], [3.0, 30.0], [2.0, 20.0]], [1.0, 10.0], [3.0, 30.0])
    assert out.tolist() == [[0.0, 0.0], [1.0, 1.0], [0.5, 0.5]]


@settings(max_examples=50, deadline=None)
@given(point_sets(2))
def test_igd_of_a_front_to_itself_is_zero(F: np.ndarray) -> None:
    front = F[indicators.non_dominated(F)]
    assert indicators.igd(front, front) == 0.0
    assert indicators.igd_to_front(front, front) == 0.0


def test_igd_is_the_mean_distance_to_the_nearest_point() -> None:
    assert indicators.igd([[0.0, 0.0]], [[3.0, 4.0], [0.0, 1.0]]) == pytest.approx(3.0)
    assert indicators.igd(np.empty((0, 2)), [[0.0, 0.0]]) == float("inf")


@settings(max_examples=60, deadline=None)
@given(point_sets(2, max_size=40), st.floats(0.01, 1.0))
def test_hv_ratio_is_one_for_the_true_front_and_below_for_dominated_sets(F: np.ndarray, shift: float) -> None:
    mask = indicators.non_dominated(F)
    front = F[mask]
    ideal, nadir = front.min(axis=0), front.max(axis=0)
    assume(indicators.hypervolume(indicators.normalize(front, ideal, nadir), np.ones(2)) > 1e-9)
    assert indicators.hv_ratio(front, front) == pytest.approx(1.0)
    span = np.where(nadir > ideal, nadir - ideal, 1.0)  # normalize's unit for an objective with no range
    assert indicators.hv_ratio(front + shift * span, front) < 1.0
    if not mask.all():  # the dominated points enclose no more than the front (ties in float arithmetic)
        assert indicators.hv_ratio(F[~mask], front) <= 1.0 + 1e-9


def test_hv_ratio_of_the_dominated_points_is_below_one() -> None:
    front = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    dominated = np.array([[0.6, 0.6], [0.2, 1.0]])
    assert indicators.hv_ratio(dominated, front) == pytest.approx(0.16 / 0.25)


def test_hv_ratio_is_nan_when_the_true_front_encloses_nothing() -> None:
    assert np.isnan(indicators.hv_ratio([[0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]))


@settings(max_examples=100, deadline=None)
@given(point_sets(2, max_size=40), st.integers(0, 12))
def test_select_spread_keeps_extremes_and_at_most_k(F: np.ndarray, k: int) -> None:
    front = F[indicators.non_dominated(F)]
    chosen = indicators.select_spread(front, k)
    assert len(chosen) == min(k, len(front))
    assert len(set(chosen.tolist())) == len(chosen)
    assert np.all((0 <= chosen) & (chosen < len(front)))
    if k >= 2:
        picked = front[chosen]
        assert np.isclose(picked[:, 0].min(), front[:, 0].min())
        assert np.isclose(picked[:, 1].min(), front[:, 1].min())


def test_select_spread_prefers_points_far_apart() -> None:
    xs = np.array([0.0, 0.01, 0.02, 0.5, 1.0])
    front = np.column_stack([xs, 1.0 - xs])
    assert indicators.select_spread(front, 3).tolist() == [0, 3, 4]
    assert indicators.select_spread(front, 9).tolist() == [0, 1, 2, 3, 4]
