"""The audit end to end: flags, small groups, undefined ratios, bad input, the files it writes."""

import json
import logging

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from _fairness_synth import RACES, planted, predictions, table
from trainlab.cli import main
from trainlab.errors import TrainlabError
from trainlab.fairness.audit import audit, audit_run
from trainlab.artifacts.predictions import Predictions
from trainlab.fairness.prose import summary_markdown


def _ci_flags(result, measure=None):
    return [f for f in result.flags if f.kind == "ci_excludes_zero" and (measure is None or f.measure == measure)]


@pytest.mark.parametrize("seed", range(5))
def test_a_planted_error_rate_is_flagged_and_named(seed):
    result = audit(planted(400, seed=seed, extra_error=0.2), by=["race"], bootstrap=300, seed=seed)
    acc = _ci_flags(result, "accuracy_gap")
    assert acc, result.flags
    assert acc[0].group == "Black"  # the planted group is the one below
    gap = result.data["audits"][0]["disparities"]["accuracy_gap"]
    assert gap["lowest"] == "Black" and gap["ci"][0] > 0


@pytest.mark.parametrize("seed", range(3))
def test_at_the_demo_scale_a_hard_group_is_found_and_an_even_one_is_not(seed):
    # The demo's FairFace-layout test split: four groups of 160, binary target; one group much harder.
    groups = ["Amber", "Cobalt", "Jade", "Violet"]
    hard = audit(planted(160, seed=seed, extra_error=0.25, base_error=0.08, planted_group="Jade", groups=groups),
                 by=["race"], bootstrap=500, seed=seed)
    assert any(f.group == "Jade" for f in _ci_flags(hard, "accuracy_gap"))
    even = audit(planted(160, seed=seed, extra_error=0.0, base_error=0.08, groups=groups), by=["race"], bootstrap=500, seed=seed)
    assert not even.flagged, even.flags


def test_no_disparity_is_rarely_flagged_across_seeds():
    # Under no disparity a flag is a false alarm; the simultaneous intervals hold it near 5% per
    # audit (≈ 2–5% measured over 60–100 seeds). 20 seeds: expect ~1 flagged; 4 or more has
    # probability < 2% at a true rate of 5%.
    flagged = [s for s in range(20) if audit(planted(200, seed=s, extra_error=0.0), by=["race"], bootstrap=200, seed=s).flagged]
    assert len(flagged) <= 3, flagged


def test_intersection_reports_a_too_small_group_and_leaves_it_out():
    rng = np.random.default_rng(0)
    race = np.array(["A"] * 200 + ["B"] * 200 + ["C"] * 45)
    gender = np.array(["F", "M"] * 100 + ["F", "M"] * 100 + ["F"] * 40 + ["M"] * 5)  # C × M has 5 rows
    y_true = rng.integers(0, 2, len(race))
    y_pred = np.where(rng.random(len(race)) < 0.8, y_true, 1 - y_true)
    result = audit(predictions(y_true, y_pred, {"race": race, "gender": gender}, ["no", "yes"]),
                   by=["race,gender"], bootstrap=100, min_group_size=30)
    a = result.get("race,gender")
    assert a.name == "race × gender"
    assert [t.model_dump() for t in a.too_small] == [{"group": "C × M", "count": 5}]
    assert "C × M" not in a.compared_groups and len(a.compared_groups) == 5
    small = a.group("C × M")
    assert small.too_small and small.count == 5 and small.accuracy.value is not None
    assert any("C × M (n=5)" in n and "left out of every gap" in n for n in a.notes)
    assert all("C × M" not in (c.group, c.reference) for c in a.comparisons)
    assert "C × M (n=5)" in summary_markdown(result)


def test_four_fifths_flag_on_a_clear_selection_gap():
    # Group L is predicted 'yes' 30% of the time, group H 60%: ratio 0.5, far from chance at n = 500.
    rng = np.random.default_rng(1)
    grp = np.repeat(["H", "L"], 500)
    y_pred = np.concatenate([rng.permutation([1] * 300 + [0] * 200), rng.permutation([1] * 150 + [0] * 350)])
    y_true = np.where(rng.random(1000) < 0.85, y_pred, 1 - y_pred)
    result = audit(predictions(y_true, y_pred, {"grp": grp}, ["no", "yes"]), by=["grp"], favorable="yes", bootstrap=300)
    ff = [f for f in result.flags if f.kind == "four_fifths"]
    assert len(ff) == 1 and ff[0].group == "L" and ff[0].versus == "H"
    assert ff[0].value == pytest.approx(0.5)  # 150/500 ÷ 300/500
    assert ff[0].ci[1] < 0.8
    assert result.data["audits"][0]["disparities"]["demographic_parity_ratio"]["value"] == pytest.approx(0.5)


def test_undefined_ratio_is_null_with_a_reason_never_nan(tmp_path):
    # Class 'c' is never predicted: its selection rates are all 0, so min/max is 0/0.
    rng = np.random.default_rng(2)
    grp = np.repeat(["g1", "g2"], 100)
    y_true = rng.integers(0, 3, 200)
    y_pred = rng.integers(0, 2, 200)
    frame = table(y_true, y_pred, {"grp": grp}, ["a", "b", "c"])
    path = Predictions.from_frame(frame).write(tmp_path / "p.csv")
    result, _ = audit_run(path, by=["grp"], bootstrap=100, out=tmp_path / "out")
    text = (tmp_path / "out" / "audit.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text)
    ratio = data["audits"][0]["disparities"]["demographic_parity_ratio"]["per_class"]["c"]
    assert ratio["value"] is None and ratio["ci"] is None
    assert "no compared group is ever predicted 'c'" in ratio["reason"]
    di = [c for c in data["audits"][0]["comparisons"] if c["measure"] == "disparate_impact" and c["class"] == "c"]
    assert di and di[0]["value"] is None and "selection rate 0" in di[0]["reason"]
    assert result.data == data


def test_unknown_attribute_lists_the_available_ones():
    pred = planted(40, seed=0, extra_error=0.0)
    with pytest.raises(TrainlabError, match=r"no attribute column 'ethnicity'.*available attribute columns: \['race', 'gender'\]"):
        audit(pred, by=["race,ethnicity"])


def test_favorable_class_absent():
    pred = planted(40, seed=0, extra_error=0.0)
    with pytest.raises(TrainlabError, match=r"favorable class 'Mal' is not a class.*\['Female', 'Male'\]"):
        audit(pred, by=["race"], favorable="Mal")
    rng = np.random.default_rng(0)
    only_ab = predictions(rng.integers(0, 2, 100), rng.integers(0, 2, 100), {"grp": ["x", "y"] * 50}, ["a", "b", "zebra"])
    with pytest.raises(TrainlabError, match=r"favorable class 'zebra' never occurs in y_true or y_pred"):
        audit(only_ab, by=["grp"], favorable="zebra")


def test_group_with_one_class_only_is_explained(caplog):
    rng = np.random.default_rng(3)
    grp = np.repeat(["mixed", "allyes"], 100)
    y_true = np.concatenate([rng.integers(0, 2, 100), np.ones(100, int)])
    y_pred = np.where(rng.random(200) < 0.8, y_true, 1 - y_true)
    with caplog.at_level(logging.WARNING, logger="trainlab"):
        a = audit(predictions(y_true, y_pred, {"grp": grp}, ["no", "yes"]), by=["grp"], bootstrap=100).data["audits"][0]
    note = next(n for n in a["notes"] if "'allyes'" in n)
    assert "one true class only, 'yes'" in note and "false-positive rate for 'yes' is undefined" in note
    assert "has one true class only" in caplog.text
    allyes = next(g for g in a["groups"] if g["group"] == "allyes")
    fpr = allyes["per_class"]["yes"]["fpr"]
    assert fpr["value"] is None and "every row of the group has true class 'yes'" in fpr["reason"]


def test_the_same_note_for_many_groups_is_one_terminal_line_with_a_count(caplog):
    """An attribute intersected with the label: every group holds one class; audit.json keeps each group's note,
    the terminal gets one line with the count (it printed the same sentence once per group)."""
    rng = np.random.default_rng(5)
    y_true = rng.integers(0, 2, 600)
    y_pred = np.where(rng.random(600) < 0.8, y_true, 1 - y_true)
    site = np.array(["s1", "s2", "s3", "s4", "s5", "s6", "s7"])[rng.integers(0, 7, 600)]
    label = np.array(["no", "yes"])[y_true]
    with caplog.at_level(logging.WARNING, logger="trainlab"):
        a = audit(predictions(y_true, y_pred, {"site": site, "truth": label}, ["no", "yes"]), by=["site,truth"],
                  bootstrap=20).data["audits"][0]
    per_group = [n for n in a["notes"] if "has one true class only" in n]
    n = len(a["compared_groups"])  # 7 sites x 2 classes, less any group under the minimum size
    assert n >= 10 and len(per_group) == n  # each kept in audit.json
    lines = [r.getMessage() for r in caplog.records if "one true class only" in r.getMessage()]
    assert len(lines) == 1 and f"{n} groups hold one true class only" in lines[0]


def test_grouping_by_the_label_itself_is_called_out():
    rng = np.random.default_rng(4)
    y_true = rng.integers(0, 2, 300)
    y_pred = np.where(rng.random(300) < 0.8, y_true, 1 - y_true)
    gender = np.array(["Female", "Male"])[y_true]  # the coursework's mistake: the attribute is the label
    a = audit(predictions(y_true, y_pred, {"gender": gender}, ["Female", "Male"]), by=["gender"], bootstrap=50).data["audits"][0]
    assert any("the attribute is the target itself" in n for n in a["notes"])


def test_probabilities_not_summing_to_one_fail_on_the_cli(tmp_path, capsys):
    frame = table([0, 1] * 20, [0, 1] * 20, {"race": ["A", "B"] * 20}, ["no", "yes"])
    frame.loc[7, ["p_no", "p_yes"]] = [0.5, 0.2]
    frame.to_csv(tmp_path / "bad.csv", index=False)
    assert main(["audit", str(tmp_path / "bad.csv"), "--by", "race"]) == 2
    assert "line 9: probabilities sum to 0.700000, not 1" in capsys.readouterr().err


def test_cli_writes_every_output_and_the_tables_agree_with_audit_json(tmp_path, capsys):
    frame = table(*_planted_arrays(), classes=["Female", "Male"])
    run = tmp_path / "run"
    Predictions.from_frame(frame).write(run / "predictions" / "test.csv")
    assert main(["audit", str(run), "--by", "race", "--by", "race,gender", "--bootstrap", "200",
                 "--reference", "White"]) == 0
    out = run / "audit"
    data = json.loads((out / "audit.json").read_text())
    assert data["kind"] == "audit" and data["schema_version"] == 2 and data["n"] == len(frame) and data["favorable"] == "Male"
    assert [a["name"] for a in data["audits"]] == ["race", "race × gender"]
    assert data["audits"][0]["reference"] == "White" and data["audits"][0]["reference_reason"] == "given"
    # 'White' is not an intersection group: that audit says so and uses its largest group
    assert "not a group of 'race × gender'" in data["audits"][1]["notes"][0]
    disp = pd.read_csv(out / "disparities.csv")
    row = disp[(disp.audit == "race") & (disp.measure == "accuracy_gap")].iloc[0]
    assert row.value == pytest.approx(data["audits"][0]["disparities"]["accuracy_gap"]["value"])
    assert row.ci_low == pytest.approx(data["audits"][0]["disparities"]["accuracy_gap"]["ci"][0])
    groups = pd.read_csv(out / "groups.csv")
    black = groups[(groups.audit == "race") & (groups.group == "Black") & (groups.metric == "accuracy")].iloc[0]
    assert black.value == pytest.approx(next(g for g in data["audits"][0]["groups"] if g["group"] == "Black")["accuracy"]["value"])
    flags = pd.read_csv(out / "flags.csv")
    assert len(flags) == data["flag_count"] > 0
    summary = (out / "summary.md").read_text()
    assert "## By race" in summary and "**Black**" in summary and "Flagged" in summary
    for a in data["audits"]:
        for rel in a["plots"].values():
            with Image.open(out / rel) as im:
                im.verify()
    assert "audit written to" in capsys.readouterr().out


def _planted_arrays():
    pred = planted(150, seed=9, extra_error=0.25)
    frame = pred.frame
    y_true = pred.y_true
    y_pred = pred.y_pred
    return y_true, y_pred, {"race": frame["race"].to_numpy(), "gender": frame["gender"].to_numpy()}


def test_reference_may_name_an_intersection_and_bootstrap_may_be_off():
    pred = planted(80, seed=1, extra_error=0.0)
    a = audit(pred, by=["race,gender"], reference="White,Female", bootstrap=0).data["audits"][0]
    assert a["reference"] == "White × Female"
    assert all(s["ci"] is None for g in a["groups"] for s in (g["accuracy"], g["macro_f1"]))
    assert not [f for f in a["flags"] if f["kind"] == "ci_excludes_zero"]
    with pytest.raises(TrainlabError, match="reference group 'Martian' is not a group"):
        audit(pred, by=["race"], reference="Martian")


def test_missing_attribute_values_form_their_own_group():
    pred = planted(40, seed=0, extra_error=0.0)
    pred.frame.loc[:9, "race"] = np.nan
    a = audit(pred, by=["race"], bootstrap=0, min_group_size=5).data["audits"][0]
    labels = [g["group"] for g in a["groups"]]
    assert labels[-1] == "(missing)" and a["groups"][-1]["count"] == 10
    assert sum(g["count"] for g in a["groups"]) == len(pred) and set(RACES) <= set(labels)


def test_groups_are_in_natural_order_and_intersections_are_labelled():
    from trainlab.fairness.groups import make_grouping, parse_by

    frame = pd.DataFrame({"age": ["20-29", "3-9", "0-2", "more than 70", "10-19", None], "g": list("ababab")})
    assert make_grouping(frame, ("age",)).labels == ["0-2", "3-9", "10-19", "20-29", "more than 70", "(missing)"]
    inter = make_grouping(frame, ("age", "g"))
    assert inter.labels[0] == "0-2 × a" and inter.slug == "age_x_g" and inter.values[0] == {"age": "0-2", "g": "a"}
    assert parse_by(["race", "race,gender", ["race", "gender"]]) == [("race",), ("race", "gender")]
    with pytest.raises(TrainlabError, match="repeats a column"):
        parse_by(["race,race"])


def _gender_classifier(n=1200, seed=5):
    """A gender classifier whose errors on true females of race 'B' are planted: recall 0.5 there, 0.9 elsewhere."""
    rng = np.random.default_rng(seed)
    race = rng.choice(["A", "B", "C"], n)
    y_true = rng.integers(0, 2, n)  # 0 Female, 1 Male
    p_right = np.where((race == "B") & (y_true == 0), 0.5, 0.9)
    y_pred = np.where(rng.random(n) < p_right, y_true, 1 - y_true)
    return y_true, y_pred, race


def test_intersecting_an_attribute_with_the_true_label_compares_within_each_class(tmp_path, capsys):
    y_true, y_pred, race = _gender_classifier()
    run = tmp_path / "run"
    (run / "predictions").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"target": "gender"}))
    Predictions.from_frame(table(y_true, y_pred, {"race": race}, ["Female", "Male"])).write(run / "predictions" / "test.csv")
    # by the run's target name (from run.json) or by y_true: the same groups
    result, _ = audit_run(run, by=["race,gender"], bootstrap=300, seed=1)
    same = audit(predictions(y_true, y_pred, {"race": race}, ["Female", "Male"]), by=["race,y_true"], bootstrap=300, seed=1)
    a, b = result.data["audits"][0], same.data["audits"][0]
    assert a["by"] == ["race", "gender"] and [g["group"] for g in a["groups"]] == [g["group"] for g in b["groups"]]
    groups = {g["group"]: g for g in a["groups"]}
    assert set(groups) == {f"{r} × {c}" for r in "ABC" for c in ("Female", "Male")}
    for name, g in groups.items():  # each group's accuracy is its recall of its own class
        r, c = name.split(" × ")
        mask = (race == r) & (y_true == ["Female", "Male"].index(c))
        assert g["accuracy"]["value"] == pytest.approx(np.mean(y_pred[mask] == y_true[mask]))
    gap = a["disparities"]["accuracy_gap"]
    assert gap["lowest"] == "B × Female" and gap["ci"][0] > 0
    kinds = {(f["kind"], f["measure"]) for f in a["flags"]}
    assert ("ci_excludes_zero", "accuracy_gap") in kinds
    # selection rates across groups of different true classes are shown, never flagged
    assert not [f for f in a["flags"] if f["kind"] == "four_fifths" or f["measure"] == "demographic_parity_difference"]
    assert any("compares, within each true class" in n for n in a["notes"])


def test_grouping_by_the_true_label_alone_is_refused_with_the_reason():
    y_true, y_pred, race = _gender_classifier(n=200)
    pred = predictions(y_true, y_pred, {"race": race}, ["Female", "Male"])
    with pytest.raises(TrainlabError, match=r"--by y_true groups by the true label alone.*--by race,y_true"):
        audit(pred, by=["y_true"], bootstrap=0)
    with pytest.raises(TrainlabError, match=r"no attribute column 'gender'.*'y_true' or 'sex' for the true label"):
        audit(pred, by=["race,gender"], bootstrap=0, target="sex")


def test_a_rate_on_one_row_per_group_is_insufficient_evidence_never_flagged():
    # Issue 13 item 9: a class with one row in each group (right in A, wrong in B) gave "TPR gap 100 points
    # (CI 100 to 100)", flagged. Each (group, class) cell a rate rests on must hold --min-group-size rows.
    rng = np.random.default_rng(0)
    grp = np.repeat(["A", "B"], 150)
    y_true = rng.integers(0, 2, 300)
    y_true[[0, 150]] = 2
    y_pred = np.where(rng.random(300) < 0.85, y_true, (y_true + 1) % 2)
    y_pred[0], y_pred[150] = 2, 0
    result = audit(predictions(y_true, y_pred, {"grp": grp}, ["a", "b", "rare"]), by=["grp"], bootstrap=200)
    assert not result.flagged, [f.message for f in result.flags]
    a = result.get("grp")
    tpr = a.group("A").per_class["rare"]["tpr"]
    assert tpr.value == 1.0 and tpr.ci is None and tpr.insufficient  # shown, with no interval (never a point)
    assert "rests on 1 row(s) of true class 'rare'" in tpr.reason
    gap = a.disparities["equal_opportunity_difference"].per_class["rare"]
    assert gap.value is None and gap.insufficient
    eo = [c for c in a.comparisons if c.measure == "equal_opportunity_difference" and c.cls == "rare"]
    assert eo and eo[0].value is None and eo[0].insufficient and "group '" in eo[0].reason
    for g in a.groups:  # every rate that has an interval has a width: none is a point resting on one row
        for per in g.per_class.values():
            for s in per.values():
                assert s.ci is None or s.ci[1] > s.ci[0] or not s.insufficient
    # the classes with enough rows are still compared
    assert a.disparities["equal_opportunity_difference"].per_class["a"].value is not None


def test_many_classes_with_a_random_group_column_raise_no_flag():
    # Issue 13 item 9: 1,000 classes, a group column drawn at random: 15 flags, each a TPR gap on a handful of rows.
    rng = np.random.default_rng(1)
    n, k = 3000, 1000
    y_true = rng.integers(0, k, n)
    y_pred = np.where(rng.random(n) < 0.7, y_true, rng.integers(0, k, n))
    grp = rng.choice(["A", "B"], n)
    result = audit(predictions(y_true, y_pred, {"grp": grp}, [f"c{i}" for i in range(k)]), by=["grp"], bootstrap=100)
    assert not result.flagged, [f.message for f in result.flags][:5]
    eo = result.get("grp").disparities["equal_opportunity_difference"]
    assert eo.value is None


def test_flagged_groups_are_marked_in_every_audit_plot():
    from matplotlib.figure import Figure

    from trainlab.fairness import plots as P

    result = audit(planted(400, seed=0, extra_error=0.2), by=["race"], bootstrap=200, seed=0)
    data = result.data["audits"][0]
    assert P.flagged_groups(data) >= {"Black"}
    for metric in ("accuracy", "selection_rate", "tpr"):
        ax = Figure().add_subplot()
        P._panel(ax, data, metric, None if metric == "accuracy" else result.data["classes"][-1], metric, 30)
        labels = {t.get_text().split("  (")[0]: t for t in ax.get_yticklabels()}
        assert "FLAGGED  Black" in labels and labels["FLAGGED  Black"].get_color() == P.RED, metric
        marked = {k.removeprefix("FLAGGED  ") for k in labels if k.startswith("FLAGGED")}
        assert marked == P.flagged_groups(data), labels  # exactly the groups a flag names
