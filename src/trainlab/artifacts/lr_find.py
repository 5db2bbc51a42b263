"""``<out>/lr_find.json``: a learning-rate range test over seeds (trainlab.training.lr_find is its one producer)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from trainlab.artifacts.base import Artifact


class LRFindCurve(BaseModel):
    """One seed's curve (nested in :class:`LRFindResult`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int
    lrs: list[float]
    losses: list[float]  #: raw training loss at each rate
    smoothed: list[float]  #: bias-corrected exponential moving average of the loss
    diverged_at: float | None  #: the rate at which the smoothed loss passed the divergence threshold (None: never)
    suggestion: float


class LRFindResult(Artifact):
    KIND: ClassVar[str] = "lr-find"
    SCHEMA_VERSION: ClassVar[int] = 1
    FILENAME: ClassVar[str] = "lr_find.json"
    MADE_BY: ClassVar[str] = "trainlab lr-find"

    recipe: str
    rule: str  #: how the suggestion is read off the smoothed curve
    start_lr: float
    end_lr: float
    steps: int
    suggestion: float  #: geometric mean of the per-seed suggestions
    spread: float  #: largest / smallest per-seed suggestion (1.0: every seed agrees)
    seconds: float
    curves: list[LRFindCurve]
