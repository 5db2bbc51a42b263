"""The Manifest: the one table every dataset reader produces.

Columns (``frame``):

``id``     stable identifier of the row (path relative to the dataset root)
``path``   absolute path of the image file
``label``  integer class index into ``classes`` (0 .. len(classes)-1)
``split``  one of ``train``, ``val``, ``test``
others     attribute columns that ride along to the predictions table
           (FairFace ``age``, ``race``, ``gender``, ``service_test``; any extra CSV column)
``_…``     internal columns, not attributes: ``_origin`` is where the row came from
           (``train.txt:17``), for error messages

Everything after the readers is format-blind: it sees only a Manifest.
Row order is meaningful: the image cache stores row ``i`` of the frame at index ``i``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trainlab.errors import TrainlabError

REQUIRED_COLUMNS = ("id", "path", "label", "split")
SPLITS = ("train", "val", "test")


@dataclass
class Manifest:
    frame: pd.DataFrame
    classes: list[str]
    target: str = "label"
    #: what produced it: format, root, layout detected, repairs, val-split record, skipped files...
    source: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in REQUIRED_COLUMNS if c not in self.frame.columns]
        if missing:
            raise TrainlabError(f"manifest is missing column(s) {missing}; it needs {list(REQUIRED_COLUMNS)}")
        self.frame = self.frame.reset_index(drop=True)
        self.frame["label"] = self.frame["label"].astype(np.int64)
        self.classes = [str(c) for c in self.classes]
        bad_split = sorted(set(self.frame["split"]) - set(SPLITS))
        if bad_split:
            raise TrainlabError(f"manifest has unknown split name(s) {bad_split}; allowed: {list(SPLITS)}")
        if len(self.frame) and (self.frame["label"].min() < 0 or self.frame["label"].max() >= len(self.classes)):
            raise TrainlabError(
                f"manifest labels must lie in 0..{len(self.classes) - 1} (there are {len(self.classes)} classes); "
                f"found {int(self.frame['label'].min())}..{int(self.frame['label'].max())}"
            )

    # ---- views -------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def attributes(self) -> list[str]:
        """Attribute columns: everything that is not id, path, label, split or internal (``_…``)."""
        return [c for c in self.frame.columns if c not in REQUIRED_COLUMNS and not str(c).startswith("_")]

    def origin(self, i: int) -> str | None:
        """Where row ``i`` came from (``train.txt:17``, ``train_labels.csv:5``), if the reader knows."""
        if "_origin" not in self.frame.columns:
            return None
        value = self.frame["_origin"].iat[i]
        return None if value is None or value != value else str(value)

    @property
    def splits(self) -> list[str]:
        present = set(self.frame["split"])
        return [s for s in SPLITS if s in present]

    def __len__(self) -> int:
        return len(self.frame)

    def indices(self, split: str) -> np.ndarray:
        """Row positions (into ``frame`` and the image cache) of one split."""
        return np.flatnonzero(self.frame["split"].to_numpy() == split)

    def labels(self, split: str | None = None) -> np.ndarray:
        labels = self.frame["label"].to_numpy()
        return labels if split is None else labels[self.indices(split)]

    def label_names(self) -> pd.Series:
        return self.frame["label"].map(dict(enumerate(self.classes)))

    def counts(self) -> pd.DataFrame:
        """Images per class (rows, by name) and split (columns), with zeros where absent."""
        table = pd.crosstab(self.label_names(), self.frame["split"])
        table = table.reindex(index=self.classes, columns=self.splits, fill_value=0)
        table.index.name = self.target
        return table

    def with_frame(self, frame: pd.DataFrame, **source_updates: Any) -> "Manifest":
        """A copy with another frame (for example rows removed), keeping classes and target."""
        return Manifest(frame.copy(), list(self.classes), self.target, {**self.source, **source_updates})

    def to_frame(self) -> pd.DataFrame:
        """The frame with the class name beside the label index (for writing a run's record)."""
        out = self.frame[[c for c in self.frame.columns if not str(c).startswith("_")]].copy()
        out.insert(out.columns.get_loc("label") + 1, self.target if self.target != "label" else "label_name", self.label_names())
        return out
