"""Time `evaluate` and `compare` on synthetic predictions, beside scikit-learn's own calls for the same metrics.

    PYTHONPATH=src python bench/bench_evaluate.py [--n 20000] [--classes 1000]

Defaults: 20,000 items × 1,000 classes (the scale of issue 17). ``--n 22619 --classes 102`` is IP102's test
split. Prints a Markdown table: reading the predictions table, trainlab's metrics, scikit-learn's calls
for the same figures on the same arrays in the same run (and whether every figure agrees to 1e-12), a
whole `evaluate` (metrics, tables, three plots), `compare` of two runs without intervals, and compare's
paired bootstrap (1,000 replicates) at IP102 scale. Then the ROC AUC's 1,000 bootstrap replicates of evaluate's
intervals both ways on the same draws: the exact weighted count and DeLong placement values (what ``auto``
uses above 5 million item-class scores), with their times, the replicates' correlation and the interval ends.
Files go to a temporary folder that is removed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from trainlab.evaluation.compare import compare
from trainlab.evaluation.evaluate import evaluate
from trainlab.evaluation.metrics import check_arrays, compute_metrics
from trainlab.evaluation.paired import ScoredRun, auc_method, compare_sides, interval, replicate_metrics
from trainlab.artifacts.predictions import Predictions


def make_run(run: Path, n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = np.random.default_rng(0).integers(0, k, n)
    logits = rng.normal(size=(n, k)).astype(np.float64)
    logits[np.arange(n), y] += 2.5
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    classes = [f"class {i}" for i in range(k)]
    Predictions.build(classes=classes, y_true=y, proba=proba, split="test").write(run / "predictions" / "test.csv")
    e = np.arange(1, 31)
    pd.DataFrame({"epoch": e, "train_loss": 1 / e, "train_acc": 1 - 1 / e, "val_loss": 1 / e, "val_acc": 1 - 1 / e,
                  "lr": 1e-3, "time_s": 1.0, "images_per_s": 1.0}).to_csv(run / "history.csv", index=False)


def sklearn_metrics(y, y_pred, proba) -> dict:
    """scikit-learn's calls for every figure compute_metrics reports (the same ones trainlab did before issue 17)."""
    k = proba.shape[1]
    labels = np.arange(k)
    present = np.union1d(y, y_pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "accuracy": skm.accuracy_score(y, y_pred),
            "top5_accuracy": skm.top_k_accuracy_score(y, proba, k=5, labels=labels),
            "balanced_accuracy": skm.balanced_accuracy_score(y, y_pred),
            "f1_macro": skm.f1_score(y, y_pred, labels=present, average="macro"),
            "f1_weighted": skm.f1_score(y, y_pred, labels=present, average="weighted"),
            "per_class_auc": skm.roc_auc_score(y, proba, multi_class="ovr", average=None, labels=labels),
            "log_loss": skm.log_loss(y, proba, labels=labels),
            "prfs": skm.precision_recall_fscore_support(y, y_pred, labels=labels, zero_division=np.nan),
        }


def timed(fn):
    """The value, and (wall seconds, CPU seconds of this process): on a shared machine the CPU time is
    what the step would take alone, the wall time what it took among the other processes."""
    t, c = time.perf_counter(), time.process_time()
    value = fn()
    return value, (time.perf_counter() - t, time.process_time() - c)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--classes", type=int, default=1_000)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a", Path(tmp) / "b"
        make_run(a, args.n, args.classes, 1)
        make_run(b, args.n, args.classes, 2)
        pred, t_read = timed(lambda: Predictions.read(a))
        y, y_pred, proba = check_arrays(pred.y_true, pred.y_pred, pred.proba, classes=pred.classes)
        ours, t_ours = timed(lambda: compute_metrics(y, y_pred, proba, classes=pred.classes))
        ref, t_ref = timed(lambda: sklearn_metrics(y, y_pred, proba))
        ref_auc, t_ref_auc = timed(lambda: skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"))
        _, t_eval = timed(lambda: evaluate(a).write(a))
        _, t_cmp = timed(lambda: compare([a, b], replicates=0).write(Path(tmp) / "cmp"))
    # the paired bootstrap of compare at IP102's test-split scale, on arrays in memory
    rng = np.random.default_rng(0)
    n_ip, k_ip = 22_619, 102
    y_ip = rng.integers(0, k_ip, n_ip)
    scored = []
    for _ in range(2):
        logits = rng.normal(size=(n_ip, k_ip))
        logits[np.arange(n_ip), y_ip] += 2.5
        p_ip = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        scored.append(ScoredRun(y_ip, p_ip.argmax(1), p_ip))
    _, t_boot = timed(lambda: compare_sides(scored, [0], [1], replicates=1000))
    # evaluate's AUC replicates both ways, on the same 1,000 draws
    auc_runs = {}
    for method in ("exact", "linear"):
        run, t_prep = timed(lambda: ScoredRun(y, y_pred, proba, auc=method))
        reps, t_reps = timed(lambda: replicate_metrics([run], replicates=1000, rng=np.random.default_rng(0))["roc_auc"][:, 0])
        auc_runs[method] = (reps, t_prep, t_reps, interval(reps, 0.95, len(y)))
    differences = {key: abs(ours[key] - ref[key]) for key in
                   ("accuracy", "top5_accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "log_loss")}
    differences["roc_auc (macro)"] = abs(ours["roc_auc"] - ref_auc)
    differences["per-class ROC AUC"] = float(np.max(np.abs(np.array([r["roc_auc"] for r in ours["per_class"]]) - ref["per_class_auc"])))
    worst = max(differences, key=differences.get)
    print(f"command: PYTHONPATH=src {Path(sys.executable).name} bench/bench_evaluate.py --n {args.n} --classes {args.classes}")
    print(f"{args.n:,} items × {args.classes:,} classes; load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end\n")
    print("| step | wall s | CPU s |")
    print("|---|--:|--:|")
    print(f"| read the predictions table (CSV) | {t_read[0]:.2f} | {t_read[1]:.2f} |")
    print(f"| trainlab `compute_metrics`: every metric (accuracy, top-5, balanced, F1, per class, ROC AUC, log loss, ECE) | **{t_ours[0]:.2f}** | **{t_ours[1]:.2f}** |")
    print(f"| scikit-learn, the same figures on the same arrays (its calls; ROC AUC per class once) | {t_ref[0]:.2f} | {t_ref[1]:.2f} |")
    print(f"| scikit-learn's one-vs-rest macro ROC AUC alone (`roc_auc_score(multi_class='ovr')`) | {t_ref_auc[0]:.2f} | {t_ref_auc[1]:.2f} |")
    print(f"| `evaluate`: read + metrics + metrics.json + per-class and top-confusion CSVs + 3 plots | **{t_eval[0]:.2f}** | **{t_eval[1]:.2f}** |")
    print(f"| `compare` of two runs: metrics of both, McNemar, validation-curve figure (`--bootstrap 0`) | {t_cmp[0]:.2f} | {t_cmp[1]:.2f} |")
    print(f"| paired bootstrap of two runs, 1,000 replicates, 4 metrics, at 22,619 items × 102 classes | {t_boot[0]:.2f} | {t_boot[1]:.2f} |")
    for method, (reps, t_prep, t_reps, ci) in auc_runs.items():
        what = "exact weighted count" if method == "exact" else "DeLong placement values"
        if method == auc_method(args.n, args.classes):
            what += " (evaluate's at this size)"
        print(f"| ROC AUC bootstrap, 1,000 replicates, {what}: preparation + replicates | "
              f"{t_prep[0]:.2f} + {t_reps[0]:.2f} | {t_prep[1]:.2f} + {t_reps[1]:.2f} |")
    exact, linear = auc_runs["exact"], auc_runs["linear"]
    sd = exact[0].std()
    print(f"\nROC AUC replicates, placement values against the exact count: correlation "
          f"{np.corrcoef(exact[0], linear[0])[0, 1]:.5f}; 95% interval exact {exact[3][0]:.5f} to {exact[3][1]:.5f}, "
          f"placement {linear[3][0]:.5f} to {linear[3][1]:.5f} (ends {abs(linear[3][0] - exact[3][0]) / sd:.3f} and "
          f"{abs(linear[3][1] - exact[3][1]) / sd:.3f} replicate-SD apart)")
    print(f"\nlargest difference trainlab − scikit-learn over every figure: {differences[worst]:.1e} ({worst}); "
          f"{'all equal to 1e-12' if differences[worst] <= 1e-12 else 'NOT EQUAL'}")


if __name__ == "__main__":
    main()
