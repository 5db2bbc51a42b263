"""Calibration by group (#17 item 3): per-group ECE equal to the evaluation's ECE on each group's rows, a bootstrap
that matches resampling rows, the calibration gap flagged like the other gaps, unavailable without probabilities."""

import json

import numpy as np
import pandas as pd
import pytest

from trainlab.artifacts.audit import AuditResult
from trainlab.artifacts.predictions import Predictions
from trainlab.evaluation.calibration import expected_calibration_error
from trainlab.fairness.audit import audit
from trainlab.fairness.ece import GroupCalibration
from trainlab.fairness.folder import write_audit


def _calibrated(n: int, k: int, rng, *, overconfident: float = 0.0):
    """Rows whose true class is drawn from the stated probabilities (calibrated), then optionally sharpened:
    ``overconfident`` > 0 pushes the probabilities towards their arg-max without changing the labels."""
    logits = rng.normal(0.0, 1.6, (n, k))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1).clip(0, k - 1)
    if overconfident:
        sharp = np.exp(logits * (1.0 + overconfident))
        p = sharp / sharp.sum(axis=1, keepdims=True)
    return y, p


def _table(groups: dict[str, tuple[int, float]], k: int = 3, seed: int = 0) -> Predictions:
    rng = np.random.default_rng(seed)
    ys, ps, gs = [], [], []
    for name, (n, sharpen) in groups.items():
        y, p = _calibrated(n, k, rng, overconfident=sharpen)
        ys.append(y)
        ps.append(p)
        gs += [name] * n
    proba = np.vstack(ps)
    return Predictions.build(classes=[f"c{i}" for i in range(k)], y_true=np.concatenate(ys), proba=proba,
                             split="test", attributes=pd.DataFrame({"site": gs}))


def test_group_ece_equals_the_evaluation_ece_on_each_groups_rows():
    pred = _table({"a": (257, 0.0), "b": (90, 1.5), "c": (31, 0.4), "tiny": (7, 0.0)}, k=4, seed=3)
    result = audit(pred, by="site", bootstrap=200, min_group_size=30)
    a = result.get("site")
    site = pred.frame["site"].to_numpy()
    for g in a.groups:
        rows = site == g.group
        want = expected_calibration_error(pred.y_true[rows], pred.proba[rows])
        assert g.ece.value == pytest.approx(want, abs=1e-12)
        if g.too_small:
            assert g.ece.ci is None and g.ece.reason.startswith("insufficient evidence")
        else:
            assert g.ece.ci[0] <= g.ece.value <= g.ece.ci[1]
    assert a.overall.ece.value == pytest.approx(expected_calibration_error(pred.y_true, pred.proba), abs=1e-12)
    eces = {g.group: g.ece.value for g in a.groups if not g.too_small}  # 'tiny' is left out of the gap
    gap = a.disparities["calibration_gap"]
    assert gap.value == pytest.approx(max(eces.values()) - min(eces.values()), abs=1e-12)
    assert gap.highest == max(eces, key=eces.get) and gap.lowest == min(eces, key=eces.get)


def test_the_cell_bootstrap_matches_resampling_rows():
    rng = np.random.default_rng(11)
    y, p = _calibrated(150, 3, rng, overconfident=0.7)
    codes = np.zeros(len(y), dtype=np.int64)
    cal = GroupCalibration.from_rows(codes, y, p, labels=["g"], minimum=30, resamples=2000,
                                     rng=np.random.default_rng(0))
    rows = np.random.default_rng(1).integers(0, len(y), (2000, len(y)))  # the bootstrap by row indices
    direct = np.array([expected_calibration_error(y[r], p[r]) for r in rows])
    fast = cal.replicates[:, 0]
    # 2,000 replicates: the mean and sd of each estimate are known to ~2-3%; the cell approximation adds < 1%
    assert abs(fast.mean() - direct.mean()) < 0.06 * direct.std() + 0.002
    assert abs(fast.std() / direct.std() - 1.0) < 0.1
    assert cal.point[0] == pytest.approx(expected_calibration_error(y, p), abs=1e-12)


def test_a_miscalibrated_group_is_flagged_and_drawn(tmp_path):
    pred = _table({"north": (800, 0.0), "south": (800, 2.5), "east": (300, 0.0)}, seed=5)
    result = audit(pred, by="site", bootstrap=200)
    a = result.get("site")
    gap = a.disparities["calibration_gap"]
    assert gap.highest == "south" and gap.ci[0] > 0 and gap.value >= 0.03
    flag = next(f for f in a.flags if f.measure == "calibration_gap")
    assert flag.versus == "south" and "expected calibration error differs across site" in flag.message
    assert a.calibration_critical_value is not None and a.calibration_critical_value > 1.96
    paths = write_audit(result, tmp_path)
    assert "plots/reliability_site.png" in paths and (tmp_path / a.plots["reliability"]).stat().st_size > 5000
    curves = {c.group: c for c in a.reliability}
    assert set(curves) == {"north", "south", "east"} and sum(curves["south"].count) == 800
    groups_csv = pd.read_csv(tmp_path / "groups.csv")
    assert (groups_csv["metric"] == "ece").sum() == 4  # three groups and the overall row


def test_calibrated_groups_are_not_flagged():
    flagged = 0
    for seed in range(3):  # one distribution, sizes 10x apart (ECE is biased upward in the smaller group)
        pred = _table({"big": (2000, 0.0), "small": (200, 0.0)}, seed=seed)
        a = audit(pred, by="site", bootstrap=150, seed=seed).get("site")
        flagged += any(f.measure == "calibration_gap" for f in a.flags)
        assert a.disparities["calibration_gap"].value is not None
    assert flagged == 0


def test_hard_labels_make_calibration_unavailable_not_an_error(tmp_path):
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 300)
    y_pred = np.where(rng.random(300) < 0.8, y, 1 - y)
    pred = Predictions.build(classes=["no", "yes"], y_true=y, y_pred=y_pred, proba=np.eye(2)[y_pred], split="test",
                             attributes=pd.DataFrame({"site": rng.choice(["a", "b"], 300)}))
    result = audit(pred, by="site", bootstrap=100)
    a = result.get("site")
    assert a.groups[0].ece.value is None and a.groups[0].ece.reason.startswith("unavailable")
    gap = a.disparities["calibration_gap"]
    assert gap.value is None and gap.reason.startswith("unavailable") and gap.mdd.value is None
    assert not any(f.measure == "calibration_gap" for f in a.flags) and a.reliability == []
    assert "reliability" not in a.plots
    write_audit(result, tmp_path)
    assert not (tmp_path / "plots" / "reliability_site.png").exists()
    assert a.disparities["accuracy_gap"].value is not None  # the rest of the audit is untouched


def test_an_audit_json_of_schema_1_still_reads(tmp_path):
    result = audit(_table({"a": (60, 0.0), "b": (60, 1.0)}), by="site", bootstrap=50)
    data = json.loads(json.dumps(result.data))
    data["schema_version"] = 1
    for a in data["audits"]:  # what version 1 wrote: none of the new fields
        for key in ("reliability", "calibration_critical_value"):
            a.pop(key)
        a["plots"].pop("reliability")
        a["disparities"].pop("calibration_gap")
        for g in [a["overall"], *a["groups"]]:
            g.pop("ece")
        for d in a["disparities"].values():
            d.pop("mdd", None)
            for e in (d.get("per_class") or {}).values():
                e.pop("mdd", None)
    (tmp_path / "audit.json").write_text(json.dumps(data))
    back = AuditResult.read(tmp_path)
    assert back.get("site").groups[0].ece is None and back.get("site").disparities["accuracy_gap"].mdd is None
    write_audit(back, tmp_path / "again")  # the folder's tables and plots from an old file
    assert (tmp_path / "again" / "summary.md").exists()
