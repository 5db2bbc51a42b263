"""``trainlab evaluate``: metrics, per-class table, top confusions and plots from one predictions table.

Reads only the predictions table (``trainlab.predictions``), never a model or an image.

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

from pathlib import Path

import numpy as np
import pandas as pd

from trainlab import __version__
from trainlab.evaluate.calibration import reliability_bins
from trainlab.evaluate.metrics import METRIC_KEYS, compute_metrics, top_confusions
from trainlab.predictions import Predictions, read_predictions
from trainlab.utils.io import write_json, write_table
from trainlab.utils.log import get_logger

log = get_logger(__name__)

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


def output_names(target: str | Path, split: str, out: str | Path | None) -> tuple[Path, dict[str, str]]:
    """The output folder and the file names (relative to it) for evaluating ``target``."""
    target = Path(target)
    if target.is_dir():
        folder, suffix, tag = Path(out) if out else target, "" if split == "test" else f"_{split}", split
    else:
        folder, suffix, tag = Path(out) if out else target.parent, f"_{target.stem}", target.stem
    return folder, {
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


def evaluate(target: str | Path, split: str = "test", out: str | Path | None = None, *, plots: bool = True) -> dict:
    """Evaluate a run folder's ``predictions/<split>`` table, or a predictions file; write and return metrics.

    The returned dict is exactly what ``metrics.json`` holds: ``split``, ``n``, ``n_classes``,
    ``classes``, ``source`` (the predictions file read), the metrics of
    :func:`trainlab.evaluate.metrics.compute_metrics` (``accuracy``, ``top5_accuracy``,
    ``balanced_accuracy``, ``f1_macro``, ``f1_weighted``, ``roc_auc``, ``roc_auc_average``,
    ``log_loss``, ``ece``, ``ece_bins``; ``None`` where undefined, with the reason under ``undefined``),
    ``y_pred_differs_from_argmax`` (rows whose ``y_pred`` is not the most probable class),
    ``files`` and ``trainlab_version``. Per-class figures are in ``per_class.csv``.
    """
    return _evaluate(target, split, out, plots)[0]


def _evaluate(target, split, out, plots) -> tuple[dict, pd.DataFrame, pd.DataFrame, Path]:
    from trainlab.evaluate import plots as P  # matplotlib only when evaluating

    target = Path(target)
    pred = read_predictions(target, split)
    folder, names = output_names(target, split, out)
    y_true, y_pred, proba = pred.y_true, pred.y_pred, pred.proba
    result = compute_metrics(y_true, y_pred, proba, classes=pred.classes)
    per_class = result.pop("per_class")
    undefined = result.pop("undefined")
    split_name = _split_name(pred, target, split)
    label = target.name if target.is_dir() else target.stem

    metrics = {
        "split": split_name,
        "n": result.pop("n"),
        "n_classes": result.pop("n_classes"),
        "classes": list(pred.classes),
        "source": str(pred.source),
        **{key: result.pop(key) for key in METRIC_KEYS},
        **result,  # roc_auc_average, ece_bins
        "undefined": undefined,
        "y_pred_differs_from_argmax": int((proba.argmax(axis=1) != y_pred).sum()),
        "files": dict(names) if plots else {k: v for k, v in names.items() if not v.startswith("plots/")},
        "trainlab_version": __version__,
    }

    per_class = pd.DataFrame(per_class, columns=list(PER_CLASS_COLUMNS))
    write_table(per_class, folder / names["per_class"])
    confusions = top_confusions(y_true, y_pred, classes=pred.classes)
    write_table(confusions, folder / names["top_confusions"])
    if plots:
        from sklearn.metrics import confusion_matrix

        cm = confusion_matrix(y_true, y_pred, labels=np.arange(len(pred.classes)))
        n = metrics["n"]
        for key, normalize, what in (("confusion_matrix", False, "counts"), ("confusion_matrix_normalized", True, "row-normalised")):
            fig = P.confusion_matrix_figure(cm, pred.classes, normalize=normalize,
                                            title=f"Confusion matrix ({what}): {label}, {split_name}, n = {n:,}")
            P.save(fig, folder / names[key])
        bins = reliability_bins(y_true, proba, n_bins=metrics["ece_bins"])
        fig = P.reliability_figure(bins, ece=metrics["ece"], title=f"Reliability: {label}, {split_name}, n = {n:,}",
                                   ece_bins=metrics["ece_bins"])
        P.save(fig, folder / names["reliability"])
    write_json(folder / names["metrics"], metrics)  # last, so metrics.json means the whole set is there
    log.debug("wrote %s", folder / names["metrics"])
    return metrics, per_class, confusions, folder


def format_summary(metrics: dict, folder: Path, per_class: pd.DataFrame | None = None,
                   confusions: pd.DataFrame | None = None) -> str:
    """A compact, readable text summary of an evaluation."""
    lines = [
        f"{metrics['source']}: split {metrics['split']}, {metrics['n']:,} items, {metrics['n_classes']} classes",
    ]
    for key in METRIC_KEYS:
        value = metrics[key]
        name = LABELS[key] + (f" ({metrics['ece_bins']} bins)" if key == "ece" else "")
        if value is None:
            text = f"undefined: {metrics['undefined'].get(key, '')}"
        else:
            text = f"{value:.4f}"
            if key == "roc_auc":
                text += f"  ({metrics['roc_auc_average']})"
        lines.append(f"  {name:<20} {text}")
    if metrics["y_pred_differs_from_argmax"]:
        lines.append(f"  note: y_pred is not the most probable class on {metrics['y_pred_differs_from_argmax']:,} rows")
    if per_class is not None and len(per_class) > 2:
        scored = per_class[per_class["support"] > 0].sort_values(["f1", "support"], ascending=[True, False])
        worst = [f"{row['class']} {row['f1']:.2f} (n={row['support']})" for _, row in scored.head(5).iterrows()]
        lines.append("weakest classes by F1: " + ", ".join(worst))
    if confusions is not None and len(confusions):
        lines.append("most frequent confusions (true -> predicted):")
        for _, row in confusions.head(5).iterrows():
            lines.append(f"  {row['true']} -> {row['predicted']}: {row['count']} ({row['share_of_true']:.1%} of {row['true']})")
    lines.append(f"wrote {folder}: " + ", ".join(metrics["files"].values()))
    return "\n".join(lines)


def evaluate_cli(target: str | Path, split: str = "test", out: str | Path | None = None) -> dict:
    metrics, per_class, confusions, folder = _evaluate(target, split, out, plots=True)
    print(format_summary(metrics, folder, per_class, confusions))
    return metrics
