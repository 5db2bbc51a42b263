"""The catalogue of fairness measures, and the measures as array functions (NaN = undefined).

:data:`CATALOGUE` is the one list of the measures the audit reports: their names (the keys of audit.json), plain
names, definitions, what they compare and how, and which of them raise a flag. The audit, its prose, the
mitigation table and the report's labels all read it; docs/fairness.md gives each definition with its source.

Each function takes per-group rates with the groups on ``axis`` (any leading shape: one point
estimate, or 1,000 bootstrap replicates at once) and returns the measure with that axis removed.
Groups whose rate is undefined (NaN) are left out; a measure over fewer than two defined groups
is undefined. Notation: ``r_g`` a rate of group g, ``G`` the groups compared, ``ref`` the
reference group. docs/fairness.md gives each definition with its source.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Measure:
    """One measure of the catalogue.

    scope: ``disparity`` (over the compared groups; a headline in ``disparities``), ``comparison`` (each group
        against the reference, in ``comparisons``) or ``flag`` (a rule's own figure, in ``flags``).
    how: ``gap`` (max − min), ``ratio`` (min / max), ``worst`` (min over groups), ``either_gap`` (the larger of
        the TPR and FPR gaps), ``difference`` / ``ratio`` / ``average_odds`` to the reference, and for a
        ``disparity`` headline of a comparison, ``headline_of`` names the comparison it summarises.
    rate: the rate compared (None: accuracy-free composite). per_class: one value per class (one-vs-rest).
    worst_over: how a headline picks among classes (``max`` a difference, ``min`` a ratio) or, for a headline of a
        comparison, among groups (``abs`` the largest in magnitude, ``min`` the lowest).
    flagged_when_ci_excludes_zero: a ``ci_excludes_zero`` flag is raised when its simultaneous interval excludes 0
        (and the value is at least ``flag_threshold``, a materiality threshold; 0 for the rates' gaps).
    summary: its title among the largest gaps of summary.md.
    """

    name: str
    scope: str
    how: str
    rate: str | None
    per_class: bool
    worst_over: str
    label: str
    definition: str
    flagged_when_ci_excludes_zero: bool = False
    headline_of: str | None = None
    summary: str | None = None  # its title in summary.md ({cls}: " of '<class>'"); None: not in the summary
    flag_threshold: float = 0.0  # a ci_excludes_zero flag also needs the value to reach this (materiality)


CATALOGUE: tuple[Measure, ...] = (
    Measure("demographic_parity_difference", "disparity", "gap", "selection_rate", True, "max",
            "Demographic parity difference", "max_g SR_g − min_g SR_g,  SR_g = P(Ŷ=k | A=g)", True,
            summary="Selection rate{cls} (demographic parity)"),
    Measure("demographic_parity_ratio", "disparity", "ratio", "selection_rate", True, "min",
            "Demographic parity ratio (lowest / highest selection rate)",
            "min_g SR_g / max_g SR_g  (the extreme groups; 'disparate impact' is kept for SR_g / SR_ref)"),
    Measure("equal_opportunity_difference", "disparity", "gap", "tpr", True, "max",
            "Equal opportunity difference (TPR gap)", "max_g TPR_g − min_g TPR_g,  TPR_g = P(Ŷ=k | Y=k, A=g)", True,
            summary="True-positive rate{cls} (equal opportunity)"),
    Measure("false_positive_rate_difference", "disparity", "gap", "fpr", True, "max",
            "False-positive rate difference", "max_g FPR_g − min_g FPR_g,  FPR_g = P(Ŷ=k | Y≠k, A=g)", True),
    Measure("equalized_odds_difference", "disparity", "either_gap", None, True, "max",
            "Equalized odds difference", "max(max_g TPR_g − min_g TPR_g, max_g FPR_g − min_g FPR_g)",
            summary="Equalized odds{cls} (larger of the TPR and FPR gaps)"),
    Measure("statistical_parity_difference", "disparity", "headline", "selection_rate", True, "abs",
            "Statistical parity difference (vs reference)",
            "SR_g − SR_ref, the compared group with the largest |value|", headline_of="statistical_parity_difference"),
    Measure("disparate_impact", "disparity", "headline", "selection_rate", True, "min",
            "Disparate impact (vs reference)", "SR_g / SR_ref, the lowest over compared groups",
            headline_of="disparate_impact"),
    Measure("average_odds_difference", "disparity", "headline", None, True, "abs",
            "Average odds difference (vs reference)",
            "½[(FPR_g − FPR_ref) + (TPR_g − TPR_ref)], the compared group with the largest |value|",
            headline_of="average_odds_difference"),
    Measure("accuracy_gap", "disparity", "gap", "accuracy", False, "max",
            "Accuracy gap (max − min over groups)", "max_g accuracy_g − min_g accuracy_g", True, summary="Accuracy"),
    Measure("worst_group_accuracy", "disparity", "worst", "accuracy", False, "min",
            "Worst-group accuracy", "min_g accuracy_g"),
    # calibration by group (fairness/ece.py): the ECE is a calibration error, so the gap is over ECE_g
    Measure("calibration_gap", "disparity", "gap", "ece", False, "max",
            "Calibration gap (ECE, max − min over groups)",
            "max_g ECE_g − min_g ECE_g,  ECE_g = Σ_m |B_gm|/n_g · |acc(B_gm) − conf(B_gm)| (15 equal-width bins)", True,
            summary="Expected calibration error", flag_threshold=0.03),
    # each compared group against the reference (AIF360: unprivileged − privileged, the reference as privileged)
    Measure("statistical_parity_difference", "comparison", "difference", "selection_rate", True, "abs",
            "Statistical parity difference (vs reference)", "SR_g − SR_ref"),
    Measure("equal_opportunity_difference", "comparison", "difference", "tpr", True, "abs",
            "Equal opportunity difference (vs reference)", "TPR_g − TPR_ref"),
    Measure("false_positive_rate_difference", "comparison", "difference", "fpr", True, "abs",
            "False-positive rate difference (vs reference)", "FPR_g − FPR_ref"),
    Measure("disparate_impact", "comparison", "ratio", "selection_rate", True, "min",
            "Disparate impact (vs reference)", "SR_g / SR_ref"),
    Measure("average_odds_difference", "comparison", "average_odds", "tpr", True, "abs",
            "Average odds difference (vs reference)", "½[(FPR_g − FPR_ref) + (TPR_g − TPR_ref)]"),
    Measure("accuracy_difference", "comparison", "difference", "accuracy", False, "abs",
            "Accuracy difference (vs reference)", "accuracy_g − accuracy_ref"),
    # the four-fifths rule's own figure
    Measure("selection_rate_ratio_to_highest", "flag", "ratio_to_highest", "selection_rate", True, "min",
            "Selection rate ratio to the highest group (four-fifths rule)", "SR_g / max_h SR_h"),
)
FOUR_FIFTHS = 0.8


def measures(scope: str) -> tuple[Measure, ...]:
    """The catalogue's measures of one scope, in the order the audit reports them."""
    return tuple(m for m in CATALOGUE if m.scope == scope)


def measure(name: str, scope: str = "disparity") -> Measure:
    for m in CATALOGUE:
        if m.name == name and m.scope == scope:
            return m
    raise KeyError(f"no {scope} measure {name!r} in the catalogue")


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
