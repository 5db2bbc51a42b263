"""`trainlab demo`: the stage runner (fast), and the whole flow end to end in its --quick size (slow)."""

from __future__ import annotations

import json
import sys

import pytest

from trainlab.cli import main
from trainlab.demo import STAGES, Demo, QUICK, Stage


def _demo(tmp_path) -> Demo:
    return Demo(out=tmp_path, settings=QUICK, seed=0, quick=True, stages=[Stage(k, t) for k, t in STAGES])


def test_a_missing_trainlab_module_is_an_error_not_a_skip(tmp_path, monkeypatch):
    """Every stage is part of trainlab: no "not in this build" skip hides a broken install."""
    demo = _demo(tmp_path)
    monkeypatch.setitem(sys.modules, "trainlab.fairness.not_there", None)  # importing it now fails
    with pytest.raises(ModuleNotFoundError):
        with demo.run("audit"):
            import trainlab.fairness.not_there  # noqa: F401
    assert demo.stage("audit").status == "pending" and demo.stage("audit").seconds is not None


def test_a_stage_that_needs_a_skipped_one_says_so(tmp_path):
    from trainlab.demo import _compare

    demo = _demo(tmp_path)
    with demo.run("compare"):
        _compare(demo)  # neither the seed CNN nor the transfer model ran
    assert demo.stage("compare").status == "skipped"
    assert "Train the seed CNN" in demo.stage("compare").message


def test_other_errors_are_not_swallowed(tmp_path):
    demo = _demo(tmp_path)
    with pytest.raises(ModuleNotFoundError):
        with demo.run("sine"):
            import a_package_that_is_not_trainlab  # noqa: F401
    with pytest.raises(ValueError):
        with demo.run("report"):
            raise ValueError("a bug must stop the demo")


def test_demo_out_must_be_a_folder(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["demo", "--out", str(tmp_path / "file"), "--quick"]) == 2
    assert "is a file" in capsys.readouterr().err


@pytest.mark.slow
def test_quick_demo_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--quick"]) == 0
    printed = capsys.readouterr().out
    report = out / "report.html"
    assert f"report: {report.resolve()}" in printed.strip().splitlines()[-1]
    record = json.loads((out / "demo.json").read_text())
    status = {s["key"]: s["status"] for s in record["stages"]}
    assert all(v == "done" for v in status.values()), record["stages"]
    for run in ("seed-cnn", "face-gender", "transfer"):
        folder = out / "runs" / run
        for name in ("config.yaml", "run.json", "history.csv", "metrics.json", "predictions/test.csv",
                     "checkpoints/best/model.safetensors"):
            assert (folder / name).is_file(), folder / name
    assert (out / "compare" / "compare.json").is_file()
    assert (out / "runs" / "face-gender" / "audit" / "audit.json").is_file()
    assert (out / "sine" / "results.json").is_file()
    # the transfer model started from the face model's weights file
    transfer = json.loads((out / "runs" / "transfer" / "run.json").read_text())
    assert transfer["model_options"]["weights"] == str(out / "runs" / "face-gender" / "checkpoints" / "best" / "model.safetensors")
    text = report.read_text(encoding="utf-8")
    for heading in ("Run: seed-cnn", "Run: transfer", "Run: face-gender", "Comparison", "Function fitting"):
        assert heading in text, heading

    from test_report_browser import chromium_or_skip, open_report

    chromium_or_skip()
    seen = open_report(report, tmp_path / "demo-report.png")
    assert not [m for m in seen["console"] if m[0] in ("error", "warning")] and not seen["errors"]
    assert seen["images"] and all(i["complete"] and i["w"] > 0 for i in seen["images"])
    metrics = json.loads((out / "runs" / "seed-cnn" / "metrics.json").read_text())
    shown = [n for n in seen["numbers"] if n["run"].endswith("seed-cnn") and n["metric"] == "accuracy"]
    assert shown and all(float(n["value"]) == metrics["accuracy"] for n in shown)
