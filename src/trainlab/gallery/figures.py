"""Drawing pictures: blocks of captioned thumbnails composed into one mosaic per figure.

A figure is a list of :class:`Block` (a heading and its cells, ``cols`` per row), laid out ``block_cols``
across. The thumbnails are pasted into one pixel canvas and the text drawn on it with PIL in matplotlib's
DejaVu Sans (sizes in points at 100 dpi): no resampling, so hundreds of thumbnails take a fraction of a second
(matplotlib's image path took seconds a page). Images that cannot be read are drawn as a grey square with
"image not found" under them, never dropped. Files are written atomically.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from PIL import Image, ImageDraw, ImageFont

from trainlab.errors import TrainlabError
from trainlab.utils.io import atomic_path

MISSING_GREY = 200
LINE_PX = 13  # one caption line at 8 pt, 100 dpi
HEADING_PX = 22
TITLE_PX = 30
MARGIN = 10
GAP = 8
BLOCK_GAP = 24


@dataclass
class Cell:
    image: np.ndarray  # (h, w, 3) uint8, h = w = the figure's thumbnail size
    caption: str = ""
    colour: str = "black"


@dataclass
class Block:
    heading: str
    cells: list[Cell] = field(default_factory=list)
    cols: int = 6
    empty_note: str = "none"


@functools.cache
def _font(points: float, weight: str) -> ImageFont.FreeTypeFont:
    """matplotlib's own DejaVu Sans (always installed with it) at ``points`` for 100 dpi."""
    from matplotlib.font_manager import FontProperties, findfont

    return ImageFont.truetype(findfont(FontProperties(family="DejaVu Sans", weight=weight)), round(points * 100 / 72))


def _rgb(colour: str) -> tuple[int, int, int]:
    from matplotlib.colors import to_rgb

    return tuple(round(255 * c) for c in to_rgb(colour))


def thumbnail(path: str | Path, size: int) -> tuple[np.ndarray, bool]:
    """The image at ``path`` as a ``size``×``size`` centred crop, and whether it could be read."""
    from trainlab.data.images import decode_image

    try:
        return decode_image(path, (size, size), "shorter-side"), True
    except (TrainlabError, OSError, ValueError):
        return np.full((size, size, 3), MISSING_GREY, np.uint8), False


def short(text: str, width: int = 20) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _block_size(block: Block, thumb: int, cap_lines: int) -> tuple[int, int]:
    rows = max(1, -(-len(block.cells) // block.cols))
    cell_h = thumb + cap_lines * LINE_PX + GAP
    return block.cols * (thumb + GAP), HEADING_PX + rows * cell_h


def draw_blocks(blocks: list[Block], path: str | Path, *, title: str = "", thumb: int = 128, block_cols: int = 1) -> Path:
    """Write one PNG of the blocks (see the module docstring); returns ``path``."""
    cap_lines = max([c.caption.count("\n") + 1 if c.caption else 0 for b in blocks for c in b.cells] or [0])
    sizes = [_block_size(b, thumb, cap_lines) for b in blocks]
    col_w = max([w for w, _ in sizes] or [thumb])
    grid_rows = [list(range(i, min(i + block_cols, len(blocks)))) for i in range(0, len(blocks), block_cols)]
    row_h = [max(sizes[i][1] for i in row) for row in grid_rows]
    top = MARGIN + (TITLE_PX if title else 0)
    width = 2 * MARGIN + min(block_cols, max(1, len(blocks))) * col_w + (min(block_cols, max(1, len(blocks))) - 1) * BLOCK_GAP
    height = top + sum(row_h) + BLOCK_GAP * max(0, len(grid_rows) - 1) + MARGIN
    canvas = np.full((height, width, 3), 255, np.uint8)
    texts = []  # (x, y, text, size, colour, weight)
    if title:
        texts.append((MARGIN, MARGIN, title, 12, "black", "bold"))
    y0 = top
    for row, rh in zip(grid_rows, row_h):
        for j, i in enumerate(row):
            block, x0 = blocks[i], MARGIN + j * (col_w + BLOCK_GAP)
            texts.append((x0, y0 + 3, block.heading, 10, "black", "bold"))
            if not block.cells:
                texts.append((x0, y0 + HEADING_PX + 2, block.empty_note, 9, "dimgray", "normal"))
            for k, cell in enumerate(block.cells):
                r, c = divmod(k, block.cols)
                x = x0 + c * (thumb + GAP)
                y = y0 + HEADING_PX + r * (thumb + cap_lines * LINE_PX + GAP)
                img = cell.image[:thumb, :thumb]
                canvas[y : y + img.shape[0], x : x + img.shape[1]] = img
                if cell.caption:
                    texts.append((x, y + thumb + 1, cell.caption, 8, cell.colour, "normal"))
        y0 += rh + BLOCK_GAP

    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    for x, y, text, size, colour, weight in texts:
        draw.multiline_text((x, y), text, fill=_rgb(colour), font=_font(size, weight), spacing=1)
    with atomic_path(Path(path)) as tmp:
        image.save(tmp, format="PNG")
    return Path(path)
