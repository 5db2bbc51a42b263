"""Trackers, read back with MLflow's own client and TensorBoard's own event reader."""

import pytest

from trainlab.errors import TrainlabError
from trainlab.tracking import open_trackers
from trainlab.tracking.base import flatten

RECIPE = {"data": {"root": "/d", "image_size": [24, 24]}, "train": {"lr": 0.002, "epochs": 3, "augment": {"mixup": 0.0}},
          "model": {"name": "seed_cnn", "options": {}}}
ROWS = [{"epoch": 1, "train_loss": 1.0, "val_acc": 0.50, "lr": 0.002, "note": "x"},
        {"epoch": 2, "train_loss": 0.7, "val_acc": 0.65, "lr": 0.001, "best": None},
        {"epoch": 3, "train_loss": 0.5, "val_acc": 0.70, "lr": 0.0005}]


def test_flatten_names_nested_keys():
    assert flatten(RECIPE)["train.augment.mixup"] == "0.0" and flatten(RECIPE)["model.options"] == "{}"


def track(tmp_path, names):
    run_dir = tmp_path / "runs" / "r1"
    (run_dir / "plots").mkdir(parents=True)
    (run_dir / "plots" / "curves.png").write_bytes(b"png")
    (run_dir / "metrics.json").write_text("{}")
    trackers = open_trackers(names, run_dir=run_dir, run_name="r1", params=RECIPE, experiment="exp")
    for row in ROWS:
        trackers.epoch(row["epoch"], row)
    trackers.finish(status="finished", metrics={"accuracy": 0.71, "macro_f1": 0.69},
                    files=[run_dir / "plots", run_dir / "metrics.json", run_dir / "missing.html"])
    return run_dir


def test_mlflow_holds_params_epoch_metrics_final_metrics_and_files(tmp_path):
    from mlflow.tracking import MlflowClient

    run_dir = track(tmp_path, ["mlflow"])
    client = MlflowClient(f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("exp").experiment_id])
    assert run.info.run_name == "r1" and run.info.status == "FINISHED"
    assert run.data.params["train.lr"] == "0.002" and run.data.params["data.image_size"] == "[24, 24]"
    assert [m.value for m in client.get_metric_history(run.info.run_id, "val_acc")] == [0.50, 0.65, 0.70]
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_acc")] == [1, 2, 3]
    assert run.data.metrics["accuracy"] == 0.71
    assert sorted(a.path for a in client.list_artifacts(run.info.run_id)) == ["metrics.json", "plots"]
    assert (tmp_path / "runs" / "mlartifacts").is_dir()  # beside the store, not in the working folder
    assert run.data.tags["trainlab.run_dir"] == str(run_dir)


def test_tensorboard_event_files_hold_the_curves(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = track(tmp_path, ["tensorboard"])
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    assert [(e.step, round(e.value, 6)) for e in events.Scalars("val_acc")] == [(1, 0.5), (2, 0.65), (3, 0.7)]
    assert [e.value for e in events.Scalars("test/accuracy")] == [pytest.approx(0.71)]
    assert "note" not in events.Tags()["scalars"]


def test_unknown_tracker_names_the_key(tmp_path):
    with pytest.raises(TrainlabError, match="output.trackers: unknown tracker 'wandb'; choose from mlflow, tensorboard"):
        open_trackers(["wandb"], run_dir=tmp_path, run_name="r", params={}, experiment="e")


def test_a_failing_tracker_is_dropped_not_fatal(tmp_path):
    from trainlab.tracking.base import Tracker, Trackers

    class Broken(Tracker):
        name = "broken"

        def epoch(self, step, metrics):
            raise RuntimeError("server down")

    seen = []

    class Good(Tracker):
        name = "good"

        def epoch(self, step, metrics):
            seen.append(step)

    trackers = Trackers([Broken(), Good()])
    trackers.epoch(1, {"a": 1.0})
    trackers.epoch(2, {"a": 1.0})
    assert seen == [1, 2] and [t.name for t in trackers.trackers] == ["good"]


def test_trainlab_train_logs_to_both_trackers(tmp_path):
    """A real run with output.trackers: MLflow holds every epoch and the test metrics, TensorBoard the curves."""
    import numpy as np
    from mlflow.tracking import MlflowClient
    from PIL import Image
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from trainlab.cli import main

    root = tmp_path / "data"
    rng = np.random.default_rng(0)
    for split, n in {"train": 16, "val": 6, "test": 6}.items():
        for i in range(n):
            folder = root / split / f"c{i % 2}"
            folder.mkdir(parents=True, exist_ok=True)
            img = rng.integers(0, 60, (12, 12, 3)).astype(np.uint8) + np.uint8(120 * (i % 2))
            Image.fromarray(img).save(folder / f"{split}{i}.png")
    runs = tmp_path / "runs"
    assert main(["train", "ip102-seed-cnn", f"data.root={root}", "data.format=imagefolder", "data.image_size=12",
                 "train.epochs=2", "train.batch_size=8", f"output.runs={runs}", "output.name=t",
                 "output.trackers=[mlflow,tensorboard]", "output.experiment=tracked"]) == 0
    client = MlflowClient(f"sqlite:///{runs / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("tracked").experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "t"
    assert run.data.params["train.epochs"] == "2" and run.data.params["data.image_size"] == "[12, 12]"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_acc")] == [1, 2]
    assert "test_accuracy" in run.data.metrics
    assert {"plots", "metrics.json", "config.yaml", "run.json"} <= {a.path for a in client.list_artifacts(run.info.run_id)}
    events = EventAccumulator(str(runs / "t" / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("train_loss")] == [1, 2]
    assert "test/test_accuracy" in events.Tags()["scalars"]
