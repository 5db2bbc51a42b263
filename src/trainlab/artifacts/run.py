"""``<run>/run.json``: what a training run trained on what, where, how long, and where it stands.

One producer: ``trainlab train`` (:mod:`trainlab.training.writer` keeps it up to date; only the main process
writes). Every consumer (summary, predict, audit, report, demo, the CLI) reads it through
:meth:`RunRecord.read`. Every field but ``status`` may be absent: a record is written as soon as the run folder
is claimed, before the dataset or the model are known, and grows as the run proceeds.

The life of a run (:class:`RunStatus`)::

    created ─► running ─► trained ─► finished | stopped-early
                  │  └───► interrupted (Ctrl-C, SIGTERM)   ─┐
                  └──────► failed (bad data, NaN loss, disk) ├─► trainlab train --resume <run>
                                                            ─┘
``trained``: every epoch ran (or early stopping ended them) but the predictions, metrics and summaries are not
all written yet; ``--resume`` writes what is missing without training more.
"""

from __future__ import annotations

import enum
import math
from datetime import datetime, timezone
from typing import Any

from pydantic import Field

from trainlab.artifacts.base import Artifact


class RunStatus(str, enum.Enum):
    created = "created"  # the folder is claimed; data, model and cache are being prepared
    running = "running"  # training (or writing its predictions)
    interrupted = "interrupted"  # Ctrl-C or SIGTERM: the last checkpoint is kept; --resume continues
    failed = "failed"  # an error ended it (``error`` says which); --resume continues from the last checkpoint
    trained = "trained"  # training is over; predictions/metrics not all written yet (--resume writes them)
    finished = "finished"  # every epoch trained, every output written
    stopped_early = "stopped-early"  # early stopping ended training; every output written

    @property
    def complete(self) -> bool:
        """A normal end: every output of the run is written."""
        return self in (RunStatus.finished, RunStatus.stopped_early)


def now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


class RunRecord(Artifact):
    KIND = "trainlab.run"
    SCHEMA_VERSION = 1
    FILENAME = "run.json"
    MADE_BY = "trainlab train"

    status: RunStatus = RunStatus.created
    name: str | None = None
    error: str | None = None
    failed_epoch: int | None = None
    failed_step: int | None = None
    stopped_early: bool | None = None  # set when training ends (``trained``) and kept

    # what ran, with what
    trainlab_version: str | None = None
    torch_version: str | None = None
    python: str | None = None
    command: list[str] = Field(default_factory=list)
    recipe: str | None = None
    overrides: list[str] = Field(default_factory=list)
    created: str | None = None
    resumed: list[str] = Field(default_factory=list)
    updated: str | None = None
    finished: str | None = None

    # the data and the model (what `trainlab summary <run>` reads)
    target: str | None = None
    classes: list[str] | None = None
    num_classes: int | None = None
    dataset: dict[str, Any] | None = None
    split_sizes: dict[str, int] | None = None
    model: str | None = None
    model_options: dict[str, Any] = Field(default_factory=dict)
    data_config: dict[str, Any] | None = None
    image_size: list[int] | None = None  # written by older trainlab only: data_config holds the size and resize now
    resize: str | None = None  # idem
    parameters: int | None = None
    trainable_parameters: int | None = None

    # where and how it trained
    device: str | None = None
    device_name: str | None = None
    world_size: int | None = None
    amp: str | None = None
    epochs: int | None = None
    monitor: str | None = None

    # progress and results
    epochs_done: int | None = None
    best_epoch: int | None = None
    best_metric: float | None = None
    best_weights: str | None = None  # train.ema: which weights checkpoints/best holds, "ema" or "raw"
    budget_plan: str | None = None  # train.budget: the plan's file in the run folder (budget.json)
    last_epoch: dict[str, Any] | None = None
    predictions_from: str | None = None
    predictions: dict[str, str] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Only the fields that are set (a field a run has not reached yet, or that only older runs wrote, is absent)."""
        fields = _finite(self.model_dump(mode="json", exclude_none=True))  # strict JSON: NaN (no val split) is null
        return {"kind": self.KIND, "schema_version": self.SCHEMA_VERSION, **fields}

    def updated_with(self, **fields: Any) -> RunRecord:
        """A copy with ``fields`` changed (validated) and ``updated`` set to now."""
        return RunRecord.model_validate({**self.model_dump(), **fields, "updated": now()})


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
