"""``trainlab gallery <run | predictions file>``: error galleries drawn from a predictions table.

Writes to ``<run>/gallery/`` (or ``--out``): ``top_loss.png`` (the highest-loss items: image, true and predicted
label, probability of the prediction, loss), ``confused_pairs.png`` (the most-confused class pairs, examples of
each direction), ``errors_<column>.png`` per grouping (the worst group's misclassified items beside the best
group's, with their accuracy and 95% interval), and ``gallery.json`` (:class:`trainlab.artifacts.gallery.Gallery`)
listing every item shown. Given a run with a checkpoint and the ``saliency`` extra, the top-loss items also get a
Grad-CAM overlay for the predicted class (:mod:`trainlab.saliency`, the one part that loads the model).

Image paths are read from the table's ``path`` column; a relative path is taken relative to the table's folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trainlab import saliency
from trainlab.artifacts.gallery import Gallery, GalleryItem, GroupingGallery, SaliencyOverlays
from trainlab.errors import TrainlabError
from trainlab.gallery import select
from trainlab.gallery.figures import MISSING_GREY, Block, Cell, draw_blocks, short, thumbnail
from trainlab.artifacts.predictions import Predictions
from trainlab.utils.log import get_logger

log = get_logger("trainlab.gallery")

THUMB = 128
TOP_LOSS = 18
PAIRS = 4
PER_DIRECTION = 4
PER_GROUP = 8
MAX_GROUPS = 50  # columns with more distinct values are not groupings (ids, file names)


def caption(item: GalleryItem, *, found: bool = True) -> str:
    lines = [f"true {short(item.y_true, 16)}", f"pred {short(item.y_pred, 16)} {item.probability:.2f}",
             f"loss {item.loss:.2f}"]
    return "\n".join(lines if found else [*lines[:2], "image not found"])


def _image_path(path: str, base: Path | None) -> Path:
    p = Path(path)
    if not p.is_absolute() and base is not None and not p.exists():
        return base / p
    return p


class _Painter:
    """Thumbnails and cells for gallery items, each image decoded once; remembers which were not found."""

    def __init__(self, base: Path | None):
        self.base, self.seen, self.missing = base, {}, []

    def found(self, item: GalleryItem) -> bool:
        if item.path not in self.seen:
            ok = bool(item.path) and _image_path(item.path, self.base).is_file()
            self.seen[item.path] = thumbnail(_image_path(item.path, self.base), THUMB) if ok else (None, False)
            if not self.seen[item.path][1]:
                self.missing.append(item.path or f"(no path for id {item.id})")
        return self.seen[item.path][1]

    def cell(self, item: GalleryItem) -> Cell:
        ok = self.found(item)
        image = self.seen[item.path][0] if ok else np.full((THUMB, THUMB, 3), MISSING_GREY, np.uint8)
        return Cell(image, caption(item, found=ok), "firebrick" if item.y_true != item.y_pred else "darkgreen")

    def mark(self, items: list[GalleryItem]) -> list[GalleryItem]:
        return [it.model_copy(update={"found": self.found(it)}) for it in items]


def groupings(pred: Predictions) -> list[str]:
    """Attribute columns that look like groupings: 2..MAX_GROUPS distinct non-empty values."""
    out = []
    for col in pred.attributes:
        n = select.group_values(pred, col).nunique(dropna=True)
        if 2 <= n <= MAX_GROUPS:
            out.append(col)
    return out


def build_gallery(target: str | Path, *, split: str = "test", by: list[str] | None = None, out: str | Path | None = None,
                  with_saliency: bool | None = None, checkpoint: str = "best", device: str = "auto",
                  min_group_size: int = 30) -> tuple[Gallery, Path]:
    """Write the galleries of ``target`` (a run folder or a predictions file); returns the artifact and its folder.

    ``by``: attribute columns to compare groups on (default: every attribute column that looks like a grouping).
    ``with_saliency``: True requires the overlays (a run with a checkpoint and the ``saliency`` extra), None computes
    them when possible, False skips them.
    """
    target = Path(target)
    pred = Predictions.read(target, split)
    source = pred.source or target
    out = Path(out) if out is not None else (target / "gallery" if target.is_dir() else source.parent / f"gallery-{source.stem}")
    columns = by if by is not None else groupings(pred)
    for col in columns:
        select.group_values(pred, col)  # an unknown column fails here, before any file is written
    why_not = saliency.unavailable(target) if with_saliency is not False else "not asked for"
    if with_saliency and why_not:
        raise TrainlabError(f"no saliency overlays: {why_not}")
    out.mkdir(parents=True, exist_ok=True)
    painter = _Painter(source.parent)
    wrong = int((pred.y_true != pred.y_pred).sum())

    top = painter.mark(select.items(pred, select.top_loss(pred, TOP_LOSS)))
    draw_blocks([Block(f"{len(top)} highest-loss items of {len(pred)} (loss = -ln p(true class))",
                       [painter.cell(it) for it in top], cols=6)],
                out / "top_loss.png", title=f"Top losses: {source.name}", thumb=THUMB)

    pairs = select.confused_pairs(pred, PAIRS, PER_DIRECTION)
    pairs = [p.model_copy(update={"a_as_b": painter.mark(p.a_as_b), "b_as_a": painter.mark(p.b_as_a)}) for p in pairs]
    confused_figure = None
    if pairs:
        blocks = []
        for p in pairs:
            blocks.append(Block(f"true {short(p.a, 24)} → pred {short(p.b, 24)}: {p.count_a_as_b}",
                                [painter.cell(it) for it in p.a_as_b], cols=PER_DIRECTION))
            blocks.append(Block(f"true {short(p.b, 24)} → pred {short(p.a, 24)}: {p.count_b_as_a}",
                                [painter.cell(it) for it in p.b_as_a], cols=PER_DIRECTION))
        confused_figure = "confused_pairs.png"
        draw_blocks(blocks, out / confused_figure, title=f"Most-confused class pairs ({wrong} errors in all)",
                    thumb=THUMB, block_cols=2)

    grouped = []
    for col in columns:
        try:
            worst, best, used = select.worst_and_best(pred, col, per_group=PER_GROUP, min_size=min_group_size)
        except TrainlabError as exc:
            if by is not None:
                raise
            log.info("no group gallery for '%s': %s", col, exc)
            continue
        worst = worst.model_copy(update={"items": painter.mark(worst.items)})
        best = best.model_copy(update={"items": painter.mark(best.items)})
        name = f"errors_{_slug(col)}.png"
        blocks = [Block(f"worst {col} = {short(g.group, 24)}: accuracy {g.accuracy:.3f} [{g.low:.3f}, {g.high:.3f}], "
                        f"{g.errors} of {g.n} wrong", [painter.cell(it) for it in g.items], cols=4, empty_note="no errors")
                  for g in (worst, best)]
        blocks[1].heading = blocks[1].heading.replace("worst", "best", 1)
        draw_blocks(blocks, out / name, title=f"Misclassified items by {col}: worst group beside best "
                    f"(groups of at least {used}; 95% Wilson intervals)", thumb=THUMB, block_cols=2)
        grouped.append(GroupingGallery(column=col, min_size=used, worst=worst, best=best, figure=name))

    notes = []
    if painter.missing:
        notes.append(f"{len(painter.missing)} image(s) not found, drawn grey; first: {painter.missing[0]}")
        log.warning("gallery: %s", notes[-1])
    gallery = Gallery(source=str(source), split=split, items=len(pred), errors=wrong, top_loss=top,
                      top_loss_figure="top_loss.png", confused_pairs=pairs, confused_figure=confused_figure,
                      groupings=grouped, notes=notes)
    if why_not is None:
        gallery = _with_saliency(gallery, target, out, checkpoint=checkpoint, device=device, painter=painter)
    elif with_saliency is None:
        log.info("gallery without saliency: %s", why_not)
        gallery = gallery.model_copy(update={"notes": [*gallery.notes, f"no saliency: {why_not}"]})
    gallery.write(out)
    return gallery, out


def _with_saliency(gallery: Gallery, target: Path, out: Path, *, checkpoint: str, device: str,
                   painter: _Painter) -> Gallery:
    items = [it for it in gallery.top_loss if it.found]
    paths = [_image_path(it.path, painter.base) for it in items]
    result = saliency.overlays_for_run(target, paths, [it.y_pred for it in items], out / "saliency",
                                       checkpoint=checkpoint, device=device)
    files = iter(f"saliency/{name}" for name in result.files)
    top = [it.model_copy(update={"saliency": next(files) if it.found else None}) for it in gallery.top_loss]
    blocks = [Block(f"Grad-CAM for the predicted class ({result.layer}); red = evidence for it",
                    [Cell(img, caption(it), "firebrick" if it.y_true != it.y_pred else "darkgreen")
                     for it, img in zip(items, result.thumbnails(THUMB))], cols=6)]
    draw_blocks(blocks, out / "saliency.png", title="What the model looked at: top-loss items", thumb=THUMB)
    info = SaliencyOverlays(method=result.method, layer=result.layer, checkpoint=result.checkpoint, figure="saliency.png")
    return gallery.model_copy(update={"top_loss": top, "saliency": info})


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "column"


def describe_gallery(gallery: Gallery, where) -> str:
    """What ``trainlab gallery`` prints: the error count, the figures written and each grouping's worst and best."""
    figures = [gallery.top_loss_figure, gallery.confused_figure, *[g.figure for g in gallery.groupings],
               gallery.saliency.figure if gallery.saliency else None]
    lines = [f"{gallery.errors} of {gallery.items} items misclassified; galleries in {where}:"]
    lines += [f"  {name}" for name in figures if name]
    for g in gallery.groupings:
        lines.append(f"  {g.column}: worst {g.worst.group} {g.worst.accuracy:.3f} [{g.worst.low:.3f}, {g.worst.high:.3f}], "
                     f"best {g.best.group} {g.best.accuracy:.3f} [{g.best.low:.3f}, {g.best.high:.3f}]")
    lines += [f"  note: {note}" for note in gallery.notes]
    return "\n".join(lines)


def gallery_for_run(run_dir: str | Path) -> None:
    """The run's galleries after training (never fails the run: a problem is logged with the command to redo it)."""
    try:
        build_gallery(run_dir, split="test")
    except (TrainlabError, OSError) as exc:
        log.error("gallery of %s failed: %s; run 'trainlab gallery %s' after fixing it", run_dir, exc, run_dir)
