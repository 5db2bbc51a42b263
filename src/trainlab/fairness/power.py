"""What the data can show: the minimum detectable difference (MDD) of each measure at the group sizes present.

For a difference of two proportions resting on n1 and n2 rows (the measure's denominators: all rows of a group
for the selection rate and accuracy, its rows of true class k for TPR, its other rows for FPR), a two-sided test
at level α detects a true difference δ with power 1 − β when

    δ ≥ MDD = (z_{1−α/2} + z_{1−β}) · sqrt(p(1 − p) · (1/n1 + 1/n2)),     α = 0.05, 1 − β = 0.8  (2.8016 · SE)

with p the pooled rate over the compared groups (Σ numerators / Σ denominators). Assumptions: the normal
approximation of the two-proportion z-test, the variance p(1 − p) taken at the pooled rate (the alternative's
variance differs a little when the rates are far apart), rows independent. It is computed for the smallest and
the largest relevant compared group: a disparity that affects the smallest group, against the best-measured one
(for a measure against the reference: the smallest other group against the reference).

* Ratio measures (demographic parity ratio, disparate impact) get the MDD of their **difference form**, the
  difference of the two selection rates (``form`` says so).
* Equalized odds: the larger of the TPR and FPR gaps' MDDs (a gap of that size in either part is detected).
* Average odds: (z + z) · ½ · sqrt(V_TPR + V_FPR), the variance of ½(ΔTPR + ΔFPR).
* Worst-group accuracy: the accuracy difference's MDD (the worst group's shortfall against the largest group).
* Calibration gap: ECE is not a proportion; (z + z) · sqrt(se_1² + se_2²) with the groups' bootstrap standard
  errors (normal approximation; none without bootstrap).

``at_flag_level`` replaces z_{1−α/2} by the audit's simultaneous critical value c (its flags test every pair at
once, so the gap they detect with 80% power is (c + z_0.8) · SE, larger). A tested check: a simulation in
tests/test_fairness_power.py rejects in ≈ 80% of draws at the MDD.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from trainlab.fairness.rates import support

ALPHA = 0.05
POWER = 0.8
Z_ALPHA = float(norm.ppf(1.0 - ALPHA / 2.0))  # 1.959964
Z_POWER = float(norm.ppf(POWER))  # 0.841621 (computed once: scipy's ppf costs ~0.1 ms a call)


def z_sum(alpha: float = ALPHA, power: float = POWER) -> float:
    """z_{1−α/2} + z_{power} (2.8016 at the defaults)."""
    return float(norm.ppf(1.0 - alpha / 2.0) + norm.ppf(power))


def minimum_detectable_difference(p: float, n1: float, n2: float, *, alpha: float = ALPHA, power: float = POWER,
                                  z_alpha: float | None = None) -> float:
    """(z_{1−α/2} + z_power) · sqrt(p(1 − p)(1/n1 + 1/n2)); ``z_alpha`` overrides z_{1−α/2} (a critical value)."""
    za = float(norm.ppf(1.0 - alpha / 2.0)) if z_alpha is None else float(z_alpha)
    if n1 <= 0 or n2 <= 0 or not np.isfinite(p):
        return float("nan")
    return (za + float(norm.ppf(power))) * float(np.sqrt(p * (1.0 - p) * (1.0 / n1 + 1.0 / n2)))


def _num(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def _rows_and_rate(c, rate: str, k: int | None):
    """Rows under ``rate`` of each compared group, its rate, and which groups are compared on it."""
    rows = support(rate, c.frame.counts)[c.E]
    rows = rows if k is None else rows[:, k]
    x = c.frame.point[rate][c.E]
    x = x if k is None else x[:, k]
    ok = c.enough[rate] if k is None else c.enough[rate][:, k]
    return rows, x, ok & np.isfinite(x)


def _variance_parts(c, rate: str, k: int | None, pair: tuple[int, int] | None):
    """(pair (indices into c.E), rows of each, pooled p, p(1−p)(1/n1 + 1/n2)) for one rate, or None."""
    rows, x, ok = _rows_and_rate(c, rate, k)
    if ok.sum() < 2:
        return None
    idx = np.flatnonzero(ok)
    if pair is None:  # the smallest and the largest relevant group
        pair = (int(idx[np.argmin(rows[idx])]), int(idx[np.argmax(rows[idx])]))
        if pair[0] == pair[1]:  # every group the same size: any two
            pair = (int(idx[0]), int(idx[1]))
    elif not (ok[pair[0]] and ok[pair[1]]):
        return None
    p = float(np.sum(x[idx] * rows[idx]) / np.sum(rows[idx]))
    n1, n2 = float(rows[pair[0]]), float(rows[pair[1]])
    return pair, (n1, n2), p, p * (1.0 - p) * (1.0 / n1 + 1.0 / n2)


def rate_mdd(c, rate: str | tuple[str, str], k: int | None, *, how: str = "gap",
             to_reference: bool = False) -> dict:
    """The MDD of a measure on rate(s) of the compared groups of a :class:`~trainlab.fairness.rateframe.Contrasts`.

    how: ``gap`` (one rate), ``either`` (equalized odds: the larger of two rates' MDDs), ``average`` (average odds:
    ½ of the sum of two rates' differences). to_reference: the pair is (smallest other group, the reference).
    """
    labels = [c.frame.labels[g] for g in c.E]
    rates = (rate,) if isinstance(rate, str) else tuple(rate)
    if k is None and any(c.frame.point[r].ndim > 1 for r in rates):
        return {"value": None, "reason": "no class to compute it for (the measure is undefined for every class)"}
    pair = None
    if to_reference:  # the smallest other group compared on every rate, against the reference
        parts = [_rows_and_rate(c, r, k) for r in rates]
        usable = np.logical_and.reduce([ok for _, _, ok in parts])
        others = [i for i in np.flatnonzero(usable) if i != c.ri]
        if not others or not usable[c.ri]:
            return {"value": None, "reason": "no group besides the reference with enough rows for this rate"}
        pair = (int(min(others, key=lambda i: parts[0][0][i])), c.ri)
    parts = [_variance_parts(c, r, k, pair) for r in rates]
    if any(x is None for x in parts):
        return {"value": None, "reason": "fewer than two compared groups with enough rows for this rate"}
    crit = c.crit if np.isfinite(c.crit) else None
    za, zb = Z_ALPHA, Z_POWER
    if how == "average":
        var = 0.25 * sum(v for *_, v in parts)
        (a, b), n = parts[0][0], parts[0][1]
        return {"value": _num((za + zb) * np.sqrt(var)), "groups": [labels[a], labels[b]],
                "n": [int(n[0]), int(n[1])], "pooled_rate": None,
                "at_flag_level": _num((crit + zb) * np.sqrt(var)) if crit else None,
                "form": "difference: ½(ΔTPR + ΔFPR), n of the TPR part"}
    best = None
    for r, (pr, n, p, var) in zip(rates, parts):
        entry = {"value": _num((za + zb) * np.sqrt(var)), "groups": [labels[pr[0]], labels[pr[1]]],
                 "n": [int(n[0]), int(n[1])], "pooled_rate": _num(p),
                 "at_flag_level": _num((crit + zb) * np.sqrt(var)) if crit else None,
                 "form": "difference" + (f" of {r.upper()}" if len(rates) > 1 else "")}
        if best is None or (entry["value"] or 0.0) > (best["value"] or 0.0):
            best = entry
    return best


def ece_mdd(cc) -> dict:
    """The calibration gap's MDD from the bootstrap standard errors of the smallest and largest group's ECE."""
    if cc is None:
        return {"value": None, "reason": "calibration is not available"}
    if not np.isfinite(cc.se).any():
        return {"value": None, "reason": "needs the bootstrap (--bootstrap > 0) for the ECE's standard errors"}
    sizes = cc.frame.sizes[cc.E]
    small, large = int(np.argmin(sizes)), int(np.argmax(sizes))
    if small == large:
        small, large = 0, 1
    se = float(np.sqrt(cc.se[small] ** 2 + cc.se[large] ** 2))
    zb = Z_POWER
    labels = cc.frame.labels
    crit = cc.crit if np.isfinite(cc.crit) else None
    return {"value": _num(z_sum() * se), "at_flag_level": _num((crit + zb) * se) if crit else None,
            "groups": [labels[cc.E[small]], labels[cc.E[large]]], "n": [int(sizes[small]), int(sizes[large])],
            "pooled_rate": None, "form": "difference of ECE (normal approximation, bootstrap standard errors)"}
