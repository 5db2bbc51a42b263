"""The predictions table: the single contract between training and everything that judges a model.

One file per split (``<run>/predictions/<split>.csv``, or ``.parquet``) with columns::

    id, path, split, y_true, y_pred, p_<class 0>, p_<class 1>, ..., <attribute columns>

* ``y_true`` and ``y_pred`` hold class *names* (strings), so files are portable between tools.
* ``p_<name>`` holds the predicted probability of each class; their order is the class order and
  each row sums to 1. The prefix ``p_`` is reserved for probability columns.
* ``y_pred`` is usually the arg-max of the probabilities, but need not be (mitigated predictions
  move decision thresholds), so label metrics use ``y_pred`` and score metrics use ``p_*``.
* Every other column is an attribute (race, age, gender...) that the audit can group by.

Evaluate, compare, audit, mitigate and report read this table and never touch a model or an image,
so they also work on predictions made by another tool that writes the same columns.
``id``, ``path`` and ``split`` may be absent in such files; they are then filled in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trainlab.errors import TrainlabError
from trainlab.utils.io import write_table

PROB_PREFIX = "p_"
CORE_COLUMNS = ("id", "path", "split", "y_true", "y_pred")
REQUIRED_COLUMNS = ("y_true", "y_pred")
SUM_TOLERANCE = 1e-3


@dataclass
class Predictions:
    frame: pd.DataFrame
    classes: list[str]
    source: Path | None = None

    @property
    def prob_columns(self) -> list[str]:
        return [PROB_PREFIX + c for c in self.classes]

    @property
    def attributes(self) -> list[str]:
        probs = set(self.prob_columns)
        return [c for c in self.frame.columns if c not in CORE_COLUMNS and c not in probs]

    @property
    def y_true(self) -> np.ndarray:
        """True labels as integer indices into ``classes``."""
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

    def subset(self, mask) -> "Predictions":
        return Predictions(self.frame.loc[mask].reset_index(drop=True), list(self.classes), self.source)


def _codes(values: pd.Series, classes: list[str]) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(classes)}
    return values.astype(str).map(lookup).to_numpy(dtype=np.int64)


def make_frame(
    *,
    classes: list[str],
    y_true: np.ndarray,
    proba: np.ndarray,
    y_pred: np.ndarray | None = None,
    ids=None,
    paths=None,
    split: str | None = None,
    attributes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Build a predictions table from integer labels and a probability matrix."""
    proba = np.asarray(proba, dtype=np.float64)
    n = len(proba)
    if y_pred is None:
        y_pred = proba.argmax(axis=1)
    names = np.asarray([str(c) for c in classes], dtype=object)
    frame = pd.DataFrame(
        {
            "id": ids if ids is not None else np.arange(n),
            "path": paths if paths is not None else [""] * n,
            "split": [split or ""] * n,
            "y_true": names[np.asarray(y_true, dtype=np.int64)],
            "y_pred": names[np.asarray(y_pred, dtype=np.int64)],
        }
    )
    probs = pd.DataFrame(proba, columns=[PROB_PREFIX + str(c) for c in classes])
    parts = [frame, probs]
    if attributes is not None:
        parts.append(attributes.reset_index(drop=True))
    return pd.concat(parts, axis=1)


def write_predictions(frame: pd.DataFrame, target: str | Path) -> Path:
    """Write a predictions table atomically (CSV, or Parquet for a .parquet suffix)."""
    return write_table(frame, target)


def resolve(target: str | Path, split: str = "test") -> Path:
    """A run folder resolves to ``<run>/predictions/<split>.{csv,parquet}``; a file to itself."""
    target = Path(target)
    if target.is_dir():
        for suffix in (".csv", ".parquet"):
            candidate = target / "predictions" / f"{split}{suffix}"
            if candidate.exists():
                return candidate
        available = sorted(p.name for p in (target / "predictions").glob("*")) if (target / "predictions").is_dir() else []
        raise TrainlabError(
            f"{target} has no predictions for split '{split}' (looked for predictions/{split}.csv); "
            f"available: {available or 'none'}. A run that stopped before writing them: trainlab train --resume "
            f"{target} writes them (without training more when every epoch has run); or pass a predictions file."
        )
    if not target.exists():
        raise TrainlabError(f"{target}: no such run folder or predictions file")
    return target


def read_predictions(target: str | Path, split: str = "test") -> Predictions:
    """Read and validate a predictions table (a file, or a run folder and a split).

    Errors name the file, the column and the row (as a 1-based line number of the CSV file,
    header on line 1) and say what to do.
    """
    path = resolve(target, split)
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype={"y_true": str, "y_pred": str, "id": str}, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise TrainlabError(f"{path}: cannot be read as a predictions table ({exc})") from exc
    return validate(frame, source=path)


def validate(frame: pd.DataFrame, source: Path | None = None) -> Predictions:
    """Check a predictions frame against the contract and return a :class:`Predictions`."""
    name = str(source) if source is not None else "predictions"
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise TrainlabError(
            f"{name}: missing column(s) {missing}; a predictions table needs "
            f"y_true, y_pred and one p_<class> probability column per class"
        )
    prob_cols = [c for c in frame.columns if str(c).startswith(PROB_PREFIX)]
    if not prob_cols:
        raise TrainlabError(f"{name}: no probability columns; add one column p_<class> per class (for example p_cat, p_dog)")
    classes = [str(c)[len(PROB_PREFIX):] for c in prob_cols]
    if len(frame) == 0:
        raise TrainlabError(f"{name}: the table has no rows")
    frame = frame.copy()
    for col in ("y_true", "y_pred"):
        frame[col] = frame[col].astype(str)
        unknown = ~frame[col].isin(classes)
        if unknown.any():
            row = int(np.flatnonzero(unknown.to_numpy())[0])
            raise TrainlabError(
                f"{name}: line {row + 2}, column '{col}': label '{frame[col].iloc[row]}' has no probability "
                f"column (p_{frame[col].iloc[row]}); known classes: {classes[:20]}{' ...' if len(classes) > 20 else ''}. "
                "A label never seen in training cannot be scored."
            )
    probs = frame[prob_cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(probs) | (probs < -1e-9) | (probs > 1 + 1e-9)
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise TrainlabError(
            f"{name}: line {row + 2}, column '{prob_cols[col]}': probability '{frame[prob_cols[col]].iloc[row]}' "
            "is not a number in [0, 1]"
        )
    sums = probs.sum(axis=1)
    off = np.abs(sums - 1.0) > SUM_TOLERANCE
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise TrainlabError(
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
    return Predictions(frame, classes, source)
