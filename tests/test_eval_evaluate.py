"""`evaluate` writes its files with the documented keys, its figures equal scikit-learn's on the file's arrays,
and bad input reaches the command line as `error: ...` naming the column or line."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from trainlab.cli import main
from trainlab.artifacts.metrics import Metrics
from trainlab.evaluation.evaluate import evaluate, output_folder
from trainlab.evaluation.plots import confusion_matrix_figure
from trainlab.artifacts.predictions import Predictions

CLASSES = ["ant", "bee", "cricket", "dragonfly", "earwig", "flea"]
PNG = b"\x89PNG\r\n\x1a\n"
KEYS = {"kind", "schema_version", "split", "n", "classes", "source", "accuracy", "top5_accuracy", "balanced_accuracy", "f1_macro",
        "f1_weighted", "roc_auc", "roc_auc_average", "log_loss", "ece", "ece_bins", "undefined",
        "y_pred_differs_from_argmax", "files", "trainlab_version"}


def _write_run(run, split="test", n=240, classes=CLASSES, seed=0):
    rng = np.random.default_rng(seed)
    k = len(classes)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 1.2
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    frame = Predictions.build(classes=classes, y_true=y, proba=proba, split=split, ids=[f"im{i}" for i in range(n)]).frame
    return Predictions.from_frame(frame).write(run / "predictions" / f"{split}.csv")


def _evaluate(target, split="test", out=None, plots=True):
    """evaluate, then write where the command line writes."""
    result = evaluate(target, split, plots=plots)
    result.write(output_folder(target, out))
    return result.metrics


def _arrays_from_csv(path):
    """Read the file back independently of trainlab.predictions."""
    frame = pd.read_csv(path)
    classes = [c[2:] for c in frame.columns if c.startswith("p_")]
    code = {c: i for i, c in enumerate(classes)}
    return frame["y_true"].map(code).to_numpy(), frame["y_pred"].map(code).to_numpy(), frame[[f"p_{c}" for c in classes]].to_numpy()


def test_run_folder_writes_files_and_matches_sklearn(tmp_path):
    run = tmp_path / "run"
    path = _write_run(run)
    returned = _evaluate(run)
    assert returned == Metrics.read(run)
    metrics = json.loads((run / "metrics.json").read_text())
    assert KEYS <= set(metrics)
    assert metrics["split"] == "test" and metrics["n"] == 240 and metrics["classes"] == CLASSES
    assert metrics["source"] == str(path)
    y, y_pred, proba = _arrays_from_csv(path)
    assert metrics["accuracy"] == pytest.approx(skm.accuracy_score(y, y_pred), abs=1e-12)
    assert metrics["top5_accuracy"] == pytest.approx(skm.top_k_accuracy_score(y, proba, k=5), abs=1e-12)
    assert metrics["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, y_pred), abs=1e-12)
    assert metrics["f1_macro"] == pytest.approx(skm.f1_score(y, y_pred, average="macro"), abs=1e-12)
    assert metrics["f1_weighted"] == pytest.approx(skm.f1_score(y, y_pred, average="weighted"), abs=1e-12)
    assert metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"), abs=1e-12)
    assert metrics["log_loss"] == pytest.approx(skm.log_loss(y, proba), abs=1e-12)
    assert 0 <= metrics["ece"] <= 1

    per_class = pd.read_csv(run / "per_class.csv")
    assert list(per_class.columns) == ["index", "class", "support", "predicted", "precision", "recall", "f1", "roc_auc", "note"]
    assert list(per_class["class"]) == CLASSES
    np.testing.assert_allclose(per_class["f1"], skm.f1_score(y, y_pred, average=None), atol=1e-12)
    confusions = pd.read_csv(run / "top_confusions.csv")
    cm = skm.confusion_matrix(y, y_pred)
    np.fill_diagonal(cm, 0)
    assert confusions["count"].iloc[0] == cm.max()
    assert list(confusions.columns) == ["true", "predicted", "count", "share_of_true", "share_of_errors"]

    for key in ("confusion_matrix", "confusion_matrix_normalized", "reliability"):
        png = run / metrics["files"][key]
        assert png.read_bytes()[:8] == PNG and png.name.endswith("_test.png")
    assert not list(run.rglob(".*.tmp"))  # atomic writes leave no temporary files


def test_other_split_is_named_by_split(tmp_path):
    run = tmp_path / "run"
    _write_run(run, split="val")
    metrics = _evaluate(run, split="val")
    assert metrics.split == "val"
    assert (run / "metrics_val.json").exists() and (run / "per_class_val.csv").exists()
    assert (run / "plots" / "reliability_val.png").exists()
    assert not (run / "metrics.json").exists()


def test_a_predictions_file_next_to_it_or_in_out(tmp_path):
    path = _write_run(tmp_path / "x", split="test")
    ext = tmp_path / "other_tool.csv"
    pd.read_csv(path).drop(columns=["id", "path", "split"]).to_csv(ext, index=False)  # another tool's minimal table
    _evaluate(ext)
    assert json.loads((tmp_path / "metrics_other_tool.json").read_text())["n"] == 240
    assert (tmp_path / "plots" / "confusion_matrix_other_tool.png").exists()
    _evaluate(ext, out=tmp_path / "elsewhere", plots=False)
    assert (tmp_path / "elsewhere" / "metrics_other_tool.json").exists()
    assert not (tmp_path / "elsewhere" / "plots").exists()


def test_undefined_values_are_explained_not_nan(tmp_path):
    run = tmp_path / "run"
    y = np.array([0, 0, 1, 1, 2, 2])  # class 'dog' absent
    proba = np.array([[.8, .1, .05, .05], [.3, .5, .1, .1], [.1, .7, .1, .1], [.2, .2, .5, .1], [.1, .1, .7, .1], [.1, .1, .2, .6]])
    Predictions.from_frame(Predictions.build(classes=["ant", "bee", "cat", "dog"], y_true=y, proba=proba).frame).write(run / "predictions" / "test.csv")
    _evaluate(run, plots=False)
    text = (run / "metrics.json").read_text()
    assert "NaN" not in text
    metrics = json.loads(text)
    assert metrics["roc_auc"] is None and "'dog' absent from y_true" in metrics["undefined"]["roc_auc"]
    assert metrics["top5_accuracy"] is None
    per_class = pd.read_csv(run / "per_class.csv")
    dog = per_class[per_class["class"] == "dog"].iloc[0]
    assert np.isnan(dog["recall"]) and "absent from y_true" in dog["note"]


def test_confusion_matrix_readable_at_102_classes():
    classes = [f"insect species number {i} with a long name" for i in range(102)]
    rng = np.random.default_rng(0)
    cm = rng.integers(0, 5, size=(102, 102)) + np.diag(rng.integers(20, 60, 102))
    fig = confusion_matrix_figure(cm, classes, normalize=True, title="t")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(labels) == 102 and labels[7].startswith("7 insect species number 7")
    assert len([t.get_text() for t in ax.get_yticklabels()]) == 102
    assert not ax.texts  # no per-cell numbers at 102 classes
    width, height = fig.get_size_inches()
    assert height >= 20  # rows of about 0.24 inch, so each tick label has room
    assert min(t.get_fontsize() for t in ax.get_yticklabels()) >= 5
    small = confusion_matrix_figure(np.array([[5, 1], [0, 3]]), ["a", "b"], normalize=False, title="t")
    assert sorted(t.get_text() for t in small.axes[0].texts) == ["1", "3", "5"]  # zero cells stay blank


def test_confusion_matrix_at_1000_classes_is_one_image_with_index_labels():
    k = 1000
    rng = np.random.default_rng(0)
    y = rng.integers(0, k, 20_000)
    cm = skm.confusion_matrix(y, np.where(rng.random(20_000) < 0.6, y, rng.integers(0, k, 20_000)), labels=range(k))
    fig = confusion_matrix_figure(cm, [f"class {i}" for i in range(k)], normalize=False, title="t")
    ax = fig.axes[0]
    assert len(ax.images) == 1 and ax.images[0].get_array().shape[:2] == (k, k)
    assert not ax.texts and not ax.lines and len(ax.collections) == 2  # grid: one collection per direction
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[:3] == ["0", "10", "20"] and len(labels) == 100  # rows of 2 pt: every 10th index
    assert "every 10th labelled" in ax.get_xlabel()
    # colours: a cell with the largest count is the darkest, an empty cell white
    rgba = ax.images[0].get_array()
    i, j = np.unravel_index(cm.argmax(), cm.shape)
    empty = np.argwhere(cm == 0)[0]
    assert tuple(rgba[empty[0], empty[1]]) == (255, 255, 255, 255)
    assert rgba[i, j, :3].sum() == rgba[..., :3].reshape(-1, 3).sum(1).min()


def test_cli_prints_summary(tmp_path, capsys):
    run = tmp_path / "run"
    _write_run(run)
    assert main(["evaluate", str(run)]) == 0
    out = capsys.readouterr().out
    metrics = json.loads((run / "metrics.json").read_text())
    assert f"accuracy             {metrics['accuracy']:.4f}" in out
    assert "ROC AUC" in out and "most frequent confusions" in out and "wrote" in out


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: f.drop(columns=["y_pred"]), r"missing column\(s\) \['y_pred'\]"),
        (lambda f: f.drop(columns=["y_true"]), r"this predictions table has no true labels; evaluate needs y_true"),
        (lambda f: f.assign(p_ant=f["p_ant"] + 0.2), r"line 2: probabilities sum to"),
        (lambda f: f.assign(y_true=["wasp"] + list(f["y_true"][1:])), r"line 2, column 'y_true': label 'wasp'"),
    ],
    ids=["missing column", "no labels", "sums not 1", "unseen label"],
)
def test_bad_tables_reach_the_cli_as_errors(tmp_path, capsys, change, message):
    path = _write_run(tmp_path / "run")
    change(pd.read_csv(path)).to_csv(path, index=False)
    assert main(["evaluate", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(path) in err
    assert re.search(message, err)
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_missing_predictions_and_bad_path(tmp_path, capsys):
    (tmp_path / "empty_run").mkdir()
    assert main(["evaluate", str(tmp_path / "empty_run")]) == 2
    assert "has no predictions for split 'test'" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "nowhere")]) == 2
    assert "no such run folder or predictions file" in capsys.readouterr().err
