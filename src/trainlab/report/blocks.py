"""The page's building blocks (sections, tables, figures) and number formatting, as plain data for the template.

Sections hold a list of blocks; the template (``template.html``) renders each kind. Nothing here builds
HTML strings: every text goes to Jinja2 with autoescape on, so data can never become markup.
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from trainlab.report.collect import Image


# ---- numbers -----------------------------------------------------------------------------------
def is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def plain(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, (str, bytes)):
        try:
            return value.item()
        except (TypeError, ValueError):
            return value
    return value


def fmt(value: Any, digits: int = 3) -> str:
    """A number as a person reads it: ints with thousands separators, floats to ``digits`` decimals,
    tiny values in scientific notation, large ones without decimals; missing as ``n/a``."""
    value = plain(value)
    if is_missing(value):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if value == 0:
            return "0"
        if abs(value) >= 10_000:
            return f"{value:,.0f}"
        if abs(value) < 10 ** (-digits):
            return f"{value:.1e}"
        return f"{value:.{digits}f}"
    return str(value)


def fmt_p(value: Any) -> str:
    """A p-value: four decimals, or scientific notation below 0.0001."""
    value = plain(value)
    if is_missing(value):
        return "n/a"
    value = float(value)
    return f"{value:.1e}" if 0 < value < 1e-4 else f"{value:.4f}"


def fmt_pct(value: Any, digits: int = 1) -> str:
    value = plain(value)
    return "n/a" if is_missing(value) else f"{100 * float(value):.{digits}f} %"


def fmt_seconds(value: Any) -> str:
    value = plain(value)
    if is_missing(value):
        return "n/a"
    value = float(value)
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(value, 60)
    return f"{int(minutes)} min {seconds:02.0f} s"


def data_value(value: Any) -> str:
    """The exact number behind a rounded cell, for ``data-value`` (``repr`` of a float round-trips)."""
    value = plain(value)
    if is_missing(value):
        return ""
    return repr(float(value)) if isinstance(value, float) else str(value)


# ---- blocks ------------------------------------------------------------------------------------
@dataclass
class Cell:
    text: str
    num: bool = False
    title: str | None = None
    attrs: dict[str, str] = field(default_factory=dict)
    sub: str | None = None  # a second, smaller line (a confidence interval)


@dataclass
class Column:
    label: str
    num: bool = False
    title: str | None = None


@dataclass
class Row:
    cells: list[Cell]
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class Table:
    columns: list[Column]
    rows: list[Row]
    caption: str | None = None
    scroll: bool = False
    id: str | None = None
    note: str | None = None
    row_headers: bool = False
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class Section:
    id: str
    title: str
    blocks: list[dict] = field(default_factory=list)
    children: list["Section"] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)
    short: str | None = None  # the title in the table of contents, when the heading is long

    def add(self, *blocks: dict | None) -> "Section":
        self.blocks.extend(b for b in blocks if b is not None)
        return self


class Ids:
    """Unique, stable, URL-safe element ids from titles."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def make(self, *parts: str) -> str:
        base = "-".join(re.sub(r"[^a-z0-9]+", "-", str(p).lower()).strip("-") for p in parts if str(p).strip()) or "section"
        base = base[:60].strip("-") or "section"
        candidate, k = base, 2
        while candidate in self.used:
            candidate, k = f"{base}-{k}", k + 1
        self.used.add(candidate)
        return candidate


def p(text: str, cls: str | None = None) -> dict:
    return {"type": "p", "text": text, "cls": cls}


def missing(text: str) -> dict:
    return {"type": "missing", "text": text}


def notes(items: list[str]) -> dict | None:
    return {"type": "notes", "items": list(items)} if items else None


def html(markup) -> dict:
    return {"type": "html", "html": markup}


def table(t: Table) -> dict:
    return {"type": "table", "table": t}


def pre(text: str, cls: str | None = None) -> dict:
    return {"type": "pre", "text": text, "cls": cls}


def details(summary: str, blocks: list[dict | None], *, open: bool = False) -> dict:
    return {"type": "details", "summary": summary, "blocks": [b for b in blocks if b is not None], "open": open}


def kv(items: list[tuple[str, Any] | tuple[str, Any, dict]]) -> dict | None:
    """A definition list; values are formatted with :func:`fmt`; a third element gives data attributes."""
    rows = []
    for item in items:
        label, value = item[0], item[1]
        if is_missing(value) or value == "":
            continue
        attrs = item[2] if len(item) > 2 else {}
        rows.append({"label": label, "text": value if isinstance(value, str) else fmt(value), "attrs": attrs})
    return {"type": "kv", "items": rows} if rows else None


def stats(items: list[dict]) -> dict | None:
    """Big numbers: dicts with label, text, and optionally sub, title, attrs."""
    items = [dict({"attrs": {}, "sub": None, "title": None}, **i) for i in items]
    return {"type": "stats", "items": items} if items else None


@dataclass
class Figure:
    src: str
    caption: str
    width: int | None
    height: int | None


def figures(images: list[Image | None], *, pan: bool = False) -> dict | None:
    """Images embedded as data: URIs (base64), so the file needs nothing beside it.

    ``pan``: shown at full resolution in a box that scrolls both ways (a 102-class confusion matrix
    shrunk to the page width would be unreadable)."""
    embedded = [
        Figure(f"data:{im.mime};base64,{base64.b64encode(im.data).decode('ascii')}", im.caption, im.width, im.height)
        for im in images if im is not None
    ]
    # side by side only when every figure is small enough to stay legible at half the page width
    grid = len(embedded) > 1 and not pan and all((f.width or 0) <= 1000 for f in embedded)
    return {"type": "figures", "images": embedded, "pan": pan, "grid": grid} if embedded else None


# ---- tables from frames ------------------------------------------------------------------------
Formatter = Callable[[Any], str]


def frame_table(
    frame: pd.DataFrame,
    *,
    labels: dict[str, str] | None = None,
    formats: dict[str, Formatter] | None = None,
    digits: int = 3,
    columns: list[str] | None = None,
    caption: str | None = None,
    scroll: bool | None = None,
    note: str | None = None,
    titles: dict[str, str] | None = None,
    cell_attrs: Callable[[str, Any, pd.Series], dict[str, str]] | None = None,
    row_attrs: Callable[[pd.Series], dict[str, str]] | None = None,
    row_headers: bool = False,
    scroll_rows: int = 15,
) -> Table:
    """A DataFrame as a :class:`Table`: numeric columns right-aligned and rounded, text columns left-aligned.

    ``scroll`` (default: more than ``scroll_rows`` rows) puts the table in a fixed-height box with a sticky header.
    """
    labels, formats, titles = labels or {}, formats or {}, titles or {}
    cols = [c for c in (columns or list(frame.columns)) if c in frame.columns]
    numeric = {c: _is_numeric(frame[c]) for c in cols}
    integer = {c: numeric[c] and _integer_like(frame[c]) for c in cols}
    head = [Column(labels.get(c, str(c)), numeric[c], titles.get(c)) for c in cols]
    rows = []
    for _, series in frame.iterrows():
        cells = []
        for c in cols:
            value = series[c]
            if c in formats:
                text = formats[c](value)
            elif integer[c]:
                text = fmt(None if is_missing(value) else int(value))
            elif numeric[c]:
                text = fmt(_as_number(value), digits)
            else:
                text = "" if is_missing(value) else str(plain(value))
            attrs = cell_attrs(c, value, series) if cell_attrs else {}
            cells.append(Cell(text, numeric[c], None, attrs or {}))
        rows.append(Row(cells, (row_attrs(series) if row_attrs else {}) or {}))
    if scroll is None:
        scroll = len(frame) > scroll_rows
    return Table(head, rows, caption=caption, scroll=scroll, note=note, row_headers=row_headers)


def _is_numeric(series: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series) or series.isna().all():
        return False
    if pd.api.types.is_numeric_dtype(series):
        return True
    values = series.dropna()
    if values.empty:
        return False
    converted = pd.to_numeric(values, errors="coerce")
    return bool(converted.notna().all())


def _as_number(value: Any) -> Any:
    value = plain(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    return value


def _integer_like(series: pd.Series) -> bool:
    """An integer column that pandas turned into floats because a value is missing (e.g. best_epoch)."""
    if pd.api.types.is_integer_dtype(series):
        return True
    if not pd.api.types.is_float_dtype(series) or not series.isna().any():
        return False
    values = series.dropna()
    return not values.empty and bool((values == values.round()).all())


# ---- confusion matrix as an HTML heatmap -----------------------------------------------------------
HEATMAP_MAX_CLASSES = 150  # above this the page would hold too many cells; the PNG is shown instead
_DIAGONAL, _OFF = (31, 95, 168), (179, 38, 30)  # right (blue) and wrong (red)


@dataclass
class HeatCell:
    count: int
    share: float  # count / the true class's items (0 for a class with none)
    colour: str | None  # background, None for an empty cell


def _shade(rgb: tuple[int, int, int], t: float) -> str:
    return "#" + "".join(f"{round(255 + (c - 255) * t):02x}" for c in rgb)


def heatmap(matrix, classes: list[str], order: list[int] | None, *, caption: str, attrs: dict[str, str] | None = None) -> dict:
    """A confusion matrix (counts, rows = true class) drawn as a table: rows and columns in ``order`` (the
    evaluation's seriation, confused classes together), colour on a log scale of the count (blue on the diagonal,
    red off it), each cell carrying its count and row share for the tooltip. Pure presentation of stored counts."""
    k = len(classes)
    order = list(order) if order and sorted(order) == list(range(k)) else list(range(k))
    top = max(int(max(max(row) for row in matrix)) if k else 0, 1)
    scale = math.log1p(top)
    rows = []
    for i in order:
        total = int(sum(matrix[i]))
        cells = []
        for j in order:
            c = int(matrix[i][j])
            t = 0.12 + 0.88 * math.log1p(c) / scale if c else 0.0
            cells.append(HeatCell(c, c / total if total else 0.0, _shade(_DIAGONAL if i == j else _OFF, t) if c else None))
        rows.append({"label": classes[i], "total": total, "cells": cells})
    return {"type": "heatmap", "labels": [classes[j] for j in order], "rows": rows, "counts": k <= 20,
            "max": top, "caption": caption, "attrs": attrs or {}}


def link(before: str, text: str, section_id: str, after: str = "") -> dict:
    """A sentence with one in-page link: ``before <a href="#section_id">text</a> after``."""
    return {"type": "link", "before": before, "text": text, "href": section_id, "after": after}


def glance(items: list[dict]) -> dict | None:
    """Thumbnails linking to their sections: dicts with title, href and image (an :class:`Image`)."""
    shown = []
    for item in items:
        figure = figures([item["image"]])["images"][0]
        shown.append({"title": item["title"], "href": item["href"], "figure": figure})
    return {"type": "glance", "items": shown} if shown else None
