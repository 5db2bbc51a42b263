"""RateFrame: the one object every audited figure is derived from (as fairlearn derives every metric from MetricFrame).

A RateFrame holds, for one grouping, the per-group rates (:mod:`trainlab.fairness.rates`: point estimates by
fairlearn, and the same rates on every bootstrap replicate of the confusion counts) and the groups that are
compared. Every figure of the audit is one of its methods, and each returns an
:class:`~trainlab.artifacts.audit.Estimate` (value, 95% interval, and the reason where it is undefined or rests on
too few rows):

    rf, pooled = RateFrame.from_rows(codes, y_true, y_pred, classes, labels=labels, minimum=30, resamples=1000, rng=rng)
    rf.own("tpr", g, k)                  a group's own rate, Wilson score interval (F1: percentile)
    rf.compare(groups, reference)        -> Contrasts among ``groups`` (one simultaneous family):
        .gap("selection_rate", k)        max_g r_g − min_g r_g       (fairlearn's difference)
        .ratio("selection_rate", k)      min_g r_g / max_g r_g       (fairlearn's ratio)
        .worst("accuracy")               min_g r_g
        .to_reference("tpr", g, k)       r_g − r_ref                 (AIF360's unprivileged − privileged)
        .to_reference("selection_rate", g, k, how="ratio")           r_g / r_ref
        .ratio_to_highest("selection_rate", k)                       r_g / max_h r_h (the four-fifths rule)

**The minimum.** A rate rests on the rows of its denominator: n_g for selection rate and accuracy, the rows of
true class k for TPR, the other rows for FPR (:func:`rates.support`). A rate resting on fewer than ``minimum``
rows is *insufficient evidence*: its own figure is shown with no interval, and it is left out of every gap,
ratio and comparison (as a group smaller than the minimum is); a measure left with fewer than two groups is
undefined, with that reason. The definitions of the intervals: :mod:`trainlab.fairness.intervals`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from trainlab.artifacts.audit import Estimate
from trainlab.fairness import intervals as I
from trainlab.fairness import measures as M
from trainlab.fairness import score
from trainlab.fairness.bootstrap import CI_LEVEL, MaxT, bootstrap_counts, percentile_interval
from trainlab.fairness.rates import (
    Counts, confusion_cells, counts_from_cells, fairlearn_rates, insufficient_reason, rates_from_counts, support,
    undefined_reason,
)

COMPARED = ("selection_rate", "tpr", "fpr", "accuracy")  # the rates that groups are compared on
# the rates that are k of n rows (n: rates.support), whose intervals are score intervals; F1s are not
PROPORTIONS = ("base_rate", "selection_rate", "tpr", "fpr", "accuracy", "error_rate")
_CHUNK = 4_000_000  # replicate values of pairwise differences held at once


def _num(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def estimate(value, lo=np.nan, hi=np.nan, reason: str | None = None) -> Estimate:
    """An Estimate from floats: NaN value → null with ``reason``; the interval null when unknown; a +inf
    upper bound (a ratio to an interval reaching 0) → null inside the interval."""
    v = _num(value)
    known = v is not None and np.isfinite(lo) and not np.isnan(hi)
    ci = [_num(lo), None if np.isposinf(hi) else _num(hi)] if known else None
    return Estimate(value=v, ci=ci, reason=None if v is not None else (reason or "undefined"))


@dataclass
class RateFrame:
    """Per-group rates (point and bootstrap replicates) of one grouping; see the module docstring."""

    counts: Counts  # (G, ...)
    point: dict[str, np.ndarray]  # metric -> (G,) or (G, K)
    replicates: dict[str, np.ndarray] | None  # metric -> (B, G) or (B, G, K); None without bootstrap
    classes: list[str]
    labels: list[str]  # group labels, for the reasons
    minimum: int
    _pct: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_rows(cls, codes, y_true, y_pred, classes, *, labels: list[str], minimum: int, resamples: int,
                  rng: np.random.Generator | None) -> tuple[RateFrame, RateFrame]:
        """The groups' RateFrame and the pooled one (everyone together), bootstrapped from the same replicates."""
        cells = confusion_cells(codes, y_true, y_pred, len(labels), len(classes))
        counts = counts_from_cells(cells)
        pooled_cells = cells.sum(axis=0, keepdims=True)
        pooled_counts = counts_from_cells(pooled_cells)
        boot = boot_pooled = None
        if resamples > 0:
            bc = bootstrap_counts(cells, resamples, rng)
            boot = rates_from_counts(bc)
            boot_pooled = rates_from_counts(Counts(*(x.sum(axis=1, keepdims=True) for x in (bc.n, bc.pos, bc.sel, bc.tp))))
        return (cls(counts, fairlearn_rates(cells, counts), boot, list(classes), list(labels), minimum),
                cls(pooled_counts, fairlearn_rates(pooled_cells, pooled_counts), boot_pooled, list(classes), ["overall"],
                    minimum))

    @property
    def sizes(self) -> np.ndarray:
        return self.counts.n

    def own(self, metric: str, g: int, k: int | None = None) -> Estimate:
        """Group g's own rate (class k one-vs-rest), with its 95% interval: Wilson's score interval for a
        proportion (:data:`PROPORTIONS`; the percentile bootstrap of a proportion with few events covers too
        rarely), the percentile interval of the replicates for F1 and macro F1. Like every interval of the audit,
        given only when the audit bootstraps (``bootstrap`` 0: no intervals)."""
        index = (g,) if k is None else (g, k)
        value = self.point[metric][index]
        few = insufficient_reason(metric, self.counts, g, k, self.classes, self.minimum)
        if few:  # shown, but its interval would be a guess (often a single point): none, and the reason
            return estimate(value).model_copy(update={"reason": few})
        lo = hi = np.nan
        if self.replicates is not None:
            if metric not in self._pct:  # one vectorised computation per metric, not one per figure
                self._pct[metric] = (self.score_interval(metric, score.z_value(CI_LEVEL)) if metric in PROPORTIONS
                                     else percentile_interval(self.replicates[metric]))
            lo, hi = (float(x[index]) for x in self._pct[metric])
        return estimate(value, lo, hi, reason=undefined_reason(metric, self.counts, g, k, self.classes))

    def score_interval(self, metric: str, z: float, groups=slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """Wilson intervals at quantile z of every (group, class) rate of ``metric`` (rows: :func:`support`)."""
        rows = support(metric, self.counts)[groups]
        return score.wilson(np.round(self.point[metric][groups] * rows), rows, z)

    def compare(self, groups: np.ndarray, reference: int) -> Contrasts:
        return Contrasts(self, np.asarray(groups), int(reference))


class Contrasts:
    """Everything that compares ``groups`` of a RateFrame, with one family of simultaneous intervals.

    The family holds every compared rate r_g (selection rate, TPR, FPR per class, accuracy) and every pairwise
    difference r_a − r_b. Its critical value c is the bootstrap max-t quantile
    (:class:`~trainlab.fairness.bootstrap.MaxT`); each rate gets its Wilson interval at z = c and each difference
    Newcombe's score interval built from those (:mod:`~trainlab.fairness.score`). Gaps, ratios, worst groups and
    comparisons with the reference take their intervals from the family (:mod:`~trainlab.fairness.intervals`),
    so together they hold with probability ≈ 95%.
    """

    def __init__(self, frame: RateFrame, groups: np.ndarray, reference: int):
        self.frame, self.E = frame, groups
        self.ref = reference
        self.ri = int(np.flatnonzero(groups == reference)[0])
        counts, point, boot = frame.counts, frame.point, frame.replicates
        # A rate on too few rows (a rare class's TPR in a large group) leaves every comparison, as a small group does.
        self.enough = {m: support(m, counts)[groups] >= frame.minimum for m in COMPARED}
        self.rate = {m: np.where(self.enough[m], point[m][groups], np.nan) for m in COMPARED}  # (m, K) / (m,)
        self.pair = {m: I.pair_differences(x, axis=0) for m, x in self.rate.items()}  # (P, K) / (P,)
        self.crit = np.nan
        if boot is None:
            nan = lambda x: (np.full(x.shape, np.nan), np.full(x.shape, np.nan))  # noqa: E731
            self.rate_iv = {m: nan(x) for m, x in self.rate.items()}
            self.pair_iv = {m: nan(x) for m, x in self.pair.items()}
            self.boot = None
            return
        self.boot = {m: np.where(self.enough[m], boot[m][:, groups], np.nan) for m in COMPARED}  # (B, m, ...)
        B, K = next(iter(boot.values())).shape[0], len(frame.classes)
        mt = MaxT(B)
        for m, x in self.rate.items():
            bx = self.boot[m]
            mt.add(x, bx)
            px = self.pair[m]
            if px.size:
                if px.ndim == 1:
                    mt.add(px, I.pair_differences(bx, axis=1))
                else:
                    step = max(1, _CHUNK // max(1, B * px.shape[0]))
                    for k0 in range(0, K, step):
                        mt.add(px[:, k0:k0 + step], I.pair_differences(bx[:, :, k0:k0 + step], axis=1))
        self.crit = mt.critical()
        # The max-t family sets the critical value (the multiplicity); each member's interval is then the score
        # interval at that quantile: Wilson for a rate, Newcombe's for a difference of two groups' rates. The Wald
        # form θ̂ ± c·se undercovered a group of 30 beside groups of 300 and 3,000 (jointly 91.5-92.2%, BENCHMARKS.md):
        # its se is poor and its replicates far from normal. With no replicate varying (c undefined), Šidák's z.
        family = sum(int(np.isfinite(x).sum()) for x in (*self.rate.values(), *self.pair.values()))
        self.z = self.crit if np.isfinite(self.crit) else score.sidak_z(CI_LEVEL, family)
        a, b = I.pairs(len(groups))
        self.rate_iv, self.pair_iv = {}, {}
        for m, x in self.rate.items():
            L, U = frame.score_interval(m, self.z, groups)
            L, U = np.where(self.enough[m], L, np.nan), np.where(self.enough[m], U, np.nan)
            self.rate_iv[m] = (L, U)
            self.pair_iv[m] = score.newcombe(x[a], L[a], U[a], x[b], L[b], U[b])

    # -- helpers ------------------------------------------------------------------------------------
    def _x(self, rate: str, k: int | None):
        x = self.rate[rate]
        return x if k is None else x[:, k]

    def _iv(self, table: dict, rate: str, k: int | None):
        lo, hi = table[rate]
        return (lo, hi) if k is None else (lo[:, k], hi[:, k])

    def extremes(self, rate: str, k: int | None) -> tuple[int | None, int | None]:
        """Indices (into ``E``) of the lowest and highest compared group, or None with fewer than two defined."""
        x = self._x(rate, k)
        if np.isfinite(x).sum() < 2:
            return None, None
        return int(np.nanargmin(x)), int(np.nanargmax(x))

    # -- measures over the compared groups ------------------------------------------------------------
    def gap(self, rate: str, k: int | None = None) -> Estimate:
        """max_g r_g − min_g r_g, interval from the pair family."""
        lo, hi = I.range_interval(*self._iv(self.pair_iv, rate, k))
        return estimate(M.range_difference(self._x(rate, k), axis=0), lo, hi, reason=self.gap_reason(rate, k))

    def ratio(self, rate: str, k: int | None = None) -> Estimate:
        """min_g r_g / max_g r_g, interval from the rates' simultaneous intervals."""
        lo, hi = I.ratio_interval(*self._iv(self.rate_iv, rate, k))
        return estimate(M.min_max_ratio(self._x(rate, k), axis=0), lo, hi, reason=self.gap_reason(rate, k, ratio=True))

    def worst(self, rate: str, k: int | None = None) -> Estimate:
        """min_g r_g (the worst group's rate)."""
        L, U = self._iv(self.rate_iv, rate, k)
        return estimate(M.group_min(self._x(rate, k), axis=0), *I.worst_interval(L, U, kind="min", axis=0))

    def ratio_to_highest(self, rate: str, k: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """r_g / max_h r_h for every compared group: (values, lower, upper) arrays."""
        x = self._x(rate, k)
        L, U = self._iv(self.rate_iv, rate, k)
        lo, hi = I.ratio_to_interval(L, U, M.group_max(L), M.group_max(U))
        return M.ratio_to_max(x), lo, np.minimum(hi, 1.0)

    def separated(self, rate: str, k: int | None = None) -> tuple[tuple[int, int, float] | None, int]:
        """The most clearly separated pair (higher, lower, lower bound of their gap) and how many pairs are."""
        lo, hi = self._iv(self.pair_iv, rate, k)
        return I.separated_pair(lo, hi, len(self.E)), int(np.sum(np.maximum(lo, -hi) > 0))

    # -- one group against the reference ------------------------------------------------------------
    def _difference(self, rate: str, gi: int, k: int | None):
        """r_g − r_ref: point and simultaneous interval, from the pair family."""
        a, b = I.pairs(len(self.E))
        lo_i, hi_i = min(gi, self.ri), max(gi, self.ri)
        p = int(np.flatnonzero((a == lo_i) & (b == hi_i))[0])
        sign = 1.0 if gi < self.ri else -1.0
        idx = (p,) if k is None else (p, k)
        lo, hi = self.pair_iv[rate][0][idx], self.pair_iv[rate][1][idx]
        return sign * self.pair[rate][idx], ((lo, hi) if sign > 0 else (-hi, -lo))

    def _marginal(self, how: str, rate: str, gi: int):
        """Marginal (not simultaneous) 95% intervals of the comparison over every class at once: Newcombe's score
        interval for a difference, the percentile interval of the replicates for a ratio and for average odds."""
        key = (how, rate, gi)
        if key not in self.frame._pct:
            if self.boot is None:
                self.frame._pct[key] = None
            elif how == "difference":
                f, z = self.frame, score.z_value(CI_LEVEL)
                g, r = self.E[gi], self.E[self.ri]
                (Lg, Ug), (Lr, Ur) = f.score_interval(rate, z, g), f.score_interval(rate, z, r)
                self.frame._pct[key] = score.newcombe(f.point[rate][g], Lg, Ug, f.point[rate][r], Lr, Ur)
            else:
                g, r = self.frame.replicates, (slice(None), self.E[self.ri])
                i = (slice(None), self.E[gi])
                if how == "ratio":
                    with np.errstate(invalid="ignore", divide="ignore"):
                        rep = np.where(g[rate][r] > 0, g[rate][i] / g[rate][r], np.nan)
                else:
                    rep = 0.5 * ((g["tpr"][i] - g["tpr"][r]) + (g["fpr"][i] - g["fpr"][r]))
                self.frame._pct[key] = percentile_interval(rep)
        return self.frame._pct[key]

    def to_reference(self, rate: str, gi: int, k: int | None = None, how: str = "difference"):
        """Group ``E[gi]`` against the reference: (Estimate with the marginal interval, simultaneous (lo, hi)).

        how: ``difference`` r_g − r_ref; ``ratio`` r_g / r_ref; ``average_odds`` ½[(FPR_g − FPR_ref) + (TPR_g − TPR_ref)].
        """
        if how == "difference":
            value, sim = self._difference(rate, gi, k)
        elif how == "ratio":
            x = self._x(rate, k)
            value = M.ratio_to_reference(x, self.ri, axis=0)[gi]
            L, U = self._iv(self.rate_iv, rate, k)
            sim = I.ratio_to_interval(L[gi], U[gi], L[self.ri], U[self.ri])
        elif how == "average_odds":
            vt, (lt, ht) = self._difference("tpr", gi, k)
            vf, (lf, hf) = self._difference("fpr", gi, k)
            value, sim = 0.5 * (vt + vf), (0.5 * (lt + lf), 0.5 * (ht + hf))
        else:
            raise ValueError(how)
        pct = self._marginal(how, rate, gi)
        lo, hi = (np.nan, np.nan) if pct is None else (pct[0] if k is None else pct[0][k], pct[1] if k is None else pct[1][k])
        needs = ("tpr", "fpr") if how == "average_odds" else (rate,)
        return estimate(value, lo, hi, reason=self._reference_reason(needs, gi, k, ratio=how == "ratio")), sim

    # -- reasons ------------------------------------------------------------------------------------
    def gap_reason(self, rate: str, k: int | None, ratio: bool = False) -> str:
        """Why a gap or ratio over the compared groups is undefined."""
        if k is None:
            return "undefined"
        cls, m, E = self.frame.classes[k], self.frame.minimum, self.E
        if ratio and np.nanmax(self.rate[rate][:, k]) == 0:
            return f"no compared group is ever predicted '{cls}' (every selection rate is 0), so the ratio is 0/0"
        if rate in ("tpr", "fpr") and np.isfinite(self.rate[rate][:, k]).sum() < 2:
            rows = f"true class '{cls}'" if rate == "tpr" else f"a class other than '{cls}'"
            if np.isfinite(self.frame.point[rate][E, k]).sum() >= 2:
                return (f"insufficient evidence: fewer than two compared groups have at least {m} rows of {rows}, "
                        f"the rows their {rate.upper()} rests on")
            return f"fewer than two compared groups have a row of {rows} (their {rate.upper()} is 0/0)"
        return "undefined"

    def _reference_reason(self, needs, gi: int, k: int | None, ratio: bool) -> str:
        if k is None:
            return "undefined"
        f, g, r = self.frame, self.E[gi], self.ref
        cls = f.classes[k]
        if ratio and f.point["selection_rate"][r, k] == 0:
            return f"the reference group '{f.labels[r]}' is never predicted '{cls}' (selection rate 0), so the ratio is x/0"
        if ratio:
            return "undefined"
        for metric in needs:
            for who in (g, r):
                why = undefined_reason(metric, f.counts, who, k, f.classes)
                if why:
                    return f"group '{f.labels[who]}': {why}"
                few = insufficient_reason(metric, f.counts, who, k, f.classes, f.minimum)
                if few:
                    return few.replace("insufficient evidence: ", f"insufficient evidence: group '{f.labels[who]}' ", 1)
        return "undefined"
