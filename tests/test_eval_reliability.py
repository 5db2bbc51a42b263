"""Reliability diagram bins: equal-width with enough items, equal-count when few, each with a Wilson interval."""

import numpy as np
import pytest
from PIL import Image

from trainlab.evaluation import plots as P
from trainlab.evaluation.calibration import MIN_PER_BIN, calibration_bins, equal_count_bins, reliability_bins


def _items(n, seed=0, k=4):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (n, k))
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(k, p=p) for p in proba])  # calibrated by construction
    return y, proba


def test_equal_count_bins_hold_about_n_over_m_items_and_match_a_direct_count():
    y, proba = _items(200)
    bins = equal_count_bins(y, proba, n_bins=5)
    assert bins["count"].sum() == 200 and len(bins["count"]) == 5
    assert bins["count"].min() >= 38 and bins["count"].max() <= 42
    conf, correct = proba.max(1), proba.argmax(1) == y
    for m in range(5):  # each bin's accuracy and confidence are those of the items inside its edges
        inside = (conf > bins["lower"][m]) & (conf <= bins["upper"][m]) | ((m == 0) & (conf == bins["lower"][0]))
        assert inside.sum() == bins["count"][m]
        assert bins["accuracy"][m] == pytest.approx(correct[inside].mean())
        assert bins["confidence"][m] == pytest.approx(conf[inside].mean())


def test_reliability_bins_switch_to_equal_count_when_items_are_few_and_carry_intervals():
    y, proba = _items(15 * MIN_PER_BIN)
    many = reliability_bins(y, proba)
    assert many["strategy"] == "equal-width"
    assert np.array_equal(many["count"], calibration_bins(y, proba)["count"])  # the ECE's own bins
    y, proba = _items(100, seed=1)
    few = reliability_bins(y, proba)
    assert few["strategy"] == "equal-count" and len(few["count"]) == 100 // MIN_PER_BIN
    filled = few["count"] > 0
    assert (few["low"][filled] <= few["accuracy"][filled]).all() and (few["accuracy"][filled] <= few["high"][filled]).all()
    k = int(round(few["accuracy"][0] * few["count"][0]))
    from scipy.stats import binomtest

    ci = binomtest(k, int(few["count"][0])).proportion_ci(method="wilson")
    assert (few["low"][0], few["high"][0]) == pytest.approx((ci.low, ci.high))
    one = reliability_bins(np.zeros(5, int), np.tile([0.9, 0.1], (5, 1)))  # every confidence equal: one bin
    assert one["count"].tolist() == [5] and one["accuracy"][0] == 1.0


def test_reliability_figure_is_written_for_few_and_many_items(tmp_path):
    for n in (60, 15 * MIN_PER_BIN):
        y, proba = _items(n, seed=n)
        fig = P.reliability_figure(reliability_bins(y, proba), ece=0.05, title=f"n = {n}", ece_bins=15)
        P.save(fig, tmp_path / f"rel_{n}.png")
        with Image.open(tmp_path / f"rel_{n}.png") as im:
            assert im.size[0] > 500
