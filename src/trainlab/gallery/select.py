"""Which items a gallery shows, chosen from the predictions table alone (no model, no image).

* per-item loss ``= -ln(max(p_true, 1e-12))``, the cross-entropy of that item;
* top-loss items: the ``k`` highest losses (ties keep table order);
* confused pairs: unordered class pairs ``{a, b}`` ranked by ``n(a→b) + n(b→a)`` (true → predicted), each with
  its most confident mistakes in each direction (the more frequent direction first, as ``a → b``);
* per grouping (an attribute column): accuracy per group with a 95% Wilson interval; the worst and the best
  group by accuracy among groups of at least ``min_size`` items, with their misclassified items.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainlab.artifacts.gallery import ConfusedPair, GalleryItem, GroupErrors
from trainlab.errors import TrainlabError
from trainlab.artifacts.predictions import Predictions

EPS = 1e-12


def item_losses(pred: Predictions) -> np.ndarray:
    proba = pred.proba
    p_true = proba[np.arange(len(pred)), pred.y_true]
    return -np.log(np.maximum(p_true, EPS))


def items(pred: Predictions, rows) -> list[GalleryItem]:
    """Gallery items for the given row positions, in that order."""
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        return []
    proba = pred.proba[rows]
    t, p = pred.y_true[rows], pred.y_pred[rows]
    frame = pred.frame.iloc[rows]
    p_true = proba[np.arange(len(rows)), t]
    return [
        GalleryItem(id=str(i), path=str(path), y_true=pred.classes[a], y_pred=pred.classes[b],
                    probability=float(proba[k, b]), p_true=float(p_true[k]), loss=float(-np.log(max(p_true[k], EPS))))
        for k, (i, path, a, b) in enumerate(zip(frame["id"], frame["path"], t, p))
    ]


def top_loss(pred: Predictions, k: int = 16) -> np.ndarray:
    """Row positions of the ``k`` highest-loss items, highest first."""
    return np.argsort(-item_losses(pred), kind="stable")[:k]


def _by_loss(rows: np.ndarray, losses: np.ndarray, k: int) -> np.ndarray:
    return rows[np.argsort(-losses[rows], kind="stable")][:k]


def confused_pairs(pred: Predictions, pairs: int = 4, per_direction: int = 4) -> list[ConfusedPair]:
    """The ``pairs`` most-confused unordered class pairs with up to ``per_direction`` examples of each direction."""
    t, p = pred.y_true, pred.y_pred
    wrong = t != p
    if not wrong.any():
        return []
    k = len(pred.classes)
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (t[wrong], p[wrong]), 1)
    sym = np.triu(counts + counts.T, 1)
    a_idx, b_idx = np.nonzero(sym)
    order = np.lexsort((b_idx, a_idx, -sym[a_idx, b_idx]))[:pairs]  # most first; ties in class order
    losses = item_losses(pred)
    out = []
    for a, b in zip(a_idx[order], b_idx[order]):
        if counts[b, a] > counts[a, b]:
            a, b = b, a  # the more frequent direction first
        ab = _by_loss(np.flatnonzero((t == a) & (p == b)), losses, per_direction)
        ba = _by_loss(np.flatnonzero((t == b) & (p == a)), losses, per_direction)
        out.append(ConfusedPair(a=pred.classes[a], b=pred.classes[b], count_a_as_b=int(counts[a, b]),
                                count_b_as_a=int(counts[b, a]), a_as_b=items(pred, ab), b_as_a=items(pred, ba)))
    return out


def wilson(successes: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval of a proportion (scipy's)."""
    from scipy.stats import binomtest

    if n == 0:
        return 0.0, 1.0
    ci = binomtest(int(successes), int(n)).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def group_values(pred: Predictions, column: str) -> pd.Series:
    if column not in pred.frame.columns:
        raise TrainlabError(f"{pred.source or 'predictions'}: no column '{column}' to group by; "
                            f"attribute columns: {pred.attributes or 'none'}")
    values = pred.frame[column]
    return values.where(values.notna() & (values.astype(str).str.strip() != "")).astype("string")


def worst_and_best(pred: Predictions, column: str, *, per_group: int = 8, min_size: int = 30) -> tuple[GroupErrors, GroupErrors, int]:
    """The worst and best group of ``column`` by accuracy, each with its highest-loss misclassified items.

    Groups smaller than ``min_size`` are left out unless none is that large (then all groups count, and the
    size used is returned). Ties in accuracy go to the larger group, then to the name.
    """
    values = group_values(pred, column)
    correct = pred.y_true == pred.y_pred
    table = pd.DataFrame({"g": values, "ok": correct}).dropna().groupby("g", observed=True)["ok"].agg(["sum", "count"])
    if len(table) < 2:
        raise TrainlabError(f"{pred.source or 'predictions'}: column '{column}' has {len(table)} group(s); "
                            "a worst-versus-best gallery needs at least two")
    used = min_size if (table["count"] >= min_size).sum() >= 2 else 1
    table = table[table["count"] >= used]
    table = table.assign(acc=table["sum"] / table["count"])
    ranked = table.reset_index().sort_values(["acc", "count", "g"], ascending=[True, False, True], kind="stable")
    losses = item_losses(pred)

    def describe(row) -> GroupErrors:
        rows = np.flatnonzero((values == row["g"]).fillna(False).to_numpy() & ~correct)
        low, high = wilson(int(row["sum"]), int(row["count"]))
        return GroupErrors(group=str(row["g"]), n=int(row["count"]), accuracy=float(row["acc"]), low=low, high=high,
                           errors=int(row["count"] - row["sum"]), items=items(pred, _by_loss(rows, losses, per_group)))

    best = ranked.sort_values(["acc", "count", "g"], ascending=[False, False, True], kind="stable").iloc[0]
    return describe(ranked.iloc[0]), describe(best), used
