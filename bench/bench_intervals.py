"""Time the overall-metric intervals that `evaluate` now stores (#15) and the confusion-matrix class order.

    PYTHONPATH=src python bench/bench_intervals.py [--replicates 1000]

Synthetic predictions at IP102's scale (10,000 items × 102 classes) and at issue 17's (20,000 × 1,000).
Prints a Markdown table of wall and CPU seconds for ``metric_intervals`` (the paired bootstrap's machinery with
one run) and ``confusion_order`` (seriation by average-linkage clustering).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from trainlab.evaluation.ordering import confusion_order
from trainlab.evaluation.paired import metric_intervals


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicates", type=int, default=1000)
    args = parser.parse_args()
    print("| items × classes | intervals wall s | intervals CPU s | order wall s |\n|---|--:|--:|--:|")
    for n, k in ((10_000, 102), (20_000, 1000)):
        rng = np.random.default_rng(0)
        y = rng.integers(0, k, n)
        y_pred = np.where(rng.random(n) < 0.6, y, rng.integers(0, k, n))
        proba = rng.dirichlet(np.ones(k), n)
        proba[np.arange(n), y_pred] += 1
        proba /= proba.sum(1, keepdims=True)
        counts = np.zeros((k, k), int)
        np.add.at(counts, (y, y_pred), 1)
        iw, ic = timed(lambda: metric_intervals(y, y_pred, proba, replicates=args.replicates, seed=0))
        ow, _ = timed(lambda: confusion_order(counts))
        print(f"| {n:,} × {k:,} | {iw:.1f} | {ic:.1f} | {ow:.2f} |", flush=True)


if __name__ == "__main__":
    main()
