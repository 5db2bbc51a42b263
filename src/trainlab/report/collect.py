"""Read what each stage wrote into a folder, for the report: plain data in, no HTML.

The report takes folders and finds out what they are from the files the stages write
(docs/DESIGN.md, "Run directory"):

* a **run** folder: ``run.json``, ``config.yaml``, ``history.csv``, ``predictions/``, ``metrics.json``,
  ``per_class.csv``, ``top_confusions.csv``, ``plots/*.png``, ``data/summary.json``, ``audit/``,
  ``mitigated-*/``; any of them may be missing (a run that was never audited has no ``audit/``);
* a **compare** folder: ``compare.json`` (``trainlab compare``);
* a **sine** folder: ``results.json`` with ``models`` (``trainlab sine`` / ``fit-function``);
* an **audit** folder on its own: ``audit.json`` (``trainlab audit <predictions file> --out DIR``).

Each reader returns what it found and, for what it did not, nothing: the page says "not run" and names the
command that makes it. A file that is there but unreadable is a note in the report, never a crash of the report.
Artifacts are read through their ``read()`` (:mod:`trainlab.artifacts`); nothing here evaluates, compares
or builds a model (``trainlab report`` makes missing metrics and comparisons first: :mod:`trainlab.reporting`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trainlab.artifacts import ArtifactError
from trainlab.artifacts.audit import AuditResult
from trainlab.artifacts.compare import Comparison
from trainlab.artifacts.fit_results import FitResults
from trainlab.artifacts.gallery import Gallery
from trainlab.artifacts.metrics import Metrics
from trainlab.artifacts.model_summary import ModelSummary
from trainlab.artifacts.run import RunRecord
from trainlab.artifacts.samples import SampleGrids
from trainlab.errors import TrainlabError
from trainlab.utils.log import get_logger

log = get_logger("trainlab.report")

RUN_MARKERS = ("run.json", "config.yaml", "history.csv", Metrics.FILENAME, "predictions")


@dataclass
class Image:
    """A PNG (or JPEG/SVG) read from disk, with a caption; ``data`` are its bytes."""

    path: Path
    caption: str
    data: bytes
    mime: str
    width: int | None = None
    height: int | None = None


@dataclass
class Found:
    """What a folder holds; ``notes`` say what could not be read and why."""

    kind: str  # run, compare, sine, audit
    path: Path
    name: str
    notes: list[str] = field(default_factory=list)


def kind_of(path: Path) -> str:
    """``run``, ``compare``, ``sine`` or ``audit``; an error that says what a report can take otherwise."""
    path = Path(path)
    if not path.exists():
        raise TrainlabError(f"{path}: no such folder; give run folders (from 'trainlab train'), a compare folder, "
                            "an audit folder or a sine folder")
    if not path.is_dir():
        raise TrainlabError(f"{path} is a file; the report takes folders: runs (from 'trainlab train'), a compare "
                            "folder (from 'trainlab compare'), an audit folder or a sine folder (from 'trainlab sine')")
    if Comparison.exists_in(path):
        return "compare"
    if FitResults.exists_in(path) and not (path / "run.json").is_file():
        return "sine"  # before the run markers: a sine folder has a history.csv too
    if any((path / m).exists() for m in RUN_MARKERS):
        return "run"
    if (path / "audit.json").is_file():
        return "audit"
    raise TrainlabError(
        f"{path} is not a folder the report knows: a run has run.json, config.yaml, history.csv, metrics.json or "
        "predictions/; a compare folder has compare.json; a sine folder has results.json; an audit folder has audit.json"
    )


# ---- small safe readers --------------------------------------------------------------------
def read_artifact(cls, where: Path, notes: list[str]):
    """``cls.read(where)``, or ``None`` when the file is absent; a file that is there but wrong is a note."""
    if not cls.exists_in(where):
        return None
    try:
        return cls.read(where)
    except ArtifactError as exc:
        notes.append(f"{exc}; its section is left out")
        return None


def read_json(path: Path, notes: list[str]) -> Any | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        notes.append(f"{path.name} could not be read ({exc}); its section is left out")
        return None


def read_record(path: Path, notes: list[str]) -> RunRecord | None:
    if not RunRecord.exists_in(path):
        return None
    try:
        return RunRecord.read(path)
    except ArtifactError as exc:
        notes.append(f"{exc}; the run's record is left out")
        return None


def read_csv(path: Path, notes: list[str]) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        notes.append(f"{path.name} could not be read ({exc}); its table is left out")
        return None


def read_text(path: Path, notes: list[str]) -> str | None:
    if not path.is_file():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        notes.append(f"{path.name} could not be read ({exc})")
        return None


_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}


def read_image(path: Path, caption: str, notes: list[str]) -> Image | None:
    """The image's bytes if the file is there and decodes (a broken image would show as a broken icon)."""
    path = Path(path)
    if not path.is_file():
        return None
    mime = _MIME.get(path.suffix.lower())
    if mime is None:
        return None
    width = height = None
    try:
        data = path.read_bytes()
        if mime != "image/svg+xml":
            import io

            from PIL import Image as PILImage

            with PILImage.open(io.BytesIO(data)) as im:
                width, height = im.size
                im.load()  # decodes every pixel: a truncated file fails here, not as a broken icon on the page
    except Exception as exc:  # noqa: BLE001 - any decoder failure means: leave the picture out, say so
        notes.append(f"{path.name} is not a readable image ({type(exc).__name__}: {exc}); left out")
        return None
    return Image(path=path, caption=caption, data=data, mime=mime, width=width, height=height)


def images_in(folder: Path, notes: list[str], *, exclude: set[str] = frozenset(), captions: dict[str, str] | None = None) -> list[Image]:
    """Every image directly in ``folder`` (sorted by name) except ``exclude``; caption from ``captions`` or the name."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        if path.name in exclude or path.suffix.lower() not in _MIME:
            continue
        caption = (captions or {}).get(path.name) or _caption_from_name(path.stem)
        image = read_image(path, caption, notes)
        if image is not None:
            found.append(image)
    return found


def _caption_from_name(stem: str) -> str:
    text = re.sub(r"[_\-]+", " ", stem).strip()
    return text[:1].upper() + text[1:]


def tables_in(folder: Path, notes: list[str], *, exclude: set[str] = frozenset()) -> dict[str, pd.DataFrame]:
    """Every CSV directly in ``folder`` (sorted by name) except ``exclude``, by file name."""
    if not folder.is_dir():
        return {}
    tables = {}
    for path in sorted(folder.glob("*.csv")):
        if path.name in exclude:
            continue
        frame = read_csv(path, notes)
        if frame is not None:
            tables[path.name] = frame
    return tables


# ---- a run ---------------------------------------------------------------------------------
@dataclass
class Audit:
    """``audit/`` of a run (or an audit folder): ``audit.json``, its CSV tables, plots and ``summary.md``."""

    path: Path
    data: dict | None
    tables: dict[str, pd.DataFrame]
    images: list[Image]
    summary_md: str | None


@dataclass
class Mitigation:
    """A ``mitigated-*`` folder: what ``trainlab mitigate`` wrote (JSON, before/after table, plots)."""

    path: Path
    name: str
    data: dict | None
    tables: dict[str, pd.DataFrame]
    images: list[Image]
    summary_md: str | None
    audit: Audit | None


@dataclass
class Run(Found):
    record: RunRecord | None = None  # run.json, read through its artifact
    run_json: dict | None = None  # the same record as a dict of the fields it sets (what the sections print)
    config_text: str | None = None
    history: pd.DataFrame | None = None
    curves: Image | None = None
    metrics: Metrics | None = None
    metrics_note: str | None = None  # e.g. which command makes the missing metrics.json
    per_class: pd.DataFrame | None = None
    top_confusions: pd.DataFrame | None = None
    eval_images: list[Image] = field(default_factory=list)
    other_images: list[Image] = field(default_factory=list)
    data_summary: dict | None = None
    data_images: list[Image] = field(default_factory=list)
    audits: list[Audit] = field(default_factory=list)
    mitigations: list[Mitigation] = field(default_factory=list)
    model_summary: ModelSummary | None = None
    model_summary_note: str | None = None
    samples: SampleGrids | None = None  # data/samples.json
    sample_images: dict[str, list[Image]] = field(default_factory=dict)  # grid column -> its pages
    gallery: Gallery | None = None  # gallery/gallery.json
    gallery_images: dict[str, Image] = field(default_factory=dict)  # top_loss, confused, saliency, group:<column>

    @property
    def dataset_key(self) -> tuple | None:
        """What makes two runs' data the same: the dataset root, format and target (None when unknown)."""
        summary = self.data_summary if isinstance(self.data_summary, dict) else {}
        rj = self.run_json or {}
        source = summary.get("source") or (rj.get("dataset") if isinstance(rj.get("dataset"), dict) else {}) or {}
        root = source.get("root")
        if not root:
            return None
        return (str(root), str(source.get("format")), str(summary.get("target") or rj.get("target")))


def read_run(path: Path, name: str) -> Run:
    """Everything a run folder holds; what is missing stays ``None`` (empty) and the page says so."""
    path = Path(path)
    run = Run(kind="run", path=path, name=name)
    notes = run.notes
    run.record = read_record(path, notes)
    run.run_json = run.record.model_dump(mode="json", exclude_defaults=True) if run.record else None
    if run.record is not None:
        run.run_json["status"] = run.record.status.value
    run.config_text = read_text(path / "config.yaml", notes)
    run.history = _read_history(path / "history.csv", notes)
    run.curves = read_image(path / "plots" / "curves.png", "Training curves: loss and accuracy per epoch", notes)

    run.metrics = read_artifact(Metrics, path, notes)
    if run.metrics is None and has_test_predictions(path):
        run.metrics_note = f"the run has test predictions but no metrics.json: 'trainlab evaluate {path}' makes it"
    if run.metrics is not None:
        run.per_class = read_csv(path / run.metrics.files.get("per_class", "per_class.csv"), notes)
        run.top_confusions = read_csv(path / run.metrics.files.get("top_confusions", "top_confusions.csv"), notes)
        captions = {
            "confusion_matrix": "Confusion matrix (counts)",
            "confusion_matrix_normalized": "Confusion matrix, rows normalised (recall shares)",
            "reliability": "Reliability diagram: accuracy against confidence",
        }
        for key, caption in captions.items():
            rel = run.metrics.files.get(key)
            if rel:
                image = read_image(path / rel, caption, notes)
                if image is not None:
                    run.eval_images.append(image)
    shown = {"curves.png"} | {im.path.name for im in run.eval_images}
    run.other_images = images_in(path / "plots", notes, exclude=shown | {"class_distribution.png"})

    run.data_summary = read_json(path / "data" / "summary.json", notes)
    run.samples = read_artifact(SampleGrids, path / "data", notes)
    sample_pages = set()
    if run.samples is not None:
        for grid in [run.samples.classes, *run.samples.attributes]:
            pages = [read_image(path / "data" / page, f"Sample images per {grid.column} value, page {i + 1} of {len(grid.pages)}", notes)
                     for i, page in enumerate(grid.pages)]
            run.sample_images[grid.column] = [im for im in pages if im is not None]
            sample_pages |= {Path(page).name for page in grid.pages}
    run.data_images = images_in(path / "data", notes, exclude=sample_pages)
    if not run.data_images:
        image = read_image(path / "plots" / "class_distribution.png", "Class distribution", notes)
        run.data_images = [image] if image else []

    for folder in _audit_folders(path):
        run.audits.append(read_audit(folder, notes))
    for folder in sorted(p for p in path.glob("mitigated*") if p.is_dir()):
        run.mitigations.append(read_mitigation(folder, notes))

    run.gallery = read_artifact(Gallery, path / "gallery", notes)
    if run.gallery is not None:
        run.gallery_images = read_gallery_images(path / "gallery", run.gallery, notes)

    run.model_summary = read_artifact(ModelSummary, path, notes)
    if run.model_summary is None:
        run.model_summary_note = f"no {ModelSummary.FILENAME} in the run ({ModelSummary.MADE_BY} writes it)"
    return run


def read_gallery_images(folder: Path, gallery: Gallery, notes: list[str]) -> dict[str, Image]:
    """The gallery's figures by role: ``top_loss``, ``confused``, ``saliency`` and ``group:<column>``."""
    g = gallery
    wanted = {"top_loss": (g.top_loss_figure, f"Highest-loss {g.split} items: image, true and predicted class, probability"),
              "confused": (g.confused_figure, "Most-confused class pairs, with examples of each direction"),
              "saliency": (g.saliency.figure if g.saliency else None,
                           f"What the model looked at: {g.saliency.method} for the predicted class on the highest-loss items"
                           if g.saliency else "")}
    for grouping in g.groupings:
        wanted[f"group:{grouping.column}"] = (
            grouping.figure, f"Misclassified items by {grouping.column}: worst group '{grouping.worst.group}' "
                             f"beside best group '{grouping.best.group}'")
    found = {}
    for role, (rel, caption) in wanted.items():
        if rel:
            image = read_image(folder / rel, caption, notes)
            if image is not None:
                found[role] = image
    return found


def _read_history(path: Path, notes: list[str]) -> pd.DataFrame | None:
    frame = read_csv(path, notes)
    if frame is None or frame.empty or "epoch" not in frame.columns:
        return None
    return frame


def has_test_predictions(path: Path) -> bool:
    return any((path / "predictions" / f"test{s}").is_file() for s in (".csv", ".parquet"))


def _audit_folders(run: Path) -> list[Path]:
    """``<run>/audit`` and any ``<run>/audit*/`` holding an audit.json (one per grouping, if the user made several)."""
    found = []
    for folder in sorted(p for p in run.glob("audit*") if p.is_dir()):
        if (folder / "audit.json").is_file() or any(folder.glob("*.csv")):
            found.append(folder)
    return found


def read_audit_result(folder: Path, notes: list[str]) -> dict | None:
    """``audit.json`` through its artifact (:class:`AuditResult`), as the JSON view the sections render; a file
    that does not validate becomes a note naming the field, and its section is left out."""
    if not AuditResult.exists_in(folder):
        return None
    try:
        return AuditResult.read(folder).data
    except ArtifactError as exc:
        notes.append(f"{exc}; the audit section is left out")
        return None


def read_audit(folder: Path, notes: list[str]) -> Audit:
    folder = Path(folder)
    return Audit(
        path=folder,
        data=read_audit_result(folder, notes),
        tables=tables_in(folder, notes),
        images=images_in(folder, notes) + images_in(folder / "plots", notes),
        summary_md=read_text(folder / "summary.md", notes),
    )


def read_mitigation(folder: Path, notes: list[str]) -> Mitigation:
    folder = Path(folder)
    data = None
    for name in ("mitigation.json", "mitigate.json", "result.json", "summary.json"):
        data = read_json(folder / name, notes)
        if data is not None:
            break
    if data is None:
        jsons = sorted(folder.glob("*.json"))
        data = read_json(jsons[0], notes) if jsons else None
    audit_dir = folder / "audit"
    return Mitigation(
        path=folder,
        name=folder.name,
        data=data,
        tables=tables_in(folder, notes),
        images=images_in(folder, notes) + images_in(folder / "plots", notes),
        summary_md=read_text(folder / "summary.md", notes),
        audit=read_audit(audit_dir, notes) if audit_dir.is_dir() else None,
    )


# ---- compare, sine, audit folders ------------------------------------------------------------
@dataclass
class Compare(Found):
    data: Comparison | None = None
    images: list[Image] = field(default_factory=list)
    internal: bool = False  # made by 'trainlab report' from runs given to it


def read_compare(path: Path, name: str, *, internal: bool = False) -> Compare:
    result = Compare(kind="compare", path=Path(path), name=name, internal=internal)
    result.data = read_artifact(Comparison, result.path, result.notes)
    rel = result.data.files.get("val_curves") if result.data else None
    if rel:
        image = read_image(result.path / rel, "Validation accuracy and loss per epoch, every run", result.notes)
        if image is not None:
            result.images.append(image)
    return result


@dataclass
class Sine(Found):
    data: FitResults | None = None
    images: list[Image] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


SINE_CAPTIONS = {
    "fits.png": "The learned mappings over the true curve, inside and outside the training interval",
    "loss_curves.png": "Training loss per epoch",
    "windows.png": "Next-value prediction from a window of k past values",
}


def read_sine(path: Path, name: str) -> Sine:
    result = Sine(kind="sine", path=Path(path), name=name)
    result.data = read_artifact(FitResults, result.path, result.notes)
    order = list(SINE_CAPTIONS)
    images = images_in(result.path, result.notes, captions=SINE_CAPTIONS)
    result.images = sorted(images, key=lambda im: (order.index(im.path.name) if im.path.name in order else len(order), im.path.name))
    result.tables = tables_in(result.path, result.notes)
    return result


@dataclass
class AuditOnly(Found):
    audit: Audit | None = None


def read_audit_folder(path: Path, name: str) -> AuditOnly:
    result = AuditOnly(kind="audit", path=Path(path), name=name)
    result.audit = read_audit(result.path, result.notes)
    return result
