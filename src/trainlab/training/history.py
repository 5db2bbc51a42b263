"""``<run>/history.csv`` (one row per epoch) and ``<run>/plots/curves.png`` (loss and accuracy).

The column set is a contract read by compare and report::

    epoch, train_loss, train_acc, val_loss, val_acc, lr, time_s, images_per_s

``train_loss`` is the mean cross-entropy of the epoch's training batches (with augmentation, label
smoothing or mixup when on, and without a model's regularisation penalty, so it is comparable with
``val_loss``); ``lr`` is the learning rate at the end of the epoch; ``time_s`` the epoch's wall time
including evaluation; ``images_per_s`` training images per second over all processes. A run with
``train.ema`` adds ``val_loss_ema, val_acc_ema`` (the averaged weights on the same images). With
``train.class_balance: loss`` the optimised loss is weighted but ``train_loss`` stays the plain one.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from trainlab.utils.io import atomic_path, write_table

COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "time_s", "images_per_s")
#: written after those when a run has them: the EMA's validation (train.ema)
OPTIONAL_COLUMNS = ("val_loss_ema", "val_acc_ema")


def read_history(run: str | Path) -> pd.DataFrame:
    path = Path(run) / "history.csv"
    if not path.exists():
        return pd.DataFrame(columns=list(COLUMNS))
    return pd.read_csv(path)


def append_row(run: str | Path, row: dict, *, keep_until: int | None = None) -> pd.DataFrame:
    """Add one epoch's row (rewriting the small file atomically); rows after ``keep_until`` are dropped
    first (a resumed run replays epochs its last checkpoint did not include)."""
    frame = read_history(run)
    if keep_until is not None and len(frame):
        frame = frame[frame["epoch"] <= keep_until]
    frame = frame[frame["epoch"] != row["epoch"]] if len(frame) else frame
    columns = _columns(row.keys() | set(frame.columns))
    new = pd.DataFrame([{c: row.get(c) for c in columns}])
    frame = new if frame.empty else pd.concat([frame, new], ignore_index=True)
    write_table(frame[columns], Path(run) / "history.csv")
    return frame


def _columns(present) -> list[str]:
    return list(COLUMNS) + [c for c in OPTIONAL_COLUMNS if c in present]


def truncate(run: str | Path, keep_until: int) -> None:
    """Drop rows of epochs after ``keep_until`` (on resume, before training continues)."""
    frame = read_history(run)
    if len(frame) and (frame["epoch"] > keep_until).any():
        write_table(frame[frame["epoch"] <= keep_until][_columns(frame.columns)], Path(run) / "history.csv")


def curves_figure(frame: pd.DataFrame, *, title: str | None = None, best_epoch: int | None = None):
    """Loss and accuracy per epoch, train and val side by side, as a matplotlib Figure (no pyplot state: it
    shows inline in a notebook and is freed with its last reference)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(10, 3.8))
    ax_loss, ax_acc = fig.subplots(1, 2)
    for ax, metric, label in ((ax_loss, "loss", "cross-entropy loss"), (ax_acc, "acc", "accuracy")):
        for split, style in (("train", "-o"), ("val", "-s")):
            col = f"{split}_{metric}"
            if col in frame and frame[col].notna().any():
                ax.plot(frame["epoch"], frame[col], style, markersize=3, label=split)
        if best_epoch is not None:
            ax.axvline(best_epoch, color="grey", linestyle=":", linewidth=1, label=f"best (epoch {best_epoch})")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    ax_acc.set_ylim(0, 1)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_curves(frame: pd.DataFrame, target: str | Path, *, title: str | None = None, best_epoch: int | None = None) -> Path:
    """:func:`curves_figure`, written atomically as PNG."""
    fig = curves_figure(frame, title=title, best_epoch=best_epoch)
    target = Path(target)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return target
