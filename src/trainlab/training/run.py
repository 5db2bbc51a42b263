"""``trainlab train``: recipe -> run folder, in three steps: prepare -> fit -> publish.

This module is the only place that knows every stage; each is one call::

    prepare   claim the run folder (exclusively, before any long work), then
              manifest = load_manifest(root, format, target, ...)       trainlab.data.formats
              model    = create_model(name, num_classes, **options)     trainlab.models.factory
              data_config = resolve_data_config(recipe.data, model)     trainlab.data.dataconfig (read by all below)
              cache    = build_cache(manifest, data_config.size, data_config.resize, ...)   trainlab.data.cache
              Trainer(model, recipe.train, images=cache.images, data_config=data_config, writer=RunWriter(run folder))
    fit       trainer.fit(): history, curves, checkpoints and run.json through the writer
    publish   predictions/{val,test}.csv from the best checkpoint, metrics.json (trainlab.evaluation)

The run record (``run.json``, :class:`trainlab.artifacts.run.RunRecord`) says where a run stands; see that
module for the life of a run. ``--resume`` continues any run that did not end normally, from its newest
intact checkpoint (or from the first epoch when it has none yet), and when every epoch has trained it only
writes what is missing. A failure marks the run ``failed`` (a resume that had not started yet leaves the
record as it was); Ctrl-C and SIGTERM mark it ``interrupted``; either way the last checkpoint is kept and the
resume command is printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from trainlab._version import __version__
from trainlab.artifacts import ArtifactError
from trainlab.artifacts.run import RunRecord, RunStatus, now
from trainlab.config import Recipe, load_recipe, resolved, validate
from trainlab.errors import TrainlabError
from trainlab.gallery.build import gallery_for_run
from trainlab.runs import mark_latest
from trainlab.training.writer import RunWriteError, RunWriter, writing
from trainlab.utils.io import atomic_write_text
from trainlab.utils.log import get_logger

log = get_logger("trainlab.training")

#: seconds a budgeted run keeps for what follows its predictions (metrics, model summary, gallery)
PUBLISH_RESERVE_S = 10.0

#: what may change when a run is resumed (everything else must stay as it was for the result to be the same run)
RESUMABLE_KEYS = (
    "train.epochs", "train.patience", "train.min_delta", "train.device", "train.prefetch", "train.eval_batch_size",
    "train.batch_size",  # (#13) only to keep the global batch on another number of processes (the trainer checks)
    "data.root", "data.cache_dir", "data.workers", "output.runs",
)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler's preemption, ``timeout``): handled exactly as Ctrl-C."""


# ---- the verb --------------------------------------------------------------------------------
def train_from_recipe(
    recipe: str | Path | None, overrides: list[str] | tuple[str, ...] = (), *, resume: str | Path | None = None,
    out: str | Path | None = None, started: float | None = None,
) -> Path:
    """Train from a recipe file (or continue ``resume``, a run folder); returns the run folder.

    ``started`` (``time.perf_counter()``): when the command began, where train.budget's clock starts (the
    command line passes its own start); default: this call, before torch is imported."""
    called = time.perf_counter() if started is None else started
    from trainlab.training.host_memory import keep_freed_memory

    tuned = keep_freed_memory()  # before torch is imported (see the module)
    from trainlab.training import distributed

    log.debug("host allocator: %s", ", ".join(tuned) or "system defaults")

    overrides = list(overrides or ())
    if resume is not None:
        resume_dir, cfg, where = _resumed_recipe(Path(resume), recipe, overrides)
    else:
        if recipe is None:
            raise TrainlabError("give a recipe (a YAML file or a built-in name such as ip102-seed-cnn), or --resume RUN")
        where = str(recipe)
        cfg = validate(load_recipe(recipe, overrides), where)
        resume_dir = None
    if not cfg.data.root:
        raise TrainlabError(f"{where}: data.root is not set; add data.root=/path/to/dataset to the command line")
    if not Path(cfg.data.root).expanduser().exists():
        raise TrainlabError(f"{where}: data.root: {cfg.data.root} does not exist; point it at a dataset folder or labels CSV")
    check_transfer(cfg, where)

    with distributed.process_group(cfg.train.device) as dist:  # (#13) all processes leave together, cleanly
        if not dist.is_main:
            get_logger("trainlab").setLevel("WARNING")
        with sigterm_as_interrupt():
            session = claim(cfg, where, overrides, dist, resume_dir=resume_dir, out=out, called=called)
            with session.lifecycle():
                prepare(session)
                result = fit(session)
                publish(session, result)
        return session.run_dir


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While training, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt) in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated("SIGTERM")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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


# ---- the session: one process's part in a run ------------------------------------------------
@dataclass
class Session:
    """What one ``trainlab train`` call knows about its run, filled in by claim -> prepare -> fit -> publish."""

    cfg: Recipe
    where: str
    overrides: list[str]
    dist: Any
    run_dir: Path
    writer: RunWriter
    resumed: bool
    checkpoint: Path | None = None  # the intact checkpoint a resume starts from (None: the first epoch)
    owns_status: bool = False  # False until this session may write the status (a resume: once it has started)
    t_start: float = field(default_factory=time.perf_counter)
    facts: dict[str, Any] = field(default_factory=dict)  # what prepare learnt, recorded when the run starts
    manifest: Any = None
    index: dict[str, np.ndarray] = field(default_factory=dict)
    trainer: Any = None

    def mark(self, **fields: Any) -> None:
        """Record an ending (failed, interrupted) if this session owns the status; never raises."""
        if not self.owns_status:
            return
        self.writer.finish_tracking(fields["status"].value)
        try:
            self.writer.update(**fields)
        except Exception as exc:  # the disk may be the problem: say so, keep the first error
            log.error("could not record the run's status (%s) in %s: %s", fields.get("status"), self.run_dir, exc)

    @contextlib.contextmanager
    def lifecycle(self) -> Iterator[None]:
        """Every way out of a run leaves run.json saying how it ended, and a way to go on."""
        from trainlab.training.trainer import NonFiniteLoss

        resume = f"trainlab train --resume {self.run_dir}"
        try:
            yield
        except KeyboardInterrupt as exc:
            self.mark(status=RunStatus.interrupted, error="stopped by SIGTERM" if isinstance(exc, Terminated) else "stopped by Ctrl-C")
            if self.dist.is_main:
                done = self.trainer.epoch if self.trainer is not None else 0
                log.warning("%s after %d completed epoch(s); the last checkpoint is kept; continue with: %s",
                            "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted", done, resume)
            raise
        except NonFiniteLoss as exc:
            self.mark(status=RunStatus.failed, error=str(exc), failed_epoch=exc.epoch, failed_step=exc.step)
            raise
        except TrainlabError as exc:
            self.mark(status=RunStatus.failed, error=str(exc))
            if isinstance(exc, RunWriteError):
                raise RunWriteError(f"{exc}; the run is marked failed, its last checkpoint kept: after fixing it, "
                                    f"continue with {resume}") from None
            raise
        except OSError as exc:  # a write outside the writer (the dataset summary, predictions, ...)
            where = f" {exc.filename}" if exc.filename else ""
            self.mark(status=RunStatus.failed, error=f"{exc.strerror or exc}{where}")
            raise RunWriteError(f"cannot write{where}: {exc.strerror or exc}; the run is marked failed, its last "
                                f"checkpoint kept: after fixing it, continue with {resume}") from None
        except BaseException as exc:
            self.mark(status=RunStatus.failed, error=f"{type(exc).__name__}: {exc}")
            raise


# ---- claim: the run folder, before any long work ----------------------------------------------
def claim(cfg: Recipe, where: str, overrides: list[str], dist, *, resume_dir: Path | None, out,
          called: float | None = None) -> Session:
    """A new run: create its folder exclusively (a unique name even for runs started in the same second) and
    record it ``created``. A resume: check the folder is writable and choose the checkpoint to start from; the
    record is not touched until the resume starts. Every process gets the same answer (or the same error)."""
    from trainlab.training import distributed

    answer: tuple[str, str | None] | str = ""
    if dist.is_main:
        try:
            if resume_dir is None:
                answer = (str(_claim_new(cfg, where, overrides, out)), None)
            else:
                checkpoint = _plan_resume(resume_dir, cfg)
                answer = (str(resume_dir), str(checkpoint) if checkpoint else None)
        except TrainlabError as exc:
            answer = str(exc)
    answer = distributed.broadcast_object(answer)
    if isinstance(answer, str):
        raise TrainlabError(answer)
    run_dir, checkpoint = Path(answer[0]), answer[1]
    record = None
    if dist.is_main:
        record = _read_record(run_dir) if resume_dir is not None else RunRecord.read(run_dir)
    writer = RunWriter(run_dir, record=record or RunRecord(), enabled=dist.is_main)
    return Session(cfg, where, overrides, dist, run_dir, writer, resumed=resume_dir is not None,
                   **({"t_start": called} if called is not None else {}),
                   checkpoint=Path(checkpoint) if checkpoint else None,
                   owns_status=resume_dir is None)


def _timestamp() -> str:
    return f"{datetime.now():%Y%m%d-%H%M%S}"


def _claim_new(cfg: Recipe, where: str, overrides: list[str], out) -> Path:
    from trainlab.data.formats import dataset_root

    runs = Path(out) if out is not None else Path(cfg.output.runs)
    stem = Path(where).name.removesuffix(".yaml") if where != "recipe" else "run"
    name = cfg.output.name or f"{stem}-{_timestamp()}"
    with writing("the runs folder", runs):
        runs.mkdir(parents=True, exist_ok=True)
    k = 1
    while not _claim_folder(run_dir := runs / (name if k == 1 else f"{name}-{k}"), reuse_empty=bool(cfg.output.name)):
        if cfg.output.name:
            raise TrainlabError(f"run folder {run_dir} already exists; continue it with --resume {run_dir}, "
                                "or choose another output.name")
        k += 1  # another run took this name in the same second
    with writing("the run record", run_dir / RunRecord.FILENAME):
        RunRecord(status=RunStatus.created, name=run_dir.name, created=now(), updated=now(), command=list(sys.argv),
                  recipe=where, overrides=overrides, trainlab_version=__version__).write(run_dir)
        _write_config(run_dir, resolved(cfg, **{"data.root": str(dataset_root(cfg.data.root))}))
    mark_latest(run_dir)
    log.info("run folder: %s", run_dir)
    return run_dir


def _claim_folder(run_dir: Path, *, reuse_empty: bool) -> bool:
    """True when this process now owns ``run_dir``: it created the folder, or (``reuse_empty``: a name the user
    gave) found it empty; either way it also created the record file first. Both steps are exclusive, so two
    processes never own one folder."""
    with writing("the run folder", run_dir):
        try:
            run_dir.mkdir()
        except FileExistsError:
            if not reuse_empty or any(run_dir.iterdir()):
                return False
        try:
            os.close(os.open(run_dir / RunRecord.FILENAME, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
    return True


def _write_config(run_dir: Path, cfg: Recipe) -> None:
    with writing("the resolved recipe", run_dir / "config.yaml"):
        atomic_write_text(run_dir / "config.yaml",
                          "# trainlab resolved recipe: trainlab train <this file> redoes the run\n" + cfg.to_yaml())


def _read_record(run_dir: Path) -> RunRecord:
    try:
        return RunRecord.read(run_dir)
    except ArtifactError as exc:
        log.warning("%s; the resumed run starts a new record", exc)
        return RunRecord(name=run_dir.name)


def _plan_resume(run_dir: Path, cfg: Recipe) -> Path | None:
    """The checkpoint to start from (None: the first epoch); refuses a run with nothing left to do."""
    from trainlab.training.checkpoint import latest_intact

    with writing("the run folder", run_dir):  # writable, before any long work
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=run_dir)
        os.close(fd)
        os.unlink(probe)
    found = latest_intact(run_dir / "checkpoints")
    if found is None:
        log.info("%s has no checkpoint yet: training starts from the first epoch", run_dir)
        return None
    checkpoint, state = found
    done, t = int(state["epoch"]), cfg.train
    epochs = int(state.get("planned_epochs") or t.epochs)  # train.budget: the epochs its plan set
    stopped = t.patience > 0 and int(state.get("bad_epochs", 0)) >= t.patience and done < epochs
    if done < epochs and not stopped:
        return checkpoint
    record = _read_record(run_dir)
    if record.status.complete and _outputs_present(run_dir, record):
        if stopped:
            raise TrainlabError(
                f"{run_dir} stopped early after epoch {done} ({cfg.train.monitor} did not improve for "
                f"train.patience={t.patience} epochs); to train longer, resume with train.patience={t.patience + 5} "
                "(for example)")
        if epochs < t.epochs:
            raise TrainlabError(f"{run_dir} has trained the {done} epochs its train.budget={t.budget} planned; "
                                "start a new run with a larger budget to train longer")
        raise TrainlabError(f"{run_dir} has already trained all {done} of {t.epochs} epochs; "
                            f"to train longer, resume with train.epochs={done + 10} (for example)")
    log.info("%s has trained %d epoch(s)%s; writing what is missing (predictions, metrics) without training more",
             run_dir, done, " and stopped early" if stopped else "")
    return checkpoint


def _outputs_present(run_dir: Path, record: RunRecord) -> bool:
    files = [run_dir / p for p in record.predictions.values()]
    if "test" in record.predictions:
        files.append(run_dir / "metrics.json")
    return all(f.is_file() for f in files)


# ---- prepare: data, model, cache, trainer ----------------------------------------------------
def prepare(s: Session) -> None:
    import torch

    from trainlab.data.cache import build_cache, default_cache_dir
    from trainlab.data.dataconfig import resolve_data_config
    from trainlab.data.formats import dataset_root, load_manifest
    from trainlab.training import distributed
    from trainlab.training.trainer import Trainer

    cfg, d, dist = s.cfg, s.cfg.data, s.dist
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
    cfg = s.cfg = resolved(cfg, **{"data.image_size": list(data_config.size), "data.root": str(dataset_root(d.root))})

    # Decode once into the cache (the main process first; the others then find it).
    t0 = time.perf_counter()
    cache = None
    for turn in (0, 1):
        if (turn == 0) == dist.is_main:
            cache_root = Path(d.cache_dir).expanduser() if d.cache_dir else default_cache_dir()
            try:
                cache = build_cache(manifest, size=data_config.size, policy=data_config.resize, cache_dir=d.cache_dir,
                                    workers=d.workers, on_bad_image=d.on_bad_image)
            except OSError as exc:
                raise RunWriteError(
                    f"cannot write the image cache in {cache_root}: {exc.strerror or exc}; give a writable folder "
                    "with data.cache_dir=... (or $TRAINLAB_CACHE)") from None
        distributed.barrier()
    s.manifest = manifest = cache.manifest
    cache_s = time.perf_counter() - t0

    s.index = index = {split: manifest.indices(split) for split in ("train", "val", "test")}
    classes = list(manifest.classes)
    if dist.is_main:
        with writing("the dataset summary", s.run_dir / "data"):
            _summarize(manifest, s.run_dir)
    s.facts = dict(
        name=s.run_dir.name, trainlab_version=__version__, torch_version=torch.__version__,
        python=platform.python_version(), target=manifest.target, classes=classes, num_classes=len(classes),
        dataset=_jsonable(manifest.source), split_sizes={k: int(len(v)) for k, v in index.items()},
        model=cfg.model.name, model_options=_jsonable(model.trainlab_spec["model_options"]),
        data_config=data_config.to_dict(), parameters=int(sum(p.numel() for p in model.parameters())),
        trainable_parameters=int(sum(p.numel() for p in model.parameters() if p.requires_grad)),
        device=str(dist.device), device_name=_device_name(dist.device), world_size=dist.world_size,
        amp=cfg.train.amp, epochs=cfg.train.epochs, monitor=cfg.train.monitor,
        timings={**s.writer.record.timings, "cache_s": round(cache_s, 2)},
    )
    s.writer.weights_metadata = {"classes": classes, "target": manifest.target, "data_config": data_config.to_dict(),
                                 "tta": cfg.train.tta}  # trainlab predict's default: the run's own TTA
    s.trainer = Trainer(
        model, cfg.train, images=cache.images, labels=manifest.labels(), train_index=index["train"], val_index=index["val"],
        num_classes=len(classes), data_config=data_config, dist=dist, writer=s.writer,
        # train.budget: the clock started with the run; publish predicts val and test (evaluation, gallery: ~10 s)
        started=s.t_start, reserve_images=len(index["val"]) + len(index["test"]), reserve_s=PUBLISH_RESERVE_S,
    )


# ---- fit -------------------------------------------------------------------------------------
def fit(s: Session):
    """Train the epochs that are left (none when a resume only has outputs to write)."""
    trainer, main = s.trainer, s.dist.is_main
    if s.checkpoint is not None:
        trainer.load(s.checkpoint)
        if main:
            log.info("resumed from %s: %d of %d epochs done", s.checkpoint, trainer.epoch, s.cfg.train.epochs)
    if trainer.plan is not None:  # a budgeted run resumed: its planned epochs, not the recipe's cap
        s.facts["epochs"] = trainer.cfg.epochs
    # The run has started: from here this session writes the status (and the config it runs with).
    s.owns_status = True
    if main:
        _write_config(s.run_dir, s.cfg)
    resumed = list(s.writer.record.resumed) + ([now()] if s.resumed else [])
    s.writer.update(status=RunStatus.running, error=None, failed_epoch=None, failed_step=None, resumed=resumed,
                    command=list(sys.argv), created=s.writer.record.created or now(), **s.facts)
    o = s.cfg.output
    s.writer.start_tracking(o.trackers, params=s.cfg.to_dict(), tracking_uri=o.tracking_uri,
                            experiment=o.experiment or Path(s.where).name.removesuffix(".yaml"))
    result = trainer.fit()
    s.writer.update(status=RunStatus.trained, stopped_early=result.status == "stopped-early",
                    epochs_done=result.epochs_run, best_epoch=result.best_epoch, best_metric=result.best_metric,
                    best_weights=result.best_weights)
    return result


# ---- publish: what a finished run holds besides its checkpoints --------------------------------
def publish(s: Session, result) -> None:
    """Predictions of the best checkpoint (the last one when no epoch improved), then the test metrics; the
    status says ``finished`` (or ``stopped-early``) only once all of it is written."""
    from trainlab.models.summary import summarize
    from trainlab.training import distributed
    from trainlab.training.checkpoint import load_model_weights, resolve

    t0 = time.perf_counter()
    distributed.barrier()
    try:
        chosen = resolve(s.run_dir / "checkpoints" / "best")
        load_model_weights(chosen, s.trainer.model)
    except TrainlabError:  # no epoch improved on a finite metric (or best is damaged)
        chosen = resolve(s.run_dir / "checkpoints" / "last")
        load_model_weights(chosen, s.trainer.model)
    written = _write_predictions(s.trainer, s.manifest, s.index, s.run_dir, s.dist.is_main)
    if s.dist.is_main:  # the trainer holds the model: the report reads this file and never rebuilds a model
        summarize(s.trainer.model, s.facts["data_config"]["input_size"], name=s.cfg.model.name).write(s.run_dir)
    timings = dict(s.writer.record.timings)
    timings["predict_s"] = round(time.perf_counter() - t0, 2)
    timings["total_s"] = round(timings.get("total_s", 0.0) + time.perf_counter() - s.t_start, 2)
    s.writer.update(predictions_from=chosen.name, predictions=written, timings=timings)
    if s.dist.is_main and "test" in written:
        _evaluate(s.run_dir)
        gallery_for_run(s.run_dir)  # pictures of the errors: top losses, confused pairs, groups, saliency
    final = RunStatus.stopped_early if result.status == "stopped-early" else RunStatus.finished
    s.writer.update(status=final, finished=now())
    s.writer.finish_tracking(final.value)


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))


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
    from trainlab.artifacts.predictions import Predictions

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
        table = Predictions.build(
            classes=list(manifest.classes), y_true=part["label"].to_numpy(), proba=proba, ids=part["id"].to_numpy(),
            paths=part["path"].astype(str).to_numpy(), split=split, attributes=part[manifest.attributes],
        )
        path = table.write(run_dir / "predictions" / f"{split}.csv")
        acc = float((proba.argmax(1) == part["label"].to_numpy()).mean())
        log.info("%s: %d predictions, accuracy %.4f -> %s", split, len(rows), acc, path)
        written[split] = str(path.relative_to(run_dir))
    return written


def _evaluate(run_dir: Path) -> None:
    try:
        from trainlab.evaluation.evaluate import evaluate
    except ImportError:
        log.info("evaluation skipped: trainlab.evaluation is not available in this build; run 'trainlab evaluate %s' later", run_dir)
        return
    try:
        evaluate(run_dir, split="test").write(run_dir)
    except TrainlabError as exc:  # training succeeded; say what failed and how to redo it
        log.error("evaluation of the test predictions failed: %s; run 'trainlab evaluate %s' after fixing it", exc, run_dir)
