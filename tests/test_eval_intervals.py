"""95% bootstrap intervals of the overall metrics, stored in metrics.json by evaluate."""

import json

import numpy as np
from scipy import stats
from sklearn import metrics as skm

from trainlab.artifacts.metrics import Metrics
from trainlab.artifacts.predictions import Predictions
from trainlab.evaluation.evaluate import evaluate
from trainlab.evaluation.paired import metric_intervals


def _data(n=60, k=3, seed=0, accuracy=0.7):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    y_pred = np.where(rng.random(n) < accuracy, y, (y + 1) % k)
    proba = rng.dirichlet(np.ones(k), n) * 0.5
    proba[np.arange(n), y_pred] += 0.5
    return y, y_pred, proba / proba.sum(1, keepdims=True)


def test_intervals_equal_a_direct_percentile_bootstrap_with_the_same_seed():
    y, y_pred, proba = _data(n=40, k=3)
    replicates, seed = 200, 7
    got = metric_intervals(y, y_pred, proba, replicates=replicates, seed=seed)
    # the same draws, each replicate scored by scikit-learn on the resampled items
    draws = np.random.default_rng(seed).integers(0, len(y), size=(replicates, len(y)))
    scores = {"accuracy": [], "balanced_accuracy": [], "f1_macro": [], "roc_auc": []}
    for idx in draws:
        t, p, pr = y[idx], y_pred[idx], proba[idx]
        scores["accuracy"].append(skm.accuracy_score(t, p))
        scores["balanced_accuracy"].append(skm.balanced_accuracy_score(t, p))
        scores["f1_macro"].append(skm.f1_score(t, p, labels=np.union1d(t, p), average="macro"))
        scores["roc_auc"].append(skm.roc_auc_score(t, pr, multi_class="ovr", labels=[0, 1, 2])
                                 if len(np.unique(t)) == 3 else np.nan)
    n = len(y)
    tail = stats.norm.cdf(-np.sqrt(n / (n - 1)) * stats.t.ppf(0.975, n - 1))  # the expanded percentile levels
    for metric, values in scores.items():
        values = np.asarray(values)
        expected = np.quantile(values[np.isfinite(values)], [tail, 1 - tail])
        np.testing.assert_allclose(got[metric], expected, rtol=1e-9, atol=1e-12, err_msg=metric)


def test_evaluate_stores_intervals_that_contain_the_point_estimate(tmp_path):
    y, y_pred, proba = _data(n=150, k=4, seed=2)
    Predictions.build(classes=["a", "b", "c", "d"], y_true=y, proba=proba, split="test").write(tmp_path / "p.csv")
    ev = evaluate(tmp_path / "p.csv", plots=False, bootstrap=300, seed=1)
    ev.write(tmp_path)
    m = Metrics.read(tmp_path / "metrics_p.json")
    assert set(m.intervals) == {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc"}
    for key, (low, high) in m.intervals.items():
        assert low < m.value(key) < high, key
    assert m.bootstrap.replicates == 300 and m.bootstrap.seed == 1
    assert (m.confusion == skm.confusion_matrix(y, y_pred, labels=range(4))).all()
    assert sorted(m.class_order) == [0, 1, 2, 3]
    # a version-1 file (before intervals) still reads, with none of the new fields
    raw = json.loads((tmp_path / "metrics_p.json").read_text())
    for key in ("intervals", "bootstrap", "confusion_cells", "class_order"):
        raw.pop(key)
    raw["schema_version"] = 1
    (tmp_path / "old.json").write_text(json.dumps(raw))
    old = Metrics.read(tmp_path / "old.json")
    assert old.intervals == {} and old.interval("accuracy") is None and old.confusion is None


def test_an_undefined_metric_has_no_interval():
    y, y_pred, proba = _data(n=30, k=3)
    y = np.where(y == 2, 0, y)  # class 2 absent from y_true: ROC AUC undefined
    got = metric_intervals(y, y_pred, proba, replicates=100, seed=0)
    assert "roc_auc" not in got and "accuracy" in got


def test_cli_bootstrap_flag(tmp_path, capsys):
    from trainlab.cli import main

    y, y_pred, proba = _data(n=50, k=3, seed=4)
    Predictions.build(classes=["a", "b", "c"], y_true=y, proba=proba, split="test").write(tmp_path / "p.csv")
    assert main(["evaluate", str(tmp_path / "p.csv"), "--bootstrap", "0"]) == 0
    assert Metrics.read(tmp_path / "metrics_p.json").intervals == {}
    assert main(["evaluate", str(tmp_path / "p.csv"), "--bootstrap", "50", "--seed", "3"]) == 0
    m = Metrics.read(tmp_path / "metrics_p.json")
    assert m.bootstrap.replicates == 50 and m.intervals["accuracy"] == metric_intervals(y, y_pred, proba, replicates=50, seed=3)["accuracy"]
    capsys.readouterr()
    try:
        main(["evaluate", str(tmp_path / "p.csv"), "--bootstrap", "-1"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "'-1' is not a whole number of 0 or more" in capsys.readouterr().err
