"""Every metric against scikit-learn on random and edge-case arrays; ECE and top confusions against hand-worked examples."""

import numpy as np
import pytest
from sklearn import metrics as skm

from trainlab.evaluation.calibration import calibration_bins, expected_calibration_error
from trainlab.evaluation.metrics import compute_metrics, top_confusions

# the reference sklearn calls below warn on the edge cases on purpose
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _random(n, k, seed, skill=1.5):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += skill
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return y, proba.argmax(1), proba


def _names(k):
    return [f"c{i}" for i in range(k)]


def _assert_matches_sklearn(m, y, y_pred, proba):
    k = proba.shape[1]
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, y_pred), abs=1e-12)
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, y_pred), abs=1e-12)
    assert m["f1_macro"] == pytest.approx(skm.f1_score(y, y_pred, average="macro"), abs=1e-12)
    assert m["f1_weighted"] == pytest.approx(skm.f1_score(y, y_pred, average="weighted"), abs=1e-12)
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=range(k)), abs=1e-12)
    if k >= 5:
        assert m["top5_accuracy"] == pytest.approx(skm.top_k_accuracy_score(y, proba, k=5, labels=range(k)), abs=1e-12)
    precision, recall, f1, support = skm.precision_recall_fscore_support(y, y_pred, labels=range(k), zero_division=np.nan)
    for row in m["per_class"]:
        c = row["index"]
        assert row["support"] == support[c]
        for key, ref in (("precision", precision[c]), ("recall", recall[c]), ("f1", f1[c])):
            if np.isnan(ref):
                assert row[key] is None and row["note"]
            else:
                assert row[key] == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_multiclass_random_equals_sklearn(seed):
    y, y_pred, proba = _random(300, 7, seed)
    m = compute_metrics(y, y_pred, proba, classes=_names(7))
    _assert_matches_sklearn(m, y, y_pred, proba)
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"), abs=1e-12)
    assert m["roc_auc_average"] == "one-vs-rest macro"
    per_class_auc = skm.roc_auc_score(y, proba, multi_class="ovr", average=None)
    np.testing.assert_allclose([r["roc_auc"] for r in m["per_class"]], per_class_auc, atol=1e-12)
    assert m["undefined"] == {}
    assert m["n"] == 300 and m["n_classes"] == 7


@pytest.mark.parametrize("seed", range(3))
def test_binary_random_equals_sklearn_and_uses_probabilities(seed):
    y, y_pred, proba = _random(200, 2, seed, skill=0.8)
    m = compute_metrics(y, y_pred, proba, classes=["female", "male"])
    _assert_matches_sklearn(m, y, y_pred, proba)
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba[:, 1]), abs=1e-12)
    # The coursework scored AUC from hard labels; that is a different (coarser) number.
    assert m["roc_auc"] != pytest.approx(skm.roc_auc_score(y, y_pred), abs=1e-6)
    assert "positive class 'male'" in m["roc_auc_average"]
    assert m["top5_accuracy"] is None and "at least 5 classes" in m["undefined"]["top5_accuracy"]


def test_class_never_predicted():
    y, _, proba = _random(120, 4, 0)
    proba[:, 2] *= 0.01  # class 2 is never the arg-max
    proba /= proba.sum(1, keepdims=True)
    y_pred = proba.argmax(1)
    assert 2 not in y_pred and 2 in y
    m = compute_metrics(y, y_pred, proba, classes=_names(4))
    _assert_matches_sklearn(m, y, y_pred, proba)
    row = m["per_class"][2]
    assert row["precision"] is None and "never predicted" in row["note"]
    assert row["recall"] == 0.0 and row["f1"] == 0.0
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"), abs=1e-12)


def test_class_absent_from_y_true_makes_auc_undefined_not_nan():
    y, y_pred, proba = _random(150, 5, 1)
    y = np.where(y == 3, 0, y)  # no item of class 3; it is still predicted sometimes
    assert 3 in y_pred
    m = compute_metrics(y, y_pred, proba, classes=["ant", "bee", "cricket", "dragonfly", "earwig"])
    _assert_matches_sklearn(m, y, y_pred, proba)
    assert m["roc_auc"] is None
    assert "'dragonfly' absent from y_true" in m["undefined"]["roc_auc"]
    row = m["per_class"][3]
    assert row["support"] == 0 and row["recall"] is None and row["roc_auc"] is None
    assert "absent from y_true" in row["note"]
    assert row["precision"] == 0.0  # predicted but never right
    # the other classes keep their one-vs-rest AUC
    assert m["per_class"][0]["roc_auc"] == pytest.approx(skm.roc_auc_score(y == 0, proba[:, 0]), abs=1e-12)


def test_class_absent_everywhere_is_reported_not_averaged_in():
    y = np.array([0, 0, 1, 1, 1, 0])
    y_pred = np.array([0, 1, 1, 1, 0, 0])
    proba = np.array([[.7, .2, .1], [.4, .5, .1], [.2, .7, .1], [.1, .8, .1], [.5, .4, .1], [.6, .3, .1]])
    m = compute_metrics(y, y_pred, proba, classes=_names(3))
    _assert_matches_sklearn(m, y, y_pred, proba)
    # F1 of classes 0 and 1 are both 2/3; class 2 (never present, never predicted) is not averaged in
    assert m["f1_macro"] == pytest.approx(2 / 3)
    assert m["per_class"][2]["f1"] is None
    assert "never predicted" in m["per_class"][2]["note"]


def test_single_class_in_y_true_binary():
    y = np.zeros(10, dtype=int)
    proba = np.column_stack([np.linspace(0.3, 0.9, 10), 1 - np.linspace(0.3, 0.9, 10)])
    y_pred = proba.argmax(1)
    m = compute_metrics(y, y_pred, proba, classes=["no", "yes"])
    _assert_matches_sklearn(m, y, y_pred, proba)
    assert m["roc_auc"] is None and "only class 'no'" in m["undefined"]["roc_auc"]
    assert all(isinstance(v, (int, float, str, list, dict, type(None))) for v in m.values())


def test_a_single_class_overall():
    y = np.zeros(4, dtype=int)
    m = compute_metrics(y, y, np.ones((4, 1)), classes=["only"])
    assert m["accuracy"] == 1.0 == skm.accuracy_score(y, y)
    assert m["balanced_accuracy"] == skm.balanced_accuracy_score(y, y)
    assert m["f1_macro"] == skm.f1_score(y, y, average="macro")
    assert m["ece"] == 0.0
    for key in ("roc_auc", "log_loss", "top5_accuracy"):
        assert m[key] is None and key in m["undefined"]


def test_top5_with_ties_follows_sklearn_rule():
    # 6 classes, every score tied at 1/6: sklearn ranks the higher class index first among equals,
    # so the top 5 are classes 5,4,3,2,1 and only class 0 misses. Item 3 has a tie only among
    # classes 0..1 at the bottom, inside no boundary question: its true class 4 has the top score.
    proba = np.vstack([np.full((3, 6), 1 / 6), [0.1, 0.1, 0.15, 0.15, 0.3, 0.2]])
    y = np.array([0, 5, 1, 4])
    m = compute_metrics(y, proba.argmax(1), proba, classes=_names(6))
    assert m["top5_accuracy"] == pytest.approx(3 / 4)
    assert m["top5_accuracy"] == pytest.approx(skm.top_k_accuracy_score(y, proba, k=5, labels=range(6)))


def test_rows_a_little_off_one_are_rescaled():
    y, y_pred, proba = _random(100, 5, 2)
    off = proba * (1 + 4e-4)  # within the predictions table's 1e-3 tolerance; sklearn's AUC would refuse it
    m = compute_metrics(y, y_pred, off, classes=_names(5))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"), abs=1e-12)


def test_bad_arrays_are_named():
    y, y_pred, proba = _random(10, 3, 0)
    with pytest.raises(ValueError, match=r"expected \(n, 4\)"):
        compute_metrics(y, y_pred, proba, classes=_names(4))
    with pytest.raises(ValueError, match=r"y_pred\[0\] = 7 is not a class index in 0..2"):
        compute_metrics(y, np.full(10, 7), proba, classes=_names(3))
    with pytest.raises(ValueError, match="y_true has shape"):
        compute_metrics(y[:5], y_pred, proba, classes=_names(3))


def test_ece_hand_worked_example():
    # 15 bins of width 1/15. conf 0.9 -> bin (0.867, 0.933]; 0.5 -> (0.467, 0.533]; 0.45 -> (0.4, 0.467].
    proba = np.array([[0.90, 0.05, 0.05],   # y=0, right
                      [0.90, 0.05, 0.05],   # y=1, wrong   } same bin: acc 1/2, conf 0.9
                      [0.20, 0.50, 0.30],   # y=1, right: acc 1, conf 0.5
                      [0.45, 0.30, 0.25]])  # y=2, wrong: acc 0, conf 0.45
    y = np.array([0, 1, 1, 2])
    # ECE = 2/4·|0.5 − 0.9| + 1/4·|1 − 0.5| + 1/4·|0 − 0.45| = 0.2 + 0.125 + 0.1125 = 0.4375
    assert expected_calibration_error(y, proba) == pytest.approx(0.4375, abs=1e-12)
    bins = calibration_bins(y, proba)
    assert list(np.flatnonzero(bins["count"])) == [6, 7, 13]
    assert bins["count"].sum() == 4
    assert compute_metrics(y, proba.argmax(1), proba, classes=_names(3))["ece"] == pytest.approx(0.4375)


def test_ece_edges_and_perfect_confidence():
    proba = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert expected_calibration_error(np.array([0, 1]), proba) == 0.0
    assert calibration_bins(np.array([0, 1]), proba)["count"][-1] == 2  # conf = 1 lands in the last bin
    assert expected_calibration_error(np.array([1, 0]), proba) == 1.0


def test_ece_matches_a_plain_loop_on_random_data():
    y, _, proba = _random(500, 4, 3, skill=1.0)
    conf, hit = proba.max(1), (proba.argmax(1) == y)
    total = 0.0
    for m in range(15):
        lo, hi = m / 15, (m + 1) / 15
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += inside.sum() / len(y) * abs(hit[inside].mean() - conf[inside].mean())
    assert expected_calibration_error(y, proba) == pytest.approx(total, abs=1e-12)


def test_top_confusions_hand_worked():
    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([1, 1, 0, 0, 1, 0, 1, 1, 2])
    # off-diagonal cells: 0->1: 2, 1->0: 1, 2->0: 1, 2->1: 2 ; 6 errors in all
    table = top_confusions(y_true, y_pred, classes=["a", "b", "c"])
    assert list(zip(table["true"], table["predicted"], table["count"])) == [("a", "b", 2), ("c", "b", 2), ("b", "a", 1), ("c", "a", 1)]
    np.testing.assert_allclose(table["share_of_true"], [2 / 3, 2 / 4, 1 / 2, 1 / 4])
    np.testing.assert_allclose(table["share_of_errors"], [2 / 6, 2 / 6, 1 / 6, 1 / 6])
    assert len(top_confusions(y_true, y_true, classes=["a", "b", "c"])) == 0
