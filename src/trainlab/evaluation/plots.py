"""Evaluation figures: confusion matrices readable at 100+ classes, a reliability diagram, validation curves.

Figures are built with matplotlib's object API (``Figure``, no pyplot state) and saved atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps, rcParams
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import ListedColormap, LogNorm, PowerNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from trainlab.utils.io import atomic_path

CELL_NUMBERS_MAX = 25  # above this many classes the cells are too small to print their counts
LABEL_CHARS = 28
FONT_MIN = 5  # points: the smallest tick label drawn; rows thinner than this get labels only every few classes
LABEL_PT = 8  # points: the index labels of a matrix too large to name every class


def _label_step(cell_pt: float) -> int:
    """1 when every class's row can hold a label of :data:`FONT_MIN` points, else the smallest of
    5, 10, 20, 50, 100, ... that spaces index labels at least 2 × :data:`LABEL_PT` apart."""
    if cell_pt >= FONT_MIN:
        return 1
    for step in (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000):
        if step * cell_pt >= 2 * LABEL_PT:
            return step
    return int(np.ceil(2 * LABEL_PT / cell_pt))


def save(fig: Figure, target: str | Path, *, dpi: int = 110) -> Path:
    """Write ``fig`` as PNG atomically, cropped to its content (``bbox_inches="tight"``).

    A figure holding images (the confusion matrix) gets its crop box measured with the images hidden:
    matplotlib's own tight crop draws the whole figure once more to measure it, re-sampling a
    1,000 × 1,000 matrix twice; an image inside its axes never changes the box.
    """
    target = Path(target)
    bbox = "tight"
    images = [image for ax in fig.axes for image in ax.images if image.get_visible()]
    if images:
        FigureCanvasAgg(fig)
        for image in images:
            image.set_visible(False)
        try:
            bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(rcParams["savefig.pad_inches"])
        finally:
            for image in images:
                image.set_visible(True)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches=bbox)
    return target


def _short(name: str, width: int = LABEL_CHARS) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def confusion_matrix_figure(cm: np.ndarray, classes: list[str], *, normalize: bool, title: str) -> Figure:
    """Raw counts (log colour scale, so rare confusions still show) or rows normalised to recall shares.

    Every class gets a tick label (``index name``, long names shortened); with more than
    :data:`CELL_NUMBERS_MAX` classes the figure grows with the class count, fonts shrink, and
    cells carry no numbers (the top-confusions table lists them).
    """
    k = len(classes)
    cm = np.asarray(cm, dtype=np.float64)
    if normalize:
        support = cm.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(cm > 0, cm / support, np.nan)  # zero cells stay white
        norm = PowerNorm(gamma=0.5, vmin=0.0, vmax=1.0)
        bar_label = "share of the true class (square-root colour scale; white = 0)"
    else:
        values = np.where(cm > 0, cm, np.nan)  # zero cells stay white
        norm = LogNorm(vmin=1, vmax=max(cm.max(), 2))
        bar_label = "items (log colour scale; white = 0)"
    side = float(np.clip(4 + 0.2 * k, 7, 30))  # inches; 24 at 102 classes
    cell_pt = side * 72 / k
    font = float(np.clip(0.5 * cell_pt, FONT_MIN, 10))  # a tick label fills half its row: 8.6 pt at 102 classes
    fig = Figure(figsize=(side + 2.5, side))
    ax = fig.add_subplot()
    # Blues without its near-white end, so a cell holding one item is visibly not empty
    cmap = ListedColormap(colormaps["Blues"](np.linspace(0.18, 1.0, 256))).with_extremes(bad="white")
    # One image for the whole matrix, whatever k: cells are pixels, not artists. Coloured here, once per
    # cell (k² values), rather than by matplotlib per screen pixel at every draw; the colour bar reads
    # the same norm and colour map.
    ax.imshow(cmap(norm(values), bytes=True), interpolation="nearest", aspect="equal")
    image = ScalarMappable(norm=norm, cmap=cmap)
    step = _label_step(cell_pt)
    if step == 1:
        names = [f"{i} {_short(c)}" if k > CELL_NUMBERS_MAX else _short(c) for i, c in enumerate(classes)]
        ax.set_xticks(np.arange(k), labels=names, rotation=90, fontsize=font)
        ax.set_yticks(np.arange(k), labels=names, fontsize=font)
        xlabel, ylabel = "predicted class", "true class"
    else:
        # rows thinner than a legible label: every step-th class index is labelled (names in per_class.csv)
        ticks = np.arange(0, k, step)
        ax.set_xticks(ticks, labels=[str(t) for t in ticks], rotation=90, fontsize=LABEL_PT)
        ax.set_yticks(ticks, labels=[str(t) for t in ticks], fontsize=LABEL_PT)
        font = LABEL_PT
        xlabel = f"predicted class (index; every {step}th labelled, names in per_class.csv)"
        ylabel = "true class (index)"
    ax.set_xlabel(xlabel, fontsize=font + 3)
    ax.set_ylabel(ylabel, fontsize=font + 3)
    ax.set_title(title, fontsize=font + 5)
    if k > CELL_NUMBERS_MAX:
        # faint grid every 10 classes (every labelled class when sparser) so a row can be followed across
        grid = np.arange(max(step, 10) - 0.5, k - 1, max(step, 10))
        ax.hlines(grid, -0.5, k - 0.5, color="0.85", lw=0.4)  # one collection per direction
        ax.vlines(grid, -0.5, k - 0.5, color="0.85", lw=0.4)
    else:
        threshold = np.nanmax(values) * 0.5 if np.isfinite(values).any() else 0
        for (i, j), value in np.ndenumerate(values):
            if np.isnan(value):
                continue
            text = f"{value:.2f}" if normalize else f"{int(value)}"
            ax.text(j, i, text, ha="center", va="center", fontsize=font - 1,
                    color="white" if value > threshold else "black")
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, shrink=0.6)
    if not normalize:  # plain numbers, not powers of ten, on the log scale
        ticks = [t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000) if t <= norm.vmax]
        bar.set_ticks(ticks, labels=[f"{t:,}" for t in ticks])
    else:
        bar.set_ticks([0, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0])
    bar.set_label(bar_label, fontsize=font + 2)
    bar.ax.tick_params(labelsize=font + 1)
    return fig


def reliability_figure(bins: dict, *, ece: float, title: str, ece_bins: int | None = None) -> Figure:
    """Accuracy against mean confidence per bin with its 95% interval, the diagonal of perfect calibration, and
    the items per bin (printed on the bars below).

    ``bins`` as :func:`trainlab.evaluation.calibration.reliability_bins` returns them (``low``/``high`` and
    ``strategy`` are optional, for bins from :func:`~trainlab.evaluation.calibration.calibration_bins`).
    """
    lower, upper = bins["lower"], bins["upper"]
    width = upper - lower
    count = bins["count"]
    filled = count > 0
    centre = (lower + upper) / 2
    fig = Figure(figsize=(6.5, 7.5))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], ls="--", color="0.5", lw=1, label="perfect calibration")
    top.bar(lower[filled], bins["accuracy"][filled], width=width[filled], align="edge",
            color="tab:blue", alpha=0.75, edgecolor="white", label="accuracy in bin")
    gap_low = np.minimum(bins["accuracy"], bins["confidence"])[filled]
    gap = np.abs(bins["accuracy"] - bins["confidence"])[filled]
    top.bar(lower[filled], gap, bottom=gap_low, width=width[filled], align="edge",
            facecolor="none", edgecolor="tab:red", hatch="///", lw=0.8, label="gap to mean confidence")
    top.hlines(bins["confidence"][filled], lower[filled], upper[filled], color="black", lw=1.5,
               label="mean confidence in bin")
    if "low" in bins:
        acc = bins["accuracy"][filled]
        top.errorbar(centre[filled], acc, yerr=[acc - bins["low"][filled], bins["high"][filled] - acc], fmt="none",
                     ecolor="0.15", elinewidth=1, capsize=3, label="95% interval of accuracy (Wilson)")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1.02)
    top.set_ylabel("accuracy")
    strategy = bins.get("strategy", "equal-width")
    shown = f"{len(count)} {strategy} bins" + (" (few items)" if strategy == "equal-count" else "")
    ece_note = f"ECE = {ece:.4f}" + (f" over {ece_bins} equal-width bins" if ece_bins else "")
    top.set_title(f"{title}\n{ece_note}; shown: {shown}", fontsize=10)
    top.legend(loc="upper left", fontsize=8, framealpha=0.9)
    bottom.bar(lower, count, width=width, align="edge", color="0.6", edgecolor="white")
    for x, k in zip(centre[filled], count[filled]):
        bottom.text(x, k, f"{int(k):,}", ha="center", va="bottom", fontsize=7)
    bottom.set_ylim(0, max(1, count.max()) * 1.25)
    bottom.set_xlabel("confidence (highest class probability)")
    bottom.set_ylabel("items")
    fig.tight_layout()
    return fig


def validation_curves_figure(histories: dict, *, title: str = "Validation accuracy and loss per epoch") -> Figure:
    """Side by side: validation accuracy and validation loss per epoch, one line per run (``{name: DataFrame}``)."""
    fig = Figure(figsize=(13, 5))
    acc_ax, loss_ax = fig.subplots(1, 2)
    for name, history in histories.items():
        marker = "o" if len(history) <= 30 else None
        (line,) = acc_ax.plot(history["epoch"], history["val_acc"], marker=marker, ms=3, label=name)
        loss_ax.plot(history["epoch"], history["val_loss"], marker=marker, ms=3, label=name, color=line.get_color())
        best = history["val_acc"].idxmax()
        acc_ax.plot(history["epoch"][best], history["val_acc"][best], "*", ms=12, color=line.get_color(),
                    markeredgecolor="black", markeredgewidth=0.5)
    acc_ax.set_title("validation accuracy")
    acc_ax.set_ylabel("accuracy")
    loss_ax.set_title("validation loss")
    loss_ax.set_ylabel("loss")
    acc_ax.plot([], [], "*", ms=10, color="0.5", markeredgecolor="black", markeredgewidth=0.5, label="best val accuracy")
    for ax in (acc_ax, loss_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
