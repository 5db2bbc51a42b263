"""Coverage of the audit's and of the paired gap comparison's 95% intervals, simulated where the truth is known.

    PYTHONPATH=src python bench/bench_coverage.py [--sims 1000] [--replicates 1000] [--sizes 30,100,300,1000,3000]
                                                  [--only audit|paired] [--fairlearn]

Each setting (per-group size n, three groups, and the mixed sizes 30/300/3,000; balanced π = 0.5 and skewed
π = 0.1 classes) runs --sims simulations of (tests/_coverage_synth.py):

* audit, planted disparities (TPR 0.90/0.80/0.70, FPR 0.10/0.15/0.25): share of the per-group 95% (Wilson)
  intervals (accuracy, selection rate, TPR, FPR of every group, pooled) that cover the true rate, and share of
  simulations in which the simultaneous intervals (every gap and every comparison with the reference) all cover
  their truths at once;
* audit, groups from one distribution: share of simulations with any flag (must be ≤ 5%);
* paired comparison A − B (A as above, B a mitigated model with smaller gaps, the two coupled on 80% of the
  items): share of the intervals of each change that cover the true change (over the simulations where it is
  defined: a TPR or FPR resting on fewer than 30 rows is left out, as in the audit);
* paired comparison of two models with equal true rates (same coupling): share flagged (interval excludes 0),
  the largest over the measures; and a model compared with itself: share with any interval excluding 0.

Every audit is :func:`trainlab.fairness.audit.audit`, every comparison
:func:`trainlab.fairness.gap_change.gap_changes` (what compare --by and mitigate call); the audit's point estimates
come from the vectorised rates (equal to fairlearn's, tested) unless --fairlearn (0.4 s more per audit). Prints a
Markdown table; beside the coverages, the range a correct 95% interval stays in with probability 0.999 at --sims.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import binom

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import _coverage_synth as S  # noqa: E402

PAIRED = ("demographic_parity_difference", "equal_opportunity_difference", "false_positive_rate_difference",
          "equalized_odds_difference", "accuracy_gap", "accuracy")
SHORT = {"demographic_parity_difference": "DP", "equal_opportunity_difference": "EO",
         "false_positive_rate_difference": "FPR", "equalized_odds_difference": "EOdds", "accuracy_gap": "acc gap",
         "accuracy": "acc"}


def pct(k, n):
    return "n/a" if not n else f"{100 * k / n:.1f}%"


def audit_setting(sizes, pi, sims, replicates, seed):
    rng = np.random.default_rng([seed, *sizes, int(pi * 100), 1])
    m_in = m_n = joint = flagged = 0
    for s in range(sims):
        r = S.one_audit(rng, sizes, pi, S.TPR_A, S.FPR_A, replicates=replicates, seed=s)
        m_in, m_n, joint = m_in + r["marginal_in"], m_n + r["marginal_n"], joint + r["joint"]
        flagged += S.one_audit(rng, sizes, pi, S.TPR_NULL, S.FPR_NULL, replicates=replicates, seed=s)["flagged"]
    return {"marginal": pct(m_in, m_n), "joint": pct(joint, sims), "null_flagged": pct(flagged, sims)}


def _interval_kw(method):
    return {"method": method} if method else {}


def paired_setting(sizes, pi, sims, replicates, seed, method=None):
    rng = np.random.default_rng([seed, *sizes, int(pi * 100), 2])
    a, b = (S.TPR_A, S.FPR_A), (S.TPR_B, S.FPR_B)
    cov = {m: [0, 0] for m in PAIRED}
    null = {m: [0, 0] for m in PAIRED}
    self_flagged = 0
    for _ in range(sims):
        for m, v in S.one_comparison(rng, sizes, pi, a, b, replicates=replicates, measures=PAIRED, method=method).items():
            if v is not None:
                cov[m][0] += v[0]
                cov[m][1] += 1
        for m, v in S.one_comparison(rng, sizes, pi, a, a, replicates=replicates, measures=PAIRED, method=method).items():
            if v is not None:
                null[m][0] += v[1]
                null[m][1] += 1
        self_flagged += S.self_comparison_flagged(rng, sizes, pi, a, replicates=replicates)
    worst_null = max(((k / n if n >= sims / 2 else 0.0), m) for m, (k, n) in null.items())  # measures defined enough
    worst_gap = max(((k / n if n >= sims / 2 else 0.0), m) for m, (k, n) in null.items() if m != "accuracy")
    return {"coverage": {m: (pct(*cov[m]), cov[m][1]) for m in PAIRED},
            "null": f"{100 * worst_null[0]:.1f}% ({SHORT[worst_null[1]]})",
            "null_gap": f"{100 * worst_gap[0]:.1f}% ({SHORT[worst_gap[1]]})", "self": pct(self_flagged, sims)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sims", type=int, default=1000)
    ap.add_argument("--replicates", type=int, default=1000)
    ap.add_argument("--sizes", default="30,100,300,1000,3000")
    ap.add_argument("--only", choices=("audit", "paired"), default=None)
    ap.add_argument("--fairlearn", action="store_true", help="the audit's point estimates by fairlearn's MetricFrame (slow)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--interval", choices=("family", "percentile", "bc", "basic"), default=None,
                    help="interval of the paired changes (default: gap_change's own, 'family' for the max - min gaps)")
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)  # the audit's per-simulation notes (a group holding one class) are expected
    sizes = [int(s) for s in args.sizes.split(",")]
    settings = [((n, n, n), pi) for n in sizes for pi in (0.5, 0.1)] + [((30, 300, 3000), 0.5), ((30, 300, 3000), 0.1)]
    lo, hi = binom.ppf(0.0005, args.sims, 0.95) / args.sims, binom.ppf(0.9995, args.sims, 0.95) / args.sims
    start = time.time()
    print(f"{args.sims} simulations per setting, {args.replicates} bootstrap replicates; load average "
          f"{os.getloadavg()[0]:.1f}. A correct 95% interval covers in {100 * lo:.1f}-{100 * hi:.1f}% of {args.sims} "
          "simulations with probability 0.999 (pooled per-group coverage counts several intervals per simulation).\n")
    with contextlib.nullcontext() if args.fairlearn else S.fast_point_estimates():
        if args.only in (None, "audit"):
            print("| group sizes | π | per-group 95% intervals cover | simultaneous: all cover at once | "
                  "one distribution: any flag |")
            print("|---|---|---|---|---|")
            for sz, pi in settings:
                r = audit_setting(sz, pi, args.sims, args.replicates, args.seed)
                print(f"| {'/'.join(map(str, sz))} | {pi} | {r['marginal']} | {r['joint']} | {r['null_flagged']} |",
                      flush=True)
            print()
        if args.only in (None, "paired"):
            print("| group sizes | π | " + " | ".join(f"{SHORT[m]} change covers" for m in PAIRED)
                  + " | equal models: flagged (worst measure) | equal models: flagged (worst gap) | "
                  "model vs itself: flagged |")
            print("|---|---|" + "---|" * (len(PAIRED) + 3))
            for sz, pi in settings:
                r = paired_setting(sz, pi, args.sims, args.replicates, args.seed, args.interval)
                cells = [c + ("" if n in (0, args.sims) else f" ({n})") for c, n in (r["coverage"][m] for m in PAIRED)]
                print(f"| {'/'.join(map(str, sz))} | {pi} | " + " | ".join(cells) + f" | {r['null']} | {r['null_gap']} | {r['self']} |",
                      flush=True)
    print(f"\n{time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
