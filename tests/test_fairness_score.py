"""Score intervals (#17): Wilson equal to scipy's, Newcombe's difference equal to his published example, and the
audit's per-group and simultaneous intervals built from them."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from trainlab.artifacts.predictions import Predictions
from trainlab.fairness import score
from trainlab.fairness.audit import audit


@pytest.mark.parametrize("k,n", [(0, 30), (3, 30), (15, 30), (30, 30), (1, 7), (97, 1000)])
def test_wilson_equals_scipy(k, n):
    ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    lo, hi = score.wilson(k, n, score.z_value(0.95))
    assert (float(lo), float(hi)) == pytest.approx((ref.low, ref.high), abs=1e-12)


def test_wilson_is_vectorised_and_undefined_without_rows():
    lo, hi = score.wilson(np.array([[3, 0], [5, 0]]), np.array([[30, 10], [10, 0]]), 1.96)
    assert lo.shape == (2, 2) and np.isnan(lo[1, 1]) and np.isnan(hi[1, 1])
    assert lo[0, 1] == 0.0 and 0.0 < hi[0, 1] < 1.0  # 0 of 10: not the point [0, 0] a Wald interval gives


def test_newcombe_equals_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873-890, Table II example (a): 56/70 − 48/80, method 10
    z = score.z_value(0.95)
    (l1, u1), (l2, u2) = score.wilson(56, 70, z), score.wilson(48, 80, z)
    lo, hi = score.newcombe(56 / 70, l1, u1, 48 / 80, l2, u2)
    assert (round(float(lo), 4), round(float(hi), 4)) == (0.0524, 0.3339)


def test_sidak_z():
    assert score.sidak_z(0.95, 1) == pytest.approx(1.959964, abs=1e-6)
    z = score.sidak_z(0.95, 10)  # ten independent intervals at this z hold together with probability 0.95
    from scipy.stats import norm
    assert (2 * norm.cdf(z) - 1) ** 10 == pytest.approx(0.95)


def _table(groups, positives: int = 0):
    """Binary predictions: for each group (label, negatives, correct negatives), every error a false positive,
    and ``positives`` more rows of class 'yes', all predicted right."""
    g, y, p = [], [], []
    for label, n, correct in groups:
        g += [label] * (n + positives)
        y += [0] * n + [1] * positives
        p += [0] * correct + [1] * (n - correct + positives)
    return Predictions.build(classes=["no", "yes"], y_true=np.array(y), y_pred=np.array(p),
                             proba=np.eye(2)[np.array(p)], split="test", attributes=pd.DataFrame({"g": g}))


def test_audit_intervals_are_wilson_and_newcombe_at_the_family_quantile():
    result = audit(_table([("a", 40, 36), ("b", 60, 45), ("c", 200, 190)]), by=["g"], favorable="yes",
                   bootstrap=300, seed=0).audits[0]
    z95 = score.z_value(0.95)
    a = next(x for x in result.groups if x.group == "a")
    ref = binomtest(36, 40).proportion_ci(method="wilson")
    assert a.accuracy.ci == pytest.approx([ref.low, ref.high], abs=1e-9)  # the group's own: 95% Wilson
    c = result.simultaneous_critical_value
    assert c > z95
    # the simultaneous interval of accuracy_a − accuracy_c (reference c, the largest): Newcombe at z = c
    row = next(r for r in result.comparisons if r.measure == "accuracy_difference" and r.group == "a")
    (la, ua), (lc, uc) = score.wilson(36, 40, c), score.wilson(190, 200, c)
    assert row.ci_simultaneous == pytest.approx(list(score.newcombe(0.9, la, ua, 0.95, lc, uc)), abs=1e-9)
    (la, ua), (lc, uc) = score.wilson(36, 40, z95), score.wilson(190, 200, z95)
    assert row.ci == pytest.approx(list(score.newcombe(0.9, la, ua, 0.95, lc, uc)), abs=1e-9)  # marginal: at 1.96


def test_a_perfect_classifier_gets_intervals_not_points():
    # every replicate equals the estimate (no max-t quantile): Šidák's z over the family, Wilson intervals, where
    # the Wald form θ̂ ± c·se gave the point [0, 0] to the accuracy gap of 40 and 60 rows all right
    y = np.array([0] * 40 + [1] * 60)
    table = Predictions.build(classes=["no", "yes"], y_true=y, y_pred=y, proba=np.eye(2)[y], split="test",
                              attributes=pd.DataFrame({"g": ["a"] * 40 + ["b"] * 60}))
    result = audit(table, by=["g"], favorable="yes", bootstrap=100).audits[0]
    assert result.simultaneous_critical_value is None
    gap = result.disparities["accuracy_gap"]
    assert gap.value == 0.0 and gap.ci[0] == 0.0 and gap.ci[1] > 0.05
