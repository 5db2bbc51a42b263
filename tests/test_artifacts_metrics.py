"""metrics.json through its artifact: what evaluate writes is what every reader gets, and an older file still reads."""

import json

import pytest

from trainlab.artifacts import ArtifactError
from trainlab.artifacts.metrics import Metrics

FIELDS = dict(split="test", n=10, classes=["a", "b"], source="p.csv", accuracy=0.8, top5_accuracy=None,
              balanced_accuracy=0.75, f1_macro=0.7, f1_weighted=0.8, roc_auc=0.9, log_loss=0.4, ece=0.05,
              roc_auc_average="binary", ece_bins=15, undefined={"top5_accuracy": "needs at least 5 classes; there are 2"})


def test_round_trip_and_derived_class_count(tmp_path):
    m = Metrics(**FIELDS)
    m.write(tmp_path)
    back = Metrics.read(tmp_path)
    assert back == m and back.n_classes == 2 and back.value("accuracy") == 0.8
    assert "n_classes" not in json.loads((tmp_path / "metrics.json").read_text())  # derived, not stored


def test_a_file_written_before_artifacts_still_reads(tmp_path):
    old = {**FIELDS, "n_classes": 2, "files": {"metrics": "metrics.json"}, "trainlab_version": "0.1"}
    (tmp_path / "metrics.json").write_text(json.dumps(old))
    assert Metrics.read(tmp_path).n_classes == 2


def test_a_wrong_field_is_named(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({**FIELDS, "accuracy": "high"}))
    with pytest.raises(ArtifactError, match="field 'accuracy'"):
        Metrics.read(tmp_path)
    with pytest.raises(ArtifactError, match="no such file; 'trainlab evaluate' writes it"):
        Metrics.read(tmp_path / "elsewhere")
