"""Dataset checks, cheap ones at read time and the deep image scan.

Cheap (run by :func:`trainlab.data.formats.load_manifest` on every read):

- a listed file that does not exist, or is empty (0 bytes);
- the same image listed twice (within a split, or across splits: test data leaking into training), compared
  by identity (device and inode), so a symlink or hard link to a listed file is that file;
- byte-identical files in different splits (sizes first, then a hash of the files that share a size):
  an error when the dataset puts them there (``duplicate_images="warn"`` accepts them), kept together
  when the split is carved;
- a rare label within a small edit distance of a frequent one (``Femael`` beside ``Female``): a typo
  that would make a class of its own, unless accepted by name (``accept_labels``);
- an empty split (a split file or folder with no rows, or every row skipped);
- a class present in val or test but absent from train (the model could never predict it).

Label values outside ``classes.txt`` are checked by the IP102 reader, where the line is known.
Deep checks (truncated or non-image files) need a decode; the image cache does them where it
decodes anyway, and :func:`scan_images` does them for ``trainlab data inspect``.

Each problem is a :class:`~trainlab.errors.TrainlabError` naming the file and line (``origin``), or,
for bad image files with ``on_bad_image="skip"``, a counted and listed skip.
"""

from __future__ import annotations

import hashlib
import os
import re
from concurrent.futures import ThreadPoolExecutor

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
    """The same file listed twice is an error: within a split it double-counts, across splits it leaks.

    Files are compared by identity (device and inode, which ``stat`` reads through symlinks), so a symlink
    or hard link and the file it points to are one file; a missing file by its normalised path.
    """
    paths = frame["path"].map(_identity)
    dup = paths.duplicated(keep=False)
    if not dup.any():
        return
    where = origins(frame)
    groups: dict[object, list[int]] = {}
    for i in np.flatnonzero(dup.to_numpy()):
        groups.setdefault(paths.iat[i], []).append(i)
    items = []
    for rows in groups.values():
        real = os.path.realpath(frame["path"].iat[rows[0]])
        locs = ", ".join(f"{where[i] or frame['id'].iat[i]} [{frame['split'].iat[i]}]" for i in rows)
        links = [str(frame["path"].iat[i]) for i in rows if os.path.normpath(frame["path"].iat[i]) != real]
        items.append(f"{real}: listed at {locs}" + (f" (through link(s) {', '.join(links)})" if links else ""))
    raise TrainlabError(
        f"{len(groups)} image file(s) are listed more than once (a file in two splits leaks test data into training):"
        + listing(items) + "\nRemove the duplicate rows."
    )


def _identity(path: str):
    try:
        st = os.stat(path)
    except OSError:
        return os.path.normpath(path)
    return (st.st_dev, st.st_ino)


DUPLICATE_IMAGES = ("error", "warn")


def identical_files(frame: pd.DataFrame) -> list[np.ndarray]:
    """Groups of rows (positions, ascending) whose files are byte-identical, two or more per group.

    Cheap: file sizes first; only files that share a size with another are hashed (BLAKE2b).
    Files that cannot be read are left out (``check_files`` reports them).
    """
    by_size: dict[int, list[int]] = {}
    for i, path in enumerate(frame["path"]):
        try:
            by_size.setdefault(os.stat(path).st_size, []).append(i)
        except OSError:
            continue
    todo = [i for size, rows in by_size.items() if len(rows) > 1 and size > 0 for i in rows]
    by_hash: dict[str, list[int]] = {}
    with ThreadPoolExecutor(max_workers=8) as pool:  # reading and hashing release the GIL
        for i, digest in zip(todo, pool.map(_digest, [frame["path"].iat[i] for i in todo])):
            if digest is not None:
                by_hash.setdefault(digest, []).append(i)
    return [np.asarray(sorted(rows)) for rows in by_hash.values() if len(rows) > 1]


def _digest(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return f"{os.fstat(fh.fileno()).st_size}:{hashlib.file_digest(fh, 'blake2b').hexdigest()}"
    except OSError:
        return None


def check_identical_across_splits(frame: pd.DataFrame, groups: list[np.ndarray], *, duplicate_images: str = "error") -> list[dict]:
    """Byte-identical files that the dataset puts in different splits leak test data into training.

    An error naming every such group, or with ``duplicate_images="warn"`` a warning; returns the groups
    found as ``{"files": [...], "splits": [...]}`` records for the manifest's source.
    """
    if duplicate_images not in DUPLICATE_IMAGES:
        raise TrainlabError(f"duplicate_images must be one of {', '.join(DUPLICATE_IMAGES)}; got '{duplicate_images}'")
    split = frame["split"].to_numpy()
    where = origins(frame)
    leaks = [g for g in groups if len(set(split[g])) > 1]
    if not leaks:
        return []
    items = [", ".join(f"{describe(frame['path'].iat[i], where[i])} [{split[i]}]" for i in g[:4])
             + (f" and {len(g) - 4} more copies" if len(g) > 4 else "") for g in leaks]
    head = (f"{len(leaks)} group(s) of byte-identical image files are in different splits "
            "(the same picture in training and evaluation leaks test data into training):" + listing(items))
    if duplicate_images == "error":
        raise TrainlabError(
            head + "\nRemove the copies from all but one split, or accept them knowingly with "
            "data.duplicate_images=warn (recipe) or --duplicate-images warn (trainlab data)."
        )
    log.warning("%s\nKept (duplicate_images=warn).", head)
    return [{"files": [str(frame["path"].iat[i]) for i in g], "splits": [str(split[i]) for i in g]} for g in leaks]


def keep_together(frame: pd.DataFrame, groups: list[np.ndarray], before: np.ndarray) -> int:
    """After carving: put every byte-identical group the carving split up back into its original split.

    ``before`` is the split column before carving. Changes ``frame`` in place; returns the rows moved.
    """
    col = frame.columns.get_loc("split")
    moved = 0
    now = frame["split"].to_numpy()
    for g in groups:
        origin = set(before[g])
        if len(origin) != 1 or len(set(now[g])) == 1:
            continue  # split by the dataset itself (reported earlier), or still together
        home = origin.pop()
        changed = g[now[g] != home]
        frame.iloc[changed, col] = home
        moved += len(changed)
    return moved


RARE_ROWS = 5  #: a label with at most this many rows ...
RARE_RATIO = 10  #: ... beside a label with at least this many times more, and a name that close, is a suspected typo


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps cost 1."""
    prev2, prev = [], list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def looks_like_typo(rare: str, common: str) -> bool:
    """``rare`` is within a small edit distance of ``common`` (case and spacing ignored).

    Allowed: 0 edits for names under 4 characters, 1 under 8, else 2. Names that differ only in
    their digits (``20-29``, ``30-39``: numbered bins) are different on purpose.
    """
    a, b = (" ".join(str(x).casefold().replace("_", " ").split()) for x in (rare, common))
    if re.sub(r"\d", "", a) == re.sub(r"\d", "", b) and a != b:
        return False
    shorter = min(len(a), len(b))
    allowed = 0 if shorter < 4 else 1 if shorter < 8 else 2
    return edit_distance(a, b) <= allowed


def check_label_typos(frame: pd.DataFrame, *, accept=(), on_typo: str = "error") -> None:
    """A label with very few rows whose name is close to a frequent label's is an error naming its rows.

    ``frame["label"]`` holds class names (before indexing). ``accept``: names that are real classes.
    ``on_typo="warn"`` logs instead (``trainlab predict``, which only reads true labels).
    """
    names = frame["label"].astype(str)
    counts = names.value_counts()
    accept = {str(a) for a in accept}
    suspects = []
    for rare, n in counts.items():
        if n > RARE_ROWS or rare in accept:
            continue
        common = next((c for c, m in counts.items() if m >= RARE_RATIO * n and looks_like_typo(rare, c)), None)
        if common is not None:
            suspects.append((rare, int(n), common, int(counts[common])))
    if not suspects:
        return
    where = origins(frame)
    items = []
    for rare, n, common, m in suspects:
        rows = np.flatnonzero(names.to_numpy() == rare)
        locs = ", ".join(where[i] or str(frame["path"].iat[i]) for i in rows)
        items.append(f"'{rare}' ({n} row(s): {locs}) looks like a typo of '{common}' ({m} rows)")
    accepted = ",".join(r for r, *_ in suspects)
    head = f"{len(suspects)} label(s) look like typos of a frequent label; each would become a class of its own:" + listing(items)
    if on_typo == "warn":
        log.warning("%s", head)
        return
    raise TrainlabError(
        head + "\nCorrect those rows; or, if they are real classes, accept them with "
        f"data.accept_labels=[{accepted}] (recipe) or "
        + " ".join(f"--accept-label {r!r}" if " " in r else f"--accept-label {r}" for r, *_ in suspects)
        + " (trainlab data inspect / cache)."
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
