"""Disparity measures over groups, as array functions (NaN = undefined).

Each function takes per-group rates with the groups on ``axis`` (any leading shape: one point
estimate, or 1,000 bootstrap replicates at once) and returns the measure with that axis removed.
Groups whose rate is undefined (NaN) are left out; a measure over fewer than two defined groups
is undefined. Notation: ``r_g`` a rate of group g, ``G`` the groups compared, ``ref`` the
reference group. docs/fairness.md gives each definition with its source.
"""

from __future__ import annotations

import warnings

import numpy as np


def _defined(x: np.ndarray, axis: int) -> np.ndarray:
    return np.isfinite(x).sum(axis=axis)


def group_max(x, *, axis: int = -1) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are undefined, on purpose
        return np.nanmax(x, axis=axis)


def group_min(x, *, axis: int = -1) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmin(x, axis=axis)


def range_difference(x, *, axis: int = -1) -> np.ndarray:
    """max_g r_g − min_g r_g  (fairlearn's ``MetricFrame.difference(method='between_groups')``).

    With the selection rate this is the demographic parity difference; with the true-positive
    rate, fairlearn's equal opportunity difference; with accuracy, the accuracy gap.
    """
    x = np.asarray(x, dtype=np.float64)
    out = group_max(x, axis=axis) - group_min(x, axis=axis)
    return np.where(_defined(x, axis) >= 2, out, np.nan)


def min_max_ratio(x, *, axis: int = -1) -> np.ndarray:
    """min_g r_g / max_g r_g  (fairlearn's ``MetricFrame.ratio``; with the selection rate, the
    demographic parity ratio, i.e. disparate impact taken between the extreme groups).
    Undefined when max_g r_g = 0."""
    x = np.asarray(x, dtype=np.float64)
    hi = group_max(x, axis=axis)
    lo = group_min(x, axis=axis)
    ok = (_defined(x, axis) >= 2) & (hi > 0)
    return np.where(ok, lo / np.where(ok, hi, 1.0), np.nan)


def ratio_to_max(x, *, axis: int = -1) -> np.ndarray:
    """r_g / max_h r_h for every group (the four-fifths rule compares this with 0.8)."""
    x = np.asarray(x, dtype=np.float64)
    hi = np.expand_dims(group_max(x, axis=axis), axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(hi > 0, x / np.where(hi > 0, hi, 1.0), np.nan)


def equalized_odds_difference(tpr, fpr, *, axis: int = -1) -> np.ndarray:
    """max(max_g TPR_g − min_g TPR_g, max_g FPR_g − min_g FPR_g)  (fairlearn's
    ``equalized_odds_difference``, ``agg='worst_case'``). Undefined if either part is."""
    a = range_difference(tpr, axis=axis)
    b = range_difference(fpr, axis=axis)
    return np.where(np.isfinite(a) & np.isfinite(b), np.maximum(a, b), np.nan)


def difference_to_reference(x, ref: int, *, axis: int = -1) -> np.ndarray:
    """r_g − r_ref for every group g (AIF360's *unprivileged − privileged* with ref privileged).

    With the selection rate: statistical parity difference; with TPR: AIF360's equal opportunity
    difference; with accuracy: the accuracy difference."""
    x = np.asarray(x, dtype=np.float64)
    return x - np.take(x, [ref], axis=axis)


def ratio_to_reference(x, ref: int, *, axis: int = -1) -> np.ndarray:
    """r_g / r_ref for every group g. With the selection rate: AIF360's disparate impact
    P(Ŷ = fav | A = g) / P(Ŷ = fav | A = ref). Undefined when r_ref = 0."""
    x = np.asarray(x, dtype=np.float64)
    r = np.take(x, [ref], axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(r > 0, x / np.where(r > 0, r, 1.0), np.nan)


def average_odds_difference(tpr, fpr, ref: int, *, axis: int = -1) -> np.ndarray:
    """½ [(FPR_g − FPR_ref) + (TPR_g − TPR_ref)] for every group g (AIF360)."""
    return 0.5 * (difference_to_reference(fpr, ref, axis=axis) + difference_to_reference(tpr, ref, axis=axis))


def worst(x, *, kind: str, axis: int = -1) -> np.ndarray:
    """The worst value over classes (or groups): the largest difference (``kind='max'``),
    the smallest ratio or accuracy (``kind='min'``), or the largest in magnitude with its sign
    (``kind='abs'``)."""
    x = np.asarray(x, dtype=np.float64)
    if kind == "max":
        return group_max(x, axis=axis)
    if kind == "min":
        return group_min(x, axis=axis)
    if kind == "abs":
        filled = np.where(np.isfinite(x), np.abs(x), -1.0)
        idx = np.expand_dims(filled.argmax(axis=axis), axis)
        return np.squeeze(np.take_along_axis(x, idx, axis=axis), axis)
    raise ValueError(kind)
