"""Per-group rates: from confusion counts (vectorised) and from fairlearn's MetricFrame.

Every per-group figure of the audit is a function of the group's confusion table
``C[g, t, p]`` = number of rows of group g with true class t and predicted class p.
Writing, for group g and class k (one-vs-rest),

    n_g     = Σ_t,p C[g, t, p]                 rows in the group
    pos_gk  = Σ_p C[g, k, p]                   rows whose true class is k
    sel_gk  = Σ_t C[g, t, k]                   rows predicted k
    tp_gk   = C[g, k, k]                       rows true k and predicted k

the rates are

    base_rate_gk      = pos_gk / n_g                       P(Y = k | A = g)
    selection_rate_gk = sel_gk / n_g                       P(Ŷ = k | A = g)
    tpr_gk            = tp_gk / pos_gk                     P(Ŷ = k | Y = k, A = g)
    fpr_gk            = (sel_gk − tp_gk) / (n_g − pos_gk)  P(Ŷ = k | Y ≠ k, A = g)
    f1_gk             = 2 tp_gk / (pos_gk + sel_gk)
    accuracy_g        = Σ_k tp_gk / n_g,   error_rate_g = 1 − accuracy_g
    macro_f1_g        = mean of f1_gk over the classes k with pos_gk + sel_gk > 0

A rate whose denominator is zero is undefined (NaN here; ``null`` with a reason in audit.json).

Two implementations, on purpose:

* :func:`fairlearn_rates` gives the reported point estimates. It is fairlearn's MetricFrame
  (with fairlearn's and scikit-learn's metric functions) evaluated on the *collapsed* table,
  one row per non-empty confusion cell with its count as ``sample_weight``. Every metric here is
  a weighted mean over rows, so this equals MetricFrame on the raw rows exactly (the tests check
  it against fairlearn on raw arrays), while MetricFrame 0.15, which re-stacks every column
  element by element for every metric and group, would take ~0.6 s per metric on 100,000 rows.
* :func:`rates_from_counts` computes the same rates with numpy from count arrays of any leading
  shape, which is what the bootstrap needs (1,000 resamples at once); a test checks it against
  the fairlearn figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

PER_CLASS = ("base_rate", "selection_rate", "tpr", "fpr", "f1")
PER_GROUP = ("accuracy", "error_rate", "macro_f1")


@dataclass
class Counts:
    """One-vs-rest confusion counts; arrays share a leading shape ``(..., G)``."""

    n: np.ndarray  # (..., G)
    pos: np.ndarray  # (..., G, K)
    sel: np.ndarray  # (..., G, K)
    tp: np.ndarray  # (..., G, K)


def confusion_cells(group_codes, y_true, y_pred, n_groups: int, n_classes: int) -> np.ndarray:
    """``C[g, t, p]`` counts, shape (G, K, K), by one ``np.bincount``."""
    flat = (np.asarray(group_codes) * n_classes + np.asarray(y_true)) * n_classes + np.asarray(y_pred)
    return np.bincount(flat, minlength=n_groups * n_classes * n_classes).reshape(n_groups, n_classes, n_classes)


def counts_from_cells(cells: np.ndarray) -> Counts:
    cells = np.asarray(cells)
    return Counts(
        n=cells.sum(axis=(-2, -1)),
        pos=cells.sum(axis=-1),
        sel=cells.sum(axis=-2),
        tp=np.diagonal(cells, axis1=-2, axis2=-1),
    )


def _div(a, b) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.full(np.broadcast(a, b).shape, np.nan)
    np.divide(a, b, out=out, where=b > 0)
    return out


def rates_from_counts(c: Counts) -> dict[str, np.ndarray]:
    """All per-group rates (module docstring) from counts; NaN where undefined."""
    n = c.n[..., None]
    f1 = _div(2 * c.tp, c.pos + c.sel)
    accuracy = _div(c.tp.sum(axis=-1), c.n)
    with np.errstate(invalid="ignore"):
        defined = np.isfinite(f1)
        macro = _div(np.where(defined, f1, 0.0).sum(axis=-1), defined.sum(axis=-1))
    return {
        "base_rate": _div(c.pos, n),
        "selection_rate": _div(c.sel, n),
        "tpr": _div(c.tp, c.pos),
        "fpr": _div(c.sel - c.tp, n - c.pos),
        "f1": f1,
        "accuracy": accuracy,
        "error_rate": 1.0 - accuracy,
        "macro_f1": macro,
    }


def undefined_reason(metric: str, c: Counts, g: int, k: int | None, classes: list[str]) -> str | None:
    """Why a point rate is undefined (None when it is defined)."""
    if c.n[g] == 0:
        return "the group has no rows"
    if k is None:
        return None
    name = classes[k]
    if metric == "tpr" and c.pos[g, k] == 0:
        return f"no row of the group has true class '{name}', so its true-positive rate is 0/0"
    if metric == "fpr" and c.pos[g, k] == c.n[g]:
        return f"every row of the group has true class '{name}', so its false-positive rate is 0/0"
    if metric == "f1" and c.pos[g, k] + c.sel[g, k] == 0:
        return f"class '{name}' neither occurs nor is predicted in the group, so F1 is 0/0"
    return None


# The rows each one-vs-rest rate rests on (its denominator): a rate on fewer rows than the audit's minimum is
# "insufficient evidence" (shown, with no interval, never compared or flagged). Rates not listed rest on n_g.
def support(metric: str, c: Counts) -> np.ndarray:
    """Rows under ``metric`` for every (group, class): n_g, pos_gk, n_g − pos_gk, or pos_gk + sel_gk."""
    if metric == "tpr":
        return c.pos
    if metric == "fpr":
        return c.n[..., None] - c.pos
    if metric == "f1":
        return c.pos + c.sel
    if metric in PER_CLASS:
        return np.broadcast_to(c.n[..., None], c.pos.shape)
    return c.n


def insufficient_reason(metric: str, c: Counts, g: int, k: int | None, classes: list[str], minimum: int) -> str | None:
    """"insufficient evidence: ..." when the rate of group g (class k) rests on fewer than ``minimum`` rows."""
    rows = support(metric, c)[g] if k is None else support(metric, c)[g, k]
    if rows == 0 or rows >= minimum:
        return None
    what = {"tpr": f"row(s) of true class '{classes[k]}'" if k is not None else "rows",
            "fpr": f"row(s) of a class other than '{classes[k]}'" if k is not None else "rows",
            "f1": f"row(s) of or predicted '{classes[k]}'" if k is not None else "rows"}.get(metric, "row(s)")
    return f"insufficient evidence: rests on {int(rows)} {what}, fewer than the minimum {minimum}"


def _base_rate(y_true, y_pred, sample_weight=None) -> float:
    """Weighted share of positive true labels, P(Y = 1)."""
    return float(np.average(np.asarray(y_true, dtype=np.float64), weights=sample_weight))


def _weighted_count(y_true, y_pred, sample_weight=None) -> float:
    return float(np.sum(sample_weight))


# Above this many (class, group) cells the one-vs-rest figures come from the count formulas:
# MetricFrame spends ~20 ms of scikit-learn input validation per cell for the five metrics, so
# 7 races × 30 classes would take ~5 s per audit for what the counts give in microseconds. The
# tests check both paths equal fairlearn's figures on the same arrays.
MAX_METRICFRAME_CELLS = 64


def fairlearn_rates(cells: np.ndarray, counts: Counts | None = None) -> dict[str, np.ndarray]:
    """The per-group rates by fairlearn's MetricFrame on the collapsed confusion table.

    Returns the same keys and shapes as :func:`rates_from_counts` (point estimates, shapes (G,)
    and (G, K)). fairlearn reports 0 where a rate is 0/0; those entries are set to NaN here,
    since an undefined rate is not a rate of zero. With more than ``MAX_METRICFRAME_CELLS``
    classes × groups, the one-vs-rest rates are computed by :func:`rates_from_counts`.
    """
    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
    from sklearn.metrics import accuracy_score, f1_score

    cells = np.asarray(cells)
    n_groups, n_classes, _ = cells.shape
    counts = counts or counts_from_cells(cells)
    out: dict[str, np.ndarray] = {}

    # Multi-class figures: one row per non-empty (group, true, predicted) cell, weighted by its count.
    g, t, p = np.nonzero(cells)
    w = cells[g, t, p].astype(np.float64)
    weights = {"sample_weight": w}
    frame = MetricFrame(
        metrics={
            "accuracy": accuracy_score,
            "macro_f1": partial(f1_score, average="macro", zero_division=np.nan),
        },
        y_true=t, y_pred=p, sensitive_features=pd.Series(g, name="group"),
        sample_params={"accuracy": weights, "macro_f1": weights},
    ).by_group.reindex(range(n_groups))
    out["accuracy"] = frame["accuracy"].to_numpy(dtype=np.float64)
    out["error_rate"] = 1.0 - out["accuracy"]
    out["macro_f1"] = frame["macro_f1"].to_numpy(dtype=np.float64)

    if n_classes * n_groups > MAX_METRICFRAME_CELLS:
        by_counts = rates_from_counts(counts)
        out.update({name: by_counts[name] for name in PER_CLASS})
        return out

    # One-vs-rest figures for every class at once: class k is a control feature, and each
    # (class, group) contributes up to four binary cells (true k?, predicted k?) with their counts.
    tp, pos, sel, n = counts.tp, counts.pos, counts.sel, counts.n[:, None]
    binary = {(1, 1): tp, (1, 0): pos - tp, (0, 1): sel - tp, (0, 0): n - pos - sel + tp}
    rows = []
    for (yt, yp), table in binary.items():
        gg, kk = np.nonzero(table)
        rows.append(pd.DataFrame({"group": gg, "cls": kk, "yt": yt, "yp": yp, "w": table[gg, kk].astype(np.float64)}))
    long = pd.concat(rows, ignore_index=True)
    weights = {"sample_weight": long["w"].to_numpy()}
    metrics = {
        "base_rate": _base_rate,
        "selection_rate": partial(selection_rate, pos_label=1),
        "tpr": partial(true_positive_rate, pos_label=1),
        "fpr": partial(false_positive_rate, pos_label=1),
        "f1": partial(f1_score, pos_label=1, zero_division=np.nan),
    }
    frame = MetricFrame(
        metrics=metrics, y_true=long["yt"].to_numpy(), y_pred=long["yp"].to_numpy(),
        sensitive_features=long["group"].rename("group"), control_features=long["cls"].rename("cls"),
        sample_params={m: weights for m in metrics},
    ).by_group
    full = pd.MultiIndex.from_product([range(n_classes), range(n_groups)], names=["cls", "group"])
    frame = frame.reindex(full)
    for name in PER_CLASS:
        out[name] = frame[name].to_numpy(dtype=np.float64).reshape(n_classes, n_groups).T.copy()
    # 0/0 is undefined, not 0 (fairlearn and scikit-learn return 0 there).
    out["tpr"][counts.pos == 0] = np.nan
    out["fpr"][counts.pos == counts.n[:, None]] = np.nan
    out["f1"][counts.pos + counts.sel == 0] = np.nan
    return out
