"""Dataset checks, cheap ones at read time and the deep image scan.

Cheap (run by :func:`trainlab.data.formats.load_manifest` on every read):

- a listed file that does not exist, or is empty (0 bytes);
- the same image listed twice (within a split, or across splits: test data leaking into training);
- an empty split (a split file or folder with no rows, or every row skipped);
- a class present in val or test but absent from train (the model could never predict it).

Label values outside ``classes.txt`` are checked by the IP102 reader, where the line is known.
Deep checks (truncated or non-image files) need a decode; the image cache does them where it
decodes anyway, and :func:`scan_images` does them for ``trainlab data inspect``.

Each problem is a :class:`~trainlab.errors.TrainlabError` naming the file and line (``origin``), or,
for bad image files with ``on_bad_image="skip"``, a counted and listed skip.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from trainlab.errors import TrainlabError
from trainlab.utils.log import get_logger

log = get_logger("trainlab.data")

ON_BAD_IMAGE = ("error", "skip")
SHOW = 10  # problems listed in one message


def check_on_bad_image(value: str) -> str:
    if value not in ON_BAD_IMAGE:
        raise TrainlabError(f"on_bad_image must be one of {', '.join(ON_BAD_IMAGE)}; got '{value}'")
    return value


def describe(path: str, origin: str | None) -> str:
    """``path (train.txt:17)``: a file and where the dataset lists it."""
    return f"{path} ({origin})" if origin else str(path)


def listing(items: list[str], show: int = SHOW) -> str:
    head = "\n  ".join(items[:show])
    more = f"\n  ... and {len(items) - show} more" if len(items) > show else ""
    return f"\n  {head}{more}"


def origins(frame: pd.DataFrame) -> list[str | None]:
    if "_origin" in frame.columns:
        return [None if (o is None or o != o) else str(o) for o in frame["_origin"]]
    return [None] * len(frame)


def check_files(frame: pd.DataFrame, *, on_bad_image: str = "error") -> tuple[pd.DataFrame, list[dict]]:
    """Missing and zero-byte files: an error naming them, or with ``on_bad_image="skip"`` rows removed.

    Returns the kept rows and the skips as ``{"path", "reason", "origin"}`` records.
    """
    check_on_bad_image(on_bad_image)
    bad: list[dict] = []
    keep = np.ones(len(frame), dtype=bool)
    for i, (path, origin) in enumerate(zip(frame["path"], origins(frame))):
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            reason = "file not found"
        except OSError as exc:
            reason = f"cannot be read ({exc.strerror})"
        else:
            if size > 0:
                continue
            reason = "empty file (0 bytes)"
        keep[i] = False
        bad.append({"path": str(path), "reason": reason, "origin": origin})
    if bad and on_bad_image == "error":
        raise TrainlabError(
            f"{len(bad)} listed image file(s) are missing or empty:"
            + listing([f"{describe(b['path'], b['origin'])}: {b['reason']}" for b in bad])
            + "\nCheck the dataset root, or pass --on-bad-image skip (on_bad_image='skip') to leave them out."
        )
    if bad:
        log.warning("skipping %d missing or empty image file(s):%s", len(bad),
                    listing([f"{describe(b['path'], b['origin'])}: {b['reason']}" for b in bad]))
    return frame[keep].reset_index(drop=True), bad


def check_duplicates(frame: pd.DataFrame) -> None:
    """The same file listed twice is an error: within a split it double-counts, across splits it leaks."""
    paths = frame["path"].map(os.path.normpath)
    dup = paths.duplicated(keep=False)
    if not dup.any():
        return
    where = origins(frame)
    groups: dict[str, list[str]] = {}
    for i in np.flatnonzero(dup.to_numpy()):
        groups.setdefault(paths.iat[i], []).append(f"{where[i] or frame['id'].iat[i]} [{frame['split'].iat[i]}]")
    items = [f"{p}: listed at {', '.join(locs)}" for p, locs in groups.items()]
    raise TrainlabError(
        f"{len(groups)} image file(s) are listed more than once (a file in two splits leaks test data into training):"
        + listing(items) + "\nRemove the duplicate rows."
    )


def check_nonempty(frame: pd.DataFrame, declared: dict[str, str], *, skipped: int = 0) -> None:
    """Every declared split (``{"val": "val.txt"}``) has at least one row; train always must."""
    counts = frame["split"].value_counts()
    for split, where in {"train": declared.get("train", "the dataset"), **declared}.items():
        if counts.get(split, 0) == 0:
            raise TrainlabError(
                f"split '{split}' ({where}) is empty"
                + (f" after skipping {skipped} bad file(s)" if skipped else "")
                + "; it needs at least one image. Add images to it, or remove it so that it is carved from train."
            )


def check_unseen_classes(frame: pd.DataFrame, classes: list[str]) -> None:
    """A class in val/test with no training image cannot be learned: name the class and where it appears."""
    train = set(frame.loc[frame["split"] == "train", "label"])
    other = frame[(frame["split"] != "train") & ~frame["label"].isin(train)]
    if other.empty:
        return
    where = origins(other)
    first: dict[int, str] = {}
    for pos, (label, split) in enumerate(zip(other["label"], other["split"])):
        first.setdefault(int(label), f"first at {where[pos] or other['id'].iat[pos]} [{split}]")
    items = [f"class '{classes[k]}' (label {k}): {n} image(s), {first[k]}"
             for k, n in other["label"].value_counts().sort_index().items()]
    raise TrainlabError(
        f"{len(first)} class(es) appear in val/test but have no training image:" + listing(items)
        + "\nAdd training images for them or remove those rows."
    )
