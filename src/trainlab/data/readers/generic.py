"""ImageFolder (``root/<split>/<class>/*`` or ``root/<class>/*``) and the generic CSV
(``path,label[,split][,any attribute columns]``, paths relative to the CSV)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from trainlab.data.images import IMAGE_EXTENSIONS
from trainlab.data.readers.common import (
    SPLIT_NAMES, Table, attribute_columns, check_target_values, csv_frame, require_columns, resolve,
)
from trainlab.errors import TrainlabError, where
from trainlab.utils.log import get_logger

log = get_logger("trainlab.data")

PATH_COLUMNS = ("path", "file", "filepath", "filename", "image")


def _subdirs(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)


def looks_like_imagefolder(root: Path) -> bool:
    subs = _subdirs(root)
    if not subs:
        return False
    if any(p.name.lower() in SPLIT_NAMES for p in subs):
        return True
    return any(_has_image(d) for d in subs)


def _has_image(folder: Path) -> bool:
    for _, _, files in os.walk(folder):
        if any(Path(f).suffix.lower() in IMAGE_EXTENSIONS for f in files):
            return True
    return False


def read_imagefolder(root: Path) -> Table:
    root = Path(root)
    subs = _subdirs(root)
    split_dirs = {SPLIT_NAMES[p.name.lower()]: p for p in subs if p.name.lower() in SPLIT_NAMES}
    if split_dirs:
        others = [p.name for p in subs if p.name.lower() not in SPLIT_NAMES]
        if others:
            log.warning("%s: ignoring folder(s) %s that are not split names (train, val, test)", root, others)
        layout, description = "imagefolder-splits", "ImageFolder: <root>/<split>/<class>/<image>"
    else:
        split_dirs = {"train": root}
        layout, description = "imagefolder", "ImageFolder without splits: <root>/<class>/<image> (val and test carved)"
    rows, ignored = [], []
    for split, folder in split_dirs.items():
        for class_dir in _subdirs(folder):
            for dirpath, dirnames, files in os.walk(class_dir):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    p = Path(dirpath) / name
                    if p.suffix.lower() not in IMAGE_EXTENSIONS:
                        ignored.append(str(p.relative_to(root)))
                        continue
                    rows.append((p.relative_to(root).as_posix(), str(p), class_dir.name, split, None))
    if ignored:
        log.warning("%s: ignored %d file(s) without an image extension, e.g. %s", root, len(ignored), ", ".join(ignored[:3]))
    frame = pd.DataFrame(rows, columns=["id", "path", "label", "split", "_origin"])
    if frame.empty:
        raise TrainlabError(f"{root}: no image files found in <split>/<class>/ or <class>/ folders")
    log.info("ImageFolder layout detected in %s: %s", root, description)
    declared = {s: f"{p.relative_to(root).as_posix() or '.'}/" for s, p in split_dirs.items()}
    source = {"format": "imagefolder", "root": str(root), "layout": layout, "layout_description": description,
              "files": declared, "ignored_files": len(ignored)}
    return Table(frame=frame, target="label", source=source, declared=declared)


def looks_like_csv(columns) -> bool:
    return any(c in columns for c in PATH_COLUMNS) and ("label" in columns)


def read_csv(path: Path, *, target: str | None = None) -> Table:
    path = Path(path)
    frame = csv_frame(path)
    path_col = next((c for c in PATH_COLUMNS if c in frame.columns), None)
    if path_col is None:
        raise TrainlabError(f"{where(path, 1)}: no image path column; name one of {list(PATH_COLUMNS)} (e.g. path,label,split)")
    target = target or "label"
    require_columns(frame, path, [target], hint="choose the label column with --target" if target == "label" else "")
    check_target_values(frame, path, target)
    declared = {}
    if "split" in frame.columns:
        split = frame["split"].str.lower().map(SPLIT_NAMES)
        bad = frame[split.isna()]
        if len(bad):
            row = bad.iloc[0]
            raise TrainlabError(
                f"{where(path, int(row['_line']), 'split')}: unknown split {row['split']!r}; "
                f"use train, val or test ({len(bad)} row(s) in all)"
            )
        frame["split"] = split
        declared = {s: f"{path.name} (split column)" for s in ("train", "val", "test") if (split == s).any()}
    else:
        frame["split"] = "train"
        declared = {"train": path.name}
    attrs = attribute_columns(frame, [path_col, target, "split"], path)
    out = frame.rename(columns=attrs)
    out["id"] = frame[path_col]
    out["path"] = [resolve(path.parent, p) for p in frame[path_col]]
    out["label"] = frame[target]
    out["split"] = frame["split"]
    out["_origin"] = [f"{path.name}:{n}" for n in frame["_line"]]
    description = f"generic CSV: {path_col},{target}" + (",split" if "split" in frame.columns else "") + " + attributes"
    log.info("CSV layout detected in %s: %s", path, description)
    source = {"format": "csv", "root": str(path.parent), "layout": "csv", "layout_description": description,
              "files": {"labels": path.name}}
    cols = ["id", "path", "label", "split", "_origin", *attrs.values()]
    return Table(frame=out[cols], target=target, source=source, declared=declared)
