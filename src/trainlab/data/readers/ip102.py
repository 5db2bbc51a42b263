"""IP102: ``train.txt`` / ``val.txt`` / ``test.txt`` with ``<file> <label>`` lines (labels 0-based) and an
optional ``classes.txt`` of ``<n>  <name>`` lines (1-based; CRLF line ends and trailing tabs as in the
official release are tolerated).

Images are found in one of two layouts, detected from the files:

- official release:   ``<root>/images/<file>``
- coursework layout:  ``<root>/classification/<split>/<label>/<file>``
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from trainlab.data.readers.common import Table
from trainlab.errors import TrainlabError, where
from trainlab.utils.log import get_logger

log = get_logger("trainlab.data")

SPLIT_FILES = {"train": "train.txt", "val": "val.txt", "test": "test.txt"}
LAYOUTS = {
    "official": "official release: images/<file>",
    "coursework": "coursework: classification/<split>/<label>/<file>",
}


def read_ip102(root: Path, *, check_files: bool = True) -> Table:
    root = Path(root)
    present = {s: root / f for s, f in SPLIT_FILES.items() if (root / f).is_file()}
    if "train" not in present:
        raise TrainlabError(f"{root}: no train.txt; an IP102 dataset needs train.txt (and usually val.txt, test.txt)")
    classes_file = root / "classes.txt"
    classes = read_classes(classes_file) if classes_file.is_file() else None

    rows = []
    for split, path in present.items():
        entries = read_split_file(path)
        if not entries:
            raise TrainlabError(
                f"split '{split}' ({path}) is empty; it needs '<file> <label>' lines. "
                "Add them, or delete the file so that the split is carved from train."
            )
        rows.extend((split, name, label, f"{path.name}:{line}") for name, label, line in entries)
    frame = pd.DataFrame(rows, columns=["split", "file", "label", "_origin"])

    n_classes = len(classes) if classes is not None else int(frame["label"].max()) + 1
    bad = frame[(frame["label"] < 0) | (frame["label"] >= n_classes)]
    if len(bad):
        first = bad.iloc[0]
        ref = f"{classes_file.name} ({n_classes} classes: labels 0..{n_classes - 1})" if classes is not None else "0-based labels"
        raise TrainlabError(
            f"{root / first['_origin']}: label {first['label']} is outside "
            f"{ref}; {len(bad)} row(s) in all. IP102 labels are 0-based: line n of classes.txt is label n-1."
        )
    if classes is None:
        classes = [str(i) for i in range(n_classes)]

    layout = detect_layout(root, frame, check_files=check_files)
    if layout == "coursework":
        sub = _classification_dir(root).name
        frame["id"] = [f"{sub}/{s}/{lab}/{f}" for s, lab, f in zip(frame["split"], frame["label"], frame["file"])]
    else:
        frame["id"] = "images/" + frame["file"]
    frame["path"] = [str(root / i) for i in frame["id"]]
    frame["label"] = [classes[k] for k in frame["label"]]
    log.info("IP102 layout detected in %s: %s", root, LAYOUTS.get(layout, layout))
    source = {
        "format": "ip102", "root": str(root), "layout": layout, "layout_description": LAYOUTS.get(layout, layout),
        "files": {s: p.name for s, p in present.items()}, "classes_file": classes_file.name if classes_file.is_file() else None,
    }
    return Table(
        frame=frame[["id", "path", "label", "split", "_origin"]], target="label", source=source,
        declared={s: p.name for s, p in present.items()}, classes=classes,
    )


def read_split_file(path: Path) -> list[tuple[str, int, int]]:
    """``(file, label, line)`` for each ``<file> <label>`` line; blank lines skipped, CRLF tolerated."""
    out = []
    text = _read_text(path)
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        parts = line.rsplit(None, 1)
        if len(parts) != 2:
            raise TrainlabError(f"{where(path, lineno)}: expected '<file> <label>', got {line!r}")
        name, label = parts
        try:
            value = int(label)
        except ValueError:
            raise TrainlabError(f"{where(path, lineno)}: label {label!r} is not an integer (expected '<file> <label>', label 0-based)") from None
        out.append((name.strip(), value, lineno))
    return out


def read_classes(path: Path) -> list[str]:
    """Class names from ``<n>  <name>`` lines, n = 1, 2, ... in order (CRLF and trailing tabs tolerated)."""
    names = []
    for lineno, raw in enumerate(_read_text(path).splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        parts = line.split(None, 1)
        try:
            n = int(parts[0])
        except ValueError:
            raise TrainlabError(f"{where(path, lineno)}: expected '<n>  <name>' with n a number, got {line!r}") from None
        if n != len(names) + 1:
            raise TrainlabError(f"{where(path, lineno)}: class number {n} out of sequence; expected {len(names) + 1} (numbers run 1, 2, 3, ...)")
        names.append(parts[1].strip() if len(parts) > 1 else str(n - 1))
    if not names:
        raise TrainlabError(f"{path} lists no classes; delete it to use the label numbers as names")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise TrainlabError(f"{path}: class name(s) {dup} appear more than once")
    return names


def detect_layout(root: Path, frame: pd.DataFrame, *, check_files: bool) -> str:
    """official, coursework or (with ``check_files=False`` and no images) official, assumed."""
    candidates = []
    if (root / "images").is_dir():
        candidates.append("official")
    if _classification_dir(root) is not None:
        candidates.append("coursework")
    if len(candidates) > 1:  # both folders: pick the one that holds the first listed image
        first = frame.iloc[0]
        cls = _classification_dir(root)
        if not (root / "images" / first["file"]).exists() and (cls / first["split"] / str(first["label"]) / first["file"]).exists():
            return "coursework"
        return "official"
    if candidates:
        return candidates[0]
    if check_files:
        raise TrainlabError(
            f"{root}: IP102 split files found but no images: expected {root / 'images'}/<file> (official release) "
            f"or {root / 'classification'}/<split>/<label>/<file> (coursework layout). "
            "To summarise the split files alone: trainlab data inspect <folder> --no-image-check"
        )
    log.warning("%s: no images folder; reading the split files only (image paths assume images/<file>)", root)
    return "official"


def _classification_dir(root: Path) -> Path | None:
    for name in ("classification", "Classification"):
        if (root / name).is_dir():
            return root / name
    return None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return path.read_text(encoding="latin-1")
