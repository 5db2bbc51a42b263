"""Demo datasets: deterministic, readable by the real readers, and the planted disparity is real."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest

from trainlab.data.cache import build_cache
from trainlab.data.demo import HARD_GROUP, fairface_params, make_demo_datasets
from trainlab.data.formats import load_manifest
from trainlab.errors import TrainlabError


def _digest(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_images(tmp_path):
    a = make_demo_datasets(tmp_path / "a", seed=5, scale=0.1)
    b = make_demo_datasets(tmp_path / "b", seed=5, scale=0.1)
    c = make_demo_datasets(tmp_path / "c", seed=6, scale=0.1, kind="ip102")
    for kind in ("ip102", "fairface"):
        assert _digest(a[kind]) == _digest(b[kind])
    da, dc = _digest(a["ip102"]), _digest(c["ip102"])
    assert da.keys() == dc.keys() and da["images/00000.jpg"] != dc["images/00000.jpg"]


def test_regenerating_identical_parameters_keeps_the_files(tmp_path):
    first = make_demo_datasets(tmp_path, kind="ip102", scale=0.1)["ip102"]
    stamp = os.stat(first / "images" / "00000.jpg").st_mtime_ns
    make_demo_datasets(tmp_path, kind="ip102", scale=0.1)
    assert os.stat(first / "images" / "00000.jpg").st_mtime_ns == stamp  # an image cache of it stays valid
    make_demo_datasets(tmp_path, kind="ip102", scale=0.1, seed=1)  # other parameters: regenerated in place
    assert json.loads((first / "demo_params.json").read_text())["seed"] == 1


def test_demo_layouts_are_read_by_the_real_readers(tmp_path):
    made = make_demo_datasets(tmp_path, scale=0.2)
    ip = load_manifest(made["ip102"])
    assert ip.source["format"] == "ip102" and ip.source["layout"] == "official"
    assert ip.num_classes == 8 and ip.classes[0] == "disc beetle"  # classes.txt with CRLF and tabs parsed
    assert set(ip.splits) == {"train", "val", "test"} and "carved" not in ip.source
    ff = load_manifest(made["fairface"], target="gender")
    assert ff.source["format"] == "fairface" and ff.classes == ["Female", "Male"]
    assert ff.attributes == ["age", "race", "service_test"]
    assert sorted(set(ff.frame["race"])) == ["Amber", "Cobalt", "Jade", "Violet"]
    test = ff.frame[ff.frame["split"] == "test"]
    assert (test.groupby("race").size() == 32).all()  # val_labels.csv → test: 160 per group at scale 1


def test_default_test_split_is_large_enough_for_an_audit():
    from trainlab.data.demo import fairface_counts

    assert fairface_counts(1.0)["test"] >= 150


def test_the_planted_disparity_is_in_the_parameters(tmp_path):
    p = fairface_params(disparity=True)
    assert p["hard_group"] == HARD_GROUP == "Jade"
    hard, others = p["groups"]["Jade"], [g for name, g in p["groups"].items() if name != "Jade"]
    for g in others:
        assert hard["cue_separation"] < g["cue_separation"] and hard["cue_contrast"] < g["cue_contrast"]
        assert hard["noise"] > g["noise"]
    fair = fairface_params(disparity=False)
    assert fair["hard_group"] is None
    assert len({(g["cue_separation"], g["cue_contrast"], g["noise"]) for g in fair["groups"].values()}) == 1
    made = make_demo_datasets(tmp_path, kind="fairface", scale=0.05)
    assert json.loads((made["fairface"] / "demo_params.json").read_text())["hard_group"] == "Jade"


def _group_accuracy(folder, cache_dir) -> dict[str, float]:
    """Test accuracy per race group of a logistic regression on 16×16 pixels (a fast, simple learner)."""
    from sklearn.linear_model import LogisticRegression

    m = load_manifest(folder, target="gender")
    cache = build_cache(m, size=(16, 16), cache_dir=cache_dir, workers=1)
    x = np.asarray(cache.images, dtype=np.float32).reshape(len(m), -1) / 255
    y = m.labels()
    train, test = m.indices("train"), m.indices("test")
    pred = LogisticRegression(C=0.05, max_iter=2000).fit(x[train], y[train]).predict(x[test])
    race = m.frame["race"].to_numpy()[test]
    return {g: float(np.mean(pred[race == g] == y[test][race == g])) for g in sorted(set(race))}


def test_a_learner_finds_the_planted_gap_and_no_gap_without_it(tmp_path):
    planted = _group_accuracy(make_demo_datasets(tmp_path / "p", kind="fairface", scale=0.5)["fairface"], tmp_path / "c")
    others = np.mean([v for g, v in planted.items() if g != "Jade"])
    assert others > 0.8  # the gender cue is learnable
    assert others - planted["Jade"] >= 0.2  # and much less so for Jade
    fair = _group_accuracy(make_demo_datasets(tmp_path / "f", kind="fairface", scale=0.5, disparity=False)["fairface"], tmp_path / "c")
    assert max(fair.values()) - min(fair.values()) <= 0.1  # without the disparity no group stands out


def test_bad_arguments(tmp_path):
    with pytest.raises(TrainlabError, match="unknown demo kind"):
        make_demo_datasets(tmp_path, kind="cifar")
    with pytest.raises(TrainlabError, match="scale must be positive"):
        make_demo_datasets(tmp_path, scale=0)
    (tmp_path / "ip102-demo").mkdir()
    (tmp_path / "ip102-demo" / "mine.txt").write_text("keep me")
    with pytest.raises(TrainlabError, match="not a trainlab demo dataset"):
        make_demo_datasets(tmp_path, kind="ip102")
