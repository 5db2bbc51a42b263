"""Multi-class mitigation: per-group additive log-score offsets found by coordinate search.

fairlearn's ThresholdOptimizer handles binary decisions only. For a multi-class target without a
favorable class, each group g gets an offset vector b_g ∈ R^K and the decision becomes

    ŷ_i = argmax_k ( log p_ik + b_{g(i),k} )                    (b_{g,0} = 0: only differences matter)

The offsets are fitted on the validation predictions to maximise accuracy subject to the chosen
parity gap being at most ``tolerance``:

    gap_DP   = max_k ( max_g SR_gk  − min_g SR_gk  )                  demographic_parity
    gap_TPR  = max_k ( max_g TPR_gk − min_g TPR_gk )                  true_positive_rate_parity
    gap_EO   = max_k max( max_g TPR_gk − min_g TPR_gk, max_g FPR_gk − min_g FPR_gk )   equalized_odds

(groups with at least ``min_group_size`` validation rows; smaller groups keep b_g = 0). Candidates
are compared lexicographically by (max(gap − tolerance, 0), −accuracy): first reach the tolerance,
then keep the most accurate. The search is coordinate-wise: for step sizes 1, 0.5, 0.25, 0.1, 0.05,
0.02, repeatedly try b_gk ± step for every (group, class) and keep any move that improves the
objective, until no move improves. It is deterministic (no randomness to seed). Hand-written
because no library offers it; it is cheap, since a move changes only one group's predictions, and
so only that group's confusion counts are recomputed.
"""

from __future__ import annotations

import numpy as np

from trainlab.fairness import measures as M
from trainlab.fairness.rates import Counts, rates_from_counts

STEPS = (1.0, 0.5, 0.25, 0.1, 0.05, 0.02)
MAX_ROUNDS = 50


def parity_gap(sr: np.ndarray, tpr: np.ndarray, fpr: np.ndarray, constraint: str) -> float:
    """The constraint's gap over groups (rows) and classes (columns), NaN-aware."""
    if constraint == "demographic_parity":
        per_class = M.range_difference(sr, axis=0)
    elif constraint == "true_positive_rate_parity":
        per_class = M.range_difference(tpr, axis=0)
    elif constraint == "equalized_odds":
        per_class = np.fmax(M.range_difference(tpr, axis=0), M.range_difference(fpr, axis=0))
    else:
        raise ValueError(constraint)
    return float(np.nanmax(per_class)) if np.isfinite(per_class).any() else 0.0


class _State:
    def __init__(self, scores, y_true, codes, groups, n_classes):
        self.scores, self.y, self.codes, self.K = scores, y_true, codes, n_classes
        self.rows = [np.flatnonzero(codes == g) for g in groups]
        self.pos = np.stack([np.bincount(y_true[r], minlength=n_classes) for r in self.rows]).astype(float)
        self.n = np.array([len(r) for r in self.rows], dtype=float)
        self.sel = np.zeros_like(self.pos)
        self.tp = np.zeros_like(self.pos)

    def counts_for(self, gi: int, offset: np.ndarray):
        r = self.rows[gi]
        pred = np.argmax(self.scores[r] + offset, axis=1)
        sel = np.bincount(pred, minlength=self.K)
        tp = np.bincount(pred[pred == self.y[r]], minlength=self.K)
        return sel, tp

    def set(self, gi: int, sel, tp):
        self.sel[gi], self.tp[gi] = sel, tp

    def objective(self, constraint: str, tolerance: float, gi=None, sel=None, tp=None):
        s, t = self.sel, self.tp
        if gi is not None:
            s, t = s.copy(), t.copy()
            s[gi], t[gi] = sel, tp
        rates = rates_from_counts(Counts(n=self.n, pos=self.pos, sel=s, tp=t))  # the audit's rates, one implementation
        gap = parity_gap(rates["selection_rate"], rates["tpr"], rates["fpr"], constraint)
        accuracy = t.sum() / self.n.sum()
        return (max(gap - tolerance, 0.0), -accuracy), gap, accuracy


def fit_offsets(proba: np.ndarray, y_true: np.ndarray, codes: np.ndarray, *, n_groups: int, constraint: str,
                tolerance: float, min_group_size: int) -> tuple[np.ndarray, dict]:
    """Per-group offsets (n_groups, K) fitted on validation predictions; and a record of the fit."""
    scores = np.log(np.clip(np.asarray(proba, dtype=np.float64), 1e-12, None))
    K = scores.shape[1]
    sizes = np.bincount(codes, minlength=n_groups)
    fitted = [g for g in range(n_groups) if sizes[g] >= min_group_size]
    offsets = np.zeros((n_groups, K))
    state = _State(scores, np.asarray(y_true), np.asarray(codes), fitted, K)
    for gi, g in enumerate(fitted):
        state.set(gi, *state.counts_for(gi, offsets[g]))
    best, gap0, acc0 = state.objective(constraint, tolerance)
    moves = 0
    for step in STEPS:
        for _ in range(MAX_ROUNDS):
            improved = False
            for gi, g in enumerate(fitted):
                for k in range(1, K):
                    for delta in (step, -step):
                        trial = offsets[g].copy()
                        trial[k] += delta
                        sel, tp = state.counts_for(gi, trial)
                        obj, _, _ = state.objective(constraint, tolerance, gi, sel, tp)
                        if obj < best:
                            best, offsets[g] = obj, trial
                            state.set(gi, sel, tp)
                            improved, moves = True, moves + 1
                            break
            if not improved:
                break
    _, gap, acc = state.objective(constraint, tolerance)
    record = {
        "val_gap_before": gap0, "val_accuracy_before": acc0, "val_gap_after": gap, "val_accuracy_after": acc,
        "tolerance": tolerance, "tolerance_met": bool(gap <= tolerance + 1e-12), "moves": moves,
        "groups_fitted": len(fitted), "groups_left_unchanged": int(n_groups - len(fitted)),
    }
    return offsets, record


def apply_offsets(proba: np.ndarray, codes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """ŷ = argmax_k (log p_k + b_{g,k}); rows of groups without offsets (code −1) keep b = 0."""
    scores = np.log(np.clip(np.asarray(proba, dtype=np.float64), 1e-12, None))
    b = np.where((codes >= 0)[:, None], offsets[np.clip(codes, 0, None)], 0.0)
    return np.argmax(scores + b, axis=1)
