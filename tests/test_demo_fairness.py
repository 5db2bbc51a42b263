"""The demo's planted disparity, end to end: generate the FairFace-layout demo, train the face model on
it, audit by group. The planted group is found with an interval that excludes zero; the same data drawn
without the disparity (the control) is not flagged."""

from __future__ import annotations

import dataclasses
import json

import pytest

from trainlab.data.demo import HARD_GROUP
from trainlab.demo import FULL, STAGES, Demo, Stage, _audit, _datasets, _face_recipe, _train

SETTINGS = dataclasses.replace(FULL, scale=0.5, image_size=24, face_epochs=4, batch_size=64, bootstrap=500)


def _face_audit(tmp_path, disparity: bool) -> dict:
    demo = Demo(out=tmp_path, settings=SETTINGS, seed=0, quick=True, disparity=disparity,
                stages=[Stage(k, t) for k, t in STAGES])
    with demo.run("datasets"):
        _datasets(demo)
    with demo.run("face"):
        _train(demo, "face", "face-gender", _face_recipe(demo))
    with demo.run("audit"):
        _audit(demo)
    assert [s.status for s in demo.stages if s.key in ("datasets", "face", "audit")] == ["done"] * 3
    return json.loads((tmp_path / "runs" / "face-gender" / "audit" / "audit.json").read_text())


def _accuracy_gap(audit: dict) -> dict:
    (by_race,) = [a for a in audit["audits"] if a["by"] == ["race"] or a["by"] == "race"]
    return by_race["disparities"]["accuracy_gap"]


@pytest.mark.slow
def test_planted_disparity_is_found_and_the_control_is_not_flagged(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINLAB_CACHE", str(tmp_path / "cache"))
    planted = _face_audit(tmp_path / "planted", disparity=True)
    gap = _accuracy_gap(planted)
    assert gap["lowest"] == HARD_GROUP
    assert gap["ci"][0] > 0, gap  # the interval excludes zero
    assert planted["flagged"] and any(HARD_GROUP in json.dumps(f) for a in planted["audits"] for f in a["flags"])

    control = _face_audit(tmp_path / "control", disparity=False)
    assert not control["flagged"], [f for a in control["audits"] for f in a["flags"]]
    assert _accuracy_gap(control)["value"] < gap["value"] / 2
