"""``metrics.json``: the headline metrics of one predictions table (written by ``trainlab evaluate``).

A run's test split gives ``<run>/metrics.json``; another split ``metrics_<split>.json``; a predictions file
``metrics_<stem>.json`` beside it (see :mod:`trainlab.evaluation.evaluate`). Every figure is scikit-learn's on the
table's arrays (:func:`trainlab.evaluation.metrics.compute_metrics`); ``None`` where undefined, with the reason
under ``undefined``. ``files`` names every file the evaluation wrote, relative to the folder of this file.
"""

from __future__ import annotations

from typing import ClassVar

from trainlab.artifacts.base import Artifact

METRIC_KEYS = (
    "accuracy", "top5_accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "roc_auc", "log_loss", "ece",
)


class Metrics(Artifact):
    KIND: ClassVar[str] = "metrics"
    SCHEMA_VERSION: ClassVar[int] = 1
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

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def value(self, key: str) -> float | None:
        """One headline metric by name (a key of :data:`METRIC_KEYS`)."""
        if key not in METRIC_KEYS:
            raise KeyError(f"{key!r} is not a headline metric; one of {METRIC_KEYS}")
        return getattr(self, key)

    @classmethod
    def migrate(cls, payload: dict, version: int, source) -> dict:
        if version == 0:  # before artifacts carried their kind: n_classes was stored beside classes
            payload = dict(payload)
            payload.pop("n_classes", None)
            return payload
        return super().migrate(payload, version, source)
