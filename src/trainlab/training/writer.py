"""Everything a training run leaves on disk while it trains: handed to the loop, as timm hands its saver.

:class:`RunWriter` owns ``history.csv``, ``plots/curves.png``, ``checkpoints/{best,last}`` and ``run.json``
(:class:`trainlab.artifacts.run.RunRecord`). The trainer calls :meth:`RunWriter.epoch_end` after every
epoch on every process (the checkpoint's state may need every process); only the main process writes.

A write that fails (full disk, read-only folder) raises :class:`RunWriteError` naming what was being written
and where; the file being written is removed (every write goes to a temporary file first) and the previous
checkpoint is kept.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from trainlab.artifacts.run import RunRecord
from trainlab.errors import TrainlabError
from trainlab.training import checkpoint as ckpt
from trainlab.training import history

if TYPE_CHECKING:
    from trainlab.artifacts.budget_plan import BudgetPlan
    from trainlab.training.trainer import Trainer


class RunWriteError(TrainlabError):
    """A run's file could not be written (disk full, read-only folder, ...)."""


@contextlib.contextmanager
def writing(what: str, where: str | os.PathLike) -> Iterator[None]:
    """Turn an ``OSError`` into one line: what was being written, where, and why."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise RunWriteError(f"cannot write {what} {where}: {reason}" + _hint(exc)) from None


def _hint(exc: OSError) -> str:
    import errno

    if exc.errno == errno.ENOSPC:
        return " (the disk is full: free space there, or write runs elsewhere with output.runs=...)"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return " (the folder is not writable: choose another with output.runs=...)"
    return ""


class RunWriter:
    """The run folder's writer. ``record``: the run's ``run.json`` (None: no record, as in the trainer's tests);
    ``enabled``: False on every process but the main one; ``weights_metadata``: stored in every checkpoint's
    ``model.safetensors`` header (classes, target, image size, ...)."""

    def __init__(self, folder: str | os.PathLike, *, record: RunRecord | None = None, enabled: bool = True,
                 weights_metadata: dict[str, Any] | None = None):
        self.folder = Path(folder)
        self.record = record
        self.enabled = enabled
        self.weights_metadata = dict(weights_metadata or {})
        self.trackers = None  # trainlab.tracking.Trackers: copies of the run's progress for a dashboard

    # ---- experiment trackers (MLflow, TensorBoard): a copy, never a reason to fail ----------------
    def start_tracking(self, names, *, params: dict, experiment: str, tracking_uri: str | None) -> None:
        if self.enabled and names and self.trackers is None:
            from trainlab.tracking import open_trackers

            self.trackers = open_trackers(names, run_dir=self.folder, run_name=self.folder.name, params=params,
                                          experiment=experiment, tracking_uri=tracking_uri)

    def finish_tracking(self, status: str) -> None:
        """The final metrics and the run's files to every tracker, which is then closed (once)."""
        if not self.trackers:
            return
        from trainlab.artifacts.metrics import Metrics

        metrics = {}
        try:
            if Metrics.exists_in(self.folder):
                m = Metrics.read(self.folder)
                metrics = {f"test_{k}": v for k, v in m.model_dump().items() if isinstance(v, float)}
        except TrainlabError:  # unreadable metrics: the trackers still get the status and the files
            pass
        files = [self.folder / name for name in ("plots", "metrics.json", "config.yaml", "run.json", "audit", "report.html")]
        trackers, self.trackers = self.trackers, None
        trackers.finish(status=status, metrics=metrics, files=files)

    # ---- run.json ------------------------------------------------------------------------------
    def update(self, **fields: Any) -> None:
        """Change the record and write it (main process only)."""
        if self.record is None:
            return
        self.record = self.record.updated_with(**fields)
        if self.enabled:
            with writing("the run record", self.folder / RunRecord.FILENAME):
                self.record.write(self.folder)

    # ---- the loop's hooks ----------------------------------------------------------------------
    def begin(self, trainer: Trainer) -> None:
        """Before the first epoch of this session: a resumed run drops the history rows its checkpoint lacks."""
        if self.enabled:
            with writing("the history", self.folder / "history.csv"):
                history.truncate(self.folder, trainer.epoch)

    def epoch_end(self, trainer: Trainer, row: dict, *, improved: bool) -> None:
        """History row, curves, checkpoints (``best`` before ``last``: a crash in between replays this epoch),
        and the record's progress."""
        if self.enabled:
            with writing("the history", self.folder / "history.csv"):
                frame = history.append_row(self.folder, row, keep_until=row["epoch"] - 1)
            with writing("the curves", self.folder / "plots" / "curves.png"):
                history.plot_curves(frame, self.folder / "plots" / "curves.png", best_epoch=trainer.best_epoch,
                                    title=self.folder.name)
        if improved:
            self.save_checkpoint(trainer, "best")
        self.save_checkpoint(trainer, "last")
        if self.record is not None:
            timings = dict(self.record.timings)
            timings["train_s"] = round(timings.get("train_s", 0.0) + row["time_s"], 2)  # summed over sessions
            self.update(epochs_done=row["epoch"], best_epoch=trainer.best_epoch, best_metric=trainer.best_metric,
                        best_weights=trainer.best_weights, last_epoch=row, timings=timings)
        if self.trackers:
            self.trackers.epoch(row["epoch"], row)

    def budget_planned(self, trainer: Trainer, plan: BudgetPlan) -> None:
        """``train.budget``: the plan (``budget.json``) and the run's planned epochs in the record."""
        if self.enabled:
            with writing("the budget plan", self.folder / plan.FILENAME):
                plan.write(self.folder)
        self.update(epochs=plan.epochs, budget_plan=plan.FILENAME)

    def save_checkpoint(self, trainer: Trainer, name: str) -> None:
        state = trainer.state_dict()  # on every process (it may gather from all of them)
        if not self.enabled:
            return
        folder = self.folder / "checkpoints" / name
        weights = trainer.weights_for(name)  # best: the EMA's weights when they validated better
        meta = {**self.weights_metadata, "epoch": trainer.epoch, "step": trainer.step,
                "weights": "ema" if weights is not trainer.model else "raw"}
        with writing("the checkpoint", folder):
            ckpt.save_checkpoint(folder, weights, state, meta)
