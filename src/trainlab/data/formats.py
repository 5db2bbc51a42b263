"""Dataset readers → one :class:`~trainlab.data.manifest.Manifest`.

``load_manifest(root)`` detects the layout (or takes ``fmt``), reads it, runs the cheap checks
(:mod:`trainlab.data.validate`), carves the splits the dataset lacks, and says what it did in the
log and in ``manifest.source`` (format, layout detected, split mapping, carved splits, repairs,
skipped files), which every run records.

Layouts (``fmt``):

``ip102``        ``train.txt``/``val.txt``/``test.txt`` (+ ``classes.txt``); images in ``images/`` or
                 ``classification/<split>/<label>/`` (see :mod:`trainlab.data.readers.ip102`)
``fairface``     ``train_labels.csv`` (+ ``val_labels.csv``), or any ``*_labels.csv``: ``file,age,gender,race,service_test``
                 (see :mod:`trainlab.data.readers.fairface` for the split mapping)
``imagefolder``  ``<root>/<split>/<class>/<image>`` or ``<root>/<class>/<image>``
``csv``          ``path,label[,split][,attributes…]``, paths relative to the CSV

Missing splits are carved from train with a seeded stratified split (:mod:`trainlab.data.splits`):
val with ``val_fraction`` and, when there is no test split, test with ``test_fraction``.
"""

from __future__ import annotations

import os
from pathlib import Path

from trainlab.data.manifest import Manifest
from trainlab.data.readers.common import Table, natural_sorted, read_csv_rows
from trainlab.data.splits import carve_splits
from trainlab.data import validate
from trainlab.errors import TrainlabError
from trainlab.utils.log import get_logger

log = get_logger("trainlab.data")

FORMATS = ("auto", "ip102", "fairface", "imagefolder", "csv")


def detect_format(root: str | os.PathLike) -> str:
    """Which layout ``root`` is in: ip102, fairface, imagefolder or csv."""
    from trainlab.data.readers import fairface, generic

    root = Path(root)
    if not root.exists():
        raise TrainlabError(f"dataset path {root} does not exist")
    if root.is_file():
        if root.suffix.lower() != ".csv":
            raise TrainlabError(f"{root}: a dataset file must be a labels CSV; for IP102 or ImageFolder give the folder")
        header = read_csv_rows(root)[0]
        if fairface.looks_like_fairface(header):
            return "fairface"
        if generic.looks_like_csv(header) or any(c in header for c in generic.PATH_COLUMNS):
            return "csv"
        raise TrainlabError(
            f"{root}: cannot tell the layout from the header {header}; FairFace needs file,age,gender,race "
            f"and a generic CSV needs path,label[,split]. Pass --format"
        )
    if (root / "train.txt").is_file():
        return "ip102"
    if any((root / n).is_file() for n in fairface.TRAIN_NAMES) or fairface.label_files(root):
        return "fairface"
    if generic.looks_like_imagefolder(root):
        return "imagefolder"
    csvs = sorted(root.glob("*.csv"))
    if len(csvs) == 1 and generic.looks_like_csv(read_csv_rows(csvs[0])[0]):
        return "csv"
    raise TrainlabError(
        f"cannot tell the layout of {root}: expected train.txt (IP102), *_labels.csv (FairFace), "
        "<split>/<class>/ image folders (ImageFolder) or one CSV with path,label columns. Pass --format"
    )


def dataset_root(root: str | os.PathLike) -> Path:
    """The dataset's real path: ``~`` expanded, absolute, symlinks resolved. The one place a root is resolved.

    The manifest's paths, the run record's ``data.root`` and so the image cache's key all derive from it, so
    a run started from another folder, through a relative path or through a symlinked folder (macOS's /tmp)
    and its ``--resume`` (which reads ``data.root`` back from config.yaml) find the same cache.
    """
    return Path(root).expanduser().resolve()


def load_manifest(
    root: str | os.PathLike,
    fmt: str = "auto",
    target: str | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
    on_bad_image: str = "error",
    *,
    test_fraction: float = 0.1,
    check_files: bool = True,
    accept_labels=(),
    duplicate_images: str = "error",
    label_typos: str = "error",
) -> Manifest:
    """Read a dataset into a Manifest.

    ``target``: the column to classify (FairFace: gender, race or age; CSV: default ``label``).
    ``val_fraction`` / ``test_fraction``: shares of train carved out (seeded by ``seed``, stratified by
    class) when the dataset has no val / test split. ``on_bad_image="skip"`` leaves out missing and
    empty files, counted and listed in ``manifest.source["skipped"]``, instead of stopping.
    ``check_files=False`` reads the lists without touching the images.
    ``accept_labels``: rare label names that are real classes, not typos of a frequent one.
    ``duplicate_images="warn"``: keep byte-identical files that the dataset puts in different splits
    (default: an error). ``label_typos="warn"``: suspected label typos are logged, not an error.
    """
    from trainlab.data.readers.fairface import read_fairface
    from trainlab.data.readers.generic import read_csv, read_imagefolder
    from trainlab.data.readers.ip102 import read_ip102

    validate.check_on_bad_image(on_bad_image)
    if fmt not in FORMATS:
        raise TrainlabError(f"unknown dataset format '{fmt}'; allowed: {', '.join(FORMATS)}")
    root = dataset_root(root)
    if not root.exists():
        raise TrainlabError(f"dataset path {root} does not exist")
    detected = detect_format(root) if fmt == "auto" else fmt
    if fmt == "auto":
        log.info("dataset format detected: %s", detected)
    if detected == "ip102":
        if target not in (None, "label"):
            raise TrainlabError(f"IP102 has one target (the insect class); --target {target} does not apply")
        table = read_ip102(_folder(root, "ip102"), check_files=check_files)
    elif detected == "fairface":
        table = read_fairface(root, target=target)
    elif detected == "imagefolder":
        table = read_imagefolder(_folder(root, "imagefolder"))
    else:
        table = read_csv(_csv_file(root), target=target)
    return finish(table, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed,
                  on_bad_image=on_bad_image, check_files=check_files, accept_labels=accept_labels,
                  duplicate_images=duplicate_images, label_typos=label_typos)


def finish(
    table: Table, *, val_fraction: float, test_fraction: float, seed: int, on_bad_image: str, check_files: bool,
    accept_labels=(), duplicate_images: str = "error", label_typos: str = "error",
) -> Manifest:
    """Checks, class indices, carved splits: a reader's Table → Manifest."""
    frame = table.frame.copy()
    if table.classes is None:  # classes derived from the labels: a typo would make a class of its own
        validate.check_label_typos(frame, accept=accept_labels, on_typo=label_typos)
    classes = table.classes or natural_sorted(frame["label"].unique())
    index = {name: i for i, name in enumerate(classes)}
    frame["label"] = frame["label"].map(index)
    if frame["label"].isna().any():  # readers with fixed classes validate earlier; this is a guard
        raise TrainlabError(f"labels {sorted(set(table.frame['label']) - set(classes))} are not among the classes {classes}")
    frame["label"] = frame["label"].astype("int64")

    validate.check_duplicates(frame)
    skipped: list[dict] = []
    if check_files:
        frame, skipped = validate.check_files(frame, on_bad_image=on_bad_image)
    validate.check_nonempty(frame, table.declared, skipped=len(skipped))
    identical = validate.identical_files(frame) if check_files else []
    accepted = validate.check_identical_across_splits(frame, identical, duplicate_images=duplicate_images)

    carve = {}
    if "test" not in table.declared and test_fraction > 0:
        carve["test"] = test_fraction
    if "val" not in table.declared and val_fraction > 0:
        carve["val"] = val_fraction
    source = dict(table.source)
    if carve:
        before = frame["split"].to_numpy().copy()
        frame, records = carve_splits(frame, fractions=carve, stratify=["label", *table.stratify], seed=seed)
        moved = validate.keep_together(frame, identical, before)
        if moved:
            counts = frame["split"].value_counts()
            for r in records:
                r["rows"] = int(counts.get(r["split"], 0))
            log.info("kept %d byte-identical copies of other images in their original split instead of carving them "
                     "into val/test apart from their twin", moved)
            source["kept_with_identical"] = moved
        source["carved"] = records
        for r in records:
            log.info("carved a %s split from train: %d rows (%.0f%%, seed %d, stratified by %s)",
                     r["split"], r["rows"], 100 * r["fraction"], seed, ", ".join([table.target, *table.stratify]))
    validate.check_unseen_classes(frame, classes)

    counts = frame["split"].value_counts()
    source.update(splits={s: int(counts.get(s, 0)) for s in ("train", "val", "test") if counts.get(s, 0)},
                  seed=seed, skipped=skipped)
    if accepted:
        source["identical_across_splits"] = accepted
    if accept_labels:
        source["accepted_labels"] = sorted(str(a) for a in accept_labels)
    empty = [c for i, c in enumerate(classes) if i not in set(frame["label"])]
    if empty:
        source["classes_without_images"] = empty
        log.warning("%d class(es) have no image in any split, e.g. %s", len(empty), empty[:3])
    attrs = [c for c in frame.columns if c not in ("id", "path", "label", "split", "_origin")]
    manifest = Manifest(frame[["id", "path", "label", "split", *attrs, "_origin"]], classes, table.target, source)
    log.info("%s: %s, %d classes%s", source.get("root"), ", ".join(f"{n} {s}" for s, n in source["splits"].items()),
             len(classes), f", attributes {attrs}" if attrs else "")
    return manifest


def _folder(root: Path, fmt: str) -> Path:
    if not root.is_dir():
        raise TrainlabError(f"{root}: the {fmt} format needs a folder, not a file")
    return root


def _csv_file(root: Path) -> Path:
    if root.is_file():
        return root
    csvs = sorted(root.glob("*.csv"))
    if len(csvs) != 1:
        raise TrainlabError(f"{root}: give the labels CSV file itself ({len(csvs)} CSV files in this folder)")
    return csvs[0]
