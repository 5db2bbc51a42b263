"""Per-group rates: the fairlearn path, the vectorised count path, and fairlearn on the raw rows agree."""

from functools import partial

import numpy as np
import pytest
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
from sklearn.metrics import accuracy_score, f1_score

from trainlab.fairness import rates as R


def _random(n, n_groups, k, seed):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, n_groups, n)
    y_true = rng.integers(0, k, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, k, n))
    return g, y_true, y_pred


def _by_group(fn, y_true, y_pred, g):
    return MetricFrame(metrics={"m": fn}, y_true=y_true, y_pred=y_pred, sensitive_features=g).by_group["m"].to_numpy()


def _raw_metricframe(g, y_true, y_pred, k):
    """fairlearn on the raw rows, class by class (the slow, obvious way)."""
    out = {"accuracy": _by_group(accuracy_score, y_true, y_pred, g)}
    out["macro_f1"] = _by_group(partial(f1_score, average="macro"), y_true, y_pred, g)
    for name, fn in (("selection_rate", partial(selection_rate, pos_label=1)), ("tpr", partial(true_positive_rate, pos_label=1)),
                     ("fpr", partial(false_positive_rate, pos_label=1)), ("f1", partial(f1_score, zero_division=0.0)),
                     ("base_rate", lambda y_true, y_pred: float(np.mean(y_true)))):
        cols = [_by_group(fn, (y_true == c).astype(int), (y_pred == c).astype(int), g) for c in range(k)]
        out[name] = np.column_stack(cols)
    return out


@pytest.mark.parametrize("k,n_groups", [(2, 4), (3, 5)])
def test_fairlearn_path_equals_fairlearn_on_raw_rows(k, n_groups):
    g, y_true, y_pred = _random(900, n_groups, k, seed=k)
    cells = R.confusion_cells(g, y_true, y_pred, n_groups, k)
    ours = R.fairlearn_rates(cells)
    raw = _raw_metricframe(g, y_true, y_pred, k)
    for name, expected in raw.items():
        np.testing.assert_allclose(ours[name], expected, rtol=1e-12, atol=1e-12, err_msg=name)


def test_count_path_equals_fairlearn_path_and_marks_undefined_rates():
    g, y_true, y_pred = _random(700, 4, 3, seed=7)
    # group 3 has no true class 2 and every one of group 2's rows is of class 1:
    y_true[(g == 3) & (y_true == 2)] = 0
    y_true[g == 2] = 1
    cells = R.confusion_cells(g, y_true, y_pred, 4, 3)
    counts = R.counts_from_cells(cells)
    by_fairlearn = R.fairlearn_rates(cells, counts)
    by_counts = R.rates_from_counts(counts)
    for name in (*R.PER_GROUP, *R.PER_CLASS):
        np.testing.assert_allclose(by_counts[name], by_fairlearn[name], rtol=1e-12, atol=1e-12, err_msg=name)
    # TPR of class 2 in group 3 is 0/0 (fairlearn would say 0): undefined, with the reason
    assert np.isnan(by_fairlearn["tpr"][3, 2])
    assert "no row of the group has true class 'c'" in R.undefined_reason("tpr", counts, 3, 2, ["a", "b", "c"])
    # FPR of class 1 in group 2 is 0/0: every row is of class 1
    assert np.isnan(by_fairlearn["fpr"][2, 1])
    assert np.isnan(by_counts["fpr"][2, 1])
    assert R.undefined_reason("fpr", counts, 2, 1, ["a", "b", "c"]).startswith("every row of the group has true class 'b'")


def test_many_classes_take_the_count_path_and_still_equal_fairlearn(monkeypatch):
    g, y_true, y_pred = _random(800, 3, 4, seed=3)
    cells = R.confusion_cells(g, y_true, y_pred, 3, 4)
    monkeypatch.setattr(R, "MAX_METRICFRAME_CELLS", 5)  # 4 classes × 3 groups = 12 cells > 5
    ours = R.fairlearn_rates(cells)
    raw = _raw_metricframe(g, y_true, y_pred, 4)
    for name in ("selection_rate", "tpr", "fpr", "accuracy", "base_rate"):
        np.testing.assert_allclose(ours[name], raw[name], rtol=1e-12, err_msg=name)


def test_rates_broadcast_over_leading_bootstrap_axis():
    g, y_true, y_pred = _random(300, 3, 2, seed=1)
    cells = R.confusion_cells(g, y_true, y_pred, 3, 2)
    stacked = np.stack([cells, 2 * cells])  # doubling every count leaves every rate unchanged
    rates = R.rates_from_counts(R.counts_from_cells(stacked))
    np.testing.assert_allclose(rates["tpr"][0], rates["tpr"][1])
    assert rates["selection_rate"].shape == (2, 3, 2)
    assert rates["accuracy"].shape == (2, 3)
