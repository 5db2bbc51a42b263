"""``trainlab predict <run> <images | folder | dataset>``: a predictions table for new images.

Images go through the same decode-and-resize path as the training cache
(:func:`trainlab.data.images.decode_image`) and the same normalisation, both read from the run's
:class:`~trainlab.data.dataconfig.DataConfig` in the checkpoint, so a file predicts the same here as in training.

Inputs:

* image files, or folders searched recursively for image files: ``y_true`` is left empty;
* one dataset (a folder or labels CSV that ``trainlab data inspect`` recognises): every row, with its
  split, its true label (when the class is one the run knows) and its attribute columns. A folder's
  other image files (e.g. images beside the class folders of an ImageFolder) are predicted too, without a
  true label (split ``predict``), and a warning counts them: every image under a folder is predicted.

The table has the predictions-table columns (``id, path, split, y_true, y_pred, p_<class>...``).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from trainlab.artifacts.predictions import Predictions
from trainlab.errors import TrainlabError
from trainlab.utils.log import get_logger, progress

log = get_logger("trainlab.predict")


def load_run_model(run: str | Path, checkpoint: str = "best", device: str = "auto"):
    """The model of a run's checkpoint, on ``device``, in eval mode; the weights metadata; the run's data config."""
    from trainlab.data.dataconfig import DataConfig
    from trainlab.models.factory import build_from_spec
    from trainlab.models.weights import read_metadata
    from trainlab.training.checkpoint import WEIGHTS, resolve
    from trainlab.utils.device import pick_device

    run = Path(run)
    if not run.is_dir():
        raise TrainlabError(f"{run}: no such run folder")
    folder = run / "checkpoints" / checkpoint
    try:
        folder = resolve(folder)
    except TrainlabError:
        other = "last" if checkpoint == "best" else "best"
        try:
            folder = resolve(run / "checkpoints" / other)
            log.warning("%s has no '%s' checkpoint; using '%s'", run, checkpoint, other)
        except TrainlabError:
            raise TrainlabError(f"{run} has no checkpoint yet (checkpoints/{checkpoint}); train it first") from None
    file = folder / WEIGHTS
    meta = read_metadata(file)
    for key in ("classes", "data_config"):
        if key not in meta:
            raise TrainlabError(f"{file} lacks '{key}' in its metadata; it was not written by 'trainlab train'")
    legacy = {"resize": meta["resize"]} if "resize" in meta else {}  # files before the data config held the policy apart
    data_config = DataConfig.from_dict({**legacy, **meta["data_config"]}, where=f"{file}: data_config")
    model = build_from_spec(meta, weights=file, where=str(file))
    dev = pick_device(device)
    return model.to(dev).eval(), meta, data_config, dev


def collect_images(inputs: Iterable[str | Path]) -> list[Path]:
    """Image files given directly or found (recursively, sorted) in the given folders."""
    from trainlab.data.images import IMAGE_EXTENSIONS

    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = _images_under(item)
            if not found:
                raise TrainlabError(f"{item}: no image files in this folder (looked for {', '.join(sorted(IMAGE_EXTENSIONS))})")
            files.extend(found)
        elif item.is_file():
            files.append(item)
        else:
            raise TrainlabError(f"{item}: no such file or folder")
    return files


def _dataset_frame(inputs: list[Path], classes: list[str]) -> pd.DataFrame | None:
    """The rows of a dataset when the single input is one (with y_true names), else None."""
    if len(inputs) != 1:
        return None
    item = inputs[0]
    if not (item.is_dir() or item.suffix.lower() in (".csv", ".txt")):
        return None
    from trainlab.data.formats import load_manifest

    try:
        # rows as they are: no carving; leakage and label typos are the dataset's business, reported, not fatal, here
        manifest = load_manifest(item, fmt="auto", val_fraction=0.0, test_fraction=0.0, duplicate_images="warn", label_typos="warn")
    except TrainlabError as exc:
        if item.is_dir():
            log.debug("%s is not a dataset layout (%s); predicting its image files", item, exc)
            return None
        raise
    frame = manifest.frame[["id", "path", "split", *manifest.attributes]].copy()  # not the internal _… columns
    names = manifest.label_names().astype(str)
    known = names.isin(classes)
    if not known.all():
        log.warning("%d of %d images have a label this run does not know (%s...); their y_true is left empty",
                    int((~known).sum()), len(frame), sorted(set(names[~known]))[:5])
    frame["y_true"] = names.where(known, "")
    layout = manifest.source.get("layout_description") or manifest.source.get("format")
    log.info("%s: read as a dataset (%s): %d labelled image(s)", item, layout, len(frame))
    if item.is_dir():  # every image under the folder is predicted, listed by the dataset or not
        listed = {os.path.realpath(p) for p in frame["path"]}
        extra = [p for p in _images_under(item) if os.path.realpath(p) not in listed]
        if extra:
            log.warning("%s: %d image file(s) under it are not part of the %s dataset read there (e.g. %s); "
                        "they are predicted too, without a true label (split 'predict')",
                        item, len(extra), manifest.source.get("format"), ", ".join(str(p.relative_to(item)) for p in extra[:3]))
            frame = pd.concat([frame, pd.DataFrame({
                "id": [p.relative_to(item).as_posix() for p in extra], "path": [os.path.abspath(p) for p in extra],
                "split": "predict", "y_true": ""})], ignore_index=True)
    return frame


def _images_under(folder: Path) -> list[Path]:
    from trainlab.data.images import IMAGE_EXTENSIONS

    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def predict_paths(model, paths: list[Path], *, data_config, device, batch_size: int = 256,
                  on_bad_image: str = "error", tta: str = "off") -> tuple[np.ndarray, np.ndarray]:
    """Probabilities for image files, decoded and normalised as ``data_config`` says (the run's own);
    ``tta="flip"``: the mean of the probabilities of each image and its mirror (as the run's evaluation).

    Returns ``(proba, ok)`` where ``ok`` marks decoded files.
    """
    import torch

    from trainlab.training.averaging import tta_proba

    from trainlab.data.images import decode_image
    from trainlab.data.loader import Normalize

    norm = Normalize(data_config.mean, data_config.std)

    def decode(path):
        try:
            return decode_image(path, data_config.size, data_config.resize)
        except TrainlabError as exc:
            if on_bad_image == "error":
                raise
            log.warning("skipped %s: %s", path, getattr(exc, "reason", exc))
            return None

    proba = np.zeros((len(paths), model_output_size(model)), np.float32)
    ok = np.zeros(len(paths), bool)
    with ThreadPoolExecutor(max_workers=4) as pool, progress(total=len(paths), desc="predict", unit="img") as bar:
        for start in range(0, len(paths), batch_size):
            chunk = list(pool.map(decode, paths[start : start + batch_size]))
            good = [k for k, img in enumerate(chunk) if img is not None]
            if good:
                x = torch.from_numpy(np.stack([chunk[k] for k in good])).to(device)
                with torch.inference_mode():
                    p = tta_proba(model, norm(x)) if tta == "flip" else torch.softmax(model(norm(x)).float(), -1)
                    proba[start + np.array(good)] = p.cpu().numpy()
                ok[start + np.array(good)] = True
            bar.update(len(chunk))
    return proba, ok


def model_output_size(model) -> int:
    spec = getattr(model, "trainlab_spec", None) or {}
    return int(spec["num_classes"])


def default_out(run: str | Path) -> Path:
    """Where ``trainlab predict`` writes the table unless told otherwise."""
    return Path(run) / "predictions" / "predict.csv"


def predict(run: str | Path, inputs: list[str | Path], *, checkpoint: str = "best", batch_size: int = 256,
            device: str = "auto", on_bad_image: str = "error", tta: str | None = None) -> Predictions:
    """The predictions table for ``inputs`` (see the module docstring); ``.write(file)`` stores it.
    ``tta``: ``off`` or ``flip``; None: what the run evaluated with (its ``train.tta``)."""
    if batch_size < 1:
        raise TrainlabError(f"--batch-size must be at least 1; got {batch_size}")
    if tta not in (None, "off", "flip"):
        raise TrainlabError(f"--tta {tta!r} is not allowed; choose off or flip")
    model, meta, data_config, dev = load_run_model(run, checkpoint, device)
    tta = tta or str(meta.get("tta", "off"))
    classes = [str(c) for c in meta["classes"]]
    inputs = [Path(p) for p in inputs]
    rows = _dataset_frame(inputs, classes)
    if rows is None:
        files = collect_images(inputs)
        rows = pd.DataFrame({"id": [str(p) for p in files], "path": [str(p.resolve()) for p in files],
                             "split": "predict", "y_true": ""})
    paths = [Path(p) for p in rows["path"]]
    proba, ok = predict_paths(model, paths, data_config=data_config, device=dev,
                              batch_size=batch_size, on_bad_image=on_bad_image, tta=tta)
    rows, proba = rows[ok].reset_index(drop=True), proba[ok]
    if len(rows) == 0:
        raise TrainlabError(f"none of the {len(paths)} input file(s) could be decoded as an image "
                            f"(e.g. {paths[0]}); the warnings above give each file's reason")
    codes = rows["y_true"].map({c: i for i, c in enumerate(classes)}).fillna(-1).to_numpy(dtype=np.int64)
    table = Predictions.build(
        classes=classes, proba=proba, y_true=codes, ids=rows["id"], paths=rows["path"], split=rows["split"],
        attributes=rows.drop(columns=[c for c in ("id", "path", "split", "y_true") if c in rows.columns]),
    )
    return table
