"""Calibration: how far a model's confidence is from its accuracy.

Hand-written because scikit-learn has no expected calibration error (its ``calibration_curve``
bins one class's probability, not the top-label confidence); the computation is a few lines.
"""

from __future__ import annotations

import numpy as np

N_BINS = 15
MIN_PER_BIN = 20  # the reliability diagram switches to equal-count bins when equal-width ones would hold fewer


def confidence_bin(conf, *, n_bins: int = N_BINS) -> np.ndarray:
    """The equal-width bin (0..n_bins-1) of each confidence: bin m holds ``m/M < conf ≤ (m+1)/M``, conf = 0 in bin 0
    (the bins of :func:`calibration_bins` and of the audit's per-group ECE)."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.clip(np.digitize(np.asarray(conf, dtype=np.float64), edges[1:-1], right=True), 0, n_bins - 1)


def calibration_bins(y_true, proba, *, n_bins: int = N_BINS) -> dict[str, np.ndarray]:
    """Top-label confidence binned into ``n_bins`` equal-width bins on [0, 1].

    For item i, the confidence is ``conf_i = max_c p_ic`` and the prediction is
    ``ŷ_i = argmax_c p_ic`` (the first class on a tie). Bin m (m = 1..M) holds the items with
    ``(m-1)/M < conf_i ≤ m/M`` (the first bin also holds conf = 0). For each bin B::

        acc(B)  = (1/|B|) Σ_{i∈B} [ŷ_i = y_i]
        conf(B) = (1/|B|) Σ_{i∈B} conf_i

    Returns arrays ``lower``, ``upper``, ``count``, ``accuracy``, ``confidence`` (length M;
    accuracy and confidence are NaN for an empty bin).
    """
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=np.float64)
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_true).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = confidence_bin(conf, n_bins=n_bins)
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.bincount(which, weights=correct, minlength=n_bins) / count
        confidence = np.bincount(which, weights=conf, minlength=n_bins) / count
    return {"lower": edges[:-1], "upper": edges[1:], "count": count, "accuracy": accuracy, "confidence": confidence}


def expected_calibration_error(y_true, proba, *, n_bins: int = N_BINS) -> float:
    """Expected calibration error over ``n_bins`` equal-width bins of top-label confidence.

    ``ECE = Σ_m |B_m|/n · |acc(B_m) − conf(B_m)|``, empty bins contributing 0, with the bins,
    ``acc`` and ``conf`` defined in :func:`calibration_bins` (Guo et al., 2017, M = 15).
    0 is perfectly calibrated; 0.1 means confidence and accuracy differ by 10 points on average.
    """
    bins = calibration_bins(y_true, proba, n_bins=n_bins)
    count = bins["count"]
    filled = count > 0
    gaps = np.abs(bins["accuracy"][filled] - bins["confidence"][filled])
    return float(np.sum(count[filled] / count.sum() * gaps))


def equal_count_bins(y_true, proba, *, n_bins: int) -> dict[str, np.ndarray]:
    """As :func:`calibration_bins`, but bin edges at quantiles of the confidence, so each bin holds about
    ``n / n_bins`` items. Bin m holds ``edges[m] < conf ≤ edges[m+1]`` (the first also its lower edge); equal
    confidences stay in one bin, so counts may differ a little and tied edges merge bins."""
    proba = np.asarray(proba, dtype=np.float64)
    conf = proba.max(axis=1)
    edges = np.unique(np.quantile(conf, np.linspace(0.0, 1.0, n_bins + 1)))
    if len(edges) < 2:  # every item has the same confidence
        edges = np.array([max(0.0, conf[0] - 1e-6), conf[0]])
    which = np.clip(np.searchsorted(edges[1:-1], conf, side="left"), 0, len(edges) - 2)
    correct = (proba.argmax(axis=1) == np.asarray(y_true)).astype(np.float64)
    m = len(edges) - 1
    count = np.bincount(which, minlength=m)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.bincount(which, weights=correct, minlength=m) / count
        confidence = np.bincount(which, weights=conf, minlength=m) / count
    return {"lower": edges[:-1], "upper": edges[1:], "count": count, "accuracy": accuracy, "confidence": confidence}


def reliability_bins(y_true, proba, *, n_bins: int = N_BINS, min_per_bin: int = MIN_PER_BIN) -> dict:
    """The bins a reliability diagram shows, with a 95% Wilson interval on each bin's accuracy.

    Equal-width bins (those of the ECE) while there are at least ``min_per_bin`` items per bin on average;
    with fewer items, ``max(2, n // min_per_bin)`` equal-count bins (at most ``n_bins``), so no bar rests on a
    handful of items. Adds ``low``, ``high`` (NaN for an empty bin) and ``strategy`` ("equal-width" or
    "equal-count") to the arrays of :func:`calibration_bins`.
    """
    from scipy.stats import binomtest

    n = len(np.asarray(y_true))
    if n >= n_bins * min_per_bin:
        bins, strategy = calibration_bins(y_true, proba, n_bins=n_bins), "equal-width"
    else:
        bins, strategy = equal_count_bins(y_true, proba, n_bins=int(np.clip(n // min_per_bin, 2, n_bins))), "equal-count"
    low = np.full(len(bins["count"]), np.nan)
    high = np.full(len(bins["count"]), np.nan)
    for m, (k, acc) in enumerate(zip(bins["count"], bins["accuracy"])):
        if k > 0:
            ci = binomtest(int(round(acc * k)), int(k)).proportion_ci(confidence_level=0.95, method="wilson")
            low[m], high[m] = ci.low, ci.high
    return {**bins, "low": low, "high": high, "strategy": strategy}
