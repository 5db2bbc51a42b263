"""Coverage of `compare`'s paired bootstrap intervals, simulated where the true difference is known.

    PYTHONPATH=src python bench/bench_paired.py [--sims 1000] [--sizes 30,100,300,1000,3000] [--replicates 1000]

Each simulation draws two binary classifiers on the same n items (tests/_paired_synth.py: scores with a
shared per-item difficulty, so the comparison is paired; every metric's true value in closed form), takes
the 95% interval of the difference A − B of accuracy, balanced accuracy, macro F1 and ROC AUC, and
counts whether it covers the true difference. A second pair of models equal in truth is drawn in the same
simulation and counts as a false alarm when an interval excludes 0. Balanced: 50% positives; skewed:
10% positives (a skewed sample with no positive or no negative is drawn again). Prints a Markdown table
and, beside each coverage, the range a correct 95% interval stays in with probability 0.999.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import binom

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from _paired_synth import draw_pair, true_difference  # noqa: E402

from trainlab.evaluation.paired import HEADLINE, compare_sides  # noqa: E402

A, B, NULL = (1.0, 0.2), (0.75, -0.1), (0.9, 0.0)
SKEWS = {"balanced": 0.5, "skewed": 0.1}


def run_setting(n: int, prevalence: float, sims: int, replicates: int, seed: int) -> dict:
    truth = true_difference(A, B, prevalence)
    rng = np.random.default_rng([seed, n, int(prevalence * 100)])
    covered = dict.fromkeys(HEADLINE, 0)
    flagged = dict.fromkeys(HEADLINE, 0)
    defined = dict.fromkeys(HEADLINE, 0)
    for sim in range(sims):
        figures = compare_sides(list(draw_pair(rng, n, a=A, b=B, prevalence=prevalence)), [0], [1],
                                replicates=replicates, seed=sim)
        same = compare_sides(list(draw_pair(rng, n, a=NULL, b=NULL, prevalence=prevalence)), [0], [1],
                             replicates=replicates, seed=sim)
        for m in HEADLINE:
            if figures[m]["ci_low"] is None or same[m]["ci_low"] is None:
                continue
            defined[m] += 1
            covered[m] += figures[m]["ci_low"] <= truth[m] <= figures[m]["ci_high"]
            flagged[m] += same[m]["ci_low"] > 0 or same[m]["ci_high"] < 0
    return {"truth": truth, "covered": covered, "flagged": flagged, "defined": defined}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=1000, help="simulated comparisons per setting (default 1000)")
    parser.add_argument("--sizes", default="30,100,300,1000,3000", help="numbers of items (default 30,100,300,1000,3000)")
    parser.add_argument("--replicates", type=int, default=1000, help="bootstrap replicates per interval (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    lo, hi = binom.ppf(0.0005, args.sims, 0.95) / args.sims, binom.ppf(0.9995, args.sims, 0.95) / args.sims
    flag_max = binom.ppf(0.999, args.sims, 0.05) / args.sims
    print(f"command: PYTHONPATH=src {Path(sys.executable).name} bench/bench_paired.py --sims {args.sims} "
          f"--sizes {args.sizes} --replicates {args.replicates} --seed {args.seed}")
    print(f"load average at the start {os.getloadavg()[0]:.1f}\n")
    print(f"Coverage of the 95% intervals (a correct interval: {lo:.1%} to {hi:.1%} with probability 0.999 at "
          f"{args.sims} simulations); false alarms between equal models (at most {flag_max:.1%} expected).\n")
    print("| items | classes | " + " | ".join(f"{m} coverage" for m in HEADLINE) + " | false alarms (acc / bal / F1 / AUC) | seconds |")
    print("|---|---|" + "--:|" * len(HEADLINE) + "---|--:|")
    for n in sizes:
        for skew, prevalence in SKEWS.items():
            t = time.perf_counter()
            r = run_setting(n, prevalence, args.sims, args.replicates, args.seed)
            cells = []
            for m in HEADLINE:
                c = r["covered"][m] / max(r["defined"][m], 1)
                mark = "" if lo <= c <= hi else " ✗"
                cells.append(f"{c:.1%}{mark}" + (f" ({r['defined'][m]})" if r["defined"][m] < args.sims else ""))
            alarms = " / ".join(f"{r['flagged'][m] / max(r['defined'][m], 1):.1%}" for m in HEADLINE)
            print(f"| {n:,} | {skew} ({prevalence:.0%} positive) | " + " | ".join(cells)
                  + f" | {alarms} | {time.perf_counter() - t:.0f} |", flush=True)


if __name__ == "__main__":
    main()
