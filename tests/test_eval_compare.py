"""`compare` on synthetic run folders (history.csv and predictions written here): table, plot, McNemar."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest
from sklearn import metrics as skm

from trainlab.cli import main
from trainlab.errors import TrainlabError
from trainlab.artifacts.compare import Comparison
from trainlab.evaluation.compare import compare
from trainlab.artifacts.predictions import Predictions

CLASSES = ["cat", "dog", "eel"]
PNG = b"\x89PNG\r\n\x1a\n"
N = 40
Y = np.arange(N) % 3


def _proba_for(y_pred, seed):
    """Probabilities whose arg-max is y_pred."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(3), size=len(y_pred)) * 0.3
    p[np.arange(len(y_pred)), y_pred] += 0.7
    return p / p.sum(1, keepdims=True)


def _write_run(run, correct, *, seed=0, shuffle=False, history=True, ids=None):
    """A run folder whose test predictions are right exactly where `correct` is True."""
    y_pred = np.where(correct, Y, (Y + 1) % 3)
    frame = Predictions.build(classes=CLASSES, y_true=Y, proba=_proba_for(y_pred, seed), split="test",
                       ids=ids if ids is not None else [f"item{i}" for i in range(N)]).frame
    if shuffle:  # row order must not matter: items are paired by id
        frame = frame.sample(frac=1, random_state=seed).reset_index(drop=True)
    Predictions.from_frame(frame).write(run / "predictions" / "test.csv")
    if history:
        epochs = np.arange(1, 6)
        pd.DataFrame({"epoch": epochs, "train_loss": 1 / epochs, "train_acc": 1 - 0.5 / epochs,
                      "val_loss": 1.2 / epochs + seed, "val_acc": 0.9 - 0.4 / epochs - 0.01 * seed, "lr": 0.01,
                      "time_s": 1.0, "images_per_s": 50.0}).to_csv(run / "history.csv", index=False)
    return run


def _pattern(both_right, a_only, b_only):
    """Correctness of A and B item by item: the rest are wrong for both."""
    a = np.zeros(N, bool)
    b = np.zeros(N, bool)
    a[:both_right] = b[:both_right] = True
    a[both_right:both_right + a_only] = True
    b[both_right + a_only:both_right + a_only + b_only] = True
    return a, b


def _compare(runs, out, **options) -> dict:
    """compare, write where the command line would, and read compare.json back through its artifact."""
    result = compare(runs, **options)
    result.write(out)
    back = Comparison.read(out)
    assert back == result.comparison
    return {**back.model_dump(mode="json"), "mcnemar": [pair.row() for pair in back.mcnemar]}


def test_a_compare_json_from_before_artifacts_still_reads(tmp_path):
    a, b = _pattern(20, 1, 6)
    _compare([_write_run(tmp_path / "cnn", a), _write_run(tmp_path / "effnet", b, seed=1)], tmp_path / "cmp")
    old = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    del old["kind"], old["schema_version"]
    for pair in old["mcnemar"]:  # the derived figures were stored then
        pair.update(n=40, discordant=7, accuracy_a=21 / 40, accuracy_b=26 / 40)
    (tmp_path / "old.json").write_text(json.dumps(old))
    pair = Comparison.read(tmp_path / "old.json").mcnemar[0]
    assert (pair.n, pair.discordant, pair.accuracy_b) == (40, 7, 26 / 40)


def test_two_runs_table_plot_and_mcnemar(tmp_path):
    a, b = _pattern(20, 1, 6)  # hand-worked: b=1, c=6 -> p = 2·(C(7,0)+C(7,1))/2^7 = 0.125
    ra = _write_run(tmp_path / "cnn", a, seed=0)
    rb = _write_run(tmp_path / "effnet", b, seed=1, shuffle=True)
    out = tmp_path / "cmp"
    result = _compare([ra, rb], out)
    for name in ("compare.json", "metrics.csv", "mcnemar.csv", "compare.md"):
        assert (out / name).exists()
    assert (out / "plots" / "val_curves.png").read_bytes()[:8] == PNG

    pair = result["mcnemar"][0]
    assert (pair["a"], pair["b"]) == ("cnn", "effnet")
    assert (pair["both_right"], pair["a_only"], pair["b_only"], pair["both_wrong"]) == (20, 1, 6, 13)
    assert pair["p_value"] == pytest.approx(0.125) and pair["p_holm"] == pytest.approx(0.125)
    assert pair["verdict"].startswith("no significant difference")
    assert pair["accuracy_a"] == pytest.approx(21 / 40) and pair["accuracy_b"] == pytest.approx(26 / 40)

    table = pd.read_csv(out / "metrics.csv")
    assert list(table["run"]) == ["cnn", "effnet"]
    for run, row in zip((ra, rb), table.itertuples()):
        frame = pd.read_csv(run / "predictions" / "test.csv")
        assert row.accuracy == pytest.approx(skm.accuracy_score(frame["y_true"], frame["y_pred"]), abs=1e-12)
        assert row.f1_macro == pytest.approx(skm.f1_score(frame["y_true"], frame["y_pred"], average="macro"), abs=1e-12)
    assert table["best_val_acc"].iloc[0] == pytest.approx(0.9 - 0.4 / 5) and table["best_epoch"].iloc[0] == 5
    csv = pd.read_csv(out / "mcnemar.csv")
    assert csv["p_value"].iloc[0] == pytest.approx(0.125)
    md = (out / "compare.md").read_text()
    assert "| cnn " in md and "McNemar" in md and "0.1250" in md


def test_a_clear_winner_gets_a_small_p_value(tmp_path, capsys):
    a, b = _pattern(15, 10, 0)  # b=10, c=0: p = 2/2^10
    ra = _write_run(tmp_path / "a", a)
    rb = _write_run(tmp_path / "b", b, seed=1)
    assert main(["compare", str(ra), str(rb), "--names", "big", "small", "--out", str(tmp_path / "cmp")]) == 0
    out = capsys.readouterr().out
    assert "big beats small" in out and "| big " in out
    pair = json.loads((tmp_path / "cmp" / "compare.json").read_text())["mcnemar"][0]
    assert pair["p_value"] == pytest.approx(2 / 1024)
    assert pair["p_value"] == pytest.approx(binomtest(10, 10, 0.5).pvalue)


def test_three_runs_every_pair_with_holm(tmp_path):
    rng = np.random.default_rng(5)
    corrects = [rng.random(N) < q for q in (0.9, 0.5, 0.3)]
    runs = [_write_run(tmp_path / f"r{i}", c, seed=i) for i, c in enumerate(corrects)]
    result = _compare(runs, tmp_path / "cmp")
    pairs = result["mcnemar"]
    assert [(p["a"], p["b"]) for p in pairs] == [("r0", "r1"), ("r0", "r2"), ("r1", "r2")]
    raw = []
    for p, (i, j) in zip(pairs, [(0, 1), (0, 2), (1, 2)]):
        b = int(np.sum(corrects[i] & ~corrects[j]))
        c = int(np.sum(~corrects[i] & corrects[j]))
        assert (p["a_only"], p["b_only"]) == (b, c)
        assert p["p_value"] == pytest.approx(binomtest(b, b + c, 0.5).pvalue if b + c else 1.0)
        raw.append(p["p_value"])
    order = np.argsort(raw)  # Holm by hand: (m - rank) · p, running maximum, capped at 1
    expected = np.empty(3)
    expected[order] = np.minimum(1, np.maximum.accumulate([3 * raw[order[0]], 2 * raw[order[1]], raw[order[2]]]))
    np.testing.assert_allclose([p["p_holm"] for p in pairs], expected)
    assert "Holm" in result["correction"]


def test_run_without_history_still_compares(tmp_path):
    a, b = _pattern(20, 3, 3)
    ra = _write_run(tmp_path / "a", a)
    rb = _write_run(tmp_path / "b", b, history=False)
    result = _compare([ra, rb], tmp_path / "cmp")
    assert result["runs"][1]["history"] is None and result["runs"][0]["epochs"] == 5
    assert (tmp_path / "cmp" / "plots" / "val_curves.png").exists()
    assert result["mcnemar"][0]["p_value"] == 1.0


def test_runs_on_different_items_are_refused(tmp_path, capsys):
    a, b = _pattern(20, 3, 3)
    ra = _write_run(tmp_path / "a", a)
    rb = _write_run(tmp_path / "b", b, ids=[f"item{i}" for i in range(N - 1)] + ["other"])
    assert main(["compare", str(ra), str(rb), "--out", str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: runs 'a' and 'b' were not scored on the same items")
    assert "1 id(s) only in" in err and "item39" in err and "other" in err
    assert not (tmp_path / "cmp").exists()


def test_same_ids_different_labels_and_duplicate_ids(tmp_path):
    a, b = _pattern(20, 3, 3)
    ra = _write_run(tmp_path / "a", a)
    rb = _write_run(tmp_path / "b", b)
    path = rb / "predictions" / "test.csv"
    frame = pd.read_csv(path)
    frame.loc[4, "y_true"] = "eel" if frame.loc[4, "y_true"] != "eel" else "cat"
    frame.to_csv(path, index=False)
    with pytest.raises(TrainlabError, match="item id 'item4' has y_true"):
        _compare([ra, rb], tmp_path / "cmp")
    frame = pd.read_csv(ra / "predictions" / "test.csv")
    frame.loc[3, "id"] = "item0"
    frame.to_csv(ra / "predictions" / "test.csv", index=False)
    with pytest.raises(TrainlabError, match=r"line 5, column 'id': id 'item0' appears more than once"):
        _compare([ra, rb], tmp_path / "cmp")


def test_bad_history_and_bad_arguments(tmp_path, capsys):
    a, b = _pattern(20, 3, 3)
    ra = _write_run(tmp_path / "a", a)
    rb = _write_run(tmp_path / "b", b)
    pd.read_csv(rb / "history.csv").drop(columns=["val_loss"]).to_csv(rb / "history.csv", index=False)
    assert main(["compare", str(ra), str(rb), "--out", str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err
    assert "history.csv: missing column(s) ['val_loss']" in err
    assert main(["compare", str(ra), "--out", str(tmp_path / "cmp")]) == 2
    assert "at least two runs" in capsys.readouterr().err
    assert main(["compare", str(ra), str(ra), "--names", "x", "--out", str(tmp_path / "cmp")]) == 2
    assert "--names gives 1 name(s) for 2 run(s)" in capsys.readouterr().err
    assert main(["compare", str(ra), str(tmp_path / "missing"), "--out", str(tmp_path / "cmp")]) == 2
    assert "no such run folder" in capsys.readouterr().err


def test_predictions_files_from_another_tool_compare_too(tmp_path):
    a, b = _pattern(20, 5, 1)
    ra = _write_run(tmp_path / "a", a)
    rb = _write_run(tmp_path / "b", b, history=False)
    result = _compare([ra / "predictions" / "test.csv", rb / "predictions" / "test.csv"], tmp_path / "cmp", names=["A", "B"])
    assert (result["mcnemar"][0]["a_only"], result["mcnemar"][0]["b_only"]) == (5, 1)
    assert "val_curves" not in result["files"]  # no history, so no curves to draw
    assert not (tmp_path / "cmp" / "plots").exists()


def test_paired_bootstrap_interval_beside_mcnemar(tmp_path, capsys):
    a, b = _pattern(15, 10, 0)  # A right on 10 items B misses, never the reverse
    ra = _write_run(tmp_path / "a", a)
    rb = _write_run(tmp_path / "b", b, seed=1, shuffle=True)
    assert main(["compare", str(ra), str(rb), "--names", "big", "small", "--out", str(tmp_path / "cmp")]) == 0
    printed = capsys.readouterr().out
    result = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    boot = result["bootstrap"]
    assert boot["replicates"] == 1000 and boot["confidence"] == 0.95 and len(boot["comparisons"]) == 1
    c = boot["comparisons"][0]
    acc = c["metrics"]["accuracy"]
    assert (c["a"], c["b"], c["seed_groups"]) == ("big", "small", False)
    assert acc["difference"] == pytest.approx(10 / 40)  # 25/40 - 15/40
    # every replicate keeps the pairing: A is never worse on a draw, so the interval is above 0
    assert 0 < acc["ci_low"] < acc["difference"] < acc["ci_high"] <= 0.5
    assert c["verdict"].startswith("big is better by 25.0 points, 95% CI ")
    assert set(c["metrics"]) == {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc"}
    for metric, f in c["metrics"].items():  # the same figures as the metrics table
        run_a, run_b = result["runs"]
        assert f["a"] == pytest.approx(run_a["metrics"][metric], abs=1e-12)
        assert f["b"] == pytest.approx(run_b["metrics"][metric], abs=1e-12)
    intervals = pd.read_csv(tmp_path / "cmp" / "intervals.csv")
    assert list(intervals["metric"]) == ["accuracy", "balanced_accuracy", "f1_macro", "roc_auc"]
    assert "Paired bootstrap" in printed and "big is better by 25.0 points" in printed
    # 40 items over 3 classes: 13 in the smallest, too few for class-averaged intervals to keep their promise
    assert boot["note"].startswith("the smallest class has 13 item(s)") and "Note: the smallest class" in printed
    # the same seed gives the same interval; --bootstrap 0 turns the intervals off
    again = compare([ra, rb], names=["big", "small"])
    assert again.comparison.bootstrap["comparisons"][0]["metrics"] == c["metrics"]
    off = compare([ra, rb], replicates=0)
    off.write(tmp_path / "off")
    assert off.comparison.bootstrap is None and not (tmp_path / "off" / "intervals.csv").exists()


def test_seed_groups_two_level_bootstrap_and_verdict(tmp_path, capsys):
    rng = np.random.default_rng(3)
    for side, accuracy in (("good", 0.9), ("weak", 0.35)):
        for s in range(3):
            _write_run(tmp_path / side / f"{side}-s{s}", rng.random(N) < accuracy, seed=s)
    listed = [str(tmp_path / "good" / f"good-s{s}") for s in range(3)] + ["vs"] + \
             [str(tmp_path / "weak" / f"weak-s{s}") for s in range(3)]
    assert main(["compare", *listed, "--labels", "G", "W", "--out", str(tmp_path / "cmp")]) == 0
    result = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    c = result["bootstrap"]["comparisons"]
    assert len(c) == 1 and c[0]["seed_groups"] and (c[0]["a"], c[0]["b"]) == ("G", "W")
    assert c[0]["a_runs"] == ["good-s0", "good-s1", "good-s2"] and c[0]["b_runs"] == ["weak-s0", "weak-s1", "weak-s2"]
    acc = c[0]["metrics"]["accuracy"]
    accuracies = {r["name"]: r["metrics"]["accuracy"] for r in result["runs"]}
    means = [np.mean([accuracies[f"{side}-s{s}"] for s in range(3)]) for side in ("good", "weak")]
    assert acc["difference"] == pytest.approx(means[0] - means[1], abs=1e-12)
    assert acc["wins"] == 9 and acc["beat_share"] == 1.0 and acc["ci_low"] > 0
    assert "across 9 seed pairings G beat W every time" in c[0]["verdict"]
    assert len(result["mcnemar"]) == 15  # McNemar still for every pair of the six runs
    # a folder of runs per side gives the same comparison, labelled with the folder names
    assert main(["compare", str(tmp_path / "good"), "vs", str(tmp_path / "weak"), "--out", str(tmp_path / "cmp2")]) == 0
    c2 = json.loads((tmp_path / "cmp2" / "compare.json").read_text())["bootstrap"]["comparisons"][0]
    assert (c2["a"], c2["b"]) == ("good", "weak") and c2["metrics"] == c[0]["metrics"]
    capsys.readouterr()


def test_seed_group_mistakes_are_named(tmp_path, capsys):
    ra = _write_run(tmp_path / "a", np.ones(N, bool))
    rb = _write_run(tmp_path / "b", np.zeros(N, bool))
    (tmp_path / "empty").mkdir()
    cases = [
        ([str(ra), str(rb), "vs"], "'vs' needs runs on both sides"),
        ([str(ra), "vs", str(rb), "vs", str(ra)], "'vs' appears more than once"),
        ([str(ra), "vs", str(ra)], "a run is given twice in the seed groups"),
        ([str(tmp_path / "empty"), "vs", str(rb)], "neither a run folder (no predictions/) nor a folder of runs"),
    ]
    for argv, message in cases:
        assert main(["compare", *argv, "--out", str(tmp_path / "cmp")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err, (argv, err)
    assert not (tmp_path / "cmp").exists()
