"""The fast score-ranking metrics equal scikit-learn's: one-vs-rest ROC AUC (per class, macro, weighted,
binary), with and without ties, across a column-block boundary; top-k with ties; log loss with zeros."""

import numpy as np
import pytest
from sklearn import metrics as skm

from trainlab.evaluation import ranking
from trainlab.evaluation.metrics import compute_metrics

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _scores(n, k, seed, *, ties=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    y[:k] = np.arange(k)  # every class present
    if ties:  # every row one of 6 probability vectors: at most 6 distinct scores per column, ties everywhere
        templates = rng.dirichlet(np.ones(k), size=6)
        templates[np.arange(6), np.arange(6) % k] += 1.0
        templates /= templates.sum(1, keepdims=True)
        pick = np.where(rng.random(n) < 0.6, y % 6, rng.integers(0, 6, n))
        return y, templates[pick]
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 1.0
    return y, np.exp(logits) / np.exp(logits).sum(1, keepdims=True)


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("n, k, seed", [(200, 3, 0), (300, 7, 1), (500, 70, 2)])  # 70 > BLOCK: two column blocks
def test_ovr_auc_equals_sklearn(n, k, seed, ties):
    y, proba = _scores(n, k, seed, ties=ties)
    if ties:
        assert len(np.unique(proba[:, 0])) <= 6
    np.testing.assert_allclose(ranking.roc_auc_ovr(y, proba, average=None),
                               skm.roc_auc_score(y, proba, multi_class="ovr", average=None), rtol=0, atol=1e-12)
    for average in ("macro", "weighted"):
        assert ranking.roc_auc_ovr(y, proba, average=average) == pytest.approx(
            skm.roc_auc_score(y, proba, multi_class="ovr", average=average), abs=1e-12)
    assert compute_metrics(y, proba.argmax(1), proba, classes=[f"c{i}" for i in range(k)])["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"), abs=1e-12)


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
def test_binary_auc_equals_sklearn(ties):
    y, proba = _scores(150, 2, 3, ties=ties)
    auc = ranking.roc_auc_per_class(y, proba)
    assert auc[1] == pytest.approx(skm.roc_auc_score(y, proba[:, 1]), abs=1e-12)
    assert auc[0] == pytest.approx(skm.roc_auc_score(y == 0, proba[:, 0]), abs=1e-12)
    m = compute_metrics(y, proba.argmax(1), proba, classes=["no", "yes"])
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba[:, 1]), abs=1e-12)


def test_auc_hand_worked_with_a_tie():
    # positives score 0.9 and 0.5, negatives 0.5 and 0.1: pairs (0.9>0.5, 0.9>0.1, 0.5=0.5, 0.5>0.1) -> 3.5 / 4
    y = np.array([1, 1, 0, 0])
    p1 = np.array([0.9, 0.5, 0.5, 0.1])
    assert ranking.roc_auc_per_class(y, np.c_[1 - p1, p1])[1] == 3.5 / 4
    constant = np.full((4, 2), 0.5)  # every score tied: AUC one half
    np.testing.assert_array_equal(ranking.roc_auc_per_class(y, constant), [0.5, 0.5])


def test_absent_class_is_nan_and_compute_metrics_says_why():
    y, proba = _scores(100, 4, 4)
    y[y == 2] = 1  # class 2 absent from y_true
    auc = ranking.roc_auc_per_class(y, proba)
    assert np.isnan(auc[2]) and not np.isnan(auc[[0, 1, 3]]).any()
    assert np.isnan(ranking.roc_auc_ovr(y, proba))
    # scikit-learn gives NaN there too (with a warning), and so a NaN macro average
    np.testing.assert_allclose(auc, skm.roc_auc_score(y, proba, multi_class="ovr", labels=range(4), average=None),
                               rtol=0, atol=1e-12, equal_nan=True)
    m = compute_metrics(y, proba.argmax(1), proba, classes=["a", "b", "c", "d"])
    assert m["roc_auc"] is None and "class(es) 'c' absent from y_true" in m["undefined"]["roc_auc"]
    present = skm.roc_auc_score(y == 3, proba[:, 3])
    assert m["per_class"][3]["roc_auc"] == pytest.approx(present, abs=1e-12) and m["per_class"][2]["roc_auc"] is None


def test_inputs_are_not_modified_even_column_major():
    # a pandas frame's to_numpy() is column-major: its transpose is a view, which must not be sorted in place
    y, proba = _scores(120, 5, 5)
    proba = np.asfortranarray(proba)
    before = proba.copy()
    ranking.roc_auc_per_class(y, proba)
    np.testing.assert_array_equal(proba, before)


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
def test_top_k_and_log_loss_equal_sklearn(ties):
    y, proba = _scores(400, 12, 6, ties=ties)
    for k in (1, 3, 5):
        assert ranking.top_k_accuracy(y, proba, k) == pytest.approx(
            skm.top_k_accuracy_score(y, proba, k=k, labels=range(12)), abs=1e-12)
    assert ranking.log_loss(y, proba) == pytest.approx(skm.log_loss(y, proba, labels=range(12)), abs=1e-12)
    proba[0] = 0.0  # a zero on the true class: clipped to machine epsilon, as scikit-learn does
    proba[0, (y[0] + 1) % 12] = 1.0
    assert ranking.log_loss(y, proba) == pytest.approx(skm.log_loss(y, proba, labels=range(12)), abs=1e-12)
