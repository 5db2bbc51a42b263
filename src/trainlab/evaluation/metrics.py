"""Classification metrics from plain arrays: integer labels and a probability matrix in, plain numbers out.

Every figure except the expected calibration error is scikit-learn's, computed on exactly the
arrays given; this module only chooses the right call, the full label set, and says plainly
when a figure is undefined (``None`` plus a reason under ``"undefined"``) instead of returning
NaN or raising. The score-ranking figures (ROC AUC, top-5, log loss) come from
:mod:`trainlab.evaluation.ranking`: scikit-learn's numbers (tested equal, ties included) computed
from one sort per class, since scikit-learn's own calls take a minute at 1,000 classes.

Label metrics (accuracy, balanced accuracy, F1, precision, recall) use ``y_pred``; score metrics
(top-5, ROC AUC, log loss, ECE) use the probabilities, since ``y_pred`` need not be their arg-max
(for example after per-group thresholds).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from trainlab.artifacts.metrics import METRIC_KEYS
from trainlab.evaluation import ranking
from trainlab.evaluation.calibration import N_BINS, expected_calibration_error

TOP_K = 5


def check_arrays(y_true, y_pred, proba, *, classes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate at the boundary: integer labels in ``range(len(classes))`` and an (n, k) probability matrix.

    Rows of ``proba`` are rescaled to sum to exactly 1 (the predictions table allows a rounding
    error of 1e-3, and scikit-learn's multi-class ROC AUC refuses rows off by more than ~1e-5).
    """
    k = len(classes)
    if k < 1:
        raise ValueError("classes is empty; pass the class names in probability-column order")
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] != k:
        raise ValueError(f"proba has shape {proba.shape}; expected (n, {k}), one column per class")
    n = len(proba)
    if n == 0:
        raise ValueError("no items to evaluate (empty arrays)")
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        if labels.shape != (n,):
            raise ValueError(f"{name} has shape {labels.shape}; expected ({n},) like proba's rows")
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"{name} must hold integer class indices, got dtype {labels.dtype}")
        bad = (labels < 0) | (labels >= k)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{name}[{i}] = {labels[i]} is not a class index in 0..{k - 1}")
    sums = proba.sum(axis=1, keepdims=True)
    # one pass for the common case: NaN fails >= 0, and an infinity makes its row's sum infinite
    if not (np.isfinite(sums).all() and (proba >= 0).all()):
        i = int(np.argwhere(~np.isfinite(proba) | (proba < 0))[0][0])
        raise ValueError(f"proba row {i} holds a negative or non-finite value")
    if (sums <= 0).any():
        raise ValueError(f"proba row {int(np.flatnonzero(sums <= 0)[0])} sums to 0")
    return y_true.astype(np.int64), y_pred.astype(np.int64), proba / sums


def compute_metrics(y_true, y_pred, proba, *, classes) -> dict:
    """All headline metrics of a classifier on one split.

    Parameters: ``y_true``, ``y_pred`` integer class indices (n,); ``proba`` (n, k) class
    probabilities in the order of ``classes`` (k names).

    Returns a dict of plain Python numbers (keys in :data:`METRIC_KEYS` plus ``n``, ``n_classes``,
    ``roc_auc_average``, ``ece_bins``, ``per_class`` and ``undefined``):

    * ``accuracy`` = (1/n) Σ [ŷ_i = y_i].
    * ``top5_accuracy`` = (1/n) Σ [y_i among the 5 classes of highest p_i·] (only when k ≥ 5;
      ties broken as scikit-learn does: among equal scores the higher class index ranks first).
    * ``balanced_accuracy`` = mean recall over the classes present in y_true.
    * ``f1_macro`` = unweighted mean of per-class F1 over the classes present in y_true or y_pred;
      ``f1_weighted`` = the same weighted by support. F1_c = 2·TP_c / (2·TP_c + FP_c + FN_c).
    * ``roc_auc``: binary (k = 2): AUC of p_1 (the second class's probability) for y = 1; multi-class:
      one-vs-rest AUC of p_c per class c, unweighted mean (``roc_auc_average`` says which).
      Undefined when a class has no positive or no negative item in y_true.
    * ``log_loss`` = −(1/n) Σ log p_{i, y_i} with the full label set (undefined when k = 1).
    * ``ece``: expected calibration error, 15 equal-width bins on the top-label confidence,
      Σ_m |B_m|/n · |acc(B_m) − conf(B_m)| (see :mod:`trainlab.evaluation.calibration`).
    * ``per_class``: one dict per class (index, class, support, predicted, precision, recall, f1,
      roc_auc, note); undefined values are ``None`` and ``note`` says why.
    * ``undefined``: {metric: reason} for every headline metric that is ``None``.
    """
    classes = [str(c) for c in classes]
    y_true, y_pred, proba = check_arrays(y_true, y_pred, proba, classes=classes)
    k = len(classes)
    undefined: dict[str, str] = {}
    out: dict = {"n": int(len(y_true)), "n_classes": k}
    with warnings.catch_warnings():
        # Undefined cases are detected and explained below; sklearn's warnings would only repeat them.
        warnings.simplefilter("ignore")
        out["accuracy"] = float(skm.accuracy_score(y_true, y_pred))
        if k >= TOP_K:
            out["top5_accuracy"] = ranking.top_k_accuracy(y_true, proba, TOP_K)
        else:
            out["top5_accuracy"] = None
            undefined["top5_accuracy"] = f"needs at least {TOP_K} classes; there are {k}"
        out["balanced_accuracy"] = float(skm.balanced_accuracy_score(y_true, y_pred))
        present = np.union1d(y_true, y_pred)
        out["f1_macro"] = float(skm.f1_score(y_true, y_pred, labels=present, average="macro"))
        out["f1_weighted"] = float(skm.f1_score(y_true, y_pred, labels=present, average="weighted"))
        auc_per_class = _auc_per_class(y_true, proba)
        out["roc_auc"], out["roc_auc_average"], reason = _roc_auc(y_true, auc_per_class, classes)
        if reason:
            undefined["roc_auc"] = reason
        if k >= 2:
            out["log_loss"] = ranking.log_loss(y_true, proba)
        else:
            out["log_loss"] = None
            undefined["log_loss"] = "needs at least 2 classes; there is 1"
        out["ece"] = expected_calibration_error(y_true, proba, n_bins=N_BINS)
        out["ece_bins"] = N_BINS
        out["per_class"] = per_class_metrics(y_true, y_pred, proba, classes=classes, auc=auc_per_class)
    out["undefined"] = undefined
    return out


def _auc_per_class(y_true, proba) -> np.ndarray:
    """One-vs-rest ROC AUC of p_c for [y = c], per class; NaN where y_true has no item in or out of c.

    Computed once for all classes: scikit-learn's macro average is the plain mean of these (and its
    binary AUC is class 1's), so the headline figure reuses them instead of ranking every column again.
    """
    return ranking.roc_auc_per_class(y_true, proba)


def _roc_auc(y_true, auc_per_class, classes) -> tuple[float | None, str, str | None]:
    k = len(classes)
    if k == 1:
        return None, "none", "needs at least 2 classes; there is 1"
    counts = np.bincount(y_true, minlength=k)
    if k == 2:
        average = f"binary (positive class '{classes[1]}', score p_{classes[1]})"
        if counts.min() == 0:
            only = classes[int(counts.argmax())]
            return None, average, f"y_true holds only class '{only}'; ROC AUC needs items of both classes"
        return float(auc_per_class[1]), average, None
    average = "one-vs-rest macro"
    absent = [classes[c] for c in np.flatnonzero(counts == 0)]
    if absent:
        shown = ", ".join(f"'{c}'" for c in absent[:10]) + (f" and {len(absent) - 10} more" if len(absent) > 10 else "")
        return None, average, (
            f"class(es) {shown} absent from y_true, so their one-vs-rest AUC has no positive item; "
            "the per-class AUCs of the other classes are in per_class"
        )
    # scikit-learn's one-vs-rest macro AUC is the unweighted mean of the per-class AUCs
    return float(np.mean(auc_per_class)), average, None


def per_class_metrics(y_true, y_pred, proba, *, classes, auc=None) -> list[dict]:
    """Precision, recall, F1, support and one-vs-rest ROC AUC per class (scikit-learn's), ``None`` where undefined.

    precision_c = TP_c / (TP_c + FP_c) (undefined if c is never predicted), recall_c = TP_c / (TP_c + FN_c)
    (undefined if c is absent from y_true), F1_c = 2·TP_c / (2·TP_c + FP_c + FN_c) (undefined if
    both), roc_auc_c = AUC of p_c for [y = c] (undefined unless y_true has items in and out of c).
    ``auc`` may pass those AUCs if already computed.
    """
    k = len(classes)
    labels = np.arange(k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if auc is None:
            auc = _auc_per_class(y_true, proba)
        precision, recall, f1, support = skm.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, zero_division=np.nan
        )
    predicted = np.bincount(y_pred, minlength=k)
    n = len(y_true)
    rows = []
    for c in range(k):
        notes = []
        if support[c] == 0 and predicted[c] == 0:
            notes.append("absent from y_true and never predicted: precision, recall and F1 undefined")
        elif support[c] == 0:
            notes.append("absent from y_true: recall undefined")
        elif predicted[c] == 0:
            notes.append("never predicted: precision undefined")
        if not 0 < support[c] < n:
            notes.append("ROC AUC undefined: " + ("no item of this class" if support[c] == 0 else "every item is of this class"))
        rows.append({
            "index": c,
            "class": classes[c],
            "support": int(support[c]),
            "predicted": int(predicted[c]),
            "precision": _num(precision[c]),
            "recall": _num(recall[c]),
            "f1": _num(f1[c]),
            "roc_auc": _num(auc[c]) if 0 < support[c] < n else None,
            "note": "; ".join(notes),
        })
    return rows


def _num(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value


def top_confusions(y_true, y_pred, *, classes, limit: int = 30) -> pd.DataFrame:
    """The most frequent off-diagonal cells of the confusion matrix, largest first.

    Columns: ``true``, ``predicted`` (class names), ``count`` (items of class ``true`` predicted as
    ``predicted``), ``share_of_true`` = count / support(true), ``share_of_errors`` = count / (number of
    misclassified items). Ties in count are ordered by true then predicted class index.
    """
    k = len(classes)
    cm = skm.confusion_matrix(y_true, y_pred, labels=np.arange(k))
    off = cm.copy()
    np.fill_diagonal(off, 0)
    t, p = np.nonzero(off)
    counts = off[t, p]
    order = np.lexsort((p, t, -counts))[:limit]
    support = cm.sum(axis=1)
    errors = off.sum()
    return pd.DataFrame({
        "true": [classes[i] for i in t[order]],
        "predicted": [classes[i] for i in p[order]],
        "count": counts[order].astype(int),
        "share_of_true": counts[order] / support[t[order]],
        "share_of_errors": counts[order] / errors if errors else np.zeros(len(order)),
    })
