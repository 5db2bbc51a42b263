"""Calibration: how far a model's confidence is from its accuracy.

Hand-written because scikit-learn has no expected calibration error (its ``calibration_curve``
bins one class's probability, not the top-label confidence); the computation is a few lines.
"""

from __future__ import annotations

import numpy as np

N_BINS = 15


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
    # right=True: bin m holds edges[m] < conf <= edges[m+1]; conf = 0 lands in bin 0.
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
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
