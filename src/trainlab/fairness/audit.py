"""The fairness audit: any classifier's predictions, across any attributes, with uncertainty.

    result = audit(Predictions.read(run, "test"), by=["race", ["race", "gender"]], favorable="Male")
    result.flagged, result.get("race").disparities["demographic_parity_difference"].value
    write_audit(result, out)   # audit.json (result.write), CSV tables, plots, summary.md

The groups are the values of an attribute column of the predictions table (or the combinations of
several: an intersection). Never the label itself: auditing by the target measures nothing, and the
audit says so when a grouping splits the rows by class. Definitions: docs/fairness.md.
"""

from __future__ import annotations

import json
from pathlib import Path

from trainlab.artifacts.audit import AuditResult
from trainlab.errors import TrainlabError
from trainlab.fairness.analysis import analyse
from trainlab.fairness.bootstrap import CI_LEVEL
from trainlab.fairness.ece import has_probabilities
from trainlab.fairness.folder import write_audit
from trainlab.fairness.plots import plot_names
from trainlab.fairness.groups import check_columns, find_group, make_grouping, parse_by
from trainlab.artifacts.predictions import Predictions
from trainlab.fairness.prose import note_reference_elsewhere
from trainlab.utils.log import get_logger

BOOTSTRAP_METHOD = (
    "group-stratified bootstrap: rows resampled with replacement within each group (drawn as multinomial "
    "confusion counts, the same distribution); a group's rates: 95% Wilson score intervals (F1: percentile); "
    "comparisons and flags: one simultaneous family, its critical value c the bootstrap max-t quantile, Wilson "
    "intervals of the rates and Newcombe intervals of their differences at z = c"
)

log = get_logger("fairness")


def _favorable(pred: Predictions, favorable: str | None) -> tuple[int | None, str]:
    classes = pred.classes
    if favorable is None:
        if len(classes) == 2:
            return 1, f"not given; binary target: the second class in class order, '{classes[1]}' (scikit-learn's positive label)"
        return None, "not given; multi-class target: every class one-vs-rest, headline figures are the worst over classes"
    favorable = str(favorable)
    if favorable not in classes:
        raise TrainlabError(
            f"{pred.source or 'predictions'}: favorable class '{favorable}' is not a class of this table; "
            f"classes: {classes[:30]}{' ...' if len(classes) > 30 else ''}"
        )
    k = classes.index(favorable)
    if not ((pred.y_true == k).any() or (pred.y_pred == k).any()):
        raise TrainlabError(
            f"{pred.source or 'predictions'}: favorable class '{favorable}' never occurs in y_true or y_pred "
            f"({len(pred)} rows), so every selection rate is 0 and every true-positive rate undefined; "
            "check the class name and the split"
        )
    return k, "given"


def audit(predictions: Predictions, *, by, favorable: str | None = None, reference: str | None = None,
          bootstrap: int = 1000, min_group_size: int = 30, seed: int = 0, target: str | None = None) -> AuditResult:
    """Audit ``predictions`` by each grouping in ``by``.

    by: a list with one entry per audit: a column (``"race"``), or an intersection
        (``"race,gender"`` or ``["race", "gender"]``).
    favorable: the favorable class for selection-rate measures (default: the second class of a
        binary target; none for multi-class, whose headline figures are then the worst over classes).
    reference: the reference ("privileged") group of the group-vs-reference measures, in every
        audit that has a group of that name (default: each audit's largest group).
    bootstrap: resamples for the 95% intervals (0: no intervals and no interval-based flags).
    min_group_size: smaller groups are reported but left out of gaps, comparisons and flags.
    target: the name of the predicted column (a run's ``run.json`` target, e.g. ``gender``). ``--by`` may
        name it, or ``y_true``, to group by the true label: ``--by race,gender`` on a gender classifier
        compares races within each true gender (per-class accuracy by race, as in Gender Shades).
    """
    if not isinstance(predictions, Predictions):
        raise TypeError("audit() takes a trainlab.artifacts.predictions.Predictions; use Predictions.read(path) first")
    predictions.require_labels("audit")
    if int(bootstrap) < 0:
        raise TrainlabError(f"--bootstrap must be 0 (no intervals) or a positive number of resamples, not {bootstrap}")
    if int(min_group_size) < 1:
        raise TrainlabError(f"--min-group-size must be at least 1, not {min_group_size}")
    specs = parse_by(by)
    source = predictions.source or "predictions"
    label_names = ["y_true"] + ([target] if target and target not in predictions.attributes else [])
    for spec in specs:
        check_columns(spec, predictions.attributes, source, labels=label_names)
    frame = predictions.frame
    if len(label_names) > 1 and any(target in spec for spec in specs):
        frame = frame.assign(**{target: frame["y_true"]})  # the true label, under the target's own name
    fav, fav_reason = _favorable(predictions, favorable)
    y_true, y_pred = predictions.y_true, predictions.y_pred
    proba = predictions.proba
    if not has_probabilities(proba):
        log.warning("audit: %s holds hard labels (every p_<class> is 0 or 1): calibration by group is unavailable", source)
        proba = None
    groupings = [make_grouping(frame, spec) for spec in specs]
    refs = [find_group(reference, g.labels) if reference is not None else None for g in groupings]
    if reference is not None and all(r is None for r in refs):
        have = "; ".join(f"{g.name}: {g.labels[:15]}" for g in groupings)
        raise TrainlabError(f"reference group '{reference}' is not a group of any audit ({have})")
    audits = []
    for grouping, ref in zip(groupings, refs):
        log.debug("auditing by %s: %d groups, %d bootstrap resamples", grouping.name, len(grouping.labels), bootstrap)
        entry = analyse(grouping, y_true, y_pred, predictions.classes, favorable=fav, reference=ref,
                        bootstrap=int(bootstrap), min_group_size=int(min_group_size), seed=int(seed), proba=proba)
        entry["plots"] = plot_names(grouping.slug, reliability=bool(entry["reliability"]))
        if reference is not None and ref is None:
            entry["notes"].insert(0, note_reference_elsewhere(reference, grouping.name))
        audits.append(entry)
    splits = sorted(set(predictions.frame["split"].astype(str))) if "split" in predictions.frame else []
    data = {
        "source": str(predictions.source) if predictions.source is not None else None,
        "split": splits[0] if len(splits) == 1 else (splits or None),
        "n": int(len(predictions)),
        "classes": list(predictions.classes),
        "favorable": predictions.classes[fav] if fav is not None else None,
        "favorable_reason": fav_reason,
        "min_group_size": int(min_group_size),
        "bootstrap": {"resamples": int(bootstrap), "seed": int(seed), "ci_level": CI_LEVEL, "method": BOOTSTRAP_METHOD},
        "audits": audits,
    }
    return AuditResult.model_validate(data)


def run_target(target: Path) -> str | None:
    """The target column's name from the run's ``run.json`` (a run folder, or a file in its predictions/)."""
    from trainlab.artifacts import ArtifactError
    from trainlab.artifacts.run import RunRecord

    run = target if target.is_dir() else target.parent.parent if target.parent.name == "predictions" else None
    if run is None or not RunRecord.exists_in(run):
        return None
    try:
        name = RunRecord.read(run).target
    except ArtifactError as exc:
        log.warning("%s; the target column is not known from the run", exc)
        return None
    return name or None


def default_out(target: Path, split: str) -> Path:
    """``<run>/audit`` for a run's test split (``audit-<split>`` for another split); next to a file otherwise."""
    target = Path(target)
    if target.is_dir():
        return target / ("audit" if split == "test" else f"audit-{split}")
    if target.parent.name == "predictions":
        return target.parent.parent / ("audit" if target.stem == "test" else f"audit-{target.stem}")
    return target.parent / f"{target.stem}-audit"


def audit_run(target, by, split: str = "test", favorable=None, reference=None, bootstrap: int = 1000,
              min_group_size: int = 30, seed: int = 0, out=None) -> tuple[AuditResult, Path]:
    """``trainlab audit``: read the predictions, audit, write the audit folder; returns the result and the folder
    (the command line prints the summary)."""
    pred = Predictions.read(target, split)
    result = audit(pred, by=by, favorable=favorable, reference=reference, bootstrap=bootstrap,
                   min_group_size=min_group_size, seed=seed, target=run_target(Path(target)))
    out = Path(out) if out is not None else default_out(Path(target), split)
    write_audit(result, out)
    return result, out


__all__ = ["AuditResult", "audit", "audit_run"]
