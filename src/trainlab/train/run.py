"""``trainlab train``: recipe -> manifest -> cache -> model -> Trainer -> run folder with predictions.

This module is the only place that knows every stage; each stage is one call::

    recipe   = load_recipe(file, overrides)                     trainlab.config
    manifest = load_manifest(root, format, target, ...)         trainlab.data.formats
    model    = create_model(name, num_classes, **options)       trainlab.models.factory
    data_config = resolve_data_config(recipe.data, model)       trainlab.data.dataconfig (read by all below)
    cache    = build_cache(manifest, data_config.size, data_config.resize, ...)   trainlab.data.cache
    Trainer(model, recipe.train, images=cache.images, data_config=data_config, ...).fit()
    predictions/{val,test}.csv from the best checkpoint, then trainlab.evaluate for test

The run folder (``<output.runs>/<name>``) holds ``config.yaml`` (the resolved recipe: enough to redo the
run), ``run.json`` (what was trained on what, where, how long, and the status), ``history.csv``,
``plots/``, ``checkpoints/``, ``data/`` (the dataset summary) and ``predictions/``.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from trainlab import __version__
from trainlab.config import Recipe, load_recipe, resolved, validate
from trainlab.errors import TrainlabError
from trainlab.runs import mark_latest
from trainlab.utils.io import atomic_write_text, write_json
from trainlab.utils.log import get_logger

log = get_logger("trainlab.train")

#: what may change when a run is resumed (everything else must stay as it was for the result to be the same run)
RESUMABLE_KEYS = (
    "train.epochs", "train.patience", "train.min_delta", "train.device", "train.prefetch", "train.eval_batch_size",
    "data.root", "data.cache_dir", "data.workers", "output.runs",
)


class RunRecord:
    """``<run>/run.json``, kept up to date (only the main process writes)."""

    def __init__(self, folder: Path, enabled: bool, initial: dict | None = None):
        self.path = folder / "run.json"
        self.enabled = enabled
        self.data: dict[str, Any] = dict(initial or {})

    def update(self, **fields: Any) -> None:
        self.data.update(fields)
        self.data["updated"] = _now()
        if self.enabled:
            write_json(self.path, _jsonable(self.data))


def _now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))


# ---- the verb --------------------------------------------------------------------------------
def train_from_recipe(
    recipe: str | Path | None, overrides: list[str] | tuple[str, ...] = (), *, resume: str | Path | None = None,
    out: str | Path | None = None,
) -> Path:
    """Train from a recipe file (or continue ``resume``, a run folder); returns the run folder."""
    from trainlab.train.host_memory import keep_freed_memory

    tuned = keep_freed_memory()  # before torch is imported (see the module)
    from trainlab.train import distributed

    log.debug("host allocator: %s", ", ".join(tuned) or "system defaults")

    overrides = list(overrides or ())
    if resume is not None:
        run_dir, cfg, where = _resumed_recipe(Path(resume), recipe, overrides)
    else:
        if recipe is None:
            raise TrainlabError("give a recipe (a YAML file or a built-in name such as ip102-seed-cnn), or --resume RUN")
        where = str(recipe)
        cfg = validate(load_recipe(recipe, overrides), where)
        run_dir = None
    if not cfg.data.root:
        raise TrainlabError(f"{where}: data.root is not set; add data.root=/path/to/dataset to the command line")
    if not Path(cfg.data.root).expanduser().exists():
        raise TrainlabError(f"{where}: data.root: {cfg.data.root} does not exist; point it at a dataset folder or labels CSV")

    dist = distributed.setup(cfg.train.device)
    if not dist.is_main:
        get_logger("trainlab").setLevel("WARNING")
    try:
        return _train(cfg, where, overrides, dist, run_dir=run_dir, out=out, resumed=resume is not None)
    finally:
        distributed.cleanup()


def _resumed_recipe(run_dir: Path, recipe, overrides: list[str]) -> tuple[Path, Recipe, str]:
    if recipe is not None:
        raise TrainlabError(f"--resume {run_dir} continues with the run's own config.yaml; do not give a recipe as well")
    if not run_dir.is_dir():
        raise TrainlabError(f"--resume {run_dir}: no such run folder")
    config = run_dir / "config.yaml"
    if not config.is_file():
        raise TrainlabError(f"--resume {run_dir}: it has no config.yaml, so it is not a trainlab run folder")
    for item in overrides:
        key = item.split("=", 1)[0].strip()
        if key not in RESUMABLE_KEYS:
            raise TrainlabError(
                f"--resume: '{key}' cannot change when a run continues (the result would no longer be one run); "
                f"keys that can: {', '.join(RESUMABLE_KEYS)}. Start a new run to change it."
            )
    cfg = validate(load_recipe(config, overrides), str(config))
    return run_dir, cfg, str(config)


def check_transfer(cfg: Recipe, where: str) -> None:
    """A frozen (or staged, while frozen) backbone needs pretrained weights: a random frozen one learns nothing."""
    options = cfg.model.options
    mode = options.get("mode", "finetune")
    if not str(cfg.model.name).startswith("timm:") or mode not in ("frozen", "staged"):
        return
    if mode == "staged" and cfg.train.stage_epochs == 0:
        return
    if options.get("weights") or options.get("pretrained") in ("hub", True):
        return
    raise TrainlabError(
        f"{where}: model.options.mode={mode} freezes the backbone of {cfg.model.name}"
        + (f" for train.stage_epochs={cfg.train.stage_epochs} epoch(s)" if mode == "staged" else "")
        + ", but it has no pretrained weights (model.options.weights is not set and model.options.pretrained is not "
        "'hub'): a frozen random backbone learns nothing. Give model.options.weights=/path/to/weights.safetensors "
        "(or .pth, or a trainlab run's checkpoints/best/model.safetensors), model.options.pretrained=hub (needs a "
        "network), or model.options.mode=finetune to train every layer from scratch."
    )


def _model_for(cfg: Recipe, num_classes: int):
    """The model, built after seeding (same initial weights every time), with the recipe's image size."""
    import torch

    from trainlab.models.factory import create_model, model_options

    options = dict(cfg.model.options)
    if cfg.data.image_size and "input_size" not in options and "input_size" in model_options(cfg.model.name):
        options["input_size"] = list(cfg.data.image_size)  # the model's spec (seed_cnn's Dense layer depends on it)
    torch.manual_seed(cfg.train.seed)
    return create_model(cfg.model.name, num_classes, **options)


def _choose_run_dir(cfg: Recipe, where: str, out) -> Path:
    """The new run's folder (not created yet): checked before any work, so a clash fails at once."""
    runs = Path(out) if out is not None else Path(cfg.output.runs)
    stem = Path(where).name.removesuffix(".yaml") if where != "recipe" else "run"
    name = cfg.output.name or f"{stem}-{datetime.now():%Y%m%d-%H%M%S}"
    run_dir = runs / name
    if run_dir.exists() and any(run_dir.iterdir()):
        if cfg.output.name:
            raise TrainlabError(
                f"run folder {run_dir} already exists; continue it with --resume {run_dir}, or choose another output.name"
            )
        k = 2
        while (runs / f"{name}-{k}").exists():
            k += 1
        run_dir = runs / f"{name}-{k}"
    return run_dir


def _train(cfg: Recipe, where: str, overrides: list[str], dist, *, run_dir: Path | None, out, resumed: bool) -> Path:
    import torch

    from trainlab.data.cache import build_cache
    from trainlab.data.dataconfig import resolve_data_config
    from trainlab.data.formats import dataset_root, load_manifest
    from trainlab.train import distributed
    from trainlab.train.checkpoint import load_model_weights, resolve
    from trainlab.train.trainer import NonFiniteLoss, Trainer

    t_start = time.perf_counter()
    d = cfg.data
    check_transfer(cfg, where)
    if dist.is_main and run_dir is None:
        run_dir = _choose_run_dir(cfg, where, out)
    try:
        manifest = load_manifest(dataset_root(d.root), fmt=d.format, target=d.target, val_fraction=d.val_fraction,
                                 seed=d.seed, on_bad_image=d.on_bad_image, test_fraction=d.test_fraction,
                                 accept_labels=d.accept_labels, duplicate_images=d.duplicate_images)
    except TrainlabError as exc:
        if d.format == "auto":
            raise
        raise TrainlabError(f"{exc} (the recipe reads it as data.format={d.format}; data.format=auto detects the layout)") from None
    model = _model_for(cfg, manifest.num_classes)
    data_config = resolve_data_config(cfg.data, model)
    cfg = resolved(cfg, **{"data.image_size": list(data_config.size), "data.root": str(dataset_root(d.root))})

    # Decode once into the cache (the main process first; the others then find it).
    t0 = time.perf_counter()
    cache = None
    for turn in (0, 1):
        if (turn == 0) == dist.is_main:
            cache = build_cache(manifest, size=data_config.size, policy=data_config.resize, cache_dir=d.cache_dir, workers=d.workers,
                                on_bad_image=d.on_bad_image)
        distributed.barrier()
    manifest = cache.manifest
    cache_s = time.perf_counter() - t0

    run_dir = Path(distributed.broadcast_object(str(run_dir) if run_dir is not None else None))
    if dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        if not resumed:
            mark_latest(run_dir)
    record = RunRecord(run_dir, dist.is_main, _previous_record(run_dir) if resumed else None)
    if dist.is_main:
        atomic_write_text(run_dir / "config.yaml", "# trainlab resolved recipe: trainlab train <this file> redoes the run\n" + cfg.to_yaml())
        _summarize(manifest, run_dir)
        log.info("run folder: %s", run_dir)

    index = {s: manifest.indices(s) for s in ("train", "val", "test")}
    classes = list(manifest.classes)
    n_params = sum(p.numel() for p in model.parameters())
    record.update(
        name=run_dir.name, status="running", trainlab_version=__version__, torch_version=torch.__version__,
        python=platform.python_version(), command=sys.argv, recipe=where, overrides=overrides,
        created=record.data.get("created", _now()), resumed=record.data.get("resumed", []) + ([_now()] if resumed else []),
        target=manifest.target, classes=classes, num_classes=len(classes), dataset=manifest.source,
        split_sizes={s: int(len(v)) for s, v in index.items()},
        model=cfg.model.name, model_options=model.trainlab_spec["model_options"], data_config=data_config.to_dict(),
        parameters=int(n_params), trainable_parameters=int(sum(p.numel() for p in model.parameters() if p.requires_grad)),
        device=str(dist.device), device_name=_device_name(dist.device), world_size=dist.world_size,
        amp=cfg.train.amp, epochs=cfg.train.epochs, monitor=cfg.train.monitor,
        timings={**record.data.get("timings", {}), "cache_s": round(cache_s, 2)},
    )

    def on_epoch_end(row: dict, best: dict) -> None:
        timings = dict(record.data.get("timings", {}))
        timings["train_s"] = round(timings.get("train_s", 0.0) + row["time_s"], 2)  # summed over sessions
        record.update(epochs_done=row["epoch"], best_epoch=best["best_epoch"], best_metric=best["best_metric"],
                      last_epoch=row, timings=timings)

    trainer = Trainer(
        model, cfg.train, images=cache.images, labels=manifest.labels(), train_index=index["train"], val_index=index["val"],
        num_classes=len(classes), data_config=data_config, dist=dist, run_dir=run_dir, on_epoch_end=on_epoch_end,
        weights_metadata={"classes": classes, "target": manifest.target, "data_config": data_config.to_dict()},
    )
    last = run_dir / "checkpoints" / "last"
    resume_from = None
    if resumed:
        resume_from = resolve(last)
        done = int(torch.load(resume_from / "state.pt", map_location="cpu", weights_only=True)["epoch"])
        if done >= cfg.train.epochs:
            raise TrainlabError(f"{run_dir} has already trained all {done} of {cfg.train.epochs} epochs; "
                                f"to train longer, resume with train.epochs={done + 10} (for example)")
    try:
        result = trainer.fit(resume_from=resume_from)
    except NonFiniteLoss as exc:
        record.update(status="failed", error=str(exc), failed_epoch=exc.epoch, failed_step=exc.step)
        raise
    except KeyboardInterrupt:
        record.update(status="interrupted")
        if dist.is_main:
            log.warning("interrupted after %d completed epoch(s); continue with: trainlab train --resume %s", trainer.epoch, run_dir)
        raise
    except BaseException as exc:
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        raise

    # Predictions of the best checkpoint (the last one when there was no improvement to keep).
    t0 = time.perf_counter()
    distributed.barrier()
    try:
        chosen = resolve(run_dir / "checkpoints" / "best")
    except TrainlabError:  # no epoch improved on a finite metric
        chosen = resolve(last)
    load_model_weights(chosen, trainer.model)
    written = _write_predictions(trainer, manifest, index, run_dir, dist.is_main)
    timings = dict(record.data.get("timings", {}))
    timings["predict_s"] = round(time.perf_counter() - t0, 2)
    timings["total_s"] = round(timings.get("total_s", 0.0) + time.perf_counter() - t_start, 2)
    record.update(
        status=result.status, epochs_done=result.epochs_run, best_epoch=result.best_epoch, best_metric=result.best_metric,
        predictions_from=chosen.name, predictions=written, finished=_now(), timings=timings,
    )
    if dist.is_main and "test" in written:
        _evaluate(run_dir)
    return run_dir


def _previous_record(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        return {}


def _device_name(device) -> str:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine()


def _summarize(manifest, run_dir: Path) -> None:
    try:
        from trainlab.data.inspect import summarize_manifest
    except ImportError:
        log.info("dataset summary skipped: trainlab.data.inspect is not available in this build")
        return
    summarize_manifest(manifest, run_dir / "data")


def _write_predictions(trainer, manifest, index: dict[str, np.ndarray], run_dir: Path, is_main: bool) -> dict[str, str]:
    from trainlab.predictions import make_frame, write_predictions

    written = {}
    frame = manifest.frame
    for split in ("val", "test"):
        rows = index[split]
        if len(rows) == 0:
            continue
        proba = trainer.predict_proba(rows)  # every process takes part; the main one writes
        if not is_main:
            continue
        part = frame.iloc[rows]
        table = make_frame(
            classes=list(manifest.classes), y_true=part["label"].to_numpy(), proba=proba, ids=part["id"].to_numpy(),
            paths=part["path"].astype(str).to_numpy(), split=split, attributes=part[manifest.attributes],
        )
        path = write_predictions(table, run_dir / "predictions" / f"{split}.csv")
        acc = float((proba.argmax(1) == part["label"].to_numpy()).mean())
        log.info("%s: %d predictions, accuracy %.4f -> %s", split, len(rows), acc, path)
        written[split] = str(path.relative_to(run_dir))
    return written


def _evaluate(run_dir: Path) -> None:
    try:
        from trainlab.evaluate.evaluate import evaluate
    except ImportError:
        log.info("evaluation skipped: trainlab.evaluate is not available in this build; run 'trainlab evaluate %s' later", run_dir)
        return
    try:
        evaluate(run_dir, split="test")
    except TrainlabError as exc:  # training succeeded; say what failed and how to redo it
        log.error("evaluation of the test predictions failed: %s; run 'trainlab evaluate %s' after fixing it", exc, run_dir)
