"""FairFace: ``train_labels.csv`` (and ``val_labels.csv``) with ``file,age,gender,race,service_test``.

A folder is FairFace when it holds any ``*_labels.csv`` with that header; one without ``train_labels.csv``
but with a single labels CSV (e.g. only ``val_labels.csv`` and ``val/``) reads that file on its own.

The user picks the target column (``gender``, ``race`` or ``age``; default ``gender``, as in the
coursework); every other column rides along as an attribute. The official file names
(``fairface_label_train.csv``, ``fairface_label_val.csv``) are accepted too.

Split mapping (FairFace has no test set):

==================  ===========================================================
``train_labels``    train, minus a seeded stratified val split carved from it
``val_labels``      test (held out: never seen while choosing a model)
only train labels   train, with both val and test carved from it (as fairface-8k)
one other CSV only  the same: that file is train, val and test carved from it
==================  ===========================================================

Carved splits are stratified by the target and ``race`` and recorded in ``manifest.source``.

Age bins damaged by a spreadsheet that read them as dates (``03-Sep`` for ``3-9``, ``Oct-19`` for
``10-19``) are repaired, with a warning that counts the repaired rows.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from trainlab.data.readers.common import Table, attribute_columns, check_target_values, csv_frame, require_columns, resolve
from trainlab.errors import TrainlabError
from trainlab.utils.log import get_logger

log = get_logger("trainlab.data")

TRAIN_NAMES = ("train_labels.csv", "fairface_label_train.csv")
VAL_NAMES = ("val_labels.csv", "fairface_label_val.csv")
COLUMNS = ("file", "age", "gender", "race")
DEFAULT_TARGET = "gender"

_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_DAY_MONTH = re.compile(r"^(\d{1,2})-([A-Za-z]{3})[a-z]*$")  # 03-Sep  (Excel read 3-9 as 3 September)
_MONTH_NUM = re.compile(r"^([A-Za-z]{3})[a-z]*-(\d{1,2})$")  # Oct-19  (Excel read 10-19 as October 2019)


def looks_like_fairface(columns) -> bool:
    return "file" in columns and sum(c in columns for c in ("age", "gender", "race")) >= 2


def label_files(folder: Path) -> list[Path]:
    """The FairFace labels CSVs in ``folder``: any ``*_labels.csv`` (or ``fairface_label_*.csv``) with a FairFace header."""
    from trainlab.data.readers.common import read_csv_header

    found = sorted({*folder.glob("*_labels.csv"), *folder.glob("fairface_label_*.csv")})
    return [p for p in found if p.is_file() and looks_like_fairface(read_csv_header(p))]


def find_label_files(path: Path) -> tuple[Path, Path | None]:
    """(train file, val file or None) for a FairFace folder or labels CSV.

    A folder without a train labels CSV but with exactly one other labels CSV (``val_labels.csv`` alone,
    with its ``val/`` images) reads that file on its own, as when the file itself is given.
    """
    if path.is_dir():
        train = next((path / n for n in TRAIN_NAMES if (path / n).is_file()), None)
        if train is None:
            others = label_files(path)
            if len(others) == 1:
                log.warning("%s: no %s; reading %s on its own (val and test carved from it)",
                            path, " or ".join(TRAIN_NAMES), others[0].name)
                return others[0], None
            if others:
                raise TrainlabError(
                    f"{path}: no {' or '.join(TRAIN_NAMES)} but {len(others)} labels CSVs ({', '.join(p.name for p in others)}); "
                    f"give the one to read as the dataset, e.g. trainlab data inspect {others[0]}"
                )
            raise TrainlabError(f"{path}: no {' or '.join(TRAIN_NAMES)}; a FairFace dataset needs a labels CSV")
        val = next((path / n for n in VAL_NAMES if (path / n).is_file()), None)
        return train, val
    if path.name in TRAIN_NAMES:  # the train CSV given: its val CSV beside it belongs to the dataset
        val = next((path.parent / n for n in VAL_NAMES if (path.parent / n).is_file()), None)
        return path, val
    return path, None  # any other labels CSV stands alone: val and test are carved from it


def repair_age_bin(value: str) -> str | None:
    """'03-Sep' → '3-9', 'Oct-19' → '10-19'; None if ``value`` is not a damaged bin."""
    m = _DAY_MONTH.match(value)
    if m and m.group(2).lower() in _MONTHS:
        a, b = int(m.group(1)), _MONTHS[m.group(2).lower()]
    else:
        m = _MONTH_NUM.match(value)
        if not (m and m.group(1).lower() in _MONTHS):
            return None
        a, b = _MONTHS[m.group(1).lower()], int(m.group(2))
    return f"{min(a, b)}-{max(a, b)}"


def read_fairface(path: Path, *, target: str | None = None) -> Table:
    path = Path(path)
    train_file, val_file = find_label_files(path)
    base = train_file.parent
    target = target or DEFAULT_TARGET
    log.info("FairFace target column: %s%s", target, " (choose gender, race or age: data.target=... for train, --target for data inspect)" if target == DEFAULT_TARGET else "")

    frames = []
    repairs: dict[str, str] = {}
    repaired_rows = 0
    for file, split in ((train_file, "train"), (val_file, "test")):
        if file is None:
            continue
        f = csv_frame(file)
        require_columns(f, file, ["file"], hint="FairFace labels have file,age,gender,race,service_test")
        if target not in f.columns:
            raise TrainlabError(
                f"{file}: no column '{target}' to use as the target; choose one of "
                f"{[c for c in f.columns if c not in ('file', '_line')]} with --target"
            )
        if "age" in f.columns:
            fixed = f["age"].map(repair_age_bin)
            hit = fixed.notna()
            repaired_rows += int(hit.sum())
            repairs.update(dict(zip(f.loc[hit, "age"], fixed[hit])))
            f.loc[hit, "age"] = fixed[hit]
        check_target_values(f, file, target)
        f["split"] = split
        f["_origin"] = [f"{file.name}:{n}" for n in f["_line"]]
        frames.append(f)
    frame = pd.concat(frames, ignore_index=True)
    if repaired_rows:
        examples = ", ".join(f"'{k}' → '{v}'" for k, v in sorted(repairs.items()))
        log.warning("repaired %d row(s) whose age bin a spreadsheet had turned into a date (%s)", repaired_rows, examples)

    attrs = attribute_columns(frame, ["file", target, "split"], train_file)
    out = frame.rename(columns=attrs)
    out["id"] = frame["file"]
    out["path"] = [resolve(base, f) for f in frame["file"]]
    out["label"] = frame[target]
    mapping = {"train": f"{train_file.name}, minus the carved val split" + (" and test split" if val_file is None else "")}
    if val_file is not None:
        mapping["test"] = f"{val_file.name} (FairFace has no test set: its val labels are held out as test)"
    else:
        mapping["test"] = f"carved from {train_file.name}"
    mapping["val"] = f"carved from {train_file.name}"
    log.info("FairFace layout detected: %s", "; ".join(f"{k} = {v}" for k, v in mapping.items()))
    source = {
        "format": "fairface", "root": str(base), "layout": "fairface-csv",
        "layout_description": "FairFace labels CSV: file,age,gender,race,service_test; image paths relative to the CSV",
        "files": {"train": train_file.name, **({"test": val_file.name} if val_file is not None else {})},
        "split_mapping": mapping,
        "repairs": [{"column": "age", "rows": repaired_rows, "values": repairs}] if repaired_rows else [],
    }
    declared = {"train": train_file.name, **({"test": val_file.name} if val_file is not None else {})}
    stratify = ["race"] if "race" in attrs.values() and target != "race" else []
    cols = ["id", "path", "label", "split", "_origin", *attrs.values()]
    return Table(frame=out[cols], target=target, source=source, declared=declared, stratify=stratify)
