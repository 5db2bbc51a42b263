"""The predictions table: the single contract between a model and everything that judges it.

One file per split (``<run>/predictions/<split>.csv``, or ``.parquet``) with columns::

    id, path, split, y_true, y_pred, p_<class 0>, p_<class 1>, ..., <attribute columns>

* ``y_true`` and ``y_pred`` hold class *names* (strings), so files are portable between tools.
* ``y_true`` may be empty: a table of predictions for unlabelled images is valid. A table is
  *labelled* when every row has a true label, *unlabelled* when none has one (the column may then
  be absent); judges that need labels (evaluate, compare, audit, mitigate) call
  :meth:`Predictions.require_labels` and say plainly that they need ``y_true``.
* ``p_<name>`` holds the predicted probability of each class; their order is the class order and
  each row sums to 1. The prefix ``p_`` is reserved for probability columns.
* ``y_pred`` is usually the arg-max of the probabilities, but need not be (mitigated predictions
  move decision thresholds), so label metrics use ``y_pred`` and score metrics use ``p_*``.
* Every other column is an attribute (race, age, gender...) that the audit can group by.

It is the one artifact stored as a table rather than JSON, so it has no kind/version in the file: the
columns are its schema. :meth:`Predictions.build` (from arrays) and :meth:`Predictions.from_frame` (a
frame made elsewhere) are the ways in; :meth:`Predictions.write` the one writer; :meth:`Predictions.read`
the one reader, which validates and names file, line and column of the first problem. ``id``, ``path``
and ``split`` may be absent in files made by another tool; they are then filled in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from pydantic import ConfigDict

from trainlab.artifacts.base import Artifact, ArtifactError
from trainlab.utils.io import write_table

PROB_PREFIX = "p_"
CORE_COLUMNS = ("id", "path", "split", "y_true", "y_pred")
SUM_TOLERANCE = 1e-3
MISSING = ""  # a missing true label, in the frame and (as an empty cell) in the file


class Predictions(Artifact):
    """A validated predictions table: ``frame`` (the columns above), ``classes`` (probability-column order)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    KIND: ClassVar[str] = "predictions"
    FILENAME: ClassVar[str] = "predictions/test.csv"
    MADE_BY: ClassVar[str] = "'trainlab train' (a run's val/test) or 'trainlab predict'"

    frame: pd.DataFrame
    classes: list[str]
    source: Path | None = None

    # ---- views --------------------------------------------------------------------------------
    @property
    def prob_columns(self) -> list[str]:
        return [PROB_PREFIX + c for c in self.classes]

    @property
    def attributes(self) -> list[str]:
        probs = set(self.prob_columns)
        return [c for c in self.frame.columns if c not in CORE_COLUMNS and c not in probs]

    @property
    def labelled_rows(self) -> np.ndarray:
        """Boolean mask of the rows that have a true label."""
        return (self.frame["y_true"] != MISSING).to_numpy()

    @property
    def is_labelled(self) -> bool:
        """Every row has a true label."""
        return bool(self.labelled_rows.all())

    def require_labels(self, who: str) -> None:
        """Raise an :class:`ArtifactError` unless every row has a true label; ``who`` is the command that needs them."""
        mask = self.labelled_rows
        if mask.all():
            return
        name = self.source or "predictions"
        if not mask.any():
            raise ArtifactError(f"{name}: this predictions table has no true labels; {who} needs y_true "
                                "(predict a labelled dataset, or add the y_true column)")
        row = int(np.flatnonzero(~mask)[0])
        raise ArtifactError(f"{name}: line {row + 2}, column 'y_true' is empty ({int((~mask).sum())} of {len(mask)} rows "
                            f"have no true label); {who} needs y_true on every row: drop the unlabelled rows or label them")

    @property
    def y_true(self) -> np.ndarray:
        """True labels as integer indices into ``classes`` (every row must have one: see :meth:`require_labels`)."""
        self.require_labels("this step")
        return _codes(self.frame["y_true"], self.classes)

    @property
    def y_pred(self) -> np.ndarray:
        """Predicted labels as integer indices into ``classes``."""
        return _codes(self.frame["y_pred"], self.classes)

    @property
    def proba(self) -> np.ndarray:
        """Class probabilities, shape (n, len(classes))."""
        return self.frame[self.prob_columns].to_numpy(dtype=np.float64)

    def __len__(self) -> int:
        return len(self.frame)

    def subset(self, mask) -> Predictions:
        return Predictions(frame=self.frame.loc[mask].reset_index(drop=True), classes=list(self.classes), source=self.source)

    def with_y_pred(self, y_pred: np.ndarray) -> Predictions:
        """The same table with other predicted labels (integer indices), e.g. after moving thresholds."""
        frame = self.frame.copy()
        frame["y_pred"] = np.asarray(self.classes, dtype=object)[np.asarray(y_pred, dtype=np.int64)]
        return Predictions(frame=frame, classes=list(self.classes), source=self.source)

    def summary(self) -> str:
        """A few lines for the terminal: accuracy where labelled, the predicted classes."""
        counts = self.frame["y_pred"].value_counts()
        lines = []
        labelled = self.labelled_rows
        if labelled.any():
            part = self.frame[labelled]
            acc = float((part["y_true"] == part["y_pred"]).mean())
            lines.append(f"accuracy on the {int(labelled.sum())} labelled images: {acc:.4f}")
        lines.append("predicted classes: " + ", ".join(f"{name} {n}" for name, n in counts.head(10).items())
                     + (" ..." if len(counts) > 10 else ""))
        return "\n".join(lines)

    # ---- ways in --------------------------------------------------------------------------------
    @classmethod
    def build(cls, *, classes, proba, y_true=None, y_pred=None, ids=None, paths=None, split=None,
              attributes: pd.DataFrame | None = None) -> Predictions:
        """A table from arrays: ``proba`` (n, k); ``y_true`` integer indices (negative: no label) or None (unlabelled).

        ``split`` is one name for every row or one per row.
        """
        proba = np.asarray(proba, dtype=np.float64)
        n = len(proba)
        names = np.asarray([str(c) for c in classes], dtype=object)
        if y_pred is None:
            y_pred = proba.argmax(axis=1)
        if y_true is None:
            true_names = np.full(n, MISSING, dtype=object)
        else:
            codes = np.asarray(y_true, dtype=np.int64)
            true_names = np.where(codes >= 0, names[np.clip(codes, 0, None)], MISSING)
        frame = pd.DataFrame({
            "id": np.asarray(ids).astype(str) if ids is not None else np.arange(n).astype(str),
            "path": np.asarray(paths).astype(str) if paths is not None else [""] * n,
            "split": np.asarray(split).astype(str) if np.ndim(split) else [split or ""] * n,
            "y_true": true_names,
            "y_pred": names[np.asarray(y_pred, dtype=np.int64)],
        })
        parts = [frame, pd.DataFrame(proba, columns=[PROB_PREFIX + str(c) for c in classes])]
        if attributes is not None:
            parts.append(attributes.reset_index(drop=True))
        return cls.from_frame(pd.concat(parts, axis=1))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, source: Path | None = None) -> Predictions:
        """Check a frame against the contract (see the module docstring); errors name line and column."""
        return Predictions(frame=_validated(frame, source), classes=_classes(frame), source=source)

    # ---- files ----------------------------------------------------------------------------------
    @classmethod
    def path_in(cls, where: str | Path, split: str = "test") -> Path:
        """A run folder gives ``<run>/predictions/<split>.{csv,parquet}``; a file gives itself."""
        where = Path(where)
        if where.is_dir():
            for suffix in (".csv", ".parquet"):
                candidate = where / "predictions" / f"{split}{suffix}"
                if candidate.exists():
                    return candidate
            folder = where / "predictions"
            available = sorted(p.name for p in folder.glob("*")) if folder.is_dir() else []
            raise ArtifactError(
                f"{where} has no predictions for split '{split}' (looked for predictions/{split}.csv); "
                f"available: {available or 'none'}. A run that stopped before writing them: trainlab train --resume "
                f"{folder.parent} writes them (without training more when every epoch has run); or pass a predictions file."
            )
        if not where.exists():
            raise ArtifactError(f"{where}: no such run folder or predictions file")
        return where

    @classmethod
    def exists_in(cls, where: str | Path, split: str = "test") -> bool:
        where = Path(where)
        if where.is_dir():
            return any((where / "predictions" / f"{split}{s}").is_file() for s in (".csv", ".parquet"))
        return where.is_file()

    def write(self, where: str | Path) -> Path:
        """Write atomically to the file ``where`` (CSV, or Parquet for a .parquet suffix)."""
        return write_table(self.frame, where)

    @classmethod
    def read(cls, where: str | Path, split: str = "test") -> Predictions:
        """Read and validate a predictions table: a file, or a run folder and a split."""
        path = cls.path_in(where, split)
        try:
            if path.suffix == ".parquet":
                frame = pd.read_parquet(path)
            else:
                frame = pd.read_csv(path, dtype={"y_true": str, "y_pred": str, "id": str},
                                    keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
            raise ArtifactError(f"{path}: cannot be read as a predictions table ({exc})") from exc
        return cls.from_frame(frame, source=path)

    def to_json(self) -> dict[str, Any]:  # pragma: no cover - the table is not JSON
        raise TypeError("a predictions table is written as a table: use write(path)")

    @classmethod
    def from_json(cls, payload, *, source="<memory>") -> Self:  # pragma: no cover - the table is not JSON
        raise TypeError("a predictions table is read as a table: use Predictions.read(path)")


def _codes(values: pd.Series, classes) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(classes)}
    return values.astype(str).map(lookup).to_numpy(dtype=np.int64)


def _classes(frame: pd.DataFrame) -> list[str]:
    return [str(c)[len(PROB_PREFIX):] for c in frame.columns if str(c).startswith(PROB_PREFIX)]


def _validated(frame: pd.DataFrame, source: Path | None) -> pd.DataFrame:
    name = str(source) if source is not None else "predictions"
    if "y_pred" not in frame.columns:
        raise ArtifactError(
            f"{name}: missing column(s) ['y_pred']; a predictions table needs "
            f"y_pred, one p_<class> probability column per class, and y_true where labels are known"
        )
    classes = _classes(frame)
    if not classes:
        raise ArtifactError(f"{name}: no probability columns; add one column p_<class> per class (for example p_cat, p_dog)")
    if MISSING in classes:
        raise ArtifactError(f"{name}: column '{PROB_PREFIX}' names no class; name every probability column p_<class>")
    if len(frame) == 0:
        raise ArtifactError(f"{name}: the table has no rows")
    frame = frame.copy()
    if "y_true" not in frame.columns:
        frame["y_true"] = MISSING
    frame["y_true"] = frame["y_true"].where(frame["y_true"].notna(), MISSING).astype(str).str.strip()
    if frame["y_pred"].isna().any():
        row = int(np.flatnonzero(frame["y_pred"].isna().to_numpy())[0])
        raise ArtifactError(f"{name}: line {row + 2}, column 'y_pred' is empty; every row needs a predicted label")
    frame["y_pred"] = frame["y_pred"].astype(str)
    for col in ("y_true", "y_pred"):
        unknown = ~frame[col].isin(classes) & (frame[col] != MISSING)
        if unknown.any():
            row = int(np.flatnonzero(unknown.to_numpy())[0])
            raise ArtifactError(
                f"{name}: line {row + 2}, column '{col}': label '{frame[col].iloc[row]}' has no probability "
                f"column (p_{frame[col].iloc[row]}); known classes: {classes[:20]}{' ...' if len(classes) > 20 else ''}. "
                "A label never seen in training cannot be scored."
            )
    prob_cols = [PROB_PREFIX + c for c in classes]
    numeric = all(pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]) for c in prob_cols)
    # columns the reader already parsed as numbers need no per-column coercion (0.7 s at 1,000 columns)
    table = frame[prob_cols] if numeric else frame[prob_cols].apply(pd.to_numeric, errors="coerce")
    probs = table.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(probs) | (probs < -1e-9) | (probs > 1 + 1e-9)
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise ArtifactError(
            f"{name}: line {row + 2}, column '{prob_cols[col]}': probability '{frame[prob_cols[col]].iloc[row]}' "
            "is not a number in [0, 1]"
        )
    sums = probs.sum(axis=1)
    off = np.abs(sums - 1.0) > SUM_TOLERANCE
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise ArtifactError(
            f"{name}: line {row + 2}: probabilities sum to {sums[row]:.6f}, not 1 "
            f"({int(off.sum())} row(s) affected). Write softmax outputs, not logits or one-hot scores."
        )
    frame[prob_cols] = probs
    if "id" not in frame.columns:
        frame.insert(0, "id", np.arange(len(frame)).astype(str))
    if "path" not in frame.columns:
        frame.insert(1, "path", "")
    if "split" not in frame.columns:
        frame.insert(2, "split", source.stem if source is not None else "")
    order = [*CORE_COLUMNS, *prob_cols]
    return frame[order + [c for c in frame.columns if c not in order]]
