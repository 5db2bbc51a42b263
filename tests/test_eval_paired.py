"""Paired bootstrap: weighted metrics equal scikit-learn's on the resampled items, the intervals cover the
known true difference as often as they claim, and a model is rarely called different from an equal one."""

import numpy as np
import pytest
from scipy.stats import binom
from sklearn import metrics as skm

from _paired_synth import draw_pair, true_difference
from trainlab.evaluation.paired import HEADLINE, ScoredRun, compare_sides, full_sample, item_counts, verdict


def _run(n, k, seed, *, ties):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    y[:k] = np.arange(k)
    if ties:  # every row one of 5 probability vectors: few distinct scores per column
        templates = rng.dirichlet(np.ones(k), size=5)
        proba = templates[np.where(rng.random(n) < 0.5, y % 5, rng.integers(0, 5, n))]
    else:
        logits = rng.normal(size=(n, k))
        logits[np.arange(n), y] += 1.0
        proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y_pred = np.where(rng.random(n) < 0.8, proba.argmax(1), rng.integers(0, k, n))
    return y, y_pred, proba


def _sklearn(y, y_pred, proba):
    """scikit-learn's figures as compute_metrics defines them; macro AUC over the classes present in y."""
    k = proba.shape[1]
    present = np.union1d(y, y_pred)
    if k == 2:
        auc = skm.roc_auc_score(y, proba[:, 1])
    else:
        auc = np.mean([skm.roc_auc_score(y == c, proba[:, c]) for c in np.unique(y)])
    return {"accuracy": skm.accuracy_score(y, y_pred), "balanced_accuracy": skm.balanced_accuracy_score(y, y_pred),
            "f1_macro": skm.f1_score(y, y_pred, labels=present, average="macro"), "roc_auc": auc}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("k", [2, 3, 6])
def test_full_sample_and_every_replicate_equal_sklearn_on_the_drawn_items(k, ties):
    y, y_pred, proba = _run(80, k, k, ties=ties)
    run = ScoredRun(y, y_pred, proba)
    full = full_sample([run])
    for m, ref in _sklearn(y, y_pred, proba).items():
        assert full[m][0] == pytest.approx(ref, abs=1e-12), m
    counts = item_counts(np.random.default_rng(0), len(y), 6)
    assert (counts.sum(axis=0) == len(y)).all()
    values = run.metrics(counts)
    for r in range(counts.shape[1]):
        idx = np.repeat(np.arange(len(y)), counts[:, r])  # the items as drawn, duplicates included
        for m, ref in _sklearn(y[idx], y_pred[idx], proba[idx]).items():
            assert values[m][r] == pytest.approx(ref, abs=1e-12), (m, r)


def test_same_model_twice_is_never_different():
    y, y_pred, proba = _run(120, 4, 1, ties=False)
    runs = [ScoredRun(y, y_pred, proba), ScoredRun(y, y_pred, proba)]
    figures = compare_sides(runs, [0], [1], replicates=200)
    for m in HEADLINE:  # the same draw applied to both: every replicate's difference is exactly 0
        assert figures[m]["difference"] == 0 and figures[m]["ci_low"] == 0 and figures[m]["ci_high"] == 0
    assert verdict("A", "B", figures["accuracy"]).startswith("no clear difference: A − B = +0.0 points")


def test_verdict_wording():
    f = {"a": 0.80, "b": 0.779, "difference": 0.021, "ci_low": 0.008, "ci_high": 0.034, "beat_share": 1.0,
         "wins": 9, "pairings": 9}
    assert verdict("A", "B", f) == "A is better by 2.1 points, 95% CI 0.8 to 3.4"
    assert verdict("A", "B", f, seeds=True) == (
        "A is better by 2.1 points, 95% CI 0.8 to 3.4; across 9 seed pairings A beat B every time "
        "(P(A beats B) on a new seed ≈ 1.00)")
    worse = dict(f, difference=-0.021, ci_low=-0.034, ci_high=-0.008, beat_share=0.0, wins=0)
    assert verdict("A", "B", worse, seeds=True).startswith("B is better by 2.1 points, 95% CI 0.8 to 3.4; across 9 seed "
                                                           "pairings B beat A every time")


def test_coverage_and_false_alarms_in_400_simulated_comparisons():
    """400 paired comparisons of two binary classifiers whose true metric values are known in closed form
    (tests/_paired_synth.py), 200 items, 30% positives; and 400 of two models equal in truth.

    Tolerance: the number of 95% intervals covering the true difference must lie in the central 99.9% of
    Binomial(400, 0.95): 364 to 393 of 400 (91% to 98.3%). A correct method fails that with probability
    0.001; an interval whose real coverage were 85% would pass with probability 2.4e-4 and one at 88%
    with 0.035 (both checked below), so a badly calibrated interval cannot pass by chance. Equal models:
    at most the 99.9% quantile of Binomial(400, 0.05), 35 of 400, may be flagged (interval excluding 0).
    The seeds are fixed, so the outcome is the same on every run."""
    sims = 400
    lo, hi = int(binom.ppf(0.0005, sims, 0.95)), int(binom.ppf(0.9995, sims, 0.95))
    assert (lo, hi) == (364, 393)
    assert binom.sf(lo - 1, sims, 0.85) < 3e-4 and binom.sf(lo - 1, sims, 0.88) < 0.04
    flag_limit = int(binom.ppf(0.999, sims, 0.05))
    assert flag_limit == 35
    a, b, null, prevalence = (1.0, 0.2), (0.75, -0.1), (0.9, 0.0), 0.3
    truth = true_difference(a, b, prevalence)
    rng = np.random.default_rng(2024)
    covered = dict.fromkeys(HEADLINE, 0)
    flagged = dict.fromkeys(HEADLINE, 0)
    for sim in range(sims):
        figures = compare_sides(list(draw_pair(rng, 200, a=a, b=b, prevalence=prevalence)), [0], [1],
                                replicates=400, seed=sim)
        same = compare_sides(list(draw_pair(rng, 200, a=null, b=null, prevalence=prevalence)), [0], [1],
                             replicates=400, seed=sim)
        for m in HEADLINE:
            covered[m] += figures[m]["ci_low"] <= truth[m] <= figures[m]["ci_high"]
            flagged[m] += same[m]["ci_low"] > 0 or same[m]["ci_high"] < 0
    assert all(lo <= covered[m] <= hi for m in HEADLINE), (covered, (lo, hi))
    assert all(flagged[m] <= flag_limit for m in HEADLINE), (flagged, flag_limit)
