"""``results.json``: a function-fitting experiment (``trainlab sine`` / ``trainlab fit-function``).

Per model kind (``mlp``, ``lstm``, ``gru``, ``mlp_cosine``): its parameter counts, its training recipe, one
record per seed and the mean ± std over seeds; the optional windowed next-value task; the grids, notes,
environment and timings. Written last by :class:`trainlab.experiments.sine.SineExperiment`, so its presence
means the folder is complete; ``files`` names the tables and figures beside it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

from trainlab.artifacts.base import Artifact

EXPERIMENT = "trainlab.sine"


class Stat(BaseModel):
    """Mean, sample std (None for one value), min and max over seeds of one figure; ``n`` values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mean: float | None
    std: float | None
    min: float | None = None
    max: float | None = None
    n: int


class FittedModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    label: str
    registry_name: str = ""
    architecture: str
    coursework: bool  # one of the coursework's three models (not a variant)
    params: dict[str, int]  # pytorch, keras
    recipe: dict[str, Any]
    runs: tuple[dict[str, float | int | None], ...]  # one per seed: seed, test_mse, test_nmse, ..., wall_s
    summary: dict[str, Stat]
    below_target: bool | None = None


class FitResults(Artifact):
    KIND: ClassVar[str] = "fit_results"
    SCHEMA_VERSION: ClassVar[int] = 1
    FILENAME: ClassVar[str] = "results.json"
    MADE_BY: ClassVar[str] = "'trainlab sine' or 'trainlab fit-function'"

    experiment: str = EXPERIMENT
    function: str  # the numpy expression in x
    domain: tuple[float, float]  # the training interval
    data: dict[str, Any] = {}  # grids: train/test/extrapolation points and how they were made
    seeds: tuple[int, ...]
    target_mse: float | None = None
    all_below_target: bool | None = None
    models: dict[str, FittedModel]
    windows: dict[str, Any] | None = None  # the next-value task (trainlab sine only)
    notes: tuple[str, ...] = ()
    environment: dict[str, Any] = {}
    timings_s: dict[str, float] = {}
    quick: bool = False
    reduced: str | None = None  # why a run was shorter than the experiment (the demo says so here)
    files: dict[str, str] = {}

    @classmethod
    def from_json(cls, payload: Any, *, source="<memory>") -> Self:
        if isinstance(payload, dict) and "kind" not in payload and payload.get("experiment") == EXPERIMENT:
            # written before artifacts carried their kind (with the experiment's own "schema_version": 1): as version 0
            payload = {k: v for k, v in payload.items() if k != "schema_version"}
        return super().from_json(payload, source=source)
