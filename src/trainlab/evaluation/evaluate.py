"""``trainlab evaluate``: metrics, per-class table, top confusions and plots from one predictions table.

Reads only the predictions table (:class:`trainlab.artifacts.predictions.Predictions`), never a model or an image;
writes the :class:`trainlab.artifacts.metrics.Metrics` artifact beside its tables and plots.

Where the files go (``<tag>`` keeps outputs of different splits or files apart):

* a run folder, split ``test``: ``<run>/metrics.json``, ``per_class.csv``, ``top_confusions.csv``;
* a run folder, another split: ``<run>/metrics_<split>.json``, ``per_class_<split>.csv``, ...;
* a predictions file ``<dir>/<stem>.csv``: ``<dir>/metrics_<stem>.json``, ``per_class_<stem>.csv``, ...;
* plots always carry the split (run) or stem (file): ``plots/confusion_matrix_<split>.png``,
  ``plots/confusion_matrix_normalized_<split>.png``, ``plots/reliability_<split>.png``.

``--out DIR`` puts the same names in DIR instead. ``metrics.json`` lists every file it wrote under
``files`` (paths relative to its own folder).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trainlab._version import __version__
from trainlab.artifacts.metrics import METRIC_KEYS, Bootstrap, Metrics
from trainlab.artifacts.predictions import Predictions
from trainlab.evaluation.calibration import reliability_bins
from trainlab.evaluation.metrics import compute_metrics, top_confusions
from trainlab.evaluation.ordering import confusion_order
from trainlab.evaluation.paired import LINEAR_AUC_NOTE, auc_method, metric_intervals
from trainlab.utils.io import write_table
from trainlab.utils.log import get_logger

log = get_logger(__name__)

BOOTSTRAP = 1000  # item resamples for the intervals of the overall metrics
PER_CLASS_COLUMNS = ("index", "class", "support", "predicted", "precision", "recall", "f1", "roc_auc", "note")
LABELS = {
    "accuracy": "accuracy",
    "top5_accuracy": "top-5 accuracy",
    "balanced_accuracy": "balanced accuracy",
    "f1_macro": "F1 macro",
    "f1_weighted": "F1 weighted",
    "roc_auc": "ROC AUC",
    "log_loss": "log loss",
    "ece": "ECE",
}


def output_names(target: str | Path, split: str) -> dict[str, str]:
    """The file names (relative to the output folder) for evaluating ``target``."""
    target = Path(target)
    if target.is_dir():
        suffix, tag = "" if split == "test" else f"_{split}", split
    else:
        suffix, tag = f"_{target.stem}", target.stem
    return {
        "metrics": f"metrics{suffix}.json",
        "per_class": f"per_class{suffix}.csv",
        "top_confusions": f"top_confusions{suffix}.csv",
        "confusion_matrix": f"plots/confusion_matrix_{tag}.png",
        "confusion_matrix_normalized": f"plots/confusion_matrix_normalized_{tag}.png",
        "reliability": f"plots/reliability_{tag}.png",
    }


def _split_name(pred: Predictions, target: Path, split: str) -> str:
    if target.is_dir():
        return split
    values = pred.frame["split"].astype(str).unique()
    return str(values[0]) if len(values) == 1 and values[0] else target.stem


def output_folder(target: str | Path, out: str | Path | None = None) -> Path:
    """Where an evaluation of ``target`` is written: ``out``, else the run folder, else the file's folder."""
    target = Path(target)
    return Path(out) if out else target if target.is_dir() else target.parent


@dataclass(frozen=True)
class Evaluation:
    """What ``evaluate`` found: ``metrics`` (the :class:`Metrics` artifact), the per-class table, the top
    confusions, and what the plots are drawn from. ``write(folder)`` stores it all; ``summary()`` says it in text."""

    metrics: Metrics
    per_class: pd.DataFrame
    confusions: pd.DataFrame
    confusion: np.ndarray  # counts, rows = true class
    calibration: dict  # reliability bins (trainlab.evaluation.calibration.calibration_bins)
    label: str  # the run or file name, for figure titles

    def write(self, folder: str | Path) -> Path:
        """Write tables, plots and (last, so its presence means the set is complete) the metrics file."""
        folder = Path(folder)
        files, m = self.metrics.files, self.metrics
        write_table(self.per_class, folder / files["per_class"])
        write_table(self.confusions, folder / files["top_confusions"])
        if "reliability" in files:
            from trainlab.evaluation import plots as P  # matplotlib only when drawing

            for key, normalize, what in (("confusion_matrix", False, "counts"), ("confusion_matrix_normalized", True, "row-normalised")):
                fig = P.confusion_matrix_figure(self.confusion, list(m.classes), normalize=normalize,
                                                title=f"Confusion matrix ({what}): {self.label}, {m.split}, n = {m.n:,}")
                P.save(fig, folder / files[key])
            fig = P.reliability_figure(self.calibration, ece=m.ece, title=f"Reliability: {self.label}, {m.split}, n = {m.n:,}",
                                       ece_bins=m.ece_bins)
            P.save(fig, folder / files["reliability"])
        path = m.write(folder / files["metrics"])
        log.debug("wrote %s", path)
        return path

    def summary(self, folder: str | Path | None = None) -> str:
        return format_summary(self.metrics, folder, self.per_class, self.confusions)

    def figures(self) -> dict:
        """The confusion matrix and the reliability diagram as matplotlib Figures (inline in a notebook)."""
        from trainlab.evaluation import plots as P

        m = self.metrics
        return {
            "confusion_matrix": P.confusion_matrix_figure(self.confusion, list(m.classes), normalize=False,
                                                          title=f"Confusion matrix: {self.label}, {m.split}, n = {m.n:,}"),
            "reliability": P.reliability_figure(self.calibration, ece=m.ece, ece_bins=m.ece_bins,
                                                title=f"Reliability: {self.label}, {m.split}, n = {m.n:,}"),
        }

    def _repr_markdown_(self) -> str:
        return self.summary()


def evaluate(target: str | Path | Predictions, split: str = "test", *, plots: bool = True,
             bootstrap: int = BOOTSTRAP, seed: int = 0, auc: str = "auto") -> Evaluation:
    """Evaluate a run folder's ``predictions/<split>`` table, or a predictions file (or a table already read).

    Returns an :class:`Evaluation`; ``.write(output_folder(target, out))`` stores ``metrics.json`` (the
    metrics of :func:`trainlab.evaluation.metrics.compute_metrics`, ``None`` where undefined with the reason
    under ``undefined``), ``per_class.csv``, ``top_confusions.csv`` and, with ``plots``, the figures.
    The table must have a true label on every row. ``bootstrap`` item resamples (seed ``seed``; 0: none) give
    the 95% intervals of accuracy, balanced accuracy, macro F1 and ROC AUC; the confusion counts and the class
    order that puts confused classes side by side are stored too (``metrics.json`` schema 2). ``auc``: how the
    AUC's replicates are computed (:func:`trainlab.evaluation.paired.auc_method`: by default the exact weighted
    count up to 5 million item-class scores, DeLong placement values above; ``bootstrap.method`` says which).
    """
    pred = target if isinstance(target, Predictions) else Predictions.read(target, split)
    target = Path(target) if not isinstance(target, Predictions) else (pred.source or Path("predictions.csv"))
    pred.require_labels("evaluate")
    names = output_names(target, split)
    y_true, y_pred, proba = pred.y_true, pred.y_pred, pred.proba
    result = compute_metrics(y_true, y_pred, proba, classes=list(pred.classes))
    per_class = pd.DataFrame(result.pop("per_class"), columns=list(PER_CLASS_COLUMNS))
    result.pop("n_classes")
    metrics = Metrics(
        split=_split_name(pred, target, split),
        classes=pred.classes,
        source=str(pred.source),
        y_pred_differs_from_argmax=int((proba.argmax(axis=1) != y_pred).sum()),
        files=dict(names) if plots else {k: v for k, v in names.items() if not v.startswith("plots/")},
        trainlab_version=__version__,
        **result,  # n, the headline metrics, roc_auc_average, ece_bins, undefined
    )
    from sklearn.metrics import confusion_matrix

    confusion = confusion_matrix(y_true, y_pred, labels=np.arange(len(pred.classes)))
    true_i, pred_i = np.nonzero(confusion)
    intervals = metric_intervals(y_true, y_pred, proba, replicates=bootstrap, seed=seed, auc=auc) if bootstrap else {}
    method = Bootstrap.model_fields["method"].default
    if auc_method(len(y_true), len(pred.classes), auc) == "linear":
        method += f"; {LINEAR_AUC_NOTE}"
    metrics = metrics.model_copy(update={
        "intervals": {m: ci for m, ci in intervals.items() if metrics.value(m) is not None},
        "bootstrap": Bootstrap(replicates=bootstrap, seed=seed, method=method) if bootstrap else None,
        "confusion_cells": [(int(i), int(j), int(confusion[i, j])) for i, j in zip(true_i, pred_i)],
        "class_order": confusion_order(confusion),
    })
    return Evaluation(
        metrics=metrics,
        per_class=per_class,
        confusions=top_confusions(y_true, y_pred, classes=list(pred.classes)),
        confusion=confusion,
        calibration=reliability_bins(y_true, proba, n_bins=metrics.ece_bins),
        label=target.name if target.is_dir() else target.stem,
    )


def format_summary(metrics: Metrics, folder: Path | None = None, per_class: pd.DataFrame | None = None,
                   confusions: pd.DataFrame | None = None) -> str:
    """A compact, readable text summary of an evaluation."""
    lines = [
        f"{metrics.source}: split {metrics.split}, {metrics.n:,} items, {metrics.n_classes} classes",
    ]
    for key in METRIC_KEYS:
        value = metrics.value(key)
        name = LABELS[key] + (f" ({metrics.ece_bins} bins)" if key == "ece" else "")
        if value is None:
            text = f"undefined: {metrics.undefined.get(key, '')}"
        else:
            text = f"{value:.4f}"
            if metrics.interval(key):
                low, high = metrics.interval(key)
                text += f"  (95% CI {low:.4f} to {high:.4f})"
            if key == "roc_auc":
                text += f"  ({metrics.roc_auc_average})"
        lines.append(f"  {name:<20} {text}")
    if metrics.y_pred_differs_from_argmax:
        lines.append(f"  note: y_pred is not the most probable class on {metrics.y_pred_differs_from_argmax:,} rows")
    if per_class is not None and len(per_class) > 2:
        scored = per_class[per_class["support"] > 0].sort_values(["f1", "support"], ascending=[True, False])
        worst = [f"{row['class']} {row['f1']:.2f} (n={row['support']})" for _, row in scored.head(5).iterrows()]
        lines.append("weakest classes by F1: " + ", ".join(worst))
    if confusions is not None and len(confusions):
        lines.append("most frequent confusions (true -> predicted):")
        for _, row in confusions.head(5).iterrows():
            lines.append(f"  {row['true']} -> {row['predicted']}: {row['count']} ({row['share_of_true']:.1%} of {row['true']})")
    if folder is not None:
        lines.append(f"wrote {folder}: " + ", ".join(metrics.files.values()))
    return "\n".join(lines)
