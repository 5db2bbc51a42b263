"""The learning-rate range test (Smith 2017; fastai's ``lr_find``): which ``train.lr`` to start from.

Train from the model's initial weights for ``steps`` optimizer steps while the rate grows exponentially,
``lr_i = start * (end / start) ** (i / (steps - 1))``, recording the training loss. The curve is smoothed
with a bias-corrected exponential moving average (``s_i = beta s_{i-1} + (1 - beta) loss_i``, divided by
``1 - beta ** (i + 1)``) and the test stops once the smoothed loss exceeds ``diverge`` times its minimum.
A suggestion is read off the smoothed curve before that point by one rule:

* ``min/10`` (default): the rate at the smoothed loss's minimum, divided by 10 (the minimum sits at the
  edge of divergence; a tenth of it still learns fast and stays stable);
* ``steepest``: the rate where the smoothed loss falls fastest per decade of rate (most negative slope
  against log lr), before the minimum.

:func:`lr_range_test` works on any model and batches (the model's weights are restored afterwards);
:func:`lr_find` builds them from a recipe, repeats the test over seeds and writes ``lr_find.json``
(:class:`~trainlab.artifacts.lr_find.LRFindResult`) and ``lr_find.png``. The spread of the suggestion over
seeds (largest / smallest) says how far to trust it. Batches are the recipe's training images normalised
as in training, without augmentation.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F

from trainlab.artifacts.lr_find import LRFindCurve, LRFindResult
from trainlab.errors import TrainlabError
from trainlab.utils.log import get_logger

log = get_logger("trainlab.lr_find")

RULES = ("min/10", "steepest")


@dataclass(frozen=True)
class RangeTest:
    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    diverged_at: int | None  #: index of the first step past the divergence threshold (the last one recorded)


def lr_range_test(
    model: torch.nn.Module, batches: Iterable, *, optimizer: Callable[[torch.nn.Module], torch.optim.Optimizer] | None = None,
    loss_fn: Callable | None = None, start_lr: float = 1e-7, end_lr: float = 10.0, steps: int = 200, beta: float = 0.98,
    diverge: float = 4.0,
) -> RangeTest:
    """Run the range test on ``model`` with ``(x, y)`` batches (re-iterated when exhausted); weights are restored.

    ``optimizer(model)`` builds the optimizer (default Adam); every group's rate keeps its ratio to the
    largest one (a backbone at ``lr x backbone_lr_scale`` stays so). ``loss_fn(model, x, y)`` defaults to
    cross-entropy of ``model(x)``.
    """
    if not (0 < start_lr < end_lr):
        raise TrainlabError(f"lr-find: the start rate ({start_lr}) must be positive and below the end rate ({end_lr})")
    if steps < 10:
        raise TrainlabError(f"lr-find: --steps {steps} is too few for a curve; use at least 10 (a few hundred is usual)")
    saved = copy.deepcopy(model.state_dict())
    was_training = model.training
    opt = optimizer(model) if optimizer is not None else torch.optim.Adam(model.parameters(), lr=start_lr)
    top = max(g["lr"] for g in opt.param_groups) or 1.0
    ratios = [g["lr"] / top for g in opt.param_groups]
    loss_fn = loss_fn or (lambda m, x, y: F.cross_entropy(m(x), y))
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(steps) / (steps - 1))
    losses, smoothed, avg, best, diverged = [], [], 0.0, math.inf, None
    model.train()
    stream = iter(batches)
    try:
        for i, lr in enumerate(lrs):
            try:
                x, y = next(stream)
            except StopIteration:
                stream = iter(batches)
                x, y = next(stream)
            for group, r in zip(opt.param_groups, ratios):
                group["lr"] = lr * r
            loss = loss_fn(model, x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            value = float(loss.detach())
            losses.append(value)
            if not math.isfinite(value):
                smoothed.append(math.inf)
                diverged = i
                break
            avg = beta * avg + (1 - beta) * value
            smooth = avg / (1 - beta ** (i + 1))
            smoothed.append(smooth)
            best = min(best, smooth)
            if i > steps // 10 and smooth > diverge * best:
                diverged = i
                break
    finally:
        model.load_state_dict(saved)
        model.train(was_training)
    n = len(losses)
    return RangeTest(lrs[:n], np.array(losses), np.array(smoothed), diverged)


def suggest(test: RangeTest, rule: str = "min/10") -> float:
    """The suggested rate by ``rule`` (see the module), always below the divergence point."""
    if rule not in RULES:
        raise TrainlabError(f"lr-find: rule '{rule}' is not known; choose one of {', '.join(RULES)}")
    end = test.diverged_at if test.diverged_at is not None else len(test.lrs)
    s = test.smoothed[:end]
    skip = min(len(s) - 1, max(1, len(test.smoothed) // 20))  # the average's first points are one batch's noise
    if len(s) < 3:
        raise TrainlabError("lr-find: the loss diverged within the first steps; lower the start rate (--start)")
    lowest = skip + int(np.argmin(s[skip:]))
    if rule == "min/10":
        return float(test.lrs[lowest] / 10)
    if lowest - skip < 2:
        return float(test.lrs[lowest] / 10)  # no falling part to measure a slope on
    slope = np.gradient(s[skip:lowest + 1], np.log10(test.lrs[skip:lowest + 1]))
    return float(test.lrs[skip + int(np.argmin(slope))])


def plot_curves(result: LRFindResult, path: Path) -> Path:
    """Smoothed loss against rate (log axis), one line per seed, each suggestion marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for curve in result.curves:
        (line,) = ax.plot(curve.lrs, curve.smoothed, label=f"seed {curve.seed}: {curve.suggestion:.2g}")
        ax.axvline(curve.suggestion, color=line.get_color(), linestyle="--", linewidth=1)
    finite = [v for c in result.curves for v in c.smoothed if math.isfinite(v)]
    if finite:
        lo = min(finite)
        ax.set_ylim(lo - 0.05 * abs(lo), min(max(finite), lo + 3 * (np.median(finite) - lo + 1e-9)) * 1.05 + 1e-9)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss (smoothed)")
    ax.set_title(f"lr-find: suggestion {result.suggestion:.2g} ({result.rule}), spread x{result.spread:.2f} over seeds")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ---- from a recipe -------------------------------------------------------------------------------
def lr_find_folder(recipe: str | Path, out: str | Path | None = None) -> Path:
    """Where :func:`lr_find` writes: ``out``, or ``lr-find-<recipe name>`` in the working folder."""
    return Path(out) if out is not None else Path(f"lr-find-{Path(str(recipe)).name.removesuffix('.yaml')}")


def lr_find(
    recipe: str | Path, overrides: list[str] | tuple[str, ...] = (), *, out: str | Path | None = None, seeds: int = 3,
    start_lr: float = 1e-7, end_lr: float = 10.0, steps: int = 200, rule: str = "min/10",
) -> LRFindResult:
    """The range test on a recipe's model and training images, once per seed (``train.seed``, ``+1``, ...)."""
    from trainlab.config import load_recipe, validate
    from trainlab.data.cache import build_cache
    from trainlab.data.dataconfig import resolve_data_config
    from trainlab.data.formats import dataset_root, load_manifest
    from trainlab.data.loader import BatchLoader, Normalize
    from trainlab.models.factory import create_model, model_options
    from trainlab.training import policy
    from trainlab.utils.device import pick_device

    if seeds < 1:
        raise TrainlabError(f"lr-find: --seeds {seeds} must be at least 1")
    if rule not in RULES:
        raise TrainlabError(f"lr-find: --rule '{rule}' is not known; choose one of {', '.join(RULES)}")
    where = str(recipe)
    cfg = validate(load_recipe(recipe, list(overrides)), where)
    d, t = cfg.data, cfg.train
    if not d.root:
        raise TrainlabError(f"{where}: data.root is not set; add data.root=/path/to/dataset to the command line")
    t_start = time.perf_counter()
    manifest = load_manifest(dataset_root(d.root), fmt=d.format, target=d.target, val_fraction=d.val_fraction, seed=d.seed,
                             on_bad_image=d.on_bad_image, test_fraction=d.test_fraction)
    device = pick_device(t.device)
    options = dict(cfg.model.options)
    if d.image_size and "input_size" not in options and "input_size" in model_options(cfg.model.name):
        options["input_size"] = list(d.image_size)

    def build(seed: int) -> torch.nn.Module:
        torch.manual_seed(seed)
        return create_model(cfg.model.name, manifest.num_classes, **options).to(device)

    data_config = resolve_data_config(d, build(t.seed))
    cache = build_cache(manifest, size=data_config.size, policy=data_config.resize, cache_dir=d.cache_dir, workers=d.workers,
                        on_bad_image=d.on_bad_image)
    manifest = cache.manifest
    norm = Normalize(data_config.mean, data_config.std)
    labels = manifest.labels()

    def make_optimizer(model):  # the training's own optimizer and groups; lr_range_test then sets the rates
        return policy.make_optimizer(model, t, device)

    def loss_fn(model, x, y):
        loss = F.cross_entropy(model(x), y, label_smoothing=t.label_smoothing)
        reg = getattr(model, "regularization_loss", None)
        return loss + reg() if reg is not None else loss

    curves = []
    for seed in range(t.seed, t.seed + seeds):
        loader = BatchLoader(cache.images, labels, manifest.indices("train"), batch_size=t.batch_size, shuffle=True,
                             seed=seed, device=device, prefetch=0)
        batches = _Batches(loader, norm)
        test = lr_range_test(build(seed), batches, optimizer=make_optimizer, loss_fn=loss_fn, start_lr=start_lr,
                             end_lr=end_lr, steps=steps)
        value = suggest(test, rule)
        log.info("seed %d: suggestion %.3g (%s), %d steps%s", seed, value, rule, len(test.lrs),
                 f", diverged at {test.lrs[test.diverged_at]:.3g}" if test.diverged_at is not None else "")
        curves.append(LRFindCurve(
            seed=seed, lrs=test.lrs.tolist(), losses=test.losses.tolist(), smoothed=test.smoothed.tolist(),
            diverged_at=float(test.lrs[test.diverged_at]) if test.diverged_at is not None else None, suggestion=value,
        ))
    values = np.array([c.suggestion for c in curves])
    result = LRFindResult(
        recipe=where, rule=rule, start_lr=start_lr, end_lr=end_lr, steps=steps,
        suggestion=float(np.exp(np.log(values).mean())), spread=float(values.max() / values.min()),
        seconds=round(time.perf_counter() - t_start, 2), curves=curves,
    )
    folder = lr_find_folder(recipe, out)
    result.write(folder)
    plot_curves(result, folder / "lr_find.png")
    return result


class _Batches:
    """Normalised ``(x, y)`` batches from a loader, a new epoch each pass (re-iterable)."""

    def __init__(self, loader, norm):
        self.loader, self.norm, self.epoch = loader, norm, 0

    def __iter__(self):
        self.loader.set_epoch(self.epoch)
        self.epoch += 1
        for batch in self.loader:
            yield self.norm(batch.images), batch.labels
