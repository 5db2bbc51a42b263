"""Calibration by group: each group's expected calibration error (ECE), its bootstrap intervals, and the gap.

For group g with n_g rows, top-label confidence conf_i = max_c p_ic, correctness c_i = [argmax_c p_ic = y_i] and
the 15 equal-width confidence bins B_gm of :func:`trainlab.evaluation.calibration.calibration_bins`:

    ECE_g = Σ_m |B_gm|/n_g · |acc(B_gm) − conf(B_gm)| = (1/n_g) Σ_m |Σ_{i∈B_gm} (c_i − conf_i)|

which equals :func:`~trainlab.evaluation.calibration.expected_calibration_error` on the group's rows (a test checks
it). The gap across groups is max_g ECE_g − min_g ECE_g (the catalogue's ``calibration_gap``).

**Bootstrap, vectorised.** ECE_g depends on the rows only through the cells (bin m, correct c): their counts
C_gmc and confidence sums S_gmc. Rows resampled with replacement within a group (group sizes fixed, as for the
rates) give cell counts Multinomial(n_g, C_g / n_g) exactly; they are drawn for all replicates at once, one
``rng.multinomial`` per group, and a replicate's Σ_{i∈B_m}(c_i − conf_i) is a matrix product of the drawn counts
with the cells' c − S/C. The one approximation: a cell's confidence is held at its mean S/C. Its spread within a
bin 1/15 wide (sd ≤ 1/30) adds at most (1/30)² / (p(1−p)) ≈ 0.7% (p = 0.8) to the variance of a bin's accuracy
minus confidence, against which it is negligible; at the observed counts the figure is exact.

**Intervals.** A group's own ECE: the percentile interval of its replicates. The gap: one family of simultaneous
intervals (bootstrap max-t, as for the rates, :class:`~trainlab.fairness.bootstrap.MaxT`) over the compared
groups' ECEs and their pairwise differences, and the range interval of :mod:`~trainlab.fairness.intervals`. This
family is its own (ECE replicates are not drawn jointly with the confusion-count replicates), so together with
the rates' family the chance that *some* interval-based flag fires by chance is at most about 10%, not 5%.
Hand-written because no library bootstraps ECE by group (fairlearn's MetricFrame would rerun per resample).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from trainlab.artifacts.audit import Estimate
from trainlab.evaluation.calibration import N_BINS, confidence_bin
from trainlab.fairness import intervals as I
from trainlab.fairness import measures as M
from trainlab.fairness.bootstrap import MaxT, percentile_interval
from trainlab.fairness.rateframe import estimate

UNAVAILABLE = ("unavailable: the predictions carry no probabilities (every p_<class> is 0 or 1), so calibration "
               "cannot be measured")


def has_probabilities(proba: np.ndarray) -> bool:
    """False when the table's probabilities are hard labels (every value 0 or 1): a tool that wrote only labels."""
    proba = np.asarray(proba, dtype=np.float64)
    return bool(proba.size) and not bool(np.all((proba == 0.0) | (proba == 1.0)))


def _cells(codes, y_true, proba, n_groups: int, n_bins: int):
    """Counts C[g, m, c] and confidence sums S[g, m, c] of the (group, bin, correct) cells."""
    proba = np.asarray(proba, dtype=np.float64)
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == np.asarray(y_true)).astype(np.int64)
    flat = (np.asarray(codes) * n_bins + confidence_bin(conf, n_bins=n_bins)) * 2 + correct
    size = n_groups * n_bins * 2
    count = np.bincount(flat, minlength=size).reshape(n_groups, n_bins, 2).astype(np.float64)
    conf_sum = np.bincount(flat, weights=conf, minlength=size).reshape(n_groups, n_bins, 2)
    return count, conf_sum


def _ece(count, conf_sum) -> np.ndarray:
    """(1/n) Σ_m |Σ_c c·C_mc − S_mc| over the last two axes (bin, correct); NaN for an empty group."""
    d = count[..., 1] - conf_sum.sum(axis=-1)
    n = count.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.abs(d).sum(axis=-1) / np.where(n > 0, n, 1.0), np.nan)


@dataclass
class GroupCalibration:
    """Per-group ECE (point and bootstrap replicates) of one grouping, and the pooled ECE."""

    point: np.ndarray  # (G,)
    replicates: np.ndarray | None  # (B, G)
    pooled: float
    pooled_replicates: np.ndarray | None  # (B,)
    sizes: np.ndarray  # (G,)
    labels: list[str]
    minimum: int
    _pct: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_rows(cls, codes, y_true, proba, *, labels: list[str], minimum: int, resamples: int,
                  rng: np.random.Generator | None, n_bins: int = N_BINS) -> GroupCalibration:
        count, conf_sum = _cells(codes, y_true, proba, len(labels), n_bins)
        sizes = count.sum(axis=(1, 2))
        point = _ece(count, conf_sum)
        pooled = float(_ece(count.sum(axis=0), conf_sum.sum(axis=0)))
        reps = pooled_reps = None
        if resamples > 0:
            reps = np.full((resamples, len(labels)), np.nan)
            pooled_d = np.zeros((resamples, n_bins))  # Σ over groups of each bin's Σ (c − conf), per replicate
            for g in range(len(labels)):
                m, c = np.nonzero(count[g])
                if len(m) == 0:
                    continue
                cnt = count[g, m, c]
                draws = rng.multinomial(int(cnt.sum()), cnt / cnt.sum(), size=resamples).astype(np.float64)
                to_bin = np.zeros((len(m), n_bins))
                to_bin[np.arange(len(m)), m] = c - conf_sum[g, m, c] / cnt  # c − the cell's mean confidence
                d = draws @ to_bin  # (B, bins)
                reps[:, g] = np.abs(d).sum(axis=1) / sizes[g]
                pooled_d += d
            pooled_reps = np.abs(pooled_d).sum(axis=1) / max(1.0, sizes.sum())
        return cls(point, reps, pooled, pooled_reps, sizes, list(labels), int(minimum))

    def own(self, g: int | None) -> Estimate:
        """Group g's ECE (None: everyone together) with the percentile interval of its replicates."""
        value = self.pooled if g is None else self.point[g]
        n = self.sizes.sum() if g is None else self.sizes[g]
        if n == 0:
            return estimate(np.nan, reason="the group has no rows")
        if n < self.minimum:
            return estimate(value).model_copy(update={
                "reason": f"insufficient evidence: rests on {int(n)} row(s), fewer than the minimum {self.minimum}"})
        lo = hi = np.nan
        if self.replicates is not None:
            if "own" not in self._pct:
                self._pct["own"] = percentile_interval(self.replicates)
                self._pct["pooled"] = percentile_interval(self.pooled_replicates)
            lo, hi = (float(x) if g is None else float(x[g]) for x in self._pct["pooled" if g is None else "own"])
        return estimate(value, lo, hi)

    def compare(self, groups: np.ndarray) -> CalibrationContrasts:
        return CalibrationContrasts(self, np.asarray(groups))


class CalibrationContrasts:
    """The compared groups' ECEs and their pairwise differences, with one family of simultaneous intervals.

    Offers what the audit asks of :class:`~trainlab.fairness.rateframe.Contrasts` for a gap measure (``rate``,
    ``gap``, ``extremes``, ``separated``), for the one rate ``"ece"``.
    """

    RATE = "ece"

    def __init__(self, cal: GroupCalibration, groups: np.ndarray):
        self.frame, self.E = cal, groups
        x = cal.point[groups]
        self.rate = {self.RATE: x}
        self.pair = I.pair_differences(x, axis=0)
        self.se = self.pair_se = np.full(len(self.pair), np.nan)
        self.crit = np.nan
        if cal.replicates is None:
            self.pair_iv = (np.full(self.pair.shape, np.nan), np.full(self.pair.shape, np.nan))
            return
        bx = cal.replicates[:, groups]
        mt = MaxT(bx.shape[0])
        self.se = mt.add(x, bx)
        self.pair_se = mt.add(self.pair, I.pair_differences(bx, axis=1)) if self.pair.size else self.pair_se
        self.crit = mt.critical()
        self.pair_iv = MaxT.interval(self.pair, self.pair_se, self.crit, -1.0, 1.0)

    def _check(self, rate: str, k) -> None:
        if rate != self.RATE or k is not None:
            raise ValueError(f"calibration contrasts hold the ECE only, not {rate!r} (class {k!r})")

    def extremes(self, rate: str = RATE, k=None) -> tuple[int | None, int | None]:
        self._check(rate, k)
        x = self.rate[self.RATE]
        if np.isfinite(x).sum() < 2:
            return None, None
        return int(np.nanargmin(x)), int(np.nanargmax(x))

    def gap(self, rate: str = RATE, k=None) -> Estimate:
        """max_g ECE_g − min_g ECE_g, interval from the pair family."""
        self._check(rate, k)
        lo, hi = I.range_interval(*self.pair_iv)
        return estimate(M.range_difference(self.rate[self.RATE], axis=0), lo, hi,
                        reason="fewer than two compared groups")

    def separated(self, rate: str = RATE, k=None) -> tuple[tuple[int, int, float] | None, int]:
        self._check(rate, k)
        lo, hi = self.pair_iv
        return I.separated_pair(lo, hi, len(self.E)), int(np.sum(np.maximum(lo, -hi) > 0))
