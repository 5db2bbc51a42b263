"""Sample grids: ``per_row`` thumbnails of every class, and of every value of each categorical attribute.

Items are drawn at random (fixed ``seed``) from all splits; a class with fewer images shows them all. Classes
keep their index order and attribute values their natural order. Pages hold ``PAGE_ROWS`` rows, two rows
across, so a 102-class dataset is six pages of readable names and thumbnails rather than one unreadable sheet.
Written as ``samples_<column>_p<k>.png`` and listed in ``samples.json`` (:class:`trainlab.artifacts.samples.SampleGrids`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from trainlab.artifacts.samples import SampleGrid, SampleGrids, SampleRow
from trainlab.gallery.figures import Block, Cell, draw_blocks, short, thumbnail

PAGE_ROWS = 20
PER_ROW = 6
THUMB = 96
MAX_VALUES = 20  # attributes with more distinct values get no grid


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "column"


def sample_rows(values: pd.Series, order: list[str], per_row: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Row positions of up to ``per_row`` random items for each value in ``order`` (sorted positions)."""
    positions = pd.Series(np.arange(len(values)), index=values.to_numpy())
    out = {}
    for value in order:
        rows = positions.loc[[value]].to_numpy() if value in positions.index else np.zeros(0, np.int64)
        out[value] = np.sort(rng.choice(rows, size=min(per_row, len(rows)), replace=False)) if len(rows) else rows
    return out


def _grid(frame: pd.DataFrame, values: pd.Series, order: list[str], column: str, out: Path, *, per_row: int,
          seed: int, title: str) -> SampleGrid:
    chosen = sample_rows(values, order, per_row, np.random.default_rng(seed))
    counts = values.value_counts()
    paths = frame["path"].astype(str).to_numpy()
    rows, pages = [], []
    for page, start in enumerate(range(0, len(order), PAGE_ROWS)):
        blocks = []
        for value in order[start : start + PAGE_ROWS]:
            shown = [paths[i] for i in chosen[value]]
            cells = [Cell(thumbnail(p, THUMB)[0]) for p in shown]
            n = int(counts.get(value, 0))
            blocks.append(Block(f"{short(value, 44)}  ({n} image{'s' if n != 1 else ''})", cells, cols=per_row, empty_note="no images"))
            rows.append(SampleRow(value=str(value), count=n, paths=shown, page=page))
        name = f"samples_{_slug(column)}_p{page + 1}.png"
        n_pages = -(-len(order) // PAGE_ROWS)
        suffix = f" (page {page + 1} of {n_pages})" if n_pages > 1 else ""
        draw_blocks(blocks, out / name, title=title + suffix, thumb=THUMB, block_cols=2)
        pages.append(name)
    return SampleGrid(column=column, rows=rows, pages=pages)


def write_sample_grids(manifest, out: str | Path, *, per_row: int = PER_ROW, seed: int = 0) -> list[str]:
    """Write the class grid and one grid per categorical attribute (at most ``MAX_VALUES`` values) to ``out``;
    write ``samples.json`` there and return the PNG file names."""
    from trainlab.data.readers.common import natural_sorted

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frame = manifest.frame.reset_index(drop=True)
    names = pd.Series(np.asarray(manifest.classes, dtype=object)[frame["label"].to_numpy()]).astype(str)
    target = manifest.target or "class"
    classes = _grid(frame, names, [str(c) for c in manifest.classes], target, out, per_row=per_row, seed=seed,
                    title=f"{target}: {per_row} random images per class ({manifest.num_classes} classes)")
    grids = []
    for col in manifest.attributes:
        values = frame[col]
        present = values.notna() & (values.astype(str).str.strip() != "")
        if not present.any() or values[present].nunique() > MAX_VALUES:
            continue
        text = values.astype(str).where(present, "(missing)")
        order = natural_sorted(text[present].unique()) + (["(missing)"] if not present.all() else [])
        grids.append(_grid(frame, text, list(order), col, out, per_row=per_row, seed=seed,
                           title=f"{col}: {per_row} random images per value"))
    SampleGrids(per_row=per_row, seed=seed, classes=classes, attributes=grids).write(out)
    return [p for g in (classes, *grids) for p in g.pages]
