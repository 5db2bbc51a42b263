"""Paired bootstrap for runs scored on the same items: intervals for the difference of headline metrics.

One replicate draws n item indices with replacement (n = the number of items) and applies the same
draw to every run, so the differences keep the pairing of the items (what makes a paired comparison
sharper than two separate intervals). A draw is held as counts per item (how often each item was
drawn), and every metric is a weighted sum over items, so all replicates of all runs come from a few
matrix products instead of re-running scikit-learn R times:

* accuracy = Σ_i w_i [ŷ_i = y_i] / n;
* balanced accuracy = mean over classes present in the replicate of TP_c / T_c, with T_c = Σ_{y_i = c} w_i
  and TP_c = Σ_{y_i = ŷ_i = c} w_i (scikit-learn's: classes absent from y_true are left out);
* macro F1 = mean over classes present in y_true or ŷ of 2 TP_c / (T_c + P_c), P_c = Σ_{ŷ_i = c} w_i
  (since 2TP + FP + FN = T + P);
* ROC AUC (binary: of p_1; otherwise one-vs-rest macro) = Σ over tie groups g of the class's sorted
  scores of pos_g · (neg_below_g + ½ neg_g) / (Pos · Neg), with weighted counts; each score column is
  sorted once, and a replicate only re-weights it (a sparse matrix of each class's negatives summed into
  the segments between its positives, times the weights). A class absent from a replicate's y_true is
  left out of that replicate's macro average.

ROC AUC at scale. That exact count costs (items × classes) per replicate: at 20,000 items × 1,000 classes
and 1,000 replicates, 2·10^10 multiply-adds, 8 of evaluate's 18 s (and its preparation, a sort of every
column and a 2·10^7-entry sparse matrix, 4 s more). Above :data:`EXACT_AUC_CELLS` (item, class) scores
(``auto``; IP102's 22,619 × 102 stays exact) a replicate's AUC comes from DeLong's placement values
instead (:func:`auc_placements`, :meth:`ScoredRun._linear_auc`): per class, AUC_c(w) = Σ_pos w_i V10_i /
Σ_pos w_i, the positives' weighted mean placement, exact in their weights, plus the negatives' first-order
term Σ_j (w_j − 1)(V01_j − AUC_c)/N_c, summed over classes into one vector. Cost per replicate: items, not
items × classes. Why this and not the alternatives (measured; BENCHMARKS.md):

* the plain first-order (influence-function) expansion, AUC + φᵀ(w − 1), linearises the positives too;
  with 20 positives a class their weighted mean is far from linear (replicate correlation with the exact
  count 0.969 at 2,000 × 100); keeping it exact gives 0.9992, interval ends 0.04 replicate-SD from the
  exact bootstrap's (tests/test_eval_auc_replicates.py), below the ends' own Monte Carlo error at 1,000
  replicates (about 0.09 SD). The negatives' side is linear in the weights up to terms of order 1/√N_c.
* a dense formulation of the exact count (gather each class's weight rows in sorted order, sum them
  between positives with ``np.add.reduceat``) is 5× slower than the sparse product at IP102 scale (0.69
  against 0.14 CPU s for a chunk of 176 replicates): the same memory traffic plus the gathered copy.
* the placement values need no column sort: each class's positives are sorted and every item placed
  among them by binary search, O(n k log P) against O(n k log n): 0.6 s at 20,000 × 1,000.

The full-sample figure is the exact AUC on either path (bit for bit ``compute_metrics``'s), and
:func:`method_note` puts the path into the bootstrap's recorded method.

On the full sample (every w_i = 1) these are exactly :func:`trainlab.evaluation.metrics.compute_metrics`'s
figures (tested). Intervals are expanded percentile intervals of the replicates' differences (see
:func:`interval`; the plain percentile interval covers too rarely in small samples).

With seed groups (several runs per side, from repeated training), one replicate first draws the runs
of each side with replacement, then the items (two-level bootstrap), and takes the difference of the
sides' means, so the interval covers the variation over seeds and over items together.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import sparse, stats

HEADLINE = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc")
CHUNK_CELLS = 4_000_000  # replicates are processed in chunks of about this many (replicate, item) counts
EXACT_AUC_CELLS = 5_000_000  # above this many (item, class) scores the AUC replicates are linearised ("auto")
AUC_METHODS = ("auto", "exact", "linear")
BLOCK = 64  # score columns transposed together for the linearisation (contiguous rows, 10 MB at 20,000 items)
LINEAR_AUC_NOTE = (
    f"ROC AUC replicates from DeLong placement values (each class's positives re-weighted exactly, its negatives "
    f"to first order), used above {EXACT_AUC_CELLS:,} item-class scores; the exact weighted count below"
)


def auc_method(n: int, k: int, auc: str = "auto") -> str:
    """How :class:`ScoredRun` computes the AUC replicates of n items × k classes: ``"exact"`` or ``"linear"``."""
    if auc not in AUC_METHODS:
        raise ValueError(f"auc must be one of {AUC_METHODS}, got {auc!r}")
    scored = 1 if k == 2 else k if k > 2 else 0  # binary: class 1's column only
    if not scored or auc == "exact":
        return "exact"
    return "linear" if auc == "linear" or n * scored > EXACT_AUC_CELLS else "exact"


def method_note(runs) -> str:
    """What to add to a bootstrap's method when a run's AUC replicates are linear ("" when all are exact)."""
    return f"; {LINEAR_AUC_NOTE}" if any(run.auc_method == "linear" for run in runs) else ""


class ScoredRun:
    """One run's predictions on the shared items, prepared once for weighted metrics.

    ``auc``: how the ROC AUC of a replicate is computed. ``"exact"``: the weighted Mann-Whitney count of
    every class (:meth:`_prepare_auc`; cost per replicate ∝ items × classes). ``"linear"``: its first-order
    expansion in the item weights, AUC + φᵀ(w − 1) with φ the items' DeLong structural components averaged
    over the classes (:func:`auc_influence`; cost ∝ items). ``"auto"``: exact up to
    :data:`EXACT_AUC_CELLS` (item, class) scores, linear above. ``auc_method`` says which was used. The
    full-sample figure (every w_i = 1) is the exact AUC either way.
    """

    def __init__(self, y_true, y_pred, proba, *, auc: str = "auto"):
        y_true = np.asarray(y_true, dtype=np.int64)
        y_pred = np.asarray(y_pred, dtype=np.int64)
        proba = np.asarray(proba, dtype=np.float64)
        n, k = proba.shape
        self.n, self.k = n, k
        rows = np.arange(n)
        ones = np.ones(n)
        self.correct = (y_true == y_pred).astype(np.float64)
        # n × k indicator matrices: W @ M gives per-class weighted counts for every replicate at once
        self.true_onehot = sparse.csr_matrix((ones, (rows, y_true)), shape=(n, k))
        self.pred_onehot = sparse.csr_matrix((ones, (rows, y_pred)), shape=(n, k))
        self.hit_onehot = sparse.csr_matrix((self.correct, (rows, y_true)), shape=(n, k))
        auc_classes = [1] if k == 2 else range(k) if k > 2 else []
        counts = np.bincount(y_true, minlength=k)
        # as compute_metrics: AUC undefined on the items as they are when a class has no item (or all of them)
        self.auc_defined = k >= 2 and bool(((counts > 0) & (counts < n)).all())
        self.auc_method = auc_method(n, k, auc)
        if self.auc_method == "linear":
            self._prepare_linear_auc(y_true, proba, auc_classes)
        else:
            self._prepare_auc(y_true, proba, auc_classes)

    def _prepare_auc(self, y_true, proba, auc_classes) -> None:
        """Sparse matrices that turn item weights into every class's weighted AUC numerator.

        For class c, sort the items by p_c. A positive p outranks the negatives before its tie group and
        half of those in it: below_p = P(start_p) + ½ (P(end_p) − P(start_p)), P(b) = weighted negatives
        at sorted positions < b. Only P at the positives' group starts and ends is needed, so the
        negatives are summed into the segments between those boundaries (one sparse row per segment, all
        classes stacked: ``segments`` @ W), and P is a running sum of a class's segment rows.
        """
        n = self.n
        rows, cols, starts = [], [], []
        gs_rows, ge_rows, pos_items, pos_class = [], [], [], []
        total_rows = 0
        for c in auc_classes:
            order = np.argsort(proba[:, c], kind="stable")
            scores = proba[order, c]
            group_start = np.flatnonzero(np.r_[True, scores[1:] != scores[:-1]])
            group_end = np.r_[group_start[1:], n]
            group_of = np.cumsum(np.r_[True, scores[1:] != scores[:-1]]) - 1  # group of each sorted position
            positive = y_true[order] == c
            where = np.flatnonzero(positive)
            gs, ge = group_start[group_of[where]], group_end[group_of[where]]
            bounds = np.unique(np.r_[gs, ge])
            bounds = bounds[bounds > 0]  # P(0) = 0 needs no segment
            # sorted position π of each negative -> segment j (1-based) with bounds[j-2] <= π < bounds[j-1]
            negative = np.flatnonzero(~positive)
            segment = np.searchsorted(bounds, negative, side="right") + 1
            keep = segment <= len(bounds)  # negatives above the last boundary outrank no positive
            rows.append(total_rows + segment[keep] - 1)
            cols.append(order[negative[keep]])
            starts.append(total_rows)
            # P at a boundary b: index of b among [0, bounds...], offset by the class's first row
            gs_rows.append(total_rows + np.where(gs > 0, np.searchsorted(bounds, gs, side="left") + 1, 0))
            ge_rows.append(total_rows + np.searchsorted(bounds, ge, side="left") + 1)
            pos_items.append(order[where])
            pos_class.append(np.full(len(where), len(starts) - 1))
            total_rows += len(bounds)
        self.n_auc = len(starts)
        if not self.n_auc:
            return
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        self.segments = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(total_rows, n))
        self.block_start = np.repeat(np.array(starts), [len(g) for g in gs_rows])
        self.gs_rows, self.ge_rows = np.concatenate(gs_rows), np.concatenate(ge_rows)
        self.pos_items = np.concatenate(pos_items)
        pos_class = np.concatenate(pos_class)
        self.pos_by_class = sparse.csr_matrix(
            (np.ones(len(pos_class)), (pos_class, np.arange(len(pos_class)))), shape=(self.n_auc, len(pos_class)))
        self.auc_class_index = np.array(list(auc_classes))

    def _prepare_linear_auc(self, y_true, proba, auc_classes) -> None:
        """Placement values for the linear AUC replicates (see :meth:`metrics` and :func:`auc_placements`).

        Only defined AUCs are expanded: with a class absent from the items every replicate is NaN, as the
        full-sample figure is.
        """
        self.n_auc = len(auc_classes)
        if not self.auc_defined:
            self.auc_point = np.nan
            return
        aucs, v10, self.auc_phi = auc_placements(y_true, proba, auc_classes)
        self.auc_point = float(np.mean(aucs))
        slot = np.full(self.k, -1)
        slot[list(auc_classes)] = np.arange(self.n_auc)
        rows, items = slot[y_true], np.arange(self.n)
        keep = rows >= 0  # binary: only class 1's items are positives
        self.aucs = aucs
        # per class: Σ_{i pos} w_i (V10_i − AUC_c) and Σ_{i pos} w_i, each one sparse row of the class's items
        self.pos_offsets = sparse.csr_matrix(((v10 - aucs[np.maximum(rows, 0)])[keep], (rows[keep], items[keep])),
                                             shape=(self.n_auc, self.n))
        self.pos_indicator = sparse.csr_matrix((np.ones(keep.sum()), (rows[keep], items[keep])), shape=(self.n_auc, self.n))

    def _linear_auc(self, w: np.ndarray) -> np.ndarray:
        """Macro AUC of each replicate: per class AUC_c + Σ_{i pos} w_i (V10_i − AUC_c) / Σ_{i pos} w_i (the
        positives' weighted mean placement, exact in their weights), plus Σ_j φ_j (w_j − 1) (the negatives'
        first-order term). A class with no positive in a replicate is left out of its mean, as in the exact
        count."""
        if not self.auc_defined:
            return np.full(w.shape[1], np.nan)
        n_pos = np.asarray(self.pos_indicator @ w, dtype=np.float64)
        offset = np.asarray(self.pos_offsets @ w, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            aucs = np.where(n_pos > 0, self.aucs[:, None] + offset / n_pos, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            macro = np.nanmean(aucs, axis=0)
        return macro + self.auc_phi @ (w.astype(np.float64) - 1.0)

    def metrics(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """The headline metrics under item weights ``weights`` (n × R counts, one column per replicate):
        one array of R values each."""
        w = np.asarray(weights, dtype=np.float32)  # counts ≤ n < 2^24: exact in float32, half the memory traffic
        total = w.sum(axis=0, dtype=np.float64)
        t = np.asarray(self.true_onehot.T @ w, dtype=np.float64)  # k × R: weighted items per true class
        p = np.asarray(self.pred_onehot.T @ w, dtype=np.float64)
        tp = np.asarray(self.hit_onehot.T @ w, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            recall = np.where(t > 0, tp / t, np.nan)
            f1 = np.where(t + p > 0, 2 * tp / (t + p), np.nan)
        out = {
            "accuracy": (self.correct @ w) / total,
            "balanced_accuracy": np.nanmean(recall, axis=0),
            "f1_macro": np.nanmean(f1, axis=0),
        }
        if not self.n_auc:
            out["roc_auc"] = np.full(w.shape[1], np.nan)
            return out
        if self.auc_method == "linear":
            out["roc_auc"] = self._linear_auc(w)
            return out
        # running sums of each class's negative segments; row 0 of ``prefix`` is 0 so that
        # prefix[start + j] - prefix[start] = P(boundary j) within the class's block
        seg = np.asarray(self.segments @ w, dtype=np.float64)
        prefix = np.zeros((len(seg) + 1, w.shape[1]))
        np.cumsum(seg, axis=0, out=prefix[1:])
        base = prefix[self.block_start]
        below = 0.5 * (prefix[self.gs_rows] + prefix[self.ge_rows]) - base
        u = np.asarray(self.pos_by_class @ (w[self.pos_items] * below))  # classes × R
        n_pos = np.asarray(self.pos_by_class @ w[self.pos_items], dtype=np.float64)
        n_neg = total - n_pos
        with np.errstate(invalid="ignore", divide="ignore"):
            aucs = np.where((n_pos > 0) & (n_neg > 0), u / (n_pos * n_neg), np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a replicate with no defined AUC stays NaN
            out["roc_auc"] = np.nanmean(aucs, axis=0)
        return out


def auc_placements(y_true, proba, auc_classes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every class's AUC and the items' DeLong placement values, for :class:`ScoredRun`'s linear AUC replicates.

    For class c with P positives and N negatives, AUC_c = (1/P) Σ_{i pos} V10_i, where V10_i = (negatives
    below positive i, ties ½) / N and V01_j = (positives above negative j, ties ½) / P are DeLong's
    placement values (structural components). Returns ``(aucs, v10, phi_neg)``: the per-class AUCs
    (in ``auc_classes`` order), V10 of each item as a positive of its own class (0 for an item of a class
    not in ``auc_classes``), and φ_j = (1/K) Σ_{c ≠ y_j} (V01_jc − AUC_c) / N_c over the K classes: the
    derivative of the macro AUC in negative j's weight at w = 1.

    No column is sorted: each class's positives are sorted (P values) and every item is placed among
    them by binary search (``left``/``right``: positives strictly below / at or below the item's score).
    Then V01_j = (P − ½ (left_j + right_j)) / P, and the negatives below the r-th positive (ties ½) are
    ½ (#{neg j: left_j ≤ r} + #{neg j: right_j ≤ r}), two running counts. Cost O(n k log P) for all
    classes, against O(n k log n) for sorting every column. Each AUC is an exact count of halves over
    P N, so it equals :func:`trainlab.evaluation.ranking.roc_auc_per_class`'s figure bit for bit.
    Every class in ``auc_classes`` must have positives and negatives.
    """
    y = np.asarray(y_true, dtype=np.int64)
    n = len(y)
    classes = list(auc_classes)
    by_class = np.argsort(y, kind="stable")  # the items of class c are by_class[starts[c]:starts[c + 1]]
    counts = np.bincount(y, minlength=proba.shape[1])
    starts = np.concatenate([[0], np.cumsum(counts)])
    phi = np.zeros(n)
    v10 = np.zeros(n)
    aucs = np.empty(len(classes))
    for first in range(0, len(classes), BLOCK):
        block_classes = classes[first:first + BLOCK]
        block = np.array(proba[:, block_classes].T, dtype=np.float64, order="C")  # (≤ BLOCK, n)
        for j, (c, column) in enumerate(zip(block_classes, block)):
            pos = by_class[starts[c]:starts[c + 1]]
            n_pos = len(pos)
            n_neg = n - n_pos
            order = np.argsort(column[pos], kind="stable")
            sorted_pos = column[pos[order]]
            left = np.searchsorted(sorted_pos, column, side="left")
            right = np.searchsorted(sorted_pos, column, side="right")
            # running counts over negatives only: all items' counts minus the positives' own
            below_left = np.cumsum(np.bincount(left, minlength=n_pos + 1) - np.bincount(left[pos], minlength=n_pos + 1))
            below_right = np.cumsum(np.bincount(right, minlength=n_pos + 1) - np.bincount(right[pos], minlength=n_pos + 1))
            below = 0.5 * (below_left[:n_pos] + below_right[:n_pos])  # negatives below the r-th positive, ties ½
            auc = below.sum() / (n_pos * n_neg)
            aucs[first + j] = auc
            contribution = ((n_pos - 0.5 * (left + right)) / n_pos - auc) / n_neg  # (V01 − AUC) / N
            contribution[pos] = 0.0  # an item is not a negative of its own class
            phi += contribution
            v10[pos[order]] = below / n_neg
    return aucs, v10, phi / len(classes)


def item_counts(rng: np.random.Generator, n: int, replicates: int) -> np.ndarray:
    """n × ``replicates`` counts: how often each item was drawn in each replicate of n draws with replacement."""
    draws = rng.integers(0, n, size=(replicates, n))
    cells = draws * replicates + np.arange(replicates)[:, None]
    return np.bincount(cells.ravel(), minlength=n * replicates).reshape(n, replicates)


def replicate_metrics(runs: list[ScoredRun], *, replicates: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every headline metric of every run under the same item draws: {metric: R × runs}."""
    n = runs[0].n
    if n >= 2**24:
        raise ValueError(f"{n:,} items: the bootstrap counts in float32 are exact only below 2^24 items")
    chunk = max(1, CHUNK_CELLS // n)
    out = {m: np.empty((replicates, len(runs))) for m in HEADLINE}
    for first in range(0, replicates, chunk):
        w = item_counts(rng, n, min(chunk, replicates - first))
        for j, run in enumerate(runs):
            for m, values in run.metrics(w).items():
                out[m][first:first + w.shape[1], j] = values
    return out


def full_sample(runs: list[ScoredRun]) -> dict[str, np.ndarray]:
    """The headline metrics on the items as they are (every weight 1): {metric: one value per run}."""
    ones = np.ones((runs[0].n, 1))
    values = [run.metrics(ones) for run in runs]
    out = {m: np.array([v[m][0] for v in values]) for m in HEADLINE}
    out["roc_auc"][[not run.auc_defined for run in runs]] = np.nan
    for j, run in enumerate(runs):
        if run.auc_method == "linear":  # the exact count (the expansion's terms sum to 0 only up to rounding)
            out["roc_auc"][j] = run.auc_point
    return out


def seed_counts(rng: np.random.Generator, runs: int, replicates: int) -> np.ndarray:
    """``replicates`` × runs: how often each run of a side was drawn (``runs`` draws with replacement)."""
    if runs == 1:
        return np.ones((replicates, 1), dtype=np.int64)
    draws = rng.integers(0, runs, size=(replicates, runs))
    return np.stack([np.count_nonzero(draws == i, axis=1) for i in range(runs)], axis=1)


def interval(differences: np.ndarray, confidence: float, n: int) -> tuple[float | None, float | None]:
    """Expanded percentile interval of the replicates' differences (Hesterberg 2015): the percentile levels
    are widened from z to √(n/(n−1))·t_{n−1} (n items), which corrects the plain percentile interval's
    narrowness in small samples and vanishes as n grows. ``None`` when fewer than half the replicates are
    defined."""
    d = differences[np.isfinite(differences)]
    if len(d) < len(differences) / 2 or not len(d):
        return None, None
    tail = (1 - confidence) / 2
    if n > 1:
        tail = float(stats.norm.cdf(-np.sqrt(n / (n - 1)) * stats.t.ppf(1 - tail, n - 1)))
    low, high = np.quantile(d, [tail, 1 - tail])
    return float(low), float(high)


def beat_share(a_values, b_values) -> float:
    """Share of (A run, B run) pairings in which A's value is higher (a tie counts one half):
    the estimate of the probability that A beats B when both are trained again with new seeds."""
    a = np.asarray(a_values, dtype=np.float64)[:, None]
    b = np.asarray(b_values, dtype=np.float64)[None, :]
    return float(np.mean((a > b) + 0.5 * (a == b)))


def compare_sides(runs: list[ScoredRun], side_a: list[int], side_b: list[int], *, replicates: int = 1000,
                  confidence: float = 0.95, seed: int = 0, draws: dict | None = None) -> dict:
    """Difference A − B of every headline metric with its bootstrap interval.

    ``side_a``/``side_b``: indices into ``runs`` (one each for a plain pair; several for seed groups, then
    the two-level bootstrap). ``draws`` may pass :func:`replicate_metrics`'s result to share it between
    comparisons. Returns {metric: {a, b, difference, ci_low, ci_high, beat_share, wins, pairings}} where
    a and b are the sides' means over their runs on the full sample.
    """
    rng = np.random.default_rng(seed)
    if draws is None:
        draws = replicate_metrics(runs, replicates=replicates, rng=rng)
    point = full_sample(runs)
    seed_rng = np.random.default_rng([seed, 1])
    replicates = len(draws[HEADLINE[0]])
    counts_a = seed_counts(seed_rng, len(side_a), replicates)  # the same seed draws for every metric
    counts_b = seed_counts(seed_rng, len(side_b), replicates)
    out = {}
    for m in HEADLINE:
        a_full, b_full = point[m][side_a], point[m][side_b]
        if np.isnan(a_full).any() or np.isnan(b_full).any():
            out[m] = {"a": None, "b": None, "difference": None, "ci_low": None, "ci_high": None,
                      "beat_share": None, "wins": None, "pairings": len(side_a) * len(side_b)}
            continue
        values = draws[m]
        diff = ((values[:, side_a] * counts_a).sum(axis=1) / len(side_a)
                - (values[:, side_b] * counts_b).sum(axis=1) / len(side_b))
        low, high = interval(diff, confidence, runs[0].n)
        a_col, b_col = a_full[:, None], b_full[None, :]
        out[m] = {
            "a": float(a_full.mean()), "b": float(b_full.mean()), "difference": float(a_full.mean() - b_full.mean()),
            "ci_low": low, "ci_high": high, "beat_share": beat_share(a_full, b_full),
            "wins": int(np.sum(a_col > b_col)), "pairings": len(side_a) * len(side_b),
        }
    return out


def verdict(a: str, b: str, figures: dict, *, metric: str = "accuracy", confidence: float = 0.95, seeds: bool = False) -> str:
    """A plain sentence, e.g. "A is better by 2.1 points, 95% CI 0.8 to 3.4; across 3 × 3 seed pairings A beat B every time"."""
    f = figures
    level = f"{confidence:.0%} CI"
    if f["difference"] is None:
        return f"{metric} undefined for at least one run; no comparison"
    d, low, high = 100 * f["difference"], f["ci_low"], f["ci_high"]
    if low is None:
        return f"{a} − {b} = {d:+.1f} points; no interval (too few defined replicates)"
    low, high = 100 * low, 100 * high
    if low > 0:
        text = f"{a} is better by {d:.1f} points, {level} {low:.1f} to {high:.1f}"
    elif high < 0:
        text = f"{b} is better by {-d:.1f} points, {level} {-high:.1f} to {-low:.1f}"
    else:
        text = f"no clear difference: {a} − {b} = {d:+.1f} points, {level} {low:+.1f} to {high:+.1f}"
    if seeds:
        wins, pairings = f["wins"], f["pairings"]
        if wins == pairings:
            how = f"{a} beat {b} every time"
        elif wins == 0 and f["beat_share"] == 0:
            how = f"{b} beat {a} every time"
        else:
            how = f"{a} beat {b} in {wins} of {pairings}"
        text += f"; across {pairings} seed pairings {how} (P({a} beats {b}) on a new seed ≈ {f['beat_share']:.2f})"
    return text


def metric_intervals(y_true, y_pred, proba, *, replicates: int = 1000, seed: int = 0,
                     confidence: float = 0.95, auc: str = "auto") -> dict[str, tuple[float, float]]:
    """The bootstrap interval of each headline metric of one run: {metric: (low, high)}.

    The same machinery as the paired comparison with a single run: ``replicates`` resamples of the n items
    (with replacement; :func:`item_counts` with ``numpy.random.default_rng(seed)``), every metric as a weighted
    sum (:class:`ScoredRun`), and :func:`interval`'s expanded percentile interval of the replicate values.
    A metric undefined on the items as they are (ROC AUC with a class absent) or with fewer than half its
    replicates defined has no entry. ``auc``: how the AUC replicates are computed (:func:`auc_method`).
    """
    run = ScoredRun(y_true, y_pred, proba, auc=auc)
    if run.n < 2 or replicates < 1:
        return {}
    point = full_sample([run])
    draws = replicate_metrics([run], replicates=replicates, rng=np.random.default_rng(seed))
    out = {}
    for m in HEADLINE:
        if not np.isfinite(point[m][0]):
            continue
        low, high = interval(draws[m][:, 0], confidence, run.n)
        if low is not None:
            out[m] = (low, high)
    return out
