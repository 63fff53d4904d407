"""Pareto-front indicators shared by every comparison; all objectives are minimised.

Points are ``(n, m)`` arrays (``n`` points, ``m`` objectives). The heavy lifting is pymoo's
(non-dominated sorting, hypervolume, IGD); this module fixes the conventions around it:
duplicates, empty sets, and the EvoXBench normalisation used against a known true front.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from pymoo.indicators.hv import HV
from pymoo.indicators.igd import IGD
from pymoo.indicators.igd_plus import IGDPlus
from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting


def as_points(F: ArrayLike) -> np.ndarray:
    """``F`` as a float ``(n, m)`` array; a single point may be given as a 1-D vector."""
    points = np.asarray(F, dtype=float)
    if points.ndim == 1:
        points = points.reshape(1, -1) if points.size else points.reshape(0, 0)
    if points.ndim != 2:
        raise ValueError(f"expected an (n, m) array of objective vectors, got shape {points.shape}")
    return points


def non_dominated(F: ArrayLike) -> np.ndarray:
    """Boolean mask of the first front; identical points are all kept (none dominates another)."""
    points = as_points(F)
    mask = np.zeros(len(points), dtype=bool)
    if len(points):
        mask[NonDominatedSorting().do(points, only_non_dominated_front=True)] = True
    return mask


def normalize(F: ArrayLike, ideal: ArrayLike, nadir: ArrayLike) -> np.ndarray:
    """Map ``ideal`` to 0 and ``nadir`` to 1 per objective (an objective with no range is only shifted)."""
    ideal, nadir = np.asarray(ideal, dtype=float), np.asarray(nadir, dtype=float)
    span = nadir - ideal
    return (as_points(F) - ideal) / np.where(span > 0, span, 1.0)


def hypervolume(F: ArrayLike, ref_point: ArrayLike) -> float:
    """Volume dominated by ``F`` and bounded by ``ref_point``; points not strictly better than it add nothing."""
    points = as_points(F)
    if len(points) == 0:
        return 0.0
    return float(HV(ref_point=np.asarray(ref_point, dtype=float))(points))


def igd(F: ArrayLike, reference_front: ArrayLike) -> float:
    """Mean distance from each reference point to its nearest point of ``F`` (``inf`` when ``F`` is empty)."""
    points = as_points(F)
    if len(points) == 0:
        return float("inf")
    return float(IGD(as_points(reference_front))(points))


def _front_bounds(true_front: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Ideal and nadir points of a non-empty true front."""
    front = as_points(true_front)
    if len(front) == 0:
        raise ValueError("the true front is empty")
    return front.min(axis=0), front.max(axis=0)


def hv_ratio(F: ArrayLike, true_front: ArrayLike) -> float:
    """HV(F) / HV(true front), both normalised by the true front's ideal and nadir, reference at the nadir.

    The EvoXBench convention: 1 for the true front, below 1 for anything it dominates; NaN if
    the true front itself encloses no volume (e.g. only its two extreme points in 2-D).
    """
    ideal, nadir = _front_bounds(true_front)
    ref = np.ones(len(ideal))
    best = hypervolume(normalize(true_front, ideal, nadir), ref)
    if best == 0.0:
        return float("nan")
    return hypervolume(normalize(F, ideal, nadir), ref) / best


def igd_to_front(F: ArrayLike, true_front: ArrayLike) -> float:
    """IGD of ``F`` to the true front after normalising both by the true front's ideal and nadir."""
    ideal, nadir = _front_bounds(true_front)
    return igd(normalize(F, ideal, nadir), normalize(true_front, ideal, nadir))


def igd_plus_to_front(F: ArrayLike, true_front: ArrayLike) -> float:
    """IGD+ (Ishibuchi et al. 2015; Pareto-compliant, unlike IGD) after the same normalisation as ``igd_to_front``."""
    points = as_points(F)
    if len(points) == 0:
        return float("inf")
    ideal, nadir = _front_bounds(true_front)
    return float(IGDPlus(normalize(true_front, ideal, nadir))(normalize(points, ideal, nadir)))


def select_spread(F: ArrayLike, k: int) -> np.ndarray:
    """Sorted indices of at most ``k`` points of a front, spread along it.

    The best point of every objective is always kept (ties broken lexicographically over the
    other objectives, then by index); the rest are trimmed NSGA-II style, removing the point
    with the smallest crowding distance among the kept ones until ``k`` remain. Deterministic.
    """
    points = as_points(F)
    n, m = points.shape
    if k < 0:
        raise ValueError(f"k must be non-negative, got {k}")
    if n <= k:
        return np.arange(n)
    extremes: list[int] = []
    for i in range(m):
        rolled = np.roll(points, -i, axis=1)  # objective i first, then the others
        best = int(np.lexsort(rolled.T[::-1])[0])
        if best not in extremes:
            extremes.append(best)
    if k <= len(extremes):
        return np.sort(np.array(extremes[:k], dtype=int))
    keep = list(range(n))
    while len(keep) > k:
        crowding = calc_crowding_distance(points[keep])
        crowding[[keep.index(e) for e in extremes]] = np.inf
        del keep[int(np.argmin(crowding))]
    return np.array(keep, dtype=int)
