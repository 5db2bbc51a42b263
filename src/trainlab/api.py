"""The notebook API: ``import trainlab as tl``, then one call per stage, each returning an object.

    run = tl.train("fairface-gender", data_root="/data/fairface", epochs=5)
    run.history                       # a DataFrame; run.plot() draws the curves inline
    ev = tl.evaluate(run)             # ev.metrics, ev.per_class (DataFrame), ev.figures()
    au = tl.audit(run, by="race")     # au.table("race") (DataFrame), au.flags
    cmp = tl.compare(run, other)      # cmp.summary(), cmp.comparison
    pred = tl.predict(run, ["photos/"])   # pred.frame (DataFrame)

Every object has ``.write(folder)``; nothing is written unless asked, except what training itself keeps
(its run folder). The device is chosen automatically (CUDA, MPS or CPU) unless ``device=`` says otherwise.
Progress and epoch lines show in Jupyter (logging is set up on the first call).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from trainlab.artifacts.metrics import Metrics
from trainlab.artifacts.run import RunRecord

#: keyword arguments of :func:`train` that name a recipe key
SHORTCUTS = {"data_root": "data.root", "epochs": "train.epochs", "batch_size": "train.batch_size", "lr": "train.lr",
             "image_size": "data.image_size", "seed": "train.seed", "device": "train.device", "model": "model.name",
             "runs": "output.runs", "name": "output.name"}


def _logging() -> None:
    import logging

    from trainlab.utils.log import setup_logging

    if not logging.getLogger("trainlab").handlers:
        setup_logging(0)


@dataclass(frozen=True)
class Run:
    """A run folder, read through its artifacts (nothing is cached: each property reads the folder now)."""

    path: Path

    @property
    def record(self) -> RunRecord:
        return RunRecord.read(self.path)

    @property
    def history(self) -> pd.DataFrame:
        file = self.path / "history.csv"
        return pd.read_csv(file) if file.is_file() else pd.DataFrame()

    @property
    def metrics(self) -> Metrics | None:
        return Metrics.read(self.path) if Metrics.exists_in(self.path) else None

    def plot(self):
        """The loss and accuracy curves as a matplotlib Figure (shown inline in a notebook)."""
        from trainlab.training.history import curves_figure

        return curves_figure(self.history, title=self.path.name, best_epoch=self.record.best_epoch)

    def summary(self) -> str:
        r, m = self.record, self.metrics
        text = f"run {self.path.name}: {r.model} on {r.target} ({r.num_classes} classes), status {r.status.value}"
        if r.epochs_done is not None:
            text += f", {r.epochs_done}/{r.epochs} epochs"
        if m is not None and m.accuracy is not None:
            text += f", test accuracy {m.accuracy:.4f}"
        return text

    def __fspath__(self) -> str:  # a Run goes wherever a run folder path does
        return str(self.path)

    def _repr_markdown_(self) -> str:
        return f"**{self.summary()}**  \n`{self.path}`"


def _run_path(run: Run | str | Path) -> Path:
    return run.path if isinstance(run, Run) else Path(run)


def train(recipe: str | Path, *, overrides: Iterable[str] = (), out: str | Path | None = None, **keys: Any) -> Run:
    """Train ``recipe`` (a built-in name or a YAML file). Keys: the :data:`SHORTCUTS` (``data_root``, ``epochs``,
    ``lr``, ...) or any recipe key with ``__`` for the dot (``train__label_smoothing=0.1``)."""
    import yaml

    from trainlab.training.run import train_from_recipe

    _logging()
    items = list(overrides)
    for key, value in keys.items():
        name = SHORTCUTS.get(key, key.replace("__", "."))
        if isinstance(value, (str, os.PathLike)):
            text = os.fspath(value)
        else:  # numbers, lists, booleans: as YAML, the way a recipe writes them
            text = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
        items.append(f"{name}={text}")
    return Run(train_from_recipe(recipe, items, out=out))


def resume(run: Run | str | Path, **keys: Any) -> Run:
    """Continue (or finish) a stopped run."""
    from trainlab.training.run import train_from_recipe

    _logging()
    items = [f"{SHORTCUTS.get(k, k.replace('__', '.'))}={v}" for k, v in keys.items()]
    return Run(train_from_recipe(None, items, resume=_run_path(run)))


def evaluate(run: Run | str | Path, split: str = "test"):
    """Metrics of a run's (or a predictions file's) table: an Evaluation with ``metrics``, ``per_class``
    (DataFrame), ``figures()``, ``summary()`` and ``write(folder)``."""
    from trainlab.evaluation.evaluate import evaluate as _evaluate

    _logging()
    return _evaluate(_run_path(run), split=split)


def audit(run: Run | str | Path, by: str | list, split: str = "test", **options: Any):
    """Group fairness audit: an AuditResult (``table(name)`` gives a grouping's DataFrame, ``flags`` the flags)."""
    from trainlab.artifacts.predictions import Predictions
    from trainlab.fairness.audit import audit as _audit
    from trainlab.fairness.audit import run_target

    _logging()
    path = _run_path(run)
    by = [by] if isinstance(by, str) else list(by)
    options.setdefault("target", run_target(path))
    return _audit(Predictions.read(path, split), by=by, **options)


def compare(*runs: Run | str | Path, split: str = "test", **options: Any):
    """Two or more runs on the same test items: McNemar and paired bootstrap intervals (a CompareResult)."""
    from trainlab.evaluation.compare import compare as _compare

    _logging()
    return _compare([_run_path(r) for r in runs], split=split, **options)


def predict(run: Run | str | Path, images, **options: Any):
    """Predictions for image files or folders (a Predictions table: ``.frame`` is a DataFrame)."""
    from trainlab.training.predict import predict as _predict

    _logging()
    images = [images] if isinstance(images, (str, Path)) else list(images)
    return _predict(_run_path(run), images, **options)
