"""Time `evaluate` and `compare` at IP102 test-set scale (22,619 items, 102 classes) on synthetic predictions.

    PYTHONPATH=src python bench/bench_evaluate.py [--n 22619] [--classes 102]

Prints the seconds taken by the metrics alone, by a whole `evaluate` (tables and three plots), and by
`compare` of two runs (metrics, McNemar, curves). Results go to a temporary folder that is removed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from trainlab.evaluate.compare import compare
from trainlab.evaluate.evaluate import evaluate
from trainlab.evaluate.metrics import compute_metrics
from trainlab.predictions import make_frame, read_predictions, write_predictions


def make_run(run: Path, n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = np.random.default_rng(0).integers(0, k, n)
    logits = rng.normal(size=(n, k)).astype(np.float64)
    logits[np.arange(n), y] += 2.5
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    classes = [f"class {i}" for i in range(k)]
    write_predictions(make_frame(classes=classes, y_true=y, proba=proba, split="test"), run / "predictions" / "test.csv")
    e = np.arange(1, 31)
    pd.DataFrame({"epoch": e, "train_loss": 1 / e, "train_acc": 1 - 1 / e, "val_loss": 1 / e, "val_acc": 1 - 1 / e,
                  "lr": 1e-3, "time_s": 1.0, "images_per_s": 1.0}).to_csv(run / "history.csv", index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=22619)
    parser.add_argument("--classes", type=int, default=102)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a", Path(tmp) / "b"
        make_run(a, args.n, args.classes, 1)
        make_run(b, args.n, args.classes, 2)
        t = time.perf_counter()
        pred = read_predictions(a)
        t_read = time.perf_counter() - t
        t = time.perf_counter()
        compute_metrics(pred.y_true, pred.y_pred, pred.proba, classes=pred.classes)
        t_metrics = time.perf_counter() - t
        t = time.perf_counter()
        evaluate(a)
        t_eval = time.perf_counter() - t
        t = time.perf_counter()
        compare([a, b], out=Path(tmp) / "cmp")
        t_cmp = time.perf_counter() - t
    print(f"command: PYTHONPATH=src {Path(sys.executable).name} bench/bench_evaluate.py --n {args.n} --classes {args.classes}")
    print(f"items {args.n:,}, classes {args.classes}")
    print(f"read predictions table      {t_read:6.2f} s")
    print(f"compute_metrics             {t_metrics:6.2f} s")
    print(f"evaluate (tables + 3 plots) {t_eval:6.2f} s")
    print(f"compare, two runs           {t_cmp:6.2f} s")


if __name__ == "__main__":
    main()
