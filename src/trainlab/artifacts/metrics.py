"""``metrics.json``: the headline metrics of one predictions table (written by ``trainlab evaluate``).

A run's test split gives ``<run>/metrics.json``; another split ``metrics_<split>.json``; a predictions file
``metrics_<stem>.json`` beside it (see :mod:`trainlab.evaluation.evaluate`). Every figure is scikit-learn's on the
table's arrays (:func:`trainlab.evaluation.metrics.compute_metrics`); ``None`` where undefined, with the reason
under ``undefined``. ``files`` names every file the evaluation wrote, relative to the folder of this file.

Schema 2 adds, all optional so a version-1 file still reads (with none of them):

* ``intervals``: {metric: (low, high)}, the 95% bootstrap interval of accuracy, balanced accuracy, macro F1 and
  ROC AUC (:func:`trainlab.evaluation.paired.metric_intervals`), described by ``bootstrap``;
* ``confusion_cells``: every non-zero cell of the confusion matrix as (true index, predicted index, count);
* ``class_order``: the class indices in the order a confusion matrix is drawn, confused classes side by side
  (:func:`trainlab.evaluation.ordering.confusion_order`).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from trainlab.artifacts.base import Artifact

METRIC_KEYS = (
    "accuracy", "top5_accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "roc_auc", "log_loss", "ece",
)


class Bootstrap(BaseModel):
    """How ``intervals`` were made: item resamples (with replacement, the test set's size), seed, level, method."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    replicates: int
    seed: int
    confidence: float = 0.95
    method: str = "expanded percentile (Hesterberg 2015) of item resamples"


class Metrics(Artifact):
    KIND: ClassVar[str] = "metrics"
    SCHEMA_VERSION: ClassVar[int] = 2
    FILENAME: ClassVar[str] = "metrics.json"
    MADE_BY: ClassVar[str] = "'trainlab evaluate'"

    split: str
    n: int
    classes: tuple[str, ...]
    source: str  # the predictions table scored
    accuracy: float | None
    top5_accuracy: float | None
    balanced_accuracy: float | None
    f1_macro: float | None
    f1_weighted: float | None
    roc_auc: float | None
    log_loss: float | None
    ece: float | None
    roc_auc_average: str  # binary, macro (one-vs-rest) or none
    ece_bins: int
    undefined: dict[str, str] = {}  # metric -> why it is None
    y_pred_differs_from_argmax: int = 0  # rows whose y_pred is not the most probable class
    files: dict[str, str] = {}  # role -> path relative to this file's folder
    trainlab_version: str = ""
    intervals: dict[str, tuple[float, float]] = {}  # metric -> 95% bootstrap interval; absent where undefined
    bootstrap: Bootstrap | None = None
    confusion_cells: list[tuple[int, int, int]] = []  # (true index, predicted index, count), non-zero cells
    class_order: list[int] = []  # confusion-matrix order, confused classes adjacent

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def value(self, key: str) -> float | None:
        """One headline metric by name (a key of :data:`METRIC_KEYS`)."""
        if key not in METRIC_KEYS:
            raise KeyError(f"{key!r} is not a headline metric; one of {METRIC_KEYS}")
        return getattr(self, key)

    def interval(self, key: str) -> tuple[float, float] | None:
        """The 95% bootstrap interval of a headline metric, or ``None`` (not computed, or undefined)."""
        return self.intervals.get(key)

    @property
    def confusion(self):
        """The ``k × k`` count matrix (rows = true class) from ``confusion_cells``, or ``None`` when not stored."""
        if not self.confusion_cells and self.n:
            return None
        import numpy as np

        matrix = np.zeros((self.n_classes, self.n_classes), dtype=np.int64)
        for i, j, count in self.confusion_cells:
            matrix[i, j] = count
        return matrix

    @classmethod
    def migrate(cls, payload: dict, version: int, source) -> dict:
        if version == 0:  # before artifacts carried their kind: n_classes was stored beside classes
            payload = dict(payload)
            payload.pop("n_classes", None)
            return payload
        if version == 1:  # schema 2 only added optional fields (intervals, bootstrap, confusion_cells, class_order)
            return payload
        return super().migrate(payload, version, source)
