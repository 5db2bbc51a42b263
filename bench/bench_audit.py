"""Time the fairness audit: 100,000 predictions, 7 races × 2 genders (and their intersection), 1,000 resamples.

    PYTHONPATH=src python bench/bench_audit.py [--n 100000] [--bootstrap 1000] [--classes 2] [--repeat 3]

Prints, for synthetic predictions with one planted disparity, the seconds taken by
  * audit():        the three audits (race, gender, race × gender), point estimates and bootstrap
                    (and its first call in the process, which also imports fairlearn and scikit-learn),
  * audit_run():    the same read from a CSV file and written out (audit.json, CSVs, 9 plots, summary.md),
  * audit() by race × gender alone (14 groups),
  * gap_changes():  the paired change of every gap between two models on the same items, by race × gender
                    (14 groups), --bootstrap replicates (what compare --by and mitigate add, #17),
the best of --repeat runs each. Target (issue 5): audit() under 15 s on the 2-core development CPU.
Files go to a temporary folder that is removed.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from trainlab.fairness.audit import audit, audit_run
from trainlab.fairness.gap_change import gap_changes
from trainlab.fairness.groups import make_grouping
from trainlab.artifacts.predictions import Predictions

RACES = ["White", "Black", "East Asian", "Indian", "Latino", "Middle Eastern", "Southeast Asian"]


def synthetic(n: int, k: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    race = rng.choice(RACES, n)
    gender = rng.choice(["Female", "Male"], n)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += np.where(race == "Black", 1.0, 2.0)  # the planted disparity
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    attrs = pd.DataFrame({"race": race, "gender": gender})
    return Predictions.build(classes=[f"c{i}" for i in range(k)], y_true=y, proba=proba, split="test", attributes=attrs)


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    by = ["race", "gender", "race,gender"]
    with tempfile.TemporaryDirectory() as tmp:
        path = synthetic(args.n, args.classes).write(Path(tmp) / "run" / "predictions" / "test.csv")
        pred = Predictions.read(path)
        t_first = best_of(1, lambda: audit(pred, by=by, bootstrap=args.bootstrap))  # pays fairlearn's import
        t_audit = best_of(args.repeat, lambda: audit(pred, by=by, bootstrap=args.bootstrap))
        t_cli = best_of(args.repeat, lambda: audit_run(path, by=by, bootstrap=args.bootstrap, out=Path(tmp) / "audit"))
        t_14 = best_of(args.repeat, lambda: audit(pred, by=["race,gender"], bootstrap=args.bootstrap))
        grouping = make_grouping(pred.frame, ("race", "gender"))
        rng = np.random.default_rng(1)
        other = np.where(rng.random(len(pred)) < 0.1, rng.integers(0, args.classes, len(pred)), pred.y_pred)
        fav = 1 if args.classes == 2 else None
        t_gap = best_of(args.repeat, lambda: gap_changes(grouping, pred.y_true, pred.y_pred, other, list(pred.classes),
                                                         favorable=fav, replicates=args.bootstrap, rng=rng))
    print(f"command: PYTHONPATH=src {Path(sys.executable).name} bench/bench_audit.py --n {args.n} "
          f"--bootstrap {args.bootstrap} --classes {args.classes} --repeat {args.repeat}")
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"audit() of {args.n:,} predictions, {args.classes} classes, by race (7), gender (2), race × gender (14), "
          f"{args.bootstrap:,} resamples: {t_audit:.2f} s (best of {args.repeat}); first call, with imports: {t_first:.2f} s")
    print(f"audit_run() read + audit + write (JSON, CSVs, 9 plots, summary): {t_cli:.2f} s")
    print(f"audit() by race × gender alone (14 groups), {args.bootstrap:,} resamples: {t_14:.2f} s")
    print(f"gap_changes() of two models by race × gender (14 groups), {args.bootstrap:,} paired replicates: {t_gap:.2f} s")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
