"""Mitigation by post-processing: per-group decision rules fitted on val, applied to test.

* Binary targets (or any target with ``--favorable``): fairlearn's ThresholdOptimizer
  (Hardt et al., 2016) on the stored probability of the favorable class, wrapped as a tiny
  prefit estimator (:class:`StoredScore`); predictions are randomised between two thresholds
  where the optimum needs it, seeded by ``seed``. A row not predicted favorable gets its most
  probable other class (for a binary target: the other class).
* Multi-class targets without a favorable class: per-group log-score offsets
  (:mod:`trainlab.fairness.offsets`).

Only ``y_pred`` changes; ids, attributes and probabilities are kept (so every row still sums to
1), and the output folder works as a run folder for ``trainlab evaluate`` and ``trainlab audit``.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from trainlab.artifacts.audit import GroupingAudit
from trainlab.errors import TrainlabError
from trainlab.fairness.audit import _favorable, audit
from trainlab.fairness.folder import write_audit
from trainlab.fairness.gap_change import GapChanges, gap_changes
from trainlab.fairness.groups import check_columns, make_grouping, parse_by
from trainlab.artifacts.predictions import Predictions
from trainlab.fairness.measures import measures
from trainlab.utils.io import write_json, write_table
from trainlab.utils.log import get_logger

CONSTRAINTS = ("demographic_parity", "equalized_odds", "true_positive_rate_parity")
log = get_logger("fairness")


class StoredScore(ClassifierMixin, BaseEstimator):
    """A 'fitted' binary classifier whose score is column 0 of X: a probability already stored
    in the predictions table. It lets ThresholdOptimizer (``prefit=True``) post-process
    predictions without the model that made them."""

    def fit(self, X=None, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def predict_proba(self, X) -> np.ndarray:
        s = np.asarray(X, dtype=np.float64)[:, 0]
        return np.column_stack([1.0 - s, s])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def _groups(pred_val: Predictions, pred_test: Predictions, spec):
    """Group labels of val and test rows, on one shared list of labels."""
    val, test = make_grouping(pred_val.frame, spec), make_grouping(pred_test.frame, spec)
    unseen = sorted(set(test.labels) - set(val.labels))
    return val, test, unseen


def _threshold(val: Predictions, test: Predictions, gval, gtest, *, fav: int, constraint: str, seed: int):
    from fairlearn.postprocessing import ThresholdOptimizer

    sf_val = np.asarray(gval.labels, dtype=object)[gval.codes]
    sf_test = np.asarray(gtest.labels, dtype=object)[gtest.codes]
    y_val = (val.y_true == fav).astype(int)
    for label in gval.labels:
        present = np.unique(y_val[sf_val == label])
        if len(present) < 2:
            what = f"only '{val.classes[fav]}'" if present[0] == 1 else f"no '{val.classes[fav]}'"
            raise TrainlabError(
                f"group '{label}' has {what} among its val labels: its true- and false-positive rates cannot both be "
                "estimated, so no threshold can be fitted for it; merge it with another group or use more val data"
            )
    optimizer = ThresholdOptimizer(estimator=StoredScore().fit(), constraints=constraint, objective="accuracy_score",
                                   prefit=True, predict_method="predict_proba")
    X_val = pd.DataFrame({"score": val.proba[:, fav]})
    X_test = pd.DataFrame({"score": test.proba[:, fav]})
    try:
        optimizer.fit(X_val, y_val, sensitive_features=sf_val)
    except ValueError as exc:
        raise TrainlabError(f"fairlearn's ThresholdOptimizer could not fit per-group thresholds on val: {exc}") from exc
    chosen = {}
    for label, op in optimizer.interpolated_thresholder_.interpolation_dict.items():
        chosen[str(label)] = {k: (float(v) if np.isscalar(v) else str(v)) for k, v in dict(op).items()}

    def decide(pred: Predictions, sf, X):
        favorable = optimizer.predict(X, sensitive_features=sf, random_state=seed).astype(bool)
        other = pred.proba.copy()
        other[:, fav] = -np.inf
        return np.where(favorable, fav, other.argmax(axis=1))

    method = {"method": "fairlearn.postprocessing.ThresholdOptimizer", "objective": "accuracy_score",
              "score": f"p_{val.classes[fav]}", "predict_method": "predict_proba", "prefit": True,
              "random_state": seed, "per_group": chosen}
    return decide(val, sf_val, X_val), decide(test, sf_test, X_test), method


def _offsets(val: Predictions, test: Predictions, gval, gtest, *, constraint, tolerance, min_group_size):
    from trainlab.fairness.offsets import apply_offsets, fit_offsets

    offsets, record = fit_offsets(val.proba, val.y_true, gval.codes, n_groups=len(gval.labels), constraint=constraint,
                                  tolerance=tolerance, min_group_size=min_group_size)
    fitted = np.bincount(gval.codes, minlength=len(gval.labels)) >= min_group_size
    index = {label: i for i, label in enumerate(gval.labels)}
    test_codes = np.array([index.get(label, -1) for label in np.asarray(gtest.labels, dtype=object)[gtest.codes]])

    def decide(pred: Predictions, codes):
        new = apply_offsets(pred.proba, codes, offsets)
        keep = (codes < 0) | ~fitted[np.clip(codes, 0, None)]
        return np.where(keep, pred.y_pred, new)

    method = {"method": "per-group log-score offsets, coordinate search (docs/fairness.md)", **record,
              "per_group": {label: {"fitted": bool(fitted[i]), "offsets": dict(zip(val.classes, map(float, offsets[i])))}
                            for i, label in enumerate(gval.labels)}}
    if not record["tolerance_met"]:
        log.warning("mitigate: the %s gap on val is %.3f after the search, above the tolerance %.3f",
                    constraint, record["val_gap_after"], tolerance)
    return decide(val, gval.codes), decide(test, test_codes), method


def _with_predictions(pred: Predictions, y_pred: np.ndarray) -> Predictions:
    return pred.with_y_pred(y_pred)


def before_after(before: GroupingAudit, after: GroupingAudit, split: str, changes: GapChanges | None = None) -> list[dict]:
    """Rows of the before/after table from two audits of one grouping; ``changes`` (after − before on the same
    items, :func:`~trainlab.fairness.gap_change.gap_changes`) gives each change its paired bootstrap interval."""
    paired = {r["measure"]: r for r in changes.rows} if changes is not None else {}
    rows = []
    pairs = [("accuracy", before.overall.accuracy, after.overall.accuracy)]
    # every headline disparity of the catalogue (favorable class, or worst over classes)
    pairs += [(m.name, before.disparities.get(m.name), after.disparities.get(m.name)) for m in measures("disparity")]
    for measure, b, a in pairs:
        if b is None or a is None:
            continue
        change = a.value - b.value if a.value is not None and b.value is not None else None
        p = paired.get(measure)
        rows.append({"split": split, "measure": measure, "class": getattr(b, "cls", None),
                     "before": b.value, "before_ci": b.ci, "after": a.value, "after_ci": a.ci,
                     "change": change, "change_ci": p["ci"] if p is not None and change is not None else None,
                     "reason": b.reason or a.reason})
    return rows


def mitigate(val: Predictions, test: Predictions, *, by, constraint: str = "demographic_parity",
             favorable: str | None = None, tolerance: float = 0.05, min_group_size: int = 30, seed: int = 0,
             bootstrap: int = 1000) -> dict:
    """Fit per-group decision rules on ``val``, apply them to ``val`` and ``test``.

    Returns ``{"val": Predictions, "test": Predictions, "record": dict}``; the record holds the
    method and its fitted parameters and the before/after table (accuracy and each disparity
    with 95% CIs, on both splits, computed by :func:`trainlab.fairness.audit.audit`).
    """
    if constraint not in CONSTRAINTS:
        raise TrainlabError(f"unknown constraint '{constraint}'; choose one of {', '.join(CONSTRAINTS)}")
    if not 0 <= tolerance < 1:
        raise TrainlabError(f"--tolerance must be in [0, 1), not {tolerance}")
    if val.classes != test.classes:
        raise TrainlabError(f"val and test predictions have different classes ({val.classes[:5]}… vs {test.classes[:5]}…)")
    specs = parse_by(by)
    if len(specs) != 1:
        raise TrainlabError("mitigate equalises across one grouping: pass one --by (a column, or an intersection a,b)")
    spec = specs[0]
    for pred in (val, test):
        check_columns(spec, pred.attributes, pred.source or "predictions")
    gval, gtest, unseen = _groups(val, test, spec)
    fav, fav_reason = _favorable(val, favorable)
    if unseen and fav is not None:
        raise TrainlabError(f"group(s) {unseen} occur in test but not in val, so no threshold was fitted for them; "
                            "mitigate needs every group in val")
    if fav is not None:
        yv, yt, method = _threshold(val, test, gval, gtest, fav=fav, constraint=constraint, seed=seed)
    else:
        yv, yt, method = _offsets(val, test, gval, gtest, constraint=constraint, tolerance=tolerance,
                                  min_group_size=min_group_size)
        if unseen:
            method["unseen_test_groups"] = unseen
    new_val, new_test = _with_predictions(val, yv), _with_predictions(test, yt)
    table, audits, notes = [], {}, []
    for split, old, new in (("val", val, new_val), ("test", test, new_test)):
        kw = dict(by=[spec], favorable=val.classes[fav] if fav is not None else None, bootstrap=bootstrap,
                  min_group_size=min_group_size, seed=seed)
        b, a = audit(old, **kw), audit(new, **kw)
        audits[split] = a
        grouping = gval if split == "val" else gtest
        rng = np.random.default_rng([int(seed), zlib.crc32(grouping.name.encode()), 17])
        changes = gap_changes(grouping, old.y_true, new.y_pred, old.y_pred, list(val.classes), favorable=fav,
                              minimum=min_group_size, replicates=bootstrap, rng=rng)
        table += before_after(b.audits[0], a.audits[0], split, changes)
        if changes.note:
            notes.append(f"{split}: {changes.note}")
    record = {
        "by": list(spec), "constraint": constraint, "favorable": val.classes[fav] if fav is not None else None,
        "favorable_reason": fav_reason, "seed": seed, "tolerance": tolerance if fav is None else None,
        "min_group_size": min_group_size, "source_val": str(val.source), "source_test": str(test.source),
        "changed_rows": {"val": int((yv != val.y_pred).sum()), "test": int((yt != test.y_pred).sum())},
        **method, "before_after": table, "change_notes": notes,
    }
    return {"val": new_val, "test": new_test, "record": record, "audit_after": audits["test"]}


def format_table(rows: list[dict]) -> str:
    def fmt(v, ci):
        if v is None:
            return "undefined"
        return f"{v:.3f}" + (f" [{ci[0]:.3f}, {'∞' if ci[1] is None else f'{ci[1]:.3f}'}]" if ci else "")

    lines = [f"{'split':5}  {'measure':32} {'before (95% CI)':26} {'after (95% CI)':26} change (95% CI, paired)"]
    for r in rows:
        change = "" if r["change"] is None else f"{r['change']:+.3f}"
        if r["change"] is not None and r.get("change_ci"):
            change += f" [{r['change_ci'][0]:+.3f}, {r['change_ci'][1]:+.3f}]"
        lines.append(f"{r['split']:5}  {r['measure']:32} {fmt(r['before'], r['before_ci']):26} "
                     f"{fmt(r['after'], r['after_ci']):26} {change}")
    return "\n".join(lines)


def mitigate_run(run, by, constraint: str = "demographic_parity", favorable=None, out=None, seed: int = 0,
                 tolerance: float = 0.05, min_group_size: int = 30, bootstrap: int = 1000) -> dict:
    """``trainlab mitigate``: read val and test of a run, mitigate, write a new run-like folder (``result["out"]``)."""
    run = Path(run)
    if not run.exists():
        raise TrainlabError(f"{run}: no such run folder")
    if not run.is_dir():
        raise TrainlabError(f"{run}: not a run folder; mitigate needs <run>/predictions/val.csv and test.csv "
                            "(thresholds are fitted on val and judged on test)")
    val, test = Predictions.read(run, "val"), Predictions.read(run, "test")
    result = mitigate(val, test, by=by, constraint=constraint, favorable=favorable, tolerance=tolerance,
                      min_group_size=min_group_size, seed=seed, bootstrap=bootstrap)
    out = Path(out) if out is not None else run / f"mitigated-{constraint}"
    for split in ("val", "test"):
        result[split].write(out / "predictions" / f"{split}.csv")
    write_json(out / "mitigation.json", result["record"])
    table = pd.DataFrame([{**{k: v for k, v in r.items() if not k.endswith("_ci")},
                           "change_ci_low": r["change_ci"][0] if r.get("change_ci") else None,
                           "change_ci_high": r["change_ci"][1] if r.get("change_ci") else None,
                           "before_ci_low": r["before_ci"][0] if r["before_ci"] else None,
                           "before_ci_high": r["before_ci"][1] if r["before_ci"] else None,
                           "after_ci_low": r["after_ci"][0] if r["after_ci"] else None,
                           "after_ci_high": r["after_ci"][1] if r["after_ci"] else None}
                          for r in result["record"]["before_after"]])
    write_table(table, out / "before_after.csv")
    write_audit(result["audit_after"], out / "audit")
    result["out"] = out
    return result


CONSTRAINED = {"demographic_parity": "demographic_parity_difference", "equalized_odds": "equalized_odds_difference",
               "true_positive_rate_parity": "equal_opportunity_difference"}


def change_sentence(rows: list[dict], constraint: str, split: str = "test") -> str | None:
    """The constrained gap's before, after and change with its paired interval, in one sentence."""
    row = next((r for r in rows if r["split"] == split and r["measure"] == CONSTRAINED.get(constraint)), None)
    if row is None or row["change"] is None:
        return None
    name = row["measure"].replace("_", " ")
    text = f"{split}: the {name} went from {row['before']:.3f} to {row['after']:.3f}, change {row['change']:+.3f}"
    ci = row.get("change_ci")
    if not ci:
        return text + " (no interval: --bootstrap 0)"
    lo, hi = ci
    verdict = (f"a reduction the {split} items show" if hi < 0 else f"an increase the {split} items show" if lo > 0
               else "the items cannot tell it from no change")
    return text + f" (95% CI {lo:+.3f} to {hi:+.3f}, paired bootstrap: {verdict})"


def mitigation_summary(result: dict) -> str:
    """What ``trainlab mitigate`` prints: the method, how many test predictions changed, the before/after table."""
    rec = result["record"]
    return "\n".join([
        f"mitigation: {rec['constraint']} across {' × '.join(rec['by'])} ({rec['method']}); "
        f"{rec['changed_rows']['test']} of {len(result['test'])} test predictions changed",
        format_table(rec["before_after"]),
        *filter(None, [change_sentence(rec["before_after"], rec["constraint"])]),
        *(f"note: {n}" for n in rec.get("change_notes") or [] if n.startswith("test")),
        f"\nwritten to {result['out']}/ (predictions/val.csv, predictions/test.csv, mitigation.json, before_after.csv, audit/)",
    ])
