"""Dataset plots: class distribution (readable at 102 classes) and one plot per attribute.

Figures are made with matplotlib's object API (``Figure`` + Agg canvas), never pyplot, so no global
state is touched and no display is needed. Files are written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trainlab.utils.io import atomic_path

SPLIT_COLOURS = {"train": "#4C72B0", "val": "#DD8452", "test": "#55A868"}
MAX_STACK = 12  # stack bars by class when there are at most this many classes
LOG_SCALE_RATIO = 20  # a log-scale panel beside the class distribution when the largest class is this many times the smallest


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return path


def plot_class_distribution(counts: pd.DataFrame, path: Path, *, title: str) -> Path:
    """Horizontal bars, one per class, stacked by split, sorted by training images (most first).

    The coursework's vertical bar chart of 102 classes has unreadable labels; here every class name
    gets its own row (the figure grows with the number of classes) and the total is printed at the end.
    When the largest class has more than ``LOG_SCALE_RATIO`` times the images of the smallest (all splits),
    a second panel shows the totals on a log scale, so the small classes stay visible.
    """
    order = counts.sum(axis=1).sort_values(ascending=True, kind="stable")
    if "train" in counts.columns:
        order = counts["train"].sort_values(ascending=True, kind="stable")
    counts = counts.loc[order.index]
    k = len(counts)
    totals = counts.sum(axis=1).to_numpy()
    ratio = totals.max() / totals[totals > 0].min() if (totals > 0).any() else 1.0
    log_panel = ratio > LOG_SCALE_RATIO
    fig = _figure(16 if log_panel else 10, max(3.0, 0.2 * k + 1.4))
    ax, *rest = fig.subplots(1, 2, sharey=True, width_ratios=(3, 2)) if log_panel else [fig.add_subplot()]
    small = 7 if k > 30 else 9
    _stacked_barh(ax, counts, height=0.8, total_size=small, label_size=small, margin=1.12)
    ax.set_ylim(-0.6, k - 0.4)
    ax.set_xlabel("images")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right")
    if log_panel:  # small classes vanish on a linear axis next to a 20x larger one
        log_ax = rest[0]
        log_ax.barh(np.arange(k), np.where(totals > 0, totals, np.nan), height=0.8, color="0.45")
        log_ax.set_xscale("log")
        log_ax.set_xlim(0.8, totals.max() * 1.5)  # from 1 image, so the smallest class shows
        log_ax.set_xlabel("images, all splits (log scale)")
        log_ax.set_title(f"log scale: the largest class is {ratio:.0f}× the smallest", fontsize=10)
        log_ax.grid(axis="x", which="both", alpha=0.3)
        log_ax.tick_params(axis="y", labelleft=False)
        fig.suptitle(title)
    else:
        ax.set_title(title)
    return _save(fig, path)


def plot_attribute(frame: pd.DataFrame, column: str, path: Path, *, target: str, classes: list[str]) -> Path:
    """Counts of each value of an attribute, stacked by target class (or by split when classes are many);
    a histogram for a numeric attribute with many values."""
    values = frame[column]
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all() and values.nunique() > 20:
        fig = _figure(8, 4)
        ax = fig.add_subplot()
        ax.hist(numeric, bins=30, color="#4C72B0")
        ax.set_xlabel(column)
        ax.set_ylabel("images")
        ax.set_title(f"{column}: distribution ({len(values)} images)")
        return _save(fig, path)
    from trainlab.data.readers.common import natural_sorted

    names = pd.Series(np.asarray(classes, dtype=object)[frame["label"].to_numpy()], index=frame.index)
    by = names if len(classes) <= MAX_STACK else frame["split"]
    table = pd.crosstab(values.astype(str), by)
    top = table.sum(axis=1).sort_values(ascending=False).index[:40]  # at most 40 values shown
    table = table.loc[[v for v in natural_sorted(top)][::-1]]
    stack_order = classes if by is names else [s for s in SPLIT_COLOURS if s in table.columns]
    table = table.reindex(columns=[c for c in stack_order if c in table.columns])
    fig = _figure(9, max(2.6, 0.32 * len(table) + 1.4))
    ax = fig.add_subplot()
    _stacked_barh(ax, table, height=0.75, total_size=8, label_size=9, margin=1.15)
    ax.set_xlabel("images")
    ax.set_title(f"{column}: images per value, by {target if by is names else 'split'}")
    ax.legend(title=target if by is names else "split", fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def _stacked_barh(ax, table: pd.DataFrame, *, height: float, total_size: float, label_size: float, margin: float) -> None:
    """One horizontal bar per row of ``table``, stacked by its columns (split colours where they apply), the row's
    total printed at the bar's end, row names (shortened) as tick labels."""
    k = len(table)
    y = np.arange(k)
    left = np.zeros(k)
    for col in table.columns:
        ax.barh(y, table[col].to_numpy(), left=left, height=height, label=str(col), color=SPLIT_COLOURS.get(col))
        left += table[col].to_numpy()
    for yi, total in zip(y, left):
        ax.text(total, yi, f" {int(total)}", va="center", fontsize=total_size)
    ax.set_yticks(y, [_short(str(v)) for v in table.index], fontsize=label_size)
    ax.set_xlim(0, left.max() * margin if k else 1)


def _short(text: str, width: int = 32) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
