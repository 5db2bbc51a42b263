"""Seed groups: the same recipe trained once per seed, one summary of the test metrics.

``train.seeds: [0, 1, 2]`` in a recipe, or ``trainlab train RECIPE --seeds 3`` (seeds ``train.seed``,
``train.seed + 1``, ...), trains through the public entry point :func:`trainlab.training.run.train_from_recipe`,
once per seed, into one group folder::

    <output.runs>/<name>/seed-0/ ... seed-2/      one ordinary run folder each (its config.yaml redoes that run)
    <output.runs>/<name>/group.json               SeedGroupSummary: per test metric n, mean, std, 95% interval
    <output.runs>/<name>/summary.md               the same as a table

Only ``train.seed`` changes between the runs: the data carve (``data.seed``) is the same for every seed, so
the runs are scored on the same test images. The interval is the t-interval of the mean,
``mean ± t_{0.975, n-1} · s / sqrt(n)`` (s the sample standard deviation): with 3 seeds, ± 2.48 s.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

import numpy as np

from trainlab.artifacts.seed_group import MetricSummary, SeedGroupSummary
from trainlab.errors import TrainlabError
from trainlab.evaluation.metrics import METRIC_KEYS
from trainlab.utils.io import atomic_write_text
from trainlab.utils.log import get_logger

log = get_logger("trainlab.training")


def seed_list(recipe, overrides, flag: int | None) -> list[int]:
    """The seeds to run: ``--seeds N`` (N seeds from ``train.seed``) or the recipe's ``train.seeds``; [] for one run."""
    from trainlab.config import load_recipe

    cfg = load_recipe(recipe, list(overrides)) if recipe is not None else None
    if flag is not None:
        if flag < 1:
            raise TrainlabError(f"--seeds {flag}: give the number of seeds, at least 1")
        if cfg is not None and cfg.train.seeds:
            raise TrainlabError(f"{recipe}: train.seeds is set and --seeds {flag} was given; use one of them")
        first = cfg.train.seed if cfg is not None else 0
        return list(range(first, first + flag))
    return list(cfg.train.seeds) if cfg is not None else []


def summarize(values: list[float]) -> MetricSummary:
    """n, mean, sample std and the 95% t-interval of the mean (no interval from one value)."""
    from scipy import stats

    x = np.asarray(values, dtype=np.float64)
    n, mean = len(x), float(x.mean())
    if n < 2:
        return MetricSummary(n=n, mean=mean, std=None, low=None, high=None, values=x.tolist())
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n)
    return MetricSummary(n=n, mean=mean, std=std, low=mean - half, high=mean + half, values=x.tolist())


def train_seed_group(recipe, overrides=(), seeds: list[int] = (), *, out=None) -> Path:
    """Train ``recipe`` once per seed into one group folder; write ``group.json`` and ``summary.md``; return the folder."""
    from trainlab.config import load_recipe
    from trainlab.training.run import train_from_recipe

    seeds = [int(s) for s in seeds]
    if not seeds:
        raise TrainlabError("a seed group needs at least one seed (train.seeds: [0, 1, 2] or --seeds 3)")
    if len(set(seeds)) != len(seeds):
        raise TrainlabError(f"train.seeds: {seeds} repeats a seed; each seed once")
    overrides = [o for o in overrides if o.split("=", 1)[0].strip() not in ("train.seeds", "train.seed")]
    cfg = load_recipe(recipe, overrides)
    runs = Path(out) if out is not None else Path(cfg.output.runs)
    stem = Path(str(recipe)).name.removesuffix(".yaml")
    group = runs / (cfg.output.name or f"{stem}-seeds-{datetime.now():%Y%m%d-%H%M%S}")
    if group.exists() and any(group.iterdir()):
        raise TrainlabError(f"group folder {group} already exists; choose another output.name")
    folders = []
    for seed in seeds:
        log.info("seed group %s: seed %d (%d of %d)", group.name, seed, len(folders) + 1, len(seeds))
        run = train_from_recipe(recipe, [*overrides, f"train.seed={seed}", "train.seeds=[]", f"output.name=seed-{seed}"],
                                out=group)
        folders.append(run)
    summary = _summary(str(recipe), overrides, seeds, group, folders)
    summary.write(group)
    atomic_write_text(group / "summary.md", _markdown(summary))
    log.info("seed group: %s", ", ".join(f"{k} {_show(m)}" for k, m in summary.metrics.items() if k == "accuracy"))
    return group


def _summary(recipe: str, overrides: list[str], seeds: list[int], group: Path, folders: list[Path]) -> SeedGroupSummary:
    per_metric: dict[str, list[float]] = {}
    for run in folders:
        path = run / "metrics.json"
        if not path.is_file():
            raise TrainlabError(f"{run}: no metrics.json (the run has no test split?); a seed group summarises test metrics")
        metrics = json.loads(path.read_text())
        for key in METRIC_KEYS:  # the scalar metrics trainlab.evaluation writes
            value = metrics.get(key)
            if isinstance(value, (int, float)) and math.isfinite(value):
                per_metric.setdefault(key, []).append(float(value))
    metrics = {k: summarize(v) for k, v in per_metric.items() if len(v) == len(folders)}
    return SeedGroupSummary(recipe=recipe, overrides=overrides, seeds=seeds, runs=[f.name for f in folders], split="test",
                            metrics=metrics)


def _show(m: MetricSummary) -> str:
    if m.low is None:
        return f"{m.mean:.4f} (one seed)"
    return f"{m.mean:.4f} ± {m.high - m.mean:.4f}"


def _markdown(s: SeedGroupSummary) -> str:
    lines = [f"# {s.recipe}: {len(s.seeds)} seeds ({', '.join(map(str, s.seeds))})", "",
             "Test metrics, mean ± half-width of the 95% t-interval of the mean over seeds.", "",
             "| metric | mean ± 95% | std | per seed |", "|---|---|---|---|"]
    for key, m in s.metrics.items():
        std = f"{m.std:.4f}" if m.std is not None else "-"
        lines.append(f"| {key} | {_show(m)} | {std} | {', '.join(f'{v:.4f}' for v in m.values)} |")
    return "\n".join(lines) + "\n"
