"""Benchmark: the coursework's sine experiment (MLP, LSTM, GRU; 100 epochs, batch 32, 1,000 points).

Prints the wall time of each model's training and of the three together for one seed, the test MSE
(on the 1,998 interleaved test points) and the maximum absolute error. With ``--seeds N`` it repeats
over seeds 0..N-1 and also prints, per model, the largest test MSE and the seeds at or above 1e-3
(the robustness figures quoted in README).

    PYTHONPATH=src python bench/bench_sine.py                 # one seed: the issue's < 2 min target
    PYTHONPATH=src python bench/bench_sine.py --seeds 20 --variants   # robustness over 20 seeds
    PYTHONPATH=src python bench/bench_sine.py --seeds 20 --models lstm,gru --rnn-loss-weight 0.001
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import replace

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variants", action="store_true", help="also the diagnostic mlp_cosine")
    ap.add_argument("--models", default="mlp,lstm,gru", help="coursework models to run (default all three)")
    ap.add_argument("--rnn-loss-weight", type=float, default=1.0, help="LSTM/GRU loss weight (the coursework's code: 0.001)")
    ap.add_argument("--rnn-schedule", default="constant", choices=("constant", "cosine"), help="LSTM/GRU lr schedule")
    args = ap.parse_args(argv)

    import torch

    from trainlab.experiments.sine import KINDS, TARGET_MSE, VARIANTS, Job, Problem, coursework_recipes, run_job

    recipes = coursework_recipes(args.epochs)
    for rnn in ("lstm", "gru"):
        recipes[rnn] = replace(recipes[rnn], loss_weight=args.rnn_loss_weight, schedule=args.rnn_schedule)
    chosen = tuple(k for k in args.models.split(",") if k)
    if not set(chosen) <= set(KINDS):
        ap.error(f"--models: choose among {', '.join(KINDS)}")
    kinds = chosen + (VARIANTS if args.variants else ())
    print(f"command: PYTHONPATH=src {sys.executable} {' '.join(sys.argv)}")
    print(f"torch {torch.__version__}, python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"torch threads {args.threads}, load average {os.getloadavg()[0]:.2f}")
    print("recipes: " + "; ".join(f"{k} lr {r.lr:g} {r.schedule} loss weight {r.loss_weight:g}" for k, r in recipes.items() if k in kinds)
          + f"; {args.epochs} epochs, batch 32, 1,000 points")
    print(f"{'seed':>4} {'model':>10} {'train s':>8} {'ms/step':>8} {'test MSE':>10} {'max |err|':>10}")
    results = {k: [] for k in kinds}
    totals = []
    for seed in range(args.seeds):
        coursework_s = 0.0
        for kind in kinds:
            t1 = time.perf_counter()
            r = run_job(Job("fit", kind, seed, recipes[kind], problem=Problem(), threads=args.threads))
            elapsed = time.perf_counter() - t1  # includes building the model, the data and the predictions
            coursework_s += elapsed if kind in KINDS else 0.0
            m = r["metrics"]
            results[kind].append(m["test_mse"])
            print(f"{seed:>4} {kind:>10} {elapsed:>8.2f} {1000 * r['wall_s'] / r['steps']:>8.2f} "
                  f"{m['test_mse']:>10.2e} {m['test_max_abs_error']:>10.3g}", flush=True)
        totals.append(coursework_s)
        print(f"seed {seed}: {' + '.join(chosen)} in {coursework_s:.1f} s")
    print(f"\n{' + '.join(chosen)} ({args.epochs} epochs, one seed): "
          f"{min(totals):.1f} s best, {np.median(totals):.1f} s median of {len(totals)}")
    if args.seeds > 1:
        for kind, v in results.items():
            v = np.array(v)
            bad = [i for i, x in enumerate(v) if x >= TARGET_MSE]
            print(f"{kind:>10}: test MSE median {np.median(v):.2e}, max {v.max():.2e} (seed {int(v.argmax())}), "
                  f"mean {v.mean():.2e} ± {v.std(ddof=1):.2e}; seeds >= {TARGET_MSE:g}: {bad or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
