"""The coursework recipe against the strong recipes (#14), side by side in one run, on the same carve of FairFace.

Every recipe trains on ``--data`` (default the 8,000 FairFace images in ../shared/data/fairface-8k) for the
``gender`` target, with val and test carved from it by the same seeded split (``data.val_fraction=0.1
data.test_fraction=0.1 data.seed=0`` for every recipe; the bench checks that every run was scored on the same
test images). Runs are interleaved (seed 0 of every recipe, then seed 1, ...) so that a machine that slows down
slows every recipe alike. Each run is a ``trainlab train`` in its own process, as a user would start it; the strong
recipes run under ``--budget`` (default 20m, the issue's figure), the coursework recipe with its own 25 epochs.

Per recipe: test accuracy mean ± 95% t-interval over seeds (trainlab.training.seeds.summarize), wall time per run
(the process, from start to exit), training images/s (median over epochs), epochs run. Written to
``OUT/recipes.json`` and ``OUT/recipes.md`` (the table for BENCHMARKS.md), and printed.

    PYTHONPATH=src python bench/bench_recipes.py [--data ../shared/data/fairface-8k] [--seeds 3] [--budget 20m]
        [--recipes fairface-gender face-attribute small-data] [--out /tmp/trainlab-bench-recipes]
    PYTHONPATH=src python bench/bench_recipes.py --smoke     # 200 images, 2-minute budgets, 1 epoch, 1 seed: it runs
    (a smaller budget, e.g. --budget 30s, fits 200 images on a quiet machine; a loaded one needs more for set-up)

Do not run the full bench on a shared machine: 3 seeds x (13 + 20 + 20) minutes is about 2h40.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
# ../shared beside the checkout (a worktree under wt/ finds it one level further up)
DEFAULT_DATA = next((p for p in (ROOT.parent / "shared" / "data" / "fairface-8k",
                                 ROOT.parent.parent / "shared" / "data" / "fairface-8k") if p.is_dir()),
                    ROOT.parent / "shared" / "data" / "fairface-8k")
COURSEWORK = "fairface-gender"
CARVE = ["data.format=fairface", "data.target=gender", "data.val_fraction=0.1", "data.test_fraction=0.1", "data.seed=0"]


def subset(data: Path, n: int, out: Path, seed: int = 0) -> Path:
    """A FairFace folder of ``n`` rows drawn (seeded) from ``data``'s train_labels.csv; the images are linked."""
    labels = pd.read_csv(data / "train_labels.csv")
    part = labels.sample(n=min(n, len(labels)), random_state=seed).sort_index()
    out.mkdir(parents=True, exist_ok=True)
    part.to_csv(out / "train_labels.csv", index=False)
    for folder in {Path(f).parts[0] for f in part["file"]}:
        link = out / folder
        if not link.exists():
            link.symlink_to((data / folder).resolve(), target_is_directory=True)
    return out


def overrides_for(recipe: str, args, data: Path, seed: int, runs: Path, name: str) -> list[str]:
    extra = [f"data.root={data}", *CARVE, f"train.seed={seed}", f"output.runs={runs}", f"output.name={name}"]
    if recipe == COURSEWORK:
        if args.smoke:
            extra.append("train.epochs=1")
    else:
        extra.append(f"train.budget={args.budget}")
    return extra


def train_one(recipe: str, overrides: list[str]) -> float:
    env = {**os.environ, "TRAINLAB_NO_PROGRESS": "1", "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "trainlab", "-q", "train", recipe, *overrides], env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{recipe} {' '.join(overrides)} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return wall


def read_run(run: Path, wall: float) -> dict:
    from trainlab.artifacts.budget_plan import BudgetPlan
    from trainlab.artifacts.metrics import Metrics
    from trainlab.artifacts.run import RunRecord

    record, metrics = RunRecord.read(run), Metrics.read(run)
    history = pd.read_csv(run / "history.csv")
    test_ids = pd.read_csv(run / "predictions" / "test.csv")["id"].astype(str).sort_values()
    return {
        "run": str(run), "test_accuracy": metrics.accuracy, "wall_s": round(wall, 1),
        "train_s": record.timings.get("train_s"), "epochs": record.epochs_done,
        "images_per_s": round(float(history["images_per_s"].median()), 1),
        "best_weights": record.best_weights,
        "budget_plan": BudgetPlan.read(run).model_dump() if BudgetPlan.exists_in(run) else None,
        "test_items": len(test_ids), "test_carve": hashlib.sha1("\n".join(test_ids).encode()).hexdigest()[:12],
    }


def table(summary: dict) -> str:
    lines = ["| recipe | test accuracy, mean ± 95% CI (seeds) | wall time per run | training images/s | epochs |",
             "|---|---|---|---|---|"]
    for recipe, s in summary.items():
        acc = s["test_accuracy"]
        ci = f" ({acc['low']:.3f} to {acc['high']:.3f})" if acc["low"] is not None else ""
        lines.append(f"| {recipe} | **{acc['mean']:.3f}**{ci}, n={acc['n']} | {np.mean(s['wall_s']) / 60:.1f} min | "
                     f"{np.mean(s['images_per_s']):.0f} | {', '.join(map(str, s['epochs']))} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="FairFace folder (train_labels.csv + train/)")
    ap.add_argument("--recipes", nargs="+", default=[COURSEWORK, "face-attribute", "small-data"])
    ap.add_argument("--seeds", type=int, default=None, help="seeds per recipe (default 3; --smoke: 1)")
    ap.add_argument("--budget", default=None, help="train.budget of the strong recipes (default 20m; --smoke: 2m)")
    ap.add_argument("--images", type=int, default=None, help="use a seeded subset of this many images (--smoke: 200)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/trainlab-bench-recipes"))
    ap.add_argument("--smoke", action="store_true", help="a run that only shows the bench works: 200 images, 2-minute budgets, "
                    "1 epoch of the coursework recipe, 1 seed")
    args = ap.parse_args(argv)
    args.seeds = args.seeds or (1 if args.smoke else 3)
    args.budget = args.budget or ("2m" if args.smoke else "20m")
    images = args.images or (200 if args.smoke else None)
    if not (args.data / "train_labels.csv").is_file():
        raise SystemExit(f"--data {args.data}: no train_labels.csv there; point it at a FairFace folder")
    args.out.mkdir(parents=True, exist_ok=True)
    data = subset(args.data, images, args.out / f"data-{images}") if images else args.data.resolve()
    runs = args.out / "runs"
    print(f"{args.data} ({images or 'all'} images), recipes {', '.join(args.recipes)}, {args.seeds} seed(s), "
          f"budget {args.budget} for the strong recipes; load average {os.getloadavg()[0]:.1f}", flush=True)

    results: dict[str, list[dict]] = {r: [] for r in args.recipes}
    t_all = time.perf_counter()
    for seed in range(args.seeds):
        for recipe in args.recipes:  # interleaved: every recipe's seed s before any seed s+1
            name = f"{recipe}-seed{seed}"
            if (runs / name).exists():
                import shutil

                shutil.rmtree(runs / name)
            wall = train_one(recipe, overrides_for(recipe, args, data, seed, runs, name))
            row = read_run(runs / name, wall)
            results[recipe].append(row)
            print(f"  {name}: test accuracy {row['test_accuracy']:.4f}, {row['epochs']} epoch(s), {wall:.0f} s, "
                  f"{row['images_per_s']:.0f} images/s", flush=True)

    carves = {row["test_carve"] for rows in results.values() for row in rows}
    if len(carves) != 1:
        raise SystemExit(f"the runs were not scored on the same test images ({len(carves)} different carves)")
    from trainlab.training.seeds import summarize

    summary = {recipe: {"test_accuracy": summarize([r["test_accuracy"] for r in rows]).model_dump(),
                        "wall_s": [r["wall_s"] for r in rows], "images_per_s": [r["images_per_s"] for r in rows],
                        "epochs": [r["epochs"] for r in rows]}
               for recipe, rows in results.items()}
    record = {
        "bench": "recipes (#14)", "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "data": str(args.data), "images": images, "carve": CARVE, "test_items": results[args.recipes[0]][0]["test_items"],
        "seeds": args.seeds, "budget": args.budget, "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "total_s": round(time.perf_counter() - t_all, 1), "summary": summary, "runs": results,
    }
    (args.out / "recipes.json").write_text(json.dumps(record, indent=2) + "\n")
    md = table(summary)
    (args.out / "recipes.md").write_text(md + "\n")
    print(md)
    print(f"-> {args.out / 'recipes.json'}, {args.out / 'recipes.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
