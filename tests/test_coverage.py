"""Proof, not promise (#17): the 95% intervals of the audit and of the paired gap comparison cover the truth.

Simulations where the true rates are known (tests/_coverage_synth.py), through trainlab's own audit() and
gap_changes(); the large version is bench/bench_coverage.py (table in BENCHMARKS.md).

**Acceptance bands, derived here.** Each check counts successes X over independent simulations and accepts X in a
band that a correct method (coverage exactly 95%, or a flag rate of exactly 5%) lands outside of with probability
at most 0.1% (binomial quantiles 0.0005 / 0.9995, one-sided 0.999 for the flag rate and for the simultaneous
coverage, which may exceed 95%: it is built conservative). With the seeds fixed the result is fixed; over seeds, a
correct method would fail a check with probability ≤ 0.1%. A wrong method cannot pass by chance: with 600
intervals, coverage 0.88 passes with probability < 0.1% and 0.99 with < 1% (computed in
:func:`test_the_bands_reject_a_wrong_coverage`).

**Fewer bootstrap replicates (200, not 1,000), to keep the file near 20 s of CPU.** The percentile interval's end
points are then the 5th and 196th of 200 ordered replicates instead of the 25th and 976th of 1,000: more
Monte-Carlo noise in each end point, which widens some intervals and narrows others, and a coverage error of
order 1/B (Hall 1986), a fraction of a point at B = 200; measured below. The bench runs 500 or 1,000.

The setting is the hard one: three groups of 30 (10% positives: 3 of them), 300 and 3,000 rows. There the
audit's former percentile/Wald intervals held jointly in 92.2% and flagged one distribution in 7.8%, and the
percentile interval of a gap change covered 73-80% (BENCHMARKS.md). Now the audit's rates get score intervals
(Wilson; Newcombe for differences, at the max-t quantile in the simultaneous family) and a change in a max − min
gap the family bound of :func:`trainlab.fairness.gap_change.family_interval`, which is conservative by construction
(at least 95%), so its coverage is checked one-sided, like the audit's simultaneous intervals. Negative control,
run by hand with these seeds: the percentile interval (``method="percentile"``, the former default) covers the
DP change in 403 and the accuracy-gap change in 371 of 500 simulations (band from 458): it fails this test; the
family interval covers 495 and 481.
"""

import logging

import numpy as np
import pytest
from scipy.stats import binom

import _coverage_synth as S

SIMS = 200  # audits (each simulation two: planted disparities and one distribution)
PAIRED_SIMS = 500  # paired comparisons are cheaper, and their one-interval-per-simulation count needs more
REPLICATES = 200


def band(n: int, p: float = 0.95) -> tuple[int, int]:
    """Counts a correct method stays inside with probability ≥ 0.999 (two-sided)."""
    return int(binom.ppf(0.0005, n, p)), int(binom.isf(0.0005, n, p))


def passes(n: int, p: float) -> float:
    """Probability that a method of true coverage p lands in band(n)."""
    lo, hi = band(n)
    return float(binom.cdf(hi, n, p) - binom.cdf(lo - 1, n, p))


def test_the_bands_reject_a_wrong_coverage():
    audit_n = 2 * SIMS * 3  # per-group accuracy intervals counted in the audit test
    assert passes(audit_n, 0.95) > 0.998
    assert passes(audit_n, 0.90) < 1e-3 and passes(audit_n, 0.99) < 1e-3
    assert passes(PAIRED_SIMS, 0.88) < 0.01 and passes(PAIRED_SIMS, 0.995) < 0.01
    assert binom.cdf(binom.ppf(0.999, SIMS, 0.05), SIMS, 0.15) < 0.05  # a 15% false-flag rate fails


@pytest.fixture(autouse=True)
def _quiet():
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


def test_audit_intervals_cover_and_one_distribution_is_rarely_flagged():
    # a group of 30 (3 positives) beside groups of 300 and 3,000: where the percentile and Wald intervals fell
    # short (simultaneous 92.2%, one distribution flagged 7.8%; BENCHMARKS.md)
    rng = np.random.default_rng(2026)
    sizes, pi = (30, 300, 3000), 0.1
    marginal = [0, 0]
    joint = flagged = 0
    with S.fast_point_estimates():
        for s in range(SIMS):
            planted = S.one_audit(rng, sizes, pi, S.TPR_A, S.FPR_A, replicates=REPLICATES, seed=s)
            null = S.one_audit(rng, sizes, pi, S.TPR_NULL, S.FPR_NULL, replicates=REPLICATES, seed=s)
            joint += planted["joint"]
            flagged += null["flagged"]
            for r in (planted, null):
                marginal[0] += r["accuracy_in"]
                marginal[1] += r["accuracy_n"]
    assert marginal[1] == 2 * SIMS * 3  # every group's accuracy has an interval
    lo, hi = band(marginal[1])
    assert lo <= marginal[0] <= hi, f"per-group accuracy intervals cover {marginal[0]}/{marginal[1]}; band {lo}-{hi}"
    assert joint >= band(SIMS)[0], f"simultaneous intervals all cover in {joint}/{SIMS}"
    assert flagged <= binom.ppf(0.999, SIMS, 0.05), f"one distribution flagged in {flagged}/{SIMS}"


def test_paired_change_intervals_cover_and_equal_models_are_rarely_flagged():
    # the same mixed sizes, where the percentile interval of a gap change covered 73-80% (accuracy gap, DP)
    rng = np.random.default_rng(17)
    sizes, pi = (30, 300, 3000), 0.1
    a, b = (S.TPR_A, S.FPR_A), (S.TPR_B, S.FPR_B)
    gaps = ("demographic_parity_difference", "accuracy_gap")
    covered, flagged = dict.fromkeys(gaps + ("accuracy",), 0), 0
    for _ in range(PAIRED_SIMS):
        r = S.one_comparison(rng, sizes, pi, a, b, replicates=REPLICATES, measures=gaps + ("accuracy",))
        for m in covered:
            covered[m] += r[m][0]
        same = S.one_comparison(rng, sizes, pi, a, a, replicates=REPLICATES, measures=("accuracy_gap",))
        flagged += same["accuracy_gap"][1]
    lo, hi = band(PAIRED_SIMS)
    # the gaps' family intervals are conservative by construction (at least 95%): one-sided, like the audit's
    # simultaneous intervals; the overall accuracy's change is a smooth figure with a percentile interval: two-sided
    for m in gaps:  # each measure's count on its own: the two are correlated within a simulation
        assert covered[m] >= lo, f"{m}: change intervals cover {covered[m]}/{PAIRED_SIMS}; at least {lo}"
    assert lo <= covered["accuracy"] <= hi, f"accuracy change intervals cover {covered['accuracy']}/{PAIRED_SIMS}"
    assert flagged <= binom.ppf(0.999, PAIRED_SIMS, 0.05), f"equal models flagged in {flagged}/{PAIRED_SIMS}"
    # a model compared with itself: every replicate's change is exactly 0, so it is never flagged
    assert not any(S.self_comparison_flagged(rng, sizes, pi, a, replicates=REPLICATES) for _ in range(20))
