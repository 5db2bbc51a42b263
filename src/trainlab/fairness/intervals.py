"""Intervals for measures across groups, from simultaneous intervals of rates and their differences.

Why not percentile intervals of the gaps themselves: a max − min gap (or a min/max ratio, or a
worst group) is an extreme over groups, and the bootstrap distribution of an extreme is biased when
groups are close: with seven equal groups the percentile interval of the range typically lies
wholly *above* the observed range. Instead, one family of simultaneous 95% intervals
(:class:`trainlab.fairness.bootstrap.MaxT`) covers every group rate r_g and every pairwise
difference r_a − r_b together; whenever they all hold, so do the intervals below, which therefore
also hold (jointly, ≥ 95%), always contain the point estimate, and exclude zero exactly when some
pair of groups is separated:

    range   max_g r_g − min_g r_g = max over ordered pairs of (r_a − r_b)
            ∈ [max(0, max_(a,b) lo_ab), max_(a,b) hi_ab]
    ratio   min_g r_g / max_g r_g  ∈ [min_g L_g / max_g U_g, min(1, min_g U_g / max_g L_g)]
    worst   min_g r_g              ∈ [min_g L_g, min_g U_g]
    to ref  r_g / r_ref            ∈ [L_g / U_ref, U_g / L_ref]
    max over classes of gaps       ∈ [max_k lower_k, max_k upper_k]   (min likewise)

(L_g, U_g: interval of r_g; lo_ab, hi_ab: interval of r_a − r_b.)
"""

from __future__ import annotations

import numpy as np

from trainlab.fairness.measures import group_max, group_min


def pairs(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Unordered pairs a < b of m groups."""
    a, b = np.triu_indices(m, k=1)
    return a, b


def pair_differences(x: np.ndarray, axis: int) -> np.ndarray:
    """r_a − r_b for every pair a < b along ``axis`` (which becomes the pair axis)."""
    a, b = pairs(x.shape[axis])
    return np.take(x, a, axis=axis) - np.take(x, b, axis=axis)


def range_interval(lo: np.ndarray, hi: np.ndarray, *, axis: int = 0):
    """Interval of max − min from intervals [lo, hi] of r_a − r_b (pairs on ``axis``)."""
    up = np.maximum(hi, -lo)  # the larger of the two orientations' upper bounds
    down = np.maximum(lo, -hi)  # and of their lower bounds
    upper = group_max(up, axis=axis)
    lower = np.maximum(group_max(down, axis=axis), 0.0)
    return np.where(np.isfinite(upper), lower, np.nan), upper


def separated_pair(lo: np.ndarray, hi: np.ndarray, n_groups: int) -> tuple[int, int, float] | None:
    """The most clearly separated pair (higher, lower, lower bound of their gap), or None."""
    down = np.maximum(lo, -hi)
    if not np.isfinite(down).any() or np.nanmax(down) <= 0:
        return None
    p = int(np.nanargmax(down))
    a, b = pairs(n_groups)
    return (int(a[p]), int(b[p]), float(down[p])) if lo[p] > 0 else (int(b[p]), int(a[p]), float(down[p]))


def ratio_interval(L: np.ndarray, U: np.ndarray, *, axis: int = 0):
    """Interval of min_g r_g / max_g r_g from intervals [L_g, U_g] (rates ≥ 0)."""
    maxU, maxL = group_max(U, axis=axis), group_max(L, axis=axis)
    minU, minL = group_min(U, axis=axis), group_min(L, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(maxU > 0, minL / np.where(maxU > 0, maxU, 1.0), np.nan)
        upper = np.where(maxL > 0, np.minimum(1.0, minU / np.where(maxL > 0, maxL, 1.0)), 1.0)
    return lower, np.where(np.isfinite(lower), upper, np.nan)


def ratio_to_interval(L: np.ndarray, U: np.ndarray, L_den, U_den):
    """Interval of r_g / r_den from [L_g, U_g] and [L_den, U_den]; upper is +inf when L_den = 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(U_den > 0, L / np.where(U_den > 0, U_den, 1.0), np.nan)
        upper = np.where(L_den > 0, U / np.where(L_den > 0, L_den, 1.0), np.inf)
    return lower, np.where(np.isfinite(lower), upper, np.nan)


def worst_interval(lower: np.ndarray, upper: np.ndarray, *, kind: str, axis: int = -1):
    """Interval of the max (``kind='max'``) or min (``'min'``) of several quantities."""
    f = group_max if kind == "max" else group_min
    return f(lower, axis=axis), f(upper, axis=axis)
