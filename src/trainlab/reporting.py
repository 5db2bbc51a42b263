"""``trainlab report``: make what the report needs, then render it.

The report package (:mod:`trainlab.report`) only reads artifacts and draws. This module is the command
behind it, and the one place allowed to run the judges for it, exactly as a user would:

* a run with test predictions but no ``metrics.json``: ``trainlab evaluate <run>`` (written into the run,
  where ``trainlab train`` normally writes it; the page says so);
* two or more runs scored on the same test items (ids and true labels) and no compare folder given for
  them: ``trainlab compare`` into a scratch folder the page is built from (the page embeds everything).

What cannot be made (a run without predictions, predictions without labels) the page names with the
command that makes it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from trainlab.artifacts.compare import Comparison
from trainlab.artifacts.metrics import Metrics
from trainlab.artifacts.predictions import Predictions
from trainlab.errors import TrainlabError
from trainlab.report.collect import has_test_predictions, kind_of
from trainlab.report.html import build_report
from trainlab.utils.log import get_logger

log = get_logger("trainlab.report")


def make_report(inputs, *, out=None, title: str | None = None, intro: str | None = None,
                notes: list[str] | None = None) -> Path:
    """Evaluate runs that lack metrics, compare runs scored on the same items, then :func:`build_report`."""
    paths = [Path(p) for p in inputs]
    kinds = [kind_of(p) for p in paths]
    runs = [p for p, k in zip(paths, kinds) if k == "run"]
    notes = list(notes or []) + [note for run in runs if (note := _evaluate_if_missing(run))]
    with tempfile.TemporaryDirectory(prefix="trainlab-report-") as scratch:
        made = _compare_groups(runs, [p for p, k in zip(paths, kinds) if k == "compare"], Path(scratch))
        return build_report(paths, out=out, title=title, intro=intro, notes=notes, made=made)


def _evaluate_if_missing(run: Path) -> str | None:
    """Run evaluate on a run that has test predictions but no metrics.json; a note for the page, or None."""
    if Metrics.exists_in(run) or not has_test_predictions(run):
        return None
    from trainlab.evaluation.evaluate import evaluate

    try:
        evaluate(run, split="test").write(run)
    except (TrainlabError, OSError) as exc:
        return f"{run}: its test predictions could not be evaluated ({exc})"
    log.info("report: %s had no metrics.json; evaluated its test predictions", run)
    return f"{run} had no metrics.json: trainlab report ran 'trainlab evaluate {run}' first."


def _compare_groups(runs: list[Path], compares: list[Path], scratch: Path) -> list[Path]:
    """Compare each group of ≥ 2 runs scored on the same test items, unless a given compare folder covers it."""
    covered = set()
    for folder in compares:
        try:
            covered |= {_resolved(entry.path) for entry in Comparison.read(folder).runs}
        except TrainlabError:
            continue  # the report notes the unreadable file
    groups: dict[tuple, list[Path]] = {}
    for run in runs:
        items = _test_items(run)
        if items is not None:
            groups.setdefault(items, []).append(run)
    made = []
    for k, group in enumerate(g for g in groups.values() if len(g) >= 2):
        if all(_resolved(r) in covered for r in group):
            continue
        from trainlab.evaluation.compare import compare

        folder = scratch / f"compare-{k}"
        try:
            compare(group).write(folder)
        except TrainlabError as exc:
            log.warning("report: runs %s could not be compared: %s", ", ".join(map(str, group)), exc)
            continue
        made.append(folder)
    return made


def _test_items(run: Path) -> tuple | None:
    """(sorted ids, their labels) of a run's labelled test predictions: runs with equal items can be compared."""
    if not has_test_predictions(run):
        return None
    try:
        pred = Predictions.read(run, "test")
    except TrainlabError:
        return None
    if not pred.is_labelled:
        return None
    frame = pred.frame[["id", "y_true"]].astype(str).sort_values("id")
    return tuple(frame["id"]), tuple(frame["y_true"])


def _resolved(path) -> str | None:
    try:
        return str(Path(path).resolve()) if path else None
    except OSError:
        return None
