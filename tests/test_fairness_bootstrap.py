"""The bootstrap: seeded, reproducible, right distribution, intervals that contain and shrink."""

import numpy as np
import pytest

from _fairness_synth import planted
from trainlab.fairness import intervals as I
from trainlab.fairness.audit import audit
from trainlab.fairness.bootstrap import MaxT, bootstrap_counts, percentile_interval
from trainlab.fairness.rates import confusion_cells, rates_from_counts


def test_same_seed_same_result_other_seed_other_intervals():
    pred = planted(60, seed=1, extra_error=0.1)
    a = audit(pred, by=["race", "race,gender"], bootstrap=200, seed=3).data
    b = audit(pred, by=["race", "race,gender"], bootstrap=200, seed=3).data
    c = audit(pred, by=["race", "race,gender"], bootstrap=200, seed=4).data
    assert a == b
    # a group's macro F1 takes the percentile interval of its replicates, and the gaps the max-t critical value:
    # both move with the seed (a rate's own Wilson interval does not depend on it)
    f1 = lambda d: [g["macro_f1"]["ci"] for g in d["audits"][0]["groups"]]  # noqa: E731
    assert f1(a) != f1(c)
    assert a["audits"][0]["simultaneous_critical_value"] != c["audits"][0]["simultaneous_critical_value"]
    acc = lambda d: [g["accuracy"]["ci"] for g in d["audits"][0]["groups"]]  # noqa: E731
    assert acc(a) == acc(c)
    assert a["audits"][0]["groups"][0]["accuracy"]["value"] == c["audits"][0]["groups"][0]["accuracy"]["value"]


def test_an_audit_does_not_depend_on_the_other_audits_run_with_it():
    pred = planted(60, seed=2, extra_error=0.1)
    alone = audit(pred, by=["race"], bootstrap=200).audits[0]
    together = audit(pred, by=["gender", "race"], bootstrap=200).get("race")
    assert alone == together


def test_multinomial_counts_have_the_distribution_of_row_resampling():
    rng = np.random.default_rng(0)
    n = 500
    y_true = rng.integers(0, 2, n)
    y_pred = np.where(rng.random(n) < 0.8, y_true, 1 - y_true)
    g = np.zeros(n, dtype=int)
    B = 4000
    fast = rates_from_counts(bootstrap_counts(confusion_cells(g, y_true, y_pred, 1, 2), B, np.random.default_rng(1)))
    idx = np.random.default_rng(2).integers(0, n, (B, n))  # the textbook bootstrap: resample rows
    yt, yp = y_true[idx], y_pred[idx]
    slow_acc = (yt == yp).mean(axis=1)
    slow_tpr = ((yt == 1) & (yp == 1)).sum(axis=1) / (yt == 1).sum(axis=1)
    for fast_x, slow_x in ((fast["accuracy"][:, 0], slow_acc), (fast["tpr"][:, 0, 1], slow_tpr)):
        assert fast_x.mean() == pytest.approx(slow_x.mean(), abs=0.002)
        assert fast_x.std() == pytest.approx(slow_x.std(), rel=0.08)


def _all_stats(audit_dict):
    for g in [audit_dict["overall"], *audit_dict["groups"]]:
        yield from (g[m] for m in ("accuracy", "error_rate", "macro_f1"))
        for per in g["per_class"].values():
            yield from per.values()


def test_intervals_contain_the_point_estimate():
    a = audit(planted(300, seed=0, extra_error=0.1), by=["race"], bootstrap=300).data["audits"][0]
    for s in _all_stats(a):
        assert s["ci"][0] - 1e-12 <= s["value"] <= s["ci"][1] + 1e-12
    for name, d in a["disparities"].items():
        hi = np.inf if d["ci"][1] is None else d["ci"][1]
        assert d["ci"][0] - 1e-12 <= d["value"] <= hi + 1e-12, name
    for c in a["comparisons"]:
        lo, hi = c["ci_simultaneous"]
        assert lo - 1e-12 <= c["value"] <= (np.inf if hi is None else hi) + 1e-12, c


def test_intervals_shrink_with_n():
    def width(n):
        a = audit(planted(n, seed=5, extra_error=0.1), by=["race"], bootstrap=400).data["audits"][0]
        w = [g["accuracy"]["ci"][1] - g["accuracy"]["ci"][0] for g in a["groups"]]
        return np.mean(w), a["disparities"]["accuracy_gap"]["ci"][1] - a["disparities"]["accuracy_gap"]["ci"][0]

    small, large = width(150), width(1500)
    # standard errors scale as 1/sqrt(n): ten times the rows, about a third of the width
    assert large[0] < 0.45 * small[0]
    assert large[1] < 0.45 * small[1]


def test_max_t_critical_value_matches_sidak_for_independent_estimates():
    rng = np.random.default_rng(0)
    B = 20000
    one = MaxT(B)
    one.add(np.zeros(1), rng.normal(size=(B, 1)))
    assert one.critical() == pytest.approx(1.96, abs=0.05)  # a single estimate: the usual z
    ten = MaxT(B)
    for _ in range(2):  # added in two blocks, as the audit does
        ten.add(np.zeros(5), rng.normal(size=(B, 5)))
    # ten independent estimates: each must cover with 0.95 ** (1/10) → z = Φ⁻¹(1 − (1 − 0.99488)/2) ≈ 2.80
    assert ten.critical() == pytest.approx(2.80, abs=0.06)


def test_range_interval_contains_range_and_excludes_zero_only_when_a_pair_separates():
    rates = np.array([0.50, 0.52, 0.70])
    pair = I.pair_differences(rates, axis=0)  # (0.5 − 0.52, 0.5 − 0.7, 0.52 − 0.7)
    half = np.full(3, 0.05)
    lo, hi = I.range_interval(pair - half, pair + half)
    assert lo == pytest.approx(0.15) and hi == pytest.approx(0.25)  # 0.20 ± 0.05
    assert I.separated_pair(pair - half, pair + half, 3)[:2] == (2, 0)  # group 2 is above group 0
    lo, hi = I.range_interval(pair - 0.3, pair + 0.3)
    assert lo == 0.0 and hi == pytest.approx(0.5)
    assert I.separated_pair(pair - 0.3, pair + 0.3, 3) is None


def test_percentile_interval_ignores_undefined_replicates():
    reps = np.array([np.nan, 1.0, 2.0, 3.0, np.nan])
    lo, hi = percentile_interval(reps)
    assert 1.0 <= lo < hi <= 3.0
    lo, hi = percentile_interval(np.full(4, np.nan))
    assert np.isnan(lo) and np.isnan(hi)
