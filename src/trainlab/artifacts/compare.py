"""``compare.json``: several runs side by side on the same test items (written by ``trainlab compare``).

Per run its test metrics (from its predictions table) and its best validation accuracy (from ``history.csv``);
per pair of runs McNemar's exact test on the items paired by id, with Holm's correction across pairs.
``files`` names the tables and figure written beside it, relative to its folder.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from trainlab.artifacts.base import Artifact


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ComparedRun(_Row):
    name: str
    path: str
    source: str  # the predictions table read
    history: str | None = None  # history.csv read, if the run had one with validation values
    epochs: int | None = None
    best_val_acc: float | None = None
    best_epoch: int | None = None
    metrics: dict[str, float | str | None]  # the headline metrics and roc_auc_average
    undefined: dict[str, str] = {}


class PairTest(_Row):
    """McNemar's exact test of runs ``a`` and ``b``: counts of items each gets right or wrong."""

    a: str
    b: str
    accuracy_a: float
    accuracy_b: float
    n: int
    both_right: int
    a_only: int
    b_only: int
    both_wrong: int
    discordant: int
    p_value: float
    p_holm: float
    verdict: str


class Comparison(Artifact):
    KIND: ClassVar[str] = "compare"
    SCHEMA_VERSION: ClassVar[int] = 1
    FILENAME: ClassVar[str] = "compare.json"
    MADE_BY: ClassVar[str] = "'trainlab compare'"

    split: str
    n_items: int
    runs: tuple[ComparedRun, ...]
    mcnemar: tuple[PairTest, ...]
    alpha: float
    correction: str
    files: dict[str, str] = {}
    trainlab_version: str = ""
