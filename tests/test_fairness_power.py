"""What the data can show (#17 item 4): the minimum detectable difference, by hand, by simulation, and in the audit,
its prose, the command line and the report."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from trainlab.artifacts.predictions import Predictions
from trainlab.cli import main
from trainlab.fairness.audit import audit
from trainlab.fairness.power import minimum_detectable_difference, z_sum
from trainlab.fairness.prose import summary_markdown


def test_the_formula_by_hand():
    # p = 0.5, n1 = n2 = 100: SE = sqrt(0.25 · 0.02) = 0.0707107; z_0.975 + z_0.8 = 1.959964 + 0.841621 = 2.801585
    assert z_sum() == pytest.approx(2.801585, abs=1e-6)
    assert minimum_detectable_difference(0.5, 100, 100) == pytest.approx(2.801585 * 0.0707107, abs=1e-6)  # 0.198101
    # p = 0.1, n1 = 50, n2 = 450: SE = sqrt(0.09 · (0.02 + 0.0022222)) = 0.0447214
    assert minimum_detectable_difference(0.1, 50, 450) == pytest.approx(2.801585 * 0.0447214, abs=1e-6)
    assert np.isnan(minimum_detectable_difference(0.5, 0, 100))


def _z_test_rejects(x1, n1, x2, n2) -> np.ndarray:
    """The pooled two-proportion z-test at the 5% level, two-sided (vectorised over draws)."""
    p = (x1 + x2) / (n1 + n2)
    se = np.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    return np.abs(x1 / n1 - x2 / n2) / se > norm.ppf(0.975)


@pytest.mark.parametrize("p, n1, n2", [(0.5, 200, 800), (0.2, 150, 600)])
def test_at_the_mdd_a_z_test_rejects_in_80_percent_of_draws(p, n1, n2):
    rng = np.random.default_rng(7)
    draws = 400
    # the binomial sd of a rejection share over 400 draws is 0.02 at 80%; 3.5 sd (and the normal approximation's
    # own error, under 1 point here) gives the tolerance; at half the MDD power is ~29%, at 0 it is 5%
    shares = {}
    for scale in (1.0, 0.5, 0.0):
        delta = scale * minimum_detectable_difference(p, n1, n2)
        p1, p2 = p + delta * n2 / (n1 + n2), p - delta * n1 / (n1 + n2)  # pooled rate p, difference delta
        shares[scale] = _z_test_rejects(rng.binomial(n1, p1, draws), n1, rng.binomial(n2, p2, draws), n2).mean()
    assert abs(shares[1.0] - 0.80) < 0.07
    assert 0.17 < shares[0.5] < 0.42
    assert shares[0.0] < 0.05 + 3.5 * np.sqrt(0.05 * 0.95 / draws)


def _two_groups(n_small: int, n_large: int, seed: int = 0) -> Predictions:
    rng = np.random.default_rng(seed)
    n = n_small + n_large
    y = rng.integers(0, 2, n)
    y_pred = np.where(rng.random(n) < 0.85, y, 1 - y)
    proba = np.clip(np.eye(2)[y_pred] * 0.8 + 0.1, 0, 1)
    return Predictions.build(classes=["no", "yes"], y_true=y, y_pred=y_pred, proba=proba, split="test",
                             attributes=pd.DataFrame({"site": ["small"] * n_small + ["large"] * n_large}))


def test_the_audit_stores_the_mdd_of_each_measure_at_its_denominators():
    pred = _two_groups(60, 940)
    a = audit(pred, by="site", bootstrap=200).get("site")
    site = pred.frame["site"].to_numpy()
    small, large = site == "small", site == "large"
    y, yp = pred.y_true, pred.y_pred
    acc = a.disparities["accuracy_gap"].mdd
    pooled = float(np.mean(y == yp))
    assert acc.groups == ["small", "large"] and acc.n == [60, 940]
    assert acc.value == pytest.approx(minimum_detectable_difference(pooled, 60, 940), rel=1e-9)
    crit = a.simultaneous_critical_value
    assert acc.at_flag_level == pytest.approx(acc.value / z_sum() * (crit + norm.ppf(0.8)), rel=1e-9)
    # TPR rests on the rows of true class 'yes': its pooled rate and its n are those rows'
    tpr = a.disparities["equal_opportunity_difference"].mdd
    pos = y == 1
    assert tpr.n == [int((small & pos).sum()), int((large & pos).sum())]
    assert tpr.pooled_rate == pytest.approx(float(np.mean(yp[pos] == 1)), rel=1e-9)
    # FPR rests on the other rows: the small group has fewer than the minimum 30, so nothing to compare it with
    assert (small & ~pos).sum() < 30
    fpr = a.disparities["false_positive_rate_difference"].mdd
    assert fpr.value is None and "enough rows" in fpr.reason
    sr = a.disparities["demographic_parity_ratio"].mdd  # a ratio: its difference form
    assert sr.n == [60, 940] and sr.form == "difference"
    b = audit(_two_groups(90, 910), by="site", bootstrap=100).get("site").disparities
    tpr, fpr = b["equal_opportunity_difference"].mdd, b["false_positive_rate_difference"].mdd
    assert min(fpr.n) >= 30 and fpr.value > 0
    assert b["equalized_odds_difference"].mdd.value == pytest.approx(max(tpr.value, fpr.value))
    assert a.disparities["calibration_gap"].mdd.value > 0
    assert a.disparities["accuracy_gap"].per_class is None


def test_no_flag_is_never_read_as_no_disparity(tmp_path, capsys):
    pred = _two_groups(40, 60, seed=3)
    result = audit(pred, by="site", bootstrap=200)
    text = summary_markdown(result)
    mdd = result.get("site").disparities["accuracy_gap"].mdd.value
    assert f"Not flagged, but gaps under {mdd:.3f} could not be detected at these group sizes" in text
    assert "What the data can show" in text and "No flag is not evidence of no disparity" in text
    run = tmp_path / "run"
    pred.write(run / "predictions" / "test.csv")
    assert main(["audit", str(run), "--by", "site", "--bootstrap", "100"]) == 0
    out = capsys.readouterr().out
    assert "could not be detected at these group sizes" in out and "| Accuracy gap (max − min over groups) |" in out
    table = pd.read_csv(run / "audit" / "disparities.csv")
    assert table.loc[table["measure"] == "accuracy_gap", "mdd"].notna().all()


def test_the_report_shows_the_calibration_gap_and_the_detectable_column():
    from trainlab.report.fairness import _disparities_table

    a = audit(_two_groups(80, 120), by="site", bootstrap=100).get("site").model_dump(mode="json", by_alias=True)
    table = _disparities_table(a, a["disparities"], "site", "audit")
    assert any(c.label == "detectable" for c in table.columns)
    row = next(r for r in table.rows if r.cells[0].text.startswith("Calibration gap"))
    assert row.cells[4].text == f"{a['disparities']['calibration_gap']['mdd']['value']:.3f}"
