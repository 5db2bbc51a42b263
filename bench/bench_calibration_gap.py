"""How often the calibration gap is flagged when no group is miscalibrated, and how often when one is.

    PYTHONPATH=src python bench/bench_calibration_gap.py [--seeds 100] [--bootstrap 300]

Every group's labels are drawn from its own stated probabilities (perfect calibration); the "sharpened" rows
multiply one group's logits by 2 (its probabilities ∝ p², pushed towards their arg-max: overconfidence) without
changing its labels. Prints, per setting, the share of seeds whose calibration gap has a
simultaneous interval excluding 0, and the share flagged (that, and a gap of at least 0.03). Only the calibration
family is computed (trainlab.fairness.ece), not the whole audit.
"""

from __future__ import annotations

import argparse

import numpy as np

from trainlab.fairness.ece import GroupCalibration


def draw(sizes, sharpen, rng, k: int = 3):
    ys, ps = [], []
    for n, s in zip(sizes, sharpen):
        logits = rng.normal(0.0, 1.6, (n, k))
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        ys.append((rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1).clip(0, k - 1))
        q = np.exp(logits * (1.0 + s))
        ps.append(q / q.sum(axis=1, keepdims=True))
    return np.repeat(np.arange(len(sizes)), sizes), np.concatenate(ys), np.vstack(ps)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--bootstrap", type=int, default=300)
    args = ap.parse_args()
    print(f"command: PYTHONPATH=src python bench/bench_calibration_gap.py --seeds {args.seeds} --bootstrap {args.bootstrap}")
    settings = [("calibrated", [300] * 4, [0.0] * 4), ("calibrated", [100, 300, 1000], [0.0] * 3),
                ("one sharpened ×2", [300] * 4, [0.0, 0.0, 0.0, 1.0]),
                ("one sharpened ×2", [100, 300, 1000], [1.0, 0.0, 0.0]),
                ("one sharpened ×2", [1000, 1000, 1000], [1.0, 0.0, 0.0])]
    for name, sizes, sharpen in settings:
        excl = flagged = 0
        gaps = []
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            codes, y, p = draw(sizes, sharpen, rng)
            cal = GroupCalibration.from_rows(codes, y, p, labels=[f"g{i}" for i in range(len(sizes))], minimum=30,
                                             resamples=args.bootstrap, rng=np.random.default_rng([seed, 1]))
            gap = cal.compare(np.arange(len(sizes))).gap()
            gaps.append(gap.value)
            excl += bool(gap.ci and gap.ci[0] > 0)
            flagged += bool(gap.ci and gap.ci[0] > 0 and gap.value >= 0.03)
        print(f"{name:18s} sizes {'/'.join(map(str, sizes)):15s} mean gap {np.mean(gaps):.3f}  "
              f"interval excludes 0: {excl / args.seeds:.2f}  "
              f"flagged: {flagged / args.seeds:.2f}  ({args.seeds} seeds)")


if __name__ == "__main__":
    main()
