"""Disparity measures: equal to fairlearn's on the same arrays; AIF360's definitions by hand."""

import numpy as np
import pytest
from fairlearn.metrics import (
    MetricFrame, demographic_parity_difference, demographic_parity_ratio, equal_opportunity_difference,
    equalized_odds_difference, false_positive_rate_difference,
)
from sklearn.metrics import accuracy_score

from _fairness_synth import predictions
from trainlab.fairness import measures as M
from trainlab.fairness.audit import audit


def _random(n, groups, k, seed):
    rng = np.random.default_rng(seed)
    g = rng.choice(groups, n)
    y_true = rng.integers(0, k, n)
    # group-dependent error rates, so the gaps are not all zero
    err = np.select([g == groups[0], g == groups[1]], [0.1, 0.35], 0.2)
    y_pred = np.where(rng.random(n) < err, rng.integers(0, k, n), y_true)
    return g, y_true, y_pred


@pytest.mark.parametrize("seed", [0, 1])
def test_binary_headline_figures_equal_fairlearn(seed):
    groups = ["a", "b", "c", "d"]
    g, y_true, y_pred = _random(2000, groups, 2, seed)
    pred = predictions(y_true, y_pred, {"grp": g}, ["neg", "pos"], seed)
    d = audit(pred, by=["grp"], favorable="pos", bootstrap=50).data["audits"][0]["disparities"]
    kw = dict(y_true=y_true, y_pred=y_pred, sensitive_features=g)
    assert d["demographic_parity_difference"]["value"] == pytest.approx(demographic_parity_difference(**kw), abs=1e-12)
    assert d["demographic_parity_ratio"]["value"] == pytest.approx(demographic_parity_ratio(**kw), abs=1e-12)
    assert d["equal_opportunity_difference"]["value"] == pytest.approx(equal_opportunity_difference(**kw), abs=1e-12)
    assert d["equalized_odds_difference"]["value"] == pytest.approx(equalized_odds_difference(**kw), abs=1e-12)
    assert d["false_positive_rate_difference"]["value"] == pytest.approx(false_positive_rate_difference(**kw), abs=1e-12)
    acc = MetricFrame(metrics={"acc": accuracy_score}, **kw)
    assert d["accuracy_gap"]["value"] == pytest.approx(acc.difference()["acc"], abs=1e-12)
    assert d["worst_group_accuracy"]["value"] == pytest.approx(acc.group_min()["acc"], abs=1e-12)


def test_multiclass_per_class_figures_equal_fairlearn_one_vs_rest_and_headline_is_the_worst():
    groups = ["x", "y", "z"]
    g, y_true, y_pred = _random(2400, groups, 3, seed=5)
    classes = ["ant", "bee", "fly"]
    pred = predictions(y_true, y_pred, {"grp": g}, classes)
    a = audit(pred, by=["grp"], bootstrap=50).data["audits"][0]
    dp = a["disparities"]["demographic_parity_difference"]
    eo = a["disparities"]["equalized_odds_difference"]
    expected_dp, expected_eo = [], []
    for k, cls in enumerate(classes):
        kw = dict(y_true=(y_true == k).astype(int), y_pred=(y_pred == k).astype(int), sensitive_features=g)
        expected_dp.append(demographic_parity_difference(**kw))
        expected_eo.append(equalized_odds_difference(**kw))
        assert dp["per_class"][cls]["value"] == pytest.approx(expected_dp[-1], abs=1e-12)
        assert eo["per_class"][cls]["value"] == pytest.approx(expected_eo[-1], abs=1e-12)
    assert dp["value"] == pytest.approx(max(expected_dp), abs=1e-12)
    assert dp["class"] == classes[int(np.argmax(expected_dp))]
    assert eo["value"] == pytest.approx(max(expected_eo), abs=1e-12)
    groups_out = {e["group"]: e for e in a["groups"]}
    for grp in groups:
        m = g == grp
        assert groups_out[grp]["accuracy"]["value"] == pytest.approx(accuracy_score(y_true[m], y_pred[m]), abs=1e-12)


def _hand_example():
    """Binary, favorable 'grant', 10 rows per group.

    priv:   6 true grant (5 predicted grant, 1 deny), 4 true deny (1 predicted grant, 3 deny)
    unpriv: 5 true grant (3 predicted grant, 2 deny), 5 true deny (0 predicted grant, 5 deny)
    """
    G, D = 1, 0
    priv_true = [G] * 6 + [D] * 4
    priv_pred = [G] * 5 + [D] + [G] + [D] * 3
    unpriv_true = [G] * 5 + [D] * 5
    unpriv_pred = [G] * 3 + [D] * 2 + [D] * 5
    y_true = np.array(priv_true + unpriv_true)
    y_pred = np.array(priv_pred + unpriv_pred)
    grp = np.array(["priv"] * 10 + ["unpriv"] * 10)
    return predictions(y_true, y_pred, {"grp": grp}, ["deny", "grant"])


def test_aif360_definitions_on_hand_computed_vectors():
    # By hand (AIF360 ClassificationMetric, unprivileged = unpriv, privileged = priv):
    #   SR_priv = (5 + 1) / 10 = 0.6          SR_unpriv = 3 / 10 = 0.3
    #   TPR_priv = 5 / 6                        TPR_unpriv = 3 / 5 = 0.6
    #   FPR_priv = 1 / 4 = 0.25                 FPR_unpriv = 0 / 5 = 0
    #   disparate_impact              = 0.3 / 0.6                         = 0.5
    #   statistical_parity_difference = 0.3 − 0.6                         = −0.3
    #   equal_opportunity_difference  = 0.6 − 5/6                         = −0.2333…
    #   average_odds_difference       = ½[(0 − 0.25) + (0.6 − 5/6)]      = −0.241666…
    #   accuracy: priv (5 + 3) / 10 = 0.8, unpriv (3 + 5) / 10 = 0.8 → accuracy difference 0
    a = audit(_hand_example(), by=["grp"], favorable="grant", reference="priv", min_group_size=1, bootstrap=0).data["audits"][0]
    rows = {c["measure"]: c for c in a["comparisons"] if c["group"] == "unpriv"}
    assert {c["reference"] for c in a["comparisons"]} == {"priv"}
    assert rows["disparate_impact"]["value"] == pytest.approx(0.5)
    assert rows["statistical_parity_difference"]["value"] == pytest.approx(-0.3)
    assert rows["equal_opportunity_difference"]["value"] == pytest.approx(0.6 - 5 / 6)
    assert rows["false_positive_rate_difference"]["value"] == pytest.approx(-0.25)
    assert rows["average_odds_difference"]["value"] == pytest.approx(0.5 * ((0 - 0.25) + (0.6 - 5 / 6)))
    assert rows["accuracy_difference"]["value"] == pytest.approx(0.0)
    d = a["disparities"]
    # fairlearn-style gaps on the same vectors: |0.3 − 0.6|, 0.3/0.6, |0.6 − 5/6|, max(that, |0 − 0.25|)
    assert d["demographic_parity_difference"]["value"] == pytest.approx(0.3)
    assert d["demographic_parity_ratio"]["value"] == pytest.approx(0.5)
    assert d["equal_opportunity_difference"]["value"] == pytest.approx(5 / 6 - 0.6)
    assert d["equalized_odds_difference"]["value"] == pytest.approx(0.25)
    assert d["equalized_odds_difference"]["driven_by"] == "fpr"
    assert d["disparate_impact"]["value"] == pytest.approx(0.5) and d["disparate_impact"]["group"] == "unpriv"
    assert d["average_odds_difference"]["value"] == pytest.approx(-0.241666666666)
    # the four-fifths rule: 0.3 / 0.6 = 0.5 < 0.8 for unpriv
    ff = [f for f in a["flags"] if f["kind"] == "four_fifths"]
    assert [(f["group"], f["versus"], round(f["value"], 12)) for f in ff] == [("unpriv", "priv", 0.5)]
    # no bootstrap: no interval, so no interval-based flag
    assert all(f["kind"] == "four_fifths" for f in a["flags"])
    assert d["demographic_parity_difference"]["ci"] is None


def test_measure_functions_treat_nan_as_undefined():
    x = np.array([0.2, np.nan, 0.5])
    assert M.range_difference(x) == pytest.approx(0.3)
    assert np.isnan(M.range_difference(np.array([0.2, np.nan])))  # one defined group: no gap
    assert np.isnan(M.min_max_ratio(np.array([0.0, 0.0])))  # 0/0
    assert M.min_max_ratio(np.array([0.0, 0.4])) == 0.0
    np.testing.assert_allclose(M.ratio_to_reference(np.array([0.3, 0.6]), 1), [0.5, 1.0])
    assert np.isnan(M.ratio_to_reference(np.array([0.3, 0.0]), 1)).all()
    assert M.worst(np.array([0.1, -0.4, 0.3]), kind="abs") == -0.4
    both = np.array([[0.1, 0.9], [0.5, 0.2]])  # (groups, classes)
    np.testing.assert_allclose(M.equalized_odds_difference(both, both[::-1], axis=0), [0.4, 0.7])


def test_the_catalogue_is_what_the_audit_reports_and_the_docs_define():
    from pathlib import Path

    a = audit(_hand_example(), by=["grp"], favorable="grant", min_group_size=1, bootstrap=0).get("grp")
    assert list(a.disparities) == [m.name for m in M.measures("disparity")]
    assert [d.label for d in a.disparities.values()] == [m.label for m in M.measures("disparity")]
    assert {c.measure for c in a.comparisons} == {m.name for m in M.measures("comparison")}
    docs = (Path(__file__).parents[1] / "docs" / "fairness.md").read_text(encoding="utf-8")
    for m in M.CATALOGUE:
        assert f"`{m.name}`" in docs or m.scope == "flag", m.name
