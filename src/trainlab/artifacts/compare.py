"""``compare.json``: several runs side by side on the same test items (written by ``trainlab compare``).

Per run its test metrics (from its predictions table) and its best validation accuracy (from ``history.csv``);
per pair of runs McNemar's exact test on the items paired by id, with Holm's correction across pairs; the paired
bootstrap intervals of the metric differences; with ``--by``, the change in each fairness gap (``fairness``).
Schema 2 added ``fairness``; a version-1 file reads as one without it.
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
    """McNemar's exact test of runs ``a`` and ``b``: counts of items each gets right or wrong.

    ``n``, ``discordant`` and both accuracies follow from the four counts, so they are derived, not stored.
    """

    a: str
    b: str
    both_right: int
    a_only: int  # items a gets right and b wrong
    b_only: int
    both_wrong: int
    p_value: float  # two-sided exact binomial test of a_only against b_only
    p_holm: float  # Holm-corrected across all pairs
    verdict: str

    @property
    def n(self) -> int:
        return self.both_right + self.a_only + self.b_only + self.both_wrong

    @property
    def discordant(self) -> int:
        return self.a_only + self.b_only

    @property
    def accuracy_a(self) -> float:
        return (self.both_right + self.a_only) / self.n

    @property
    def accuracy_b(self) -> float:
        return (self.both_right + self.b_only) / self.n

    def row(self) -> dict:
        """Every figure, stored and derived, for tables."""
        return {"a": self.a, "b": self.b, "accuracy_a": self.accuracy_a, "accuracy_b": self.accuracy_b, "n": self.n,
                "both_right": self.both_right, "a_only": self.a_only, "b_only": self.b_only,
                "both_wrong": self.both_wrong, "discordant": self.discordant, "p_value": self.p_value,
                "p_holm": self.p_holm, "verdict": self.verdict}


class Comparison(Artifact):
    KIND: ClassVar[str] = "compare"
    SCHEMA_VERSION: ClassVar[int] = 2
    FILENAME: ClassVar[str] = "compare.json"
    MADE_BY: ClassVar[str] = "'trainlab compare'"

    split: str
    n_items: int
    runs: tuple[ComparedRun, ...]
    mcnemar: tuple[PairTest, ...]
    alpha: float
    correction: str
    # paired bootstrap intervals of the differences (trainlab.evaluation.paired): replicates, seed, confidence,
    # method, metrics, comparisons (a, b, a_runs, b_runs, seed_groups, metrics {metric: a, b, difference, ci_low,
    # ci_high, beat_share, wins, pairings}, verdict), note; None with --bootstrap 0
    bootstrap: dict | None = None
    # with --by: the change in each fairness gap, A's minus B's, paired bootstrap (trainlab.fairness.gap_change):
    # one dict per (pair of runs, grouping): a, b, by, compared_groups, reference, favorable, replicates, confidence,
    # measures [{measure, label, class, a, b, change, ci, excludes_zero, reason, interval}] (interval: "family" or
    # "percentile", trainlab.fairness.gap_change; absent in files written before it); None without --by
    fairness: list[dict] | None = None
    files: dict[str, str] = {}
    trainlab_version: str = ""

    @classmethod
    def migrate(cls, payload: dict, version: int, source) -> dict:
        if version == 0:  # before artifacts carried their kind: each pair also stored its derived figures
            derived = ("n", "discordant", "accuracy_a", "accuracy_b")
            pairs = [{k: v for k, v in p.items() if k not in derived} if isinstance(p, dict) else p
                     for p in payload.get("mcnemar") or []]
            return {**payload, "mcnemar": pairs}
        if version == 1:  # before the fairness gap changes (an optional field: absent means none)
            return payload
        return super().migrate(payload, version, source)
