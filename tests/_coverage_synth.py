"""Simulated audits and paired comparisons whose true rates are known, run through trainlab's own functions.

A binary classifier (favorable class 1) is described per group g by its true-positive rate TPR_g and false-positive
rate FPR_g, with P(Y = 1) = π in every group, so every audited figure has a closed-form true value:

    SR_g = π TPR_g + (1 − π) FPR_g        accuracy_g = π TPR_g + (1 − π)(1 − FPR_g)

Item i of group g has y_i ~ Bernoulli(π) and a uniform u_i; model A predicts 1 when u_i < TPR_g (y = 1) or
u_i < FPR_g (y = 0). Model B (a comparison) uses the same u_i with probability ``coupling`` and its own uniform
otherwise, so the two models err on many of the same items (what makes the comparison paired) while each keeps
its exact marginal rates.

The audit is :func:`trainlab.fairness.audit.audit` and the comparison :func:`trainlab.fairness.gap_change.gap_changes`
(what ``compare --by`` and ``mitigate`` call). One substitution, for speed only: the audit's point estimates come
from fairlearn's MetricFrame, which takes ~0.4 s per audit; :func:`fast_point_estimates` hands the audit
:func:`trainlab.fairness.rates.rates_from_counts` instead, the vectorised computation of the same figures
(tests/test_fairness_rates.py checks them equal to fairlearn's). Bootstrap, intervals, family and flags are
the audit's own code, untouched. True gaps are computed from the true rates with the catalogue's own measure
functions (:mod:`trainlab.fairness.measures`, via :func:`trainlab.fairness.gap_change.headline_values`), so the
truth is defined exactly as the estimate.

Used by tests/test_coverage.py (small) and bench/bench_coverage.py (the table in BENCHMARKS.md).
"""

from __future__ import annotations

import contextlib
from unittest import mock

import numpy as np
import pandas as pd

from trainlab.artifacts.predictions import Predictions
from trainlab.fairness import rateframe
from trainlab.fairness.audit import audit
from trainlab.fairness.gap_change import _headlines, gap_changes, headline_values
from trainlab.fairness.groups import Grouping
from trainlab.fairness.rates import counts_from_cells, rates_from_counts

CLASSES = ["no", "yes"]
MINIMUM = 30
# A: a model with planted disparities; B: the same after a mitigation (smaller gaps); NULL: one distribution
TPR_A, FPR_A = (0.90, 0.80, 0.70), (0.10, 0.15, 0.25)
TPR_B, FPR_B = (0.85, 0.80, 0.76), (0.12, 0.14, 0.17)
TPR_NULL, FPR_NULL = (0.80, 0.80, 0.80), (0.15, 0.15, 0.15)
GAPS = ("demographic_parity_difference", "equal_opportunity_difference", "false_positive_rate_difference",
        "equalized_odds_difference", "accuracy_gap")


@contextlib.contextmanager
def fast_point_estimates():
    """The audit with its point estimates from rates_from_counts (= fairlearn's, tested) instead of MetricFrame."""
    with mock.patch.object(rateframe, "fairlearn_rates", lambda cells, counts=None: rates_from_counts(
            counts if counts is not None else counts_from_cells(cells))):
        yield


def true_rates(tpr, fpr, prevalence: float) -> dict[str, np.ndarray]:
    """Per-group true rates, (G, 2) for the per-class ones (class 0 is the mirror: one-vs-rest) and (G,) accuracy."""
    tpr, fpr, pi = np.asarray(tpr, float), np.asarray(fpr, float), float(prevalence)
    sr1 = pi * tpr + (1 - pi) * fpr
    return {"selection_rate": np.c_[1 - sr1, sr1], "tpr": np.c_[1 - fpr, tpr], "fpr": np.c_[1 - tpr, fpr],
            "accuracy": pi * tpr + (1 - pi) * (1 - fpr)}


def draw(rng, sizes, prevalence, tprs, fprs, coupling: float = 0.8):
    """Group codes, y and one prediction per (tpr, fpr) model, on the same items."""
    sizes = np.asarray(sizes)
    codes = np.repeat(np.arange(len(sizes)), sizes)
    n = int(sizes.sum())
    y = (rng.random(n) < prevalence).astype(np.int64)
    u = rng.random(n)
    preds = []
    for j, (tpr, fpr) in enumerate(zip(tprs, fprs)):
        v = u if j == 0 else np.where(rng.random(n) < coupling, u, rng.random(n))
        threshold = np.where(y == 1, np.asarray(tpr)[codes], np.asarray(fpr)[codes])
        preds.append((v < threshold).astype(np.int64))
    return codes, y, preds


def _grouping(codes, n_groups):
    """The Grouping make_grouping would build from a column of labels g0, g1, ... (built directly: it is cheaper)."""
    labels = [f"g{i}" for i in range(n_groups)]
    return Grouping(("g",), np.asarray(codes), labels, [{"g": label} for label in labels])


def _covers(ci, truth) -> bool:
    return ci is not None and ci[0] - 1e-12 <= truth <= (np.inf if ci[1] is None else ci[1]) + 1e-12


def one_audit(rng, sizes, prevalence, tpr, fpr, *, replicates: int, seed: int) -> dict:
    """One simulated audit: marginal coverage counts of the per-group intervals, joint coverage of the
    simultaneous ones (every gap and every comparison with the reference at once), and whether anything is flagged."""
    codes, y, (pred,) = draw(rng, sizes, prevalence, [tpr], [fpr])
    table = Predictions.build(classes=CLASSES, y_true=y, y_pred=pred, proba=np.eye(2)[pred], split="test",
                              attributes=pd.DataFrame({"g": np.array([f"g{i}" for i in range(len(sizes))])[codes]}))
    result = audit(table, by=["g"], favorable="yes", bootstrap=replicates, min_group_size=MINIMUM, seed=seed).audits[0]
    truth = true_rates(tpr, fpr, prevalence)
    marginal_in = marginal_n = accuracy_in = accuracy_n = 0
    for i, group in enumerate(result.groups):
        g = int(group.group[1:])
        if group.accuracy.ci is not None:  # one interval per group: independent across groups and simulations
            accuracy_n += 1
            accuracy_in += _covers(group.accuracy.ci, truth["accuracy"][g])
        cells = [(group.accuracy, truth["accuracy"][g])] + [
            (group.per_class["yes"][m], truth[m][g, 1]) for m in ("selection_rate", "tpr", "fpr")]
        for est, value in cells:
            if est.ci is not None:
                marginal_n += 1
                marginal_in += _covers(est.ci, value)
    # simultaneous: every gap and every comparison with the reference, over the rates the audit compared
    compared = [int(label[1:]) for label in result.compared_groups]
    joint, checked = True, 0
    for name in GAPS:
        d = result.disparities.get(name)
        if d is None or d.ci is None:
            continue
        m = next(x for x in _headlines() if x.name == name)
        rates = {k: v[compared] for k, v in truth.items()}
        if m.rate in ("tpr", "fpr") or m.how == "either_gap":  # only the groups whose rate rests on enough rows
            rates = _only_supported(rates, codes, y, compared)
        value = float(headline_values(m, rates, 0, [1], 1))
        joint &= _covers(d.ci, value)
        checked += 1
    ref = int(result.reference[1:])
    for row in result.comparisons:
        if row.ci_simultaneous is None or row.measure == "disparate_impact" or row.measure == "average_odds_difference":
            continue
        rate = {"statistical_parity_difference": "selection_rate", "equal_opportunity_difference": "tpr",
                "false_positive_rate_difference": "fpr", "accuracy_difference": "accuracy"}[row.measure]
        g = int(row.group[1:])
        t = truth[rate]
        value = (t[g] - t[ref]) if rate == "accuracy" else (t[g, 1] - t[ref, 1])
        joint &= _covers(row.ci_simultaneous, value)
        checked += 1
    return {"marginal_in": marginal_in, "marginal_n": marginal_n, "accuracy_in": accuracy_in, "accuracy_n": accuracy_n,
            "joint": bool(joint), "joint_checked": checked,
            "flagged": bool(result.flags)}


def _only_supported(rates, codes, y, compared):
    """NaN for the TPR (FPR) of a group with fewer than MINIMUM positive (negative) rows, as the audit leaves it out."""
    out = dict(rates)
    pos = np.bincount(codes, weights=y, minlength=max(compared) + 1)[compared]
    neg = np.bincount(codes, minlength=max(compared) + 1)[compared] - pos
    for metric, rows in (("tpr", pos), ("fpr", neg)):
        x = rates[metric].copy()
        x[rows < MINIMUM, 1] = np.nan
        out[metric] = x
    return out


def one_comparison(rng, sizes, prevalence, a, b, *, replicates: int, measures=GAPS + ("accuracy",),
                   method: str | None = None) -> dict:
    """One simulated paired comparison of models a and b ((tpr, fpr) each): for each measure, whether the interval
    of the change covers the true change and whether it excludes 0 (None where undefined)."""
    codes, y, (pa, pb) = draw(rng, sizes, prevalence, [a[0], b[0]], [a[1], b[1]])
    G = len(sizes)
    result = gap_changes(_grouping(codes, G), y, pa, pb, CLASSES, favorable=1, minimum=MINIMUM,
                         replicates=replicates, rng=rng, **({"method": method} if method else {}))
    rows = {r["measure"]: r for r in result.rows}
    compared = [int(label[1:]) for label in result.compared_groups]
    out = {}
    for name in measures:
        r = rows[name]
        if r["ci"] is None:
            out[name] = None
            continue
        if name == "accuracy":
            pi = prevalence
            w = np.asarray(sizes) / np.sum(sizes)
            ta, tb = (float(np.sum(w * true_rates(*m, pi)["accuracy"])) for m in (a, b))
        else:
            m = next(x for x in _headlines() if x.name == name)
            ta, tb = (float(headline_values(m, _only_supported({k: v[compared] for k, v in true_rates(*mod, prevalence).items()},
                                                               codes, y, compared), 0, [1], 1)) for mod in (a, b))
        out[name] = (_covers(r["ci"], ta - tb), bool(r["excludes_zero"]))
    return out


def self_comparison_flagged(rng, sizes, prevalence, a, *, replicates: int) -> bool:
    """A model compared with itself: does any change's interval exclude 0?"""
    codes, y, (pa,) = draw(rng, sizes, prevalence, [a[0]], [a[1]])
    result = gap_changes(_grouping(codes, len(sizes)), y, pa, pa, CLASSES, favorable=1, minimum=MINIMUM,
                         replicates=replicates, rng=rng)
    return any(r["excludes_zero"] for r in result.rows)
