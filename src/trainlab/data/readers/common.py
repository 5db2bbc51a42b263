"""What every reader returns, and the small parsing helpers they share."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trainlab.errors import TrainlabError, where
from trainlab.utils.log import get_logger

log = get_logger("trainlab.data")

SPLIT_NAMES = {
    "train": "train", "training": "train",
    "val": "val", "valid": "val", "validation": "val", "dev": "val",
    "test": "test", "testing": "test",
}


@dataclass
class Table:
    """A reader's result: one row per image, labels still as class names.

    ``frame`` columns: ``id`` (path relative to the dataset root), ``path`` (absolute), ``label``
    (class name), ``split``, ``_origin`` (``file:line`` where the row came from, or None) and attribute
    columns. ``classes`` fixes the class list and order (IP102 classes.txt); None derives it from the
    labels in natural order. ``declared`` names the splits the dataset itself defines (split → file).
    """

    frame: pd.DataFrame
    target: str
    source: dict[str, Any]
    declared: dict[str, str]
    classes: list[str] | None = None
    stratify: list[str] = field(default_factory=list)  # extra columns to stratify carved splits by


def natural_key(text: str) -> tuple:
    """Sort key that orders numbers by value: 0-2 < 3-9 < 10-19 < more than 70; 2 < 10."""
    parts = re.split(r"(\d+)", str(text))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in parts if p != "")


def natural_sorted(values) -> list[str]:
    return sorted((str(v) for v in values), key=natural_key)


def read_csv_rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, rows and the 1-based line of each row; blank lines skipped, BOM and whitespace stripped."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = None
            rows, lines = [], []
            for row in reader:
                if not row or all(not c.strip() for c in row):
                    continue
                if header is None:
                    header = [c.strip() for c in row]
                    continue
                if len(row) != len(header):
                    raise TrainlabError(
                        f"{where(path, reader.line_num)}: {len(row)} field(s) where the header has {len(header)} "
                        f"({', '.join(header)}); quote values that contain commas"
                    )
                rows.append([c.strip() for c in row])
                lines.append(reader.line_num)
    except UnicodeDecodeError as exc:
        raise TrainlabError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save the CSV as UTF-8") from None
    except csv.Error as exc:
        raise TrainlabError(f"{path}: not a readable CSV file ({exc})") from None
    if header is None:
        raise TrainlabError(f"{path} is empty; a labels CSV needs a header line and one row per image")
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise TrainlabError(f"{where(path, 1)}: duplicate column name(s) {dup} in the header")
    if not rows:
        raise TrainlabError(f"{path} has a header but no rows; it needs one row per image")
    return header, rows, lines


def read_csv_header(path: Path) -> list[str]:
    """The header of a CSV (first non-blank line), or [] when it cannot be read as UTF-8 CSV."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            for row in csv.reader(fh):
                if row and any(c.strip() for c in row):
                    return [c.strip() for c in row]
    except (OSError, UnicodeDecodeError, csv.Error):
        pass
    return []


def csv_frame(path: Path) -> pd.DataFrame:
    """A CSV as strings, with ``_line`` (1-based line in the file) for error messages."""
    header, rows, lines = read_csv_rows(path)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame["_line"] = lines
    return frame


def require_columns(frame: pd.DataFrame, path: Path, needed: list[str], hint: str = "") -> None:
    cols = [c for c in frame.columns if c != "_line"]
    missing = [c for c in needed if c not in cols]
    if missing:
        raise TrainlabError(
            f"{where(path, 1)}: missing column(s) {missing}; the header has {cols}" + (f". {hint}" if hint else "")
        )


def check_target_values(frame: pd.DataFrame, path: Path, target: str) -> None:
    empty = frame[frame[target].astype(str).str.strip() == ""]
    if len(empty):
        lines = ", ".join(str(n) for n in empty["_line"].head(10))
        raise TrainlabError(
            f"{path}: {len(empty)} row(s) have no value in the target column '{target}' (line(s) {lines}"
            f"{', ...' if len(empty) > 10 else ''}); fill them in or remove those rows"
        )


RESERVED = ("id", "path", "label", "split")


def attribute_columns(frame: pd.DataFrame, used: list[str], path: Path) -> dict[str, str]:
    """Columns that ride along as attributes: old name → name in the manifest.

    A column whose name the manifest reserves (id, path, label, split) is kept as ``<name>_column``.
    """
    out = {}
    for col in frame.columns:
        if col in used or col.startswith("_"):
            continue
        out[col] = f"{col}_column" if col in RESERVED else col
        if col in RESERVED:
            log.warning("%s: column '%s' rides along as attribute '%s_column' ('%s' is a manifest column)", path, col, col, col)
    return out


def resolve(base: Path, rel: str) -> str:
    p = Path(rel)
    return str(p if p.is_absolute() else (base / p))
