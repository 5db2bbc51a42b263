"""`trainlab train` and `trainlab predict` end to end on a small generated IP102-layout dataset."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from trainlab.cli import main
from trainlab.data.dataconfig import DataConfig
from trainlab.models.weights import load_weights

CLASSES = ["red mite", "green aphid", "blue beetle"]


@pytest.fixture(scope="module")
def ip102(tmp_path_factory):
    """IP102 official layout: images/<file>, <split>.txt with '<file> <label>' lines, classes.txt (1-based)."""
    root = tmp_path_factory.mktemp("ip102")
    (root / "images").mkdir()
    rng = np.random.default_rng(0)
    counts = {"train": 48, "val": 12, "test": 12}
    for split, n in counts.items():
        lines = []
        for i in range(n):
            label = i % 3
            img = rng.integers(0, 70, (40, 48, 3)).astype(np.uint8)
            r, c = rng.integers(4, 24, 2)
            img[r : r + 14, c : c + 14, label] = 230
            name = f"{split}_{i:03d}.png"
            Image.fromarray(img).save(root / "images" / name)
            lines.append(f"{name} {label}")
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
    (root / "classes.txt").write_text("".join(f"{k + 1} {c}\n" for k, c in enumerate(CLASSES)))
    return root


def train(capsys, *args):
    code = main(["train", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


SMALL = ["data.image_size=24", "train.batch_size=8", "train.lr=0.002", "train.seed=1"]


@pytest.fixture(scope="module")
def seed_run(ip102, tmp_path_factory):
    """One seed-CNN run shared by the tests that only read it (2 epochs)."""
    runs = tmp_path_factory.mktemp("runs")
    code = main(["train", "ip102-seed-cnn", f"data.root={ip102}", "train.epochs=2", *SMALL, f"output.runs={runs}", "output.name=seed"])
    assert code == 0
    return runs / "seed"


def test_train_writes_a_complete_run_folder(seed_run):
    run = seed_run
    for name in ("config.yaml", "run.json", "history.csv", "plots/curves.png", "checkpoints/last/model.safetensors",
                 "checkpoints/last/state.pt", "checkpoints/best/model.safetensors", "predictions/val.csv",
                 "predictions/test.csv", "metrics.json"):
        assert (run / name).is_file(), name
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "finished" and info["epochs_done"] == 2
    assert info["classes"] == CLASSES and info["num_classes"] == 3
    assert info["model"] == "seed_cnn" and info["model_options"] == {"input_size": [24, 24]}
    assert info["data_config"]["input_size"] == [3, 24, 24] and info["data_config"]["resize"] == "stretch"
    assert "image_size" not in info and "resize" not in info  # the data config holds them, once
    header = load_weights(run / "checkpoints/best/model.safetensors")[1]
    assert DataConfig.from_dict(header["data_config"]) == DataConfig.from_dict(info["data_config"])
    assert "image_size" not in header and "resize" not in header
    assert info["dataset"]["format"] == "ip102" and info["split_sizes"] == {"train": 48, "val": 12, "test": 12}
    assert info["parameters"] == sum(t.numel() for t in load_weights(run / "checkpoints/last/model.safetensors")[0].values()
                                     if t.dtype.is_floating_point)
    assert info["best_epoch"] in (1, 2) and info["device"] == "cpu"

    test = pd.read_csv(run / "predictions" / "test.csv")
    assert list(test.columns[:5]) == ["id", "path", "split", "y_true", "y_pred"]
    assert [c for c in test.columns if c.startswith("p_")] == [f"p_{c}" for c in CLASSES]
    assert len(test) == 12 and set(test["split"]) == {"test"}
    np.testing.assert_allclose(test.filter(like="p_").sum(axis=1), 1.0, atol=1e-6)
    assert sorted(test["y_true"]) == sorted(CLASSES * 4)

    history = pd.read_csv(run / "history.csv")
    assert history["epoch"].tolist() == [1, 2]
    config = (run / "config.yaml").read_text()
    assert "image_size:\n  - 24\n  - 24" in config or "image_size: [24, 24]" in config


def test_the_resolved_config_redoes_the_run(seed_run, tmp_path, capsys):
    code, out, _ = train(capsys, seed_run / "config.yaml", f"output.runs={tmp_path}", "output.name=again", "train.epochs=1")
    assert code == 0 and f"run folder: {tmp_path / 'again'}" in out
    first = pd.read_csv(seed_run / "history.csv").iloc[0]
    again = pd.read_csv(tmp_path / "again" / "history.csv").iloc[0]
    assert again["train_loss"] == pytest.approx(first["train_loss"], rel=1e-5)  # same data, seed, init, order


def test_resume_continues_and_extends(ip102, tmp_path, capsys):
    code, _, _ = train(capsys, "ip102-seed-cnn", f"data.root={ip102}", "train.epochs=1", *SMALL, f"output.runs={tmp_path}", "output.name=r")
    assert code == 0
    code, out, err = train(capsys, "--resume", tmp_path / "r", "train.epochs=2")
    assert code == 0, err
    assert pd.read_csv(tmp_path / "r" / "history.csv")["epoch"].tolist() == [1, 2]
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    assert info["status"] == "finished" and info["epochs_done"] == 2 and len(info["resumed"]) == 1

    code, _, err = train(capsys, "--resume", tmp_path / "r")
    assert code == 2 and "already trained all 2 of 2 epochs" in err and "train.epochs=" in err
    code, _, err = train(capsys, "--resume", tmp_path / "r", "train.lr=0.1")
    assert code == 2 and "'train.lr' cannot change" in err and "train.epochs" in err


def test_a_run_through_a_symlinked_root_resumes_on_the_same_cache(ip102, tmp_path, capsys, monkeypatch):
    # issue 12: the root was made absolute (abspath) for the manifest but stored resolved (realpath) in config.yaml,
    # so through a symlinked folder (macOS's /tmp) --resume keyed its images differently and built a second cache
    cache = tmp_path / "cache"
    monkeypatch.setenv("TRAINLAB_CACHE", str(cache))
    (tmp_path / "link").symlink_to(ip102, target_is_directory=True)
    code, _, err = train(capsys, "ip102-seed-cnn", f"data.root={tmp_path / 'link'}", "train.epochs=1", *SMALL,
                         f"output.runs={tmp_path}", "output.name=sym")
    assert code == 0, err
    first = sorted(p.name for p in cache.iterdir())
    assert len(first) == 1
    code, _, err = train(capsys, "--resume", tmp_path / "sym", "train.epochs=2")
    assert code == 0, err
    assert sorted(p.name for p in cache.iterdir()) == first  # reused, not built again
    info = json.loads((tmp_path / "sym" / "run.json").read_text())
    assert info["status"] == "finished" and info["dataset"]["root"] == str(ip102.resolve())


def test_bad_key_bad_value_and_bad_path_are_clear_errors(ip102, tmp_path, capsys):
    code, _, err = train(capsys, "ip102-seed-cnn", f"data.root={ip102}", "train.optimiser=sgd")
    assert code == 2 and "unknown key 'train.optimiser'" in err and "did you mean 'train.optimizer'" in err
    code, _, err = train(capsys, "ip102-seed-cnn", f"data.root={ip102}", "train.schedule=linear")
    assert code == 2 and "train.schedule: 'linear' is not allowed; choose one of constant, cosine, step" in err
    code, _, err = train(capsys, "ip102-seed-cnn", f"data.root={tmp_path / 'nowhere'}")
    assert code == 2 and "data.root" in err and "does not exist" in err
    code, _, err = train(capsys, "ip102-seed-cnn")
    assert code == 2 and "data.root is not set" in err
    code, _, err = train(capsys, "--resume", tmp_path / "nowhere")
    assert code == 2 and "no such run folder" in err
    assert not list(tmp_path.glob("runs*"))


def test_nan_loss_fails_the_run_with_a_message(ip102, tmp_path, capsys):
    code, _, err = train(capsys, "ip102-seed-cnn", f"data.root={ip102}", "train.epochs=2", *SMALL, "train.lr=1e30",
                         f"output.runs={tmp_path}", "output.name=nan")
    assert code == 2
    assert "the loss became" in err and "at epoch 1, step" in err
    info = json.loads((tmp_path / "nan" / "run.json").read_text())
    assert info["status"] == "failed" and info["failed_epoch"] == 1 and "loss became" in info["error"]


def test_predict_on_a_folder_equals_the_runs_own_test_predictions(seed_run, ip102, tmp_path, capsys):
    folder = tmp_path / "new"
    folder.mkdir()
    test = pd.read_csv(seed_run / "predictions" / "test.csv")
    for path in test["path"]:
        (folder / path.rsplit("/", 1)[-1]).write_bytes(open(path, "rb").read())
    (folder / "notes.txt").write_text("not an image")  # ignored: not an image extension
    assert main(["predict", str(seed_run), str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"12 predictions -> {seed_run / 'predictions' / 'predict.csv'}" in out
    pred = pd.read_csv(seed_run / "predictions" / "predict.csv")
    assert len(pred) == 12 and pred["y_true"].isna().all() and set(pred["split"]) == {"predict"}
    pred["name"] = pred["path"].str.rsplit("/", n=1).str[-1]
    test["name"] = test["path"].str.rsplit("/", n=1).str[-1]
    merged = pred.merge(test, on="name", suffixes=("", "_run"))
    assert len(merged) == 12
    for c in CLASSES:  # decode -> resize -> normalise is the same path as the cache's
        np.testing.assert_allclose(merged[f"p_{c}"], merged[f"p_{c}_run"], atol=1e-5)
    assert (merged["y_pred"] == merged["y_pred_run"]).all()


def test_predictions_of_unlabelled_images_are_valid_and_judges_say_they_need_labels(seed_run, tmp_path, capsys):
    """The bug: predict on unlabelled images wrote y_true="" and evaluate/audit then failed with "label 'nan' has no
    probability column". The table is valid; the judges that need labels say so."""
    from trainlab.artifacts.predictions import Predictions

    folder = tmp_path / "unlabelled"
    folder.mkdir()
    for path in pd.read_csv(seed_run / "predictions" / "test.csv")["path"][:4]:
        (folder / path.rsplit("/", 1)[-1]).write_bytes(open(path, "rb").read())
    table_path = tmp_path / "new.csv"
    assert main(["predict", str(seed_run), str(folder), "--out", str(table_path)]) == 0
    capsys.readouterr()
    table = Predictions.read(table_path)
    assert len(table) == 4 and not table.labelled_rows.any() and table.classes == CLASSES
    for verb in (["evaluate", str(table_path)], ["audit", str(table_path), "--by", "split"]):
        assert main(verb) == 2
        err = capsys.readouterr().err
        assert f"this predictions table has no true labels; {verb[0]} needs y_true" in err, err
        assert "nan" not in err
    assert not (tmp_path / "metrics_new.json").exists()


def test_contract_what_train_and_predict_write_every_consumer_reads(seed_run, ip102, tmp_path, capsys):
    """Stage boundaries with real files: train -> (metrics, model summary, predictions) -> predict on a labelled
    dataset with an attribute -> evaluate, audit, compare, report, each reading through the artifacts."""
    import os

    from trainlab.artifacts.compare import Comparison
    from trainlab.artifacts.metrics import Metrics
    from trainlab.artifacts.model_summary import ModelSummary
    from trainlab.artifacts.predictions import Predictions

    test = Predictions.read(seed_run, "test")
    metrics = Metrics.read(seed_run)  # train ran evaluate at its end
    assert metrics.n == len(test) == 12 and list(metrics.classes) == test.classes == CLASSES
    assert metrics.accuracy == pytest.approx(float((test.y_true == test.y_pred).mean()))
    summary = ModelSummary.read(seed_run)  # train wrote it: it held the model
    assert summary.total == json.loads((seed_run / "run.json").read_text())["parameters"]

    # predict a generic-CSV dataset (the run's test images, with a 'site' attribute) -> a labelled table
    lines = (ip102 / "test.txt").read_text().split()
    rows = [{"path": os.path.relpath(ip102 / "images" / name, tmp_path), "label": CLASSES[int(label)],
             "site": ("north", "south")[i % 2]} for i, (name, label) in enumerate(zip(lines[::2], lines[1::2]))]
    pd.DataFrame(rows).to_csv(tmp_path / "labels.csv", index=False)
    table_path = tmp_path / "new.csv"
    assert main(["predict", str(seed_run), str(tmp_path / "labels.csv"), "--out", str(table_path)]) == 0
    table = Predictions.read(table_path)
    assert table.is_labelled and table.attributes == ["site"] and len(table) == 12

    assert main(["evaluate", str(table_path)]) == 0
    judged = Metrics.read(tmp_path / "metrics_new.json")
    assert judged.n == 12 and judged.accuracy == pytest.approx(float((table.y_true == table.y_pred).mean()))
    assert main(["audit", str(table_path), "--by", "site", "--bootstrap", "0", "--min-group-size", "2",
                 "--out", str(tmp_path / "audit")]) == 0
    audit = json.loads((tmp_path / "audit" / "audit.json").read_text())
    assert audit["n"] == 12 and audit["classes"] == CLASSES
    assert main(["compare", str(seed_run), str(seed_run / "predictions" / "test.csv"), "--names", "run", "file",
                 "--out", str(tmp_path / "cmp")]) == 0
    pair = Comparison.read(tmp_path / "cmp").mcnemar[0]
    assert pair.discordant == 0 and pair.n == 12  # the same predictions, once through the run and once as a file

    assert main(["report", str(seed_run), str(tmp_path / "cmp"), "--out", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert f'data-metric="accuracy" data-value="{metrics.accuracy!r}"' in page or f"data-value=\"{metrics.accuracy}\"" in page
    assert f'data-model="total" data-value="{summary.total}"' in page
    assert "Comparison: cmp" in page and "no model summary" not in page
    capsys.readouterr()


def test_predict_on_a_dataset_and_on_files(seed_run, ip102, tmp_path, capsys):
    out = tmp_path / "all.csv"
    assert main(["predict", str(seed_run), str(ip102), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert len(table) == 72 and set(table["split"]) == {"train", "val", "test"}
    assert set(table["y_true"]) == set(CLASSES)
    assert "accuracy on the 72 labelled images" in capsys.readouterr().out
    one = sorted((ip102 / "images").glob("test_00*.png"))[:2]
    assert main(["predict", str(seed_run), *map(str, one), "--out", str(tmp_path / "two.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "two.csv")) == 2
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    assert main(["predict", str(seed_run), str(bad), "--out", str(tmp_path / "bad.csv")]) == 2
    assert "bad.png" in capsys.readouterr().err
    assert main(["predict", str(seed_run), str(bad), *map(str, one), "--on-bad-image", "skip", "--out", str(tmp_path / "s.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "s.csv")) == 2


def test_transfer_run_loads_weights_an_earlier_run_wrote(ip102, tmp_path, capsys):
    common = [f"data.root={ip102}", "model.name=timm:test_efficientnet", "data.image_size=32", "train.batch_size=8",
              "train.epochs=1", "train.stage_epochs=0", "train.warmup_epochs=0", "model.options.drop_rate=0.0",
              f"output.runs={tmp_path}"]
    code, _, err = train(capsys, "ip102-efficientnet", *common, "model.options.mode=finetune", "output.name=first")
    assert code == 0, err
    first = load_weights(tmp_path / "first" / "checkpoints" / "best" / "model.safetensors")[0]
    code, _, err = train(capsys, "ip102-efficientnet", *common, "model.options.mode=frozen", "output.name=second",
                         f"model.options.weights={tmp_path / 'first' / 'checkpoints' / 'best' / 'model.safetensors'}")
    assert code == 0, err
    second = load_weights(tmp_path / "second" / "checkpoints" / "best" / "model.safetensors")[0]
    backbone = [k for k in first if k.startswith("backbone.") and first[k].dtype.is_floating_point]
    assert backbone
    for key in backbone:  # frozen: the backbone is exactly the first run's (weights and BatchNorm statistics)
        torch.testing.assert_close(second[key], first[key], rtol=0, atol=0, msg=key)
    info = json.loads((tmp_path / "second" / "run.json").read_text())
    assert info["model_options"]["weights"].endswith("model.safetensors")
    assert info["trainable_parameters"] < info["parameters"]


def test_a_frozen_backbone_without_pretrained_weights_is_refused_before_any_work(ip102, tmp_path, capsys):
    common = [f"data.root={ip102}", "model.name=timm:test_efficientnet", "data.image_size=32", f"output.runs={tmp_path}"]
    for mode in ("frozen", "staged"):
        code, _, err = train(capsys, "ip102-efficientnet", *common, f"model.options.mode={mode}")
        assert code == 2 and f"model.options.mode={mode} freezes the backbone" in err, err
        assert "model.options.weights=" in err and "model.options.mode=finetune" in err
    assert "train.stage_epochs=3" in err  # the recipe's own head-only epochs are named
    assert not any(tmp_path.iterdir())  # nothing written


def test_ema_tta_balance_accumulate_and_a_budget_through_train_and_predict(ip102, tmp_path, capsys):
    """The techniques (#14) through the command line: the plan and the EMA's choice are recorded with the run, and
    predict applies the run's own TTA by default."""
    from trainlab.artifacts.budget_plan import BudgetPlan
    from trainlab.artifacts.run import RunRecord

    code, out, err = train(capsys, "ip102-seed-cnn", f"data.root={ip102}", *SMALL, "train.epochs=1", "train.ema=0.9",
                           "train.tta=flip", "train.class_balance=sampler", "train.accumulate=2",
                           f"output.runs={tmp_path}", "output.name=r", "--budget", "10m")
    assert code == 0, err
    run = tmp_path / "r"
    record, plan = RunRecord.read(run), BudgetPlan.read(run)
    assert record.budget_plan == "budget.json" and plan.epochs == record.epochs == record.epochs_done == 1  # train.epochs caps
    assert "budget 10m00s: 1 epoch(s)" in out and "run 100%" in err  # the plan, and the whole-run ETA
    assert record.best_weights in ("ema", "raw")
    _, meta = load_weights(run / "checkpoints" / "best" / "model.safetensors")
    assert meta["weights"] == record.best_weights and meta["tta"] == "flip"
    assert "val_acc_ema" in pd.read_csv(run / "history.csv").columns
    # predict: the run's TTA by default, equal to the run's own test predictions
    own = pd.read_csv(run / "predictions" / "test.csv")
    assert main(["predict", str(run), str(ip102), "--out", str(tmp_path / "p.csv")]) == 0
    again = pd.read_csv(tmp_path / "p.csv").set_index("id").loc[own["id"]]
    np.testing.assert_allclose(again.filter(like="p_").to_numpy(), own.filter(like="p_").to_numpy(), atol=1e-5)


def test_predict_flip_tta_is_the_mean_over_the_image_and_its_mirror(seed_run, ip102, tmp_path, capsys):
    files = sorted((ip102 / "images").glob("test_00*.png"))[:4]
    folder, mirrored = tmp_path / "plain", tmp_path / "mirrored"
    folder.mkdir(), mirrored.mkdir()
    for f in files:
        Image.open(f).save(folder / f.name)
        Image.open(f).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(mirrored / f.name)

    def proba(inputs, *flags):
        out = tmp_path / f"{inputs.name}{''.join(flags)}.csv"
        assert main(["predict", str(seed_run), str(inputs), "--out", str(out), *flags]) == 0
        return pd.read_csv(out).sort_values("path", key=lambda p: p.map(lambda v: Path(v).name)).filter(like="p_").to_numpy()

    plain, flipped, tta = proba(folder, "--tta", "off"), proba(mirrored, "--tta", "off"), proba(folder, "--tta", "flip")
    assert np.abs(plain - flipped).max() > 1e-5
    np.testing.assert_allclose(tta, (plain + flipped) / 2, atol=1e-5)
    assert main(["train", "ip102-seed-cnn", f"data.root={ip102}", "--budget", "soon"]) == 2
    assert "--budget: 'soon' is not a duration" in capsys.readouterr().err
