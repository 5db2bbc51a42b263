"""The change in each fairness gap between two models on the same items (#17 item 2): compare --by, mitigation."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame, demographic_parity_difference, equalized_odds_difference, true_positive_rate,
)

from trainlab.artifacts.compare import Comparison
from trainlab.artifacts.predictions import Predictions
from trainlab.cli import main
from trainlab.evaluation.compare import compare
from trainlab.fairness.audit import audit
from trainlab.fairness.gap_change import gap_changes
from trainlab.fairness.groups import make_grouping
from trainlab.report.html import build_report

# Tiny hand-checkable data: two groups of 8 items, binary target (class 1 favorable).
#   group x: y = 1 1 1 1 0 0 0 0;  A predicts 1 1 1 0 0 0 0 1  (TPR 3/4, FPR 1/4, SR 4/8)
#                                 B predicts 1 1 0 0 0 0 0 0  (TPR 2/4, FPR 0,   SR 2/8)
#   group y: y = 1 1 0 0 0 0 0 0;  A predicts 0 0 0 0 0 0 0 0  (TPR 0/2, FPR 0,   SR 0)
#                                 B predicts 1 0 1 0 0 0 0 0  (TPR 1/2, FPR 1/6, SR 2/8)
GROUP = np.array(["x"] * 8 + ["y"] * 8)
Y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0])
A = np.array([1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])
B = np.array([1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0])
CLASSES = ["no", "yes"]


def _grouping(group=GROUP):
    return make_grouping(pd.DataFrame({"g": group}), ("g",))


def _rows(result):
    return {r["measure"]: r for r in result.rows}


def test_point_changes_equal_fairlearn_and_the_hand_computation():
    result = gap_changes(_grouping(), Y, A, B, CLASSES, favorable=1, minimum=1, replicates=200,
                         rng=np.random.default_rng(0))
    assert "smallest compared group has 8 rows" in result.note  # groups this small: the intervals cover less
    rows = _rows(result)
    # by hand: TPR gaps A |3/4 - 0| = 0.75, B |1/2 - 1/2| = 0; SR gaps A 0.5, B 0; FPR gaps A 0.25, B 1/6
    assert rows["equal_opportunity_difference"]["change"] == pytest.approx(0.75 - 0.0)
    assert rows["demographic_parity_difference"]["change"] == pytest.approx(0.5 - 0.0)
    assert rows["false_positive_rate_difference"]["change"] == pytest.approx(0.25 - 1 / 6)
    assert rows["equalized_odds_difference"]["change"] == pytest.approx(0.75 - 1 / 6)
    assert rows["accuracy_gap"]["change"] == pytest.approx(abs(6 / 8 - 6 / 8) - abs(6 / 8 - 6 / 8))
    assert rows["accuracy"]["change"] == pytest.approx(np.mean(A == Y) - np.mean(B == Y))
    # and by fairlearn, on the raw rows
    for pred, side in ((A, "a"), (B, "b")):
        eo = MetricFrame(metrics=true_positive_rate, y_true=Y, y_pred=pred, sensitive_features=GROUP).difference()
        assert rows["equal_opportunity_difference"][side] == pytest.approx(eo)
        assert rows["demographic_parity_difference"][side] == pytest.approx(
            demographic_parity_difference(Y, pred, sensitive_features=GROUP))
        assert rows["equalized_odds_difference"][side] == pytest.approx(
            equalized_odds_difference(Y, pred, sensitive_features=GROUP))


def test_every_interval_brackets_its_change_and_a_model_against_itself_is_exactly_zero():
    rng = np.random.default_rng(3)
    n = 1500
    group = rng.choice(["p", "q", "r"], n)
    y = rng.integers(0, 2, n)
    a = np.where(rng.random(n) < np.where(group == "p", 0.3, 0.1), 1 - y, y)
    b = np.where(rng.random(n) < 0.1, 1 - y, y)
    g = _grouping(group)
    result = gap_changes(g, y, a, b, CLASSES, favorable=1, replicates=300, rng=np.random.default_rng(1))
    assert result.note is None  # every group holds about 500 rows
    rows = result.rows
    assert all(r["ci"] is not None and r["ci"][0] <= r["change"] <= r["ci"][1] for r in rows), rows
    assert _rows_of(rows)["accuracy_gap"]["excludes_zero"]  # 30% vs 10% errors in one group: a change it can show
    same = gap_changes(g, y, a, a, CLASSES, favorable=1, replicates=300, rng=np.random.default_rng(1)).rows
    for r in same:
        assert r["change"] == 0.0 and r["ci"] == [0.0, 0.0] and r["excludes_zero"] is False, r


def _rows_of(rows):
    return {r["measure"]: r for r in rows}


def test_the_two_values_are_the_audits_figures_on_multiclass_data():
    """Worst over classes, the reference headlines and the per-rate minimum: the same numbers as two audits."""
    rng = np.random.default_rng(5)
    n = 900
    group = rng.choice(["u", "v", "w"], n, p=[0.5, 0.3, 0.2])
    y = rng.integers(0, 3, n)
    preds = [np.where(rng.random(n) < e, (y + 1) % 3, y) for e in (np.where(group == "w", 0.35, 0.15), np.full(n, 0.2))]
    classes = ["c0", "c1", "c2"]
    audits = [audit(Predictions.build(classes=classes, y_true=y, y_pred=p, proba=np.eye(3)[p], split="test",
                                      attributes=pd.DataFrame({"g": group})), by=["g"], bootstrap=0).audits[0]
              for p in preds]
    rows = gap_changes(_grouping(group), y, preds[0], preds[1], classes, favorable=None, replicates=0).rows
    checked = 0
    for r in rows[1:]:
        for side, aud in zip("ab", audits):
            assert r[side] == pytest.approx(aud.disparities[r["measure"]].value, abs=1e-12), (r["measure"], side)
            checked += 1
    assert checked >= 16


def _write(path, y_pred, group, seed=0):
    n = len(y_pred)
    Predictions.build(classes=CLASSES, y_true=Y2[:n], y_pred=y_pred, proba=np.eye(2)[y_pred], split="test",
                      ids=[f"i{i}" for i in range(n)], attributes=pd.DataFrame({"race": group})).write(path)
    return path


RNG = np.random.default_rng(11)
Y2 = RNG.integers(0, 2, 400)
RACE = RNG.choice(["Black", "White", "Asian"], 400)


def test_compare_by_writes_reads_back_and_prints_the_changes(tmp_path, capsys):
    a = np.where(RNG.random(400) < np.where(RACE == "Black", 0.3, 0.1), 1 - Y2, Y2)
    b = np.where(RNG.random(400) < 0.1, 1 - Y2, Y2)
    pa, pb = _write(tmp_path / "a.csv", a, RACE), _write(tmp_path / "b.csv", b, RACE)
    assert main(["compare", str(pa), str(pb), "--by", "race", "--bootstrap", "200", "--out", str(tmp_path / "cmp")]) == 0
    out = capsys.readouterr().out
    assert "Fairness gaps by race: a − b" in out and "Equal opportunity difference (TPR gap): a " in out
    back = Comparison.read(tmp_path / "cmp")
    (f,) = back.fairness
    direct = gap_changes(make_grouping(pd.DataFrame({"race": RACE}), ("race",)), Y2, a, b, CLASSES, favorable=1,
                         replicates=0).rows
    assert [r["change"] for r in f["measures"]] == pytest.approx([r["change"] for r in direct])
    assert (tmp_path / "cmp" / "fairness.csv").is_file()
    # the report renders the table: each change and its interval as compare.json holds them
    text = build_report([tmp_path / "cmp"], out=tmp_path / "r.html").read_text(encoding="utf-8")
    for m in f["measures"]:
        cell = re.search(r'<[^>]*data-gap-change="a\|b\|race"[^>]*data-measure="%s"[^>]*>' % m["measure"], text)
        assert cell, m["measure"]
        if m["change"] is not None:
            assert float(re.search(r'data-value="([^"]+)"', cell.group(0)).group(1)) == m["change"]
    # a version-1 file (before the fairness field) still reads
    raw = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    raw.pop("fairness")
    raw["schema_version"] = 1
    assert Comparison.from_json(raw).fairness is None


def test_compare_by_a_column_not_in_both_runs_is_a_one_line_error(tmp_path, capsys):
    pa = _write(tmp_path / "a.csv", Y2, RACE)
    pb = _write(tmp_path / "b.csv", 1 - Y2, RACE)
    assert main(["compare", str(pa), str(pb), "--by", "racee", "--out", str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'racee'" in err[0] and "['race']" in err[0], err


def test_compare_by_with_seed_groups_is_refused(tmp_path):
    runs = [_write(tmp_path / f"{i}.csv", Y2, RACE) for i in range(4)]
    with pytest.raises(Exception, match="seed groups"):
        compare([], groups=[runs[:2], runs[2:]], by=["race"])


def _pattern(point, spread, b=4):
    """Replicates point ± spread, alternating (b of them): the bootstrap SD is spread·√(b/(b−1)), every
    |θ* − θ̂| / se is √((b−1)/b), so the max-t quantile c is that and each family interval is θ̂ ± spread."""
    e = np.tile([1.0, -1.0], b // 2)[:, None]
    return np.asarray(point, float)[None, :] + e * np.asarray(spread, float)[None, :]


def test_family_interval_of_a_change_between_tied_gaps_is_the_hand_computed_bound():
    from trainlab.fairness.gap_change import family_interval

    # two groups, one pair: A's difference 0.10 ± 0.20, B's 0.05 ± 0.10, the paired change 0.05 ± 0.10.
    # Neither gap is told from 0 (L_A = L_B = 0), so either orientation may be each model's maximum:
    # upper = min(U_A − L_B, max hi_Δ) = min(0.30, 0.15); lower = max(L_A − U_B, min lo_Δ) = max(−0.15, −0.15)
    ci = family_interval(np.array([0.10]), np.array([0.05]), _pattern([0.10], [0.20]), _pattern([0.05], [0.10]))
    assert ci == pytest.approx([-0.15, 0.15])
    assert ci[0] <= 0.10 - 0.05 <= ci[1]


def test_family_interval_with_separated_extremes_is_the_paired_percentile_of_those_pairs():
    from trainlab.fairness.gap_change import family_interval

    # A: 0.30 ± 0.05 and B: 0.20 ± 0.02 are each the only candidate for its maximum; the change is then the
    # fixed contrast, replicates 0.10 ± 0.03: the percentile interval of {0.07, 0.13, 0.07, 0.13}
    ci = family_interval(np.array([0.30]), np.array([0.20]), _pattern([0.30], [0.05]), _pattern([0.20], [0.02]))
    assert ci == pytest.approx([0.07, 0.13])


def test_family_interval_of_a_model_against_itself_is_zero():
    from trainlab.fairness.gap_change import family_interval

    boot = _pattern([0.1, -0.05, 0.02], [0.03, 0.02, 0.04])
    assert family_interval(np.array([0.1, -0.05, 0.02]), np.array([0.1, -0.05, 0.02]), boot, boot) == [0.0, 0.0]
