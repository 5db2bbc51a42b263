"""Groups for an audit: which attribute columns, which rows form which group.

``--by race`` groups by one attribute; ``--by race,gender`` by the intersection (one group per
combination that occurs, labelled ``"Black × Female"``). A missing attribute value forms its own
group, ``(missing)``, so no row leaves the audit without a trace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trainlab.errors import TrainlabError

MISSING = "(missing)"
JOIN = " × "
_SPLIT = re.compile(r"\s*(?:,|×|\||/|&)\s*")


@dataclass(frozen=True)
class Grouping:
    """One audit's grouping: the columns, a group code per row, and the group labels."""

    columns: tuple[str, ...]
    codes: np.ndarray  # (n,) int index into labels
    labels: list[str]  # natural order ('3-9' before '10-19'); labels with a missing value last
    values: list[dict[str, str]]  # per label: column -> value

    @property
    def name(self) -> str:
        return JOIN.join(self.columns)

    @property
    def slug(self) -> str:
        """A file-name-safe name: ``race``, ``race_x_gender``."""
        return "_x_".join(re.sub(r"[^A-Za-z0-9_.-]+", "-", c) for c in self.columns)

    @property
    def sizes(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=len(self.labels))


def parse_by(by) -> list[tuple[str, ...]]:
    """Normalise ``by``: ``"race"``, ``"race,gender"`` or ``["race", "gender"]`` per audit.

    A bare string is one audit; a list holds one entry per audit, each a column name, a
    comma-separated intersection, or a list of columns forming an intersection.
    """
    if isinstance(by, str):
        by = [by]
    if not by:
        raise TrainlabError("no attribute to audit by: pass --by <column> (for example --by race)")
    specs: list[tuple[str, ...]] = []
    for item in by:
        cols = [c.strip() for c in item.split(",")] if isinstance(item, str) else [str(c).strip() for c in item]
        cols = [c for c in cols if c]
        if not cols:
            raise TrainlabError(f"empty attribute in --by {item!r}; write --by race or --by race,gender")
        if len(set(cols)) != len(cols):
            raise TrainlabError(f"--by {','.join(cols)} repeats a column")
        spec = tuple(cols)
        if spec not in specs:
            specs.append(spec)
    return specs


def check_columns(spec: tuple[str, ...], available: list[str], source, labels: list[str] = ("y_true",)) -> None:
    """Every column of ``spec`` must be an attribute or one of ``labels`` (names of the true label)."""
    unknown = [c for c in spec if c not in available and c not in labels]
    if unknown:
        raise TrainlabError(
            f"{source}: no attribute column {', '.join(repr(c) for c in unknown)} to group by; "
            f"available attribute columns: {available or 'none (the table has only id, path, split, y_true, y_pred and p_* columns)'}, "
            f"and {' or '.join(repr(c) for c in labels)} for the true label (in an intersection such as --by race,{labels[-1]}). "
            "Attributes are the predictions table's extra columns."
        )
    if all(c in labels for c in spec):
        raise TrainlabError(
            f"--by {','.join(spec)} groups by the true label alone: every group then holds one class, so its 'disparities' "
            "are class balance and per-class recall (trainlab evaluate's per-class table), not fairness; the coursework's "
            f"disparate impact of 0.13 came from this. Group by an attribute, or intersect one with it: --by race,{spec[0]}"
        )


def make_grouping(frame: pd.DataFrame, spec: tuple[str, ...]) -> Grouping:
    """Group rows by the columns of ``spec`` (one column, or the intersection of several)."""
    parts = [_as_text(frame[c]) for c in spec]
    keys = parts[0] if len(parts) == 1 else pd.Series(list(zip(*parts)), index=frame.index)
    if len(parts) == 1:
        tuples = [(v,) for v in keys.unique()]
        key_of = {t: t[0] for t in tuples}
    else:
        tuples = list(dict.fromkeys(keys))
        key_of = {t: t for t in tuples}
    tuples.sort(key=lambda t: (any(v == MISSING for v in t), tuple(_natural(v) for v in t)))
    labels = [JOIN.join(t) for t in tuples]
    index = {key_of[t]: i for i, t in enumerate(tuples)}
    codes = keys.map(index).to_numpy(dtype=np.int64)
    values = [dict(zip(spec, t)) for t in tuples]
    return Grouping(spec, codes, labels, values)


def _natural(text: str) -> tuple:
    """Sort key that orders '3-9' before '10-19' (age bins) and numbers before words."""
    parts = re.split(r"(\d+(?:\.\d+)?)", text)
    return tuple((0, float(p), "") if i % 2 else (1, 0.0, p) for i, p in enumerate(parts) if p != "")


def _as_text(column: pd.Series) -> pd.Series:
    text = column.astype(object).where(column.notna(), MISSING).map(str)
    return text.str.strip().replace("", MISSING)


def find_group(reference: str, labels: list[str]) -> int | None:
    """Index of ``reference`` among ``labels``; intersections may be written with , × | / or &."""
    want = tuple(_SPLIT.split(reference.strip()))
    for i, label in enumerate(labels):
        if tuple(label.split(JOIN)) == want or label == reference:
            return i
    return None
