"""``<group>/group.json``: a recipe trained once per seed, and each test metric's mean and 95% interval
(trainlab.training.seeds is its one producer)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from trainlab.artifacts.base import Artifact


class MetricSummary(BaseModel):
    """One metric over the seeds: mean ± t_{0.975, n-1} * s / sqrt(n) (no interval with one seed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n: int
    mean: float
    std: float | None  #: sample standard deviation (ddof 1)
    low: float | None  #: 95% t-interval of the mean
    high: float | None
    values: list[float]  #: per seed, in the order of ``seeds``


class SeedGroupSummary(Artifact):
    KIND: ClassVar[str] = "seed-group"
    SCHEMA_VERSION: ClassVar[int] = 1
    FILENAME: ClassVar[str] = "group.json"
    MADE_BY: ClassVar[str] = "trainlab train with train.seeds or --seeds"

    recipe: str
    overrides: list[str]
    seeds: list[int]
    runs: list[str]  #: run folder per seed, relative to the group folder
    split: str  #: the split the metrics are of (test)
    metrics: dict[str, MetricSummary]
