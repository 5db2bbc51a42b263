"""Figures of the function-fitting experiment (matplotlib's object API: no pyplot state, no backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from trainlab.utils.io import atomic_path

COLORS = {"mlp": "tab:blue", "lstm": "tab:orange", "gru": "tab:green", "mlp_cosine": "tab:purple"}
LABELS = {"mlp": "MLP", "lstm": "LSTM", "gru": "GRU", "mlp_cosine": "MLP, cosine lr"}
KINDS = ("mlp", "lstm", "gru")


def save_figure(fig: Figure, target: Path) -> Path:
    with atomic_path(target, suffix=".png.tmp") as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    return Path(target)


def _truth(ax, x, y, label="true f(x)"):
    ax.plot(x, y, color="black", lw=3.0, alpha=0.25, label=label)


def fits_figure(arrays: dict, results: dict) -> Figure:
    """Top: one panel per model with its residual, prediction - f(x), on the test grid (each on its own scale, so
    a model with a hundred times less error is not a flat line beside the others; the fits themselves sit on top
    of the truth and of each other, which is why residuals are shown). Middle: extrapolation beyond the training
    interval (shaded), where the models do differ. Bottom: |error| of the three on one log scale, to rank them."""
    g, pred, (a, b) = arrays["grids"], arrays["pred"], arrays["domain"]
    fn = arrays["fn"]
    seed = results["seeds"][0]
    fig = Figure(figsize=(15, 11.5), layout="constrained")
    grid = fig.add_gridspec(3, 3, height_ratios=[0.9, 1.0, 0.8])
    for col, kind in enumerate(KINDS):
        ax = fig.add_subplot(grid[0, col])
        r = results["models"][kind]["runs"][0]
        ax.plot(g["x_test"], pred[kind]["test"] - g["y_test"], color=COLORS[kind], lw=1.2)
        ax.axhline(0, color="black", lw=0.6)
        ax.set_xlim(a, b)
        ax.set_title(f"{LABELS[kind]}: residual on the test grid (seed {seed})\n"
                     f"test MSE {r['test_mse']:.2e}, max |error| {r['test_max_abs_error']:.3g}", fontsize=10)
        ax.set_xlabel("x")
        if col == 0:
            ax.set_ylabel(f"prediction - f(x), f(x) = {fn}")
        ax.grid(alpha=0.3)
    ax = fig.add_subplot(grid[1, :])
    ax.axvspan(a, b, color="0.9", label="training interval")
    _truth(ax, g["x_wide"], g["y_wide"])
    for kind in KINDS:
        mse = results["models"][kind]["runs"][0]["extrapolation_mse"]
        tag = "" if mse is None else f" (MSE outside {mse:.3g})"
        ax.plot(g["x_wide"], pred[kind]["wide"], color=COLORS[kind], lw=1.2, label=LABELS[kind] + tag)
    finite = g["y_wide"][np.isfinite(g["y_wide"])]
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        pad = 0.5 * (hi - lo) + 1e-9
        ax.set_ylim(lo - pad, hi + pad)  # a model running off to ±100 must not flatten the picture
    ax.set_xlim(*results["data"]["extrapolation_domain"])
    base = results["data"].get("extrapolation_constant_mse")
    base_text = "" if base is None else f"; predicting the training mean there scores MSE {base:.3g}"
    periodic = fn.replace(" ", "") in ("np.sin(x)", "numpy.sin(x)")
    ax.set_title(f"Extrapolation: trained on [{a:.3g}, {b:.3g}] (shaded) only; beyond it each model continues its trend at "
                 f"the edge{', none has learnt periodicity' if periodic else ''}\n(MSE outside the interval in the legend"
                 f"{base_text})")
    ax.legend(fontsize=8, loc="lower left", ncols=2)
    ax = fig.add_subplot(grid[2, :])
    for kind in KINDS:
        error = np.abs(pred[kind]["test"] - g["y_test"])
        ax.plot(g["x_test"], np.maximum(error, 1e-12), color=COLORS[kind], lw=1.0, label=LABELS[kind])
    ax.set_yscale("log")
    ax.set_xlim(a, b)
    ax.set_title(f"|error| on the test grid, log scale ({results['data']['test_points']:,} points between the training points)")
    ax.set_ylabel("|prediction - f(x)|")
    ax.set_xlabel("x")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, ncols=3)
    return fig


def loss_figure(arrays: dict, results: dict) -> Figure:
    """Training loss and test MSE per epoch, every seed (first seed bold), log scale."""
    curves = arrays["curves"]
    fig = Figure(figsize=(13, 4.8), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    first = results["seeds"][0]
    for kind, runs in curves.items():
        for seed, train, test in runs:
            bold = seed == first
            kw = {"color": COLORS[kind], "lw": 1.4 if bold else 0.6, "alpha": 1.0 if bold else 0.35}
            epochs = np.arange(1, len(train) + 1)
            axes[0].plot(epochs, train, label=LABELS[kind] if bold else None, **kw)
            axes[1].plot(epochs, test, label=LABELS[kind] if bold else None, **kw)
    target = results["target_mse"]
    for ax, title in zip(axes, ("Training loss (MSE, mean over the epoch's batches)", "Test MSE after each epoch")):
        ax.set_yscale("log")
        if target is not None:
            ax.axhline(target, color="red", lw=0.8, ls=":", label=f"target {target:g}")
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("MSE")
    axes[1].legend(fontsize=8)
    seeds = results["seeds"]
    which = f"seed {first}" if len(seeds) == 1 else f"seeds {seeds[0]}..{seeds[-1]} (seed {first} bold)"
    fig.suptitle(f"Loss curves, {which}")
    return fig


def windows_figure(arrays: dict, results: dict) -> Figure:
    """Left: test MSE against window length k (mean over seeds, bars from min to max when there are several) with the baselines.
    Right: the LSTM's prediction error along the test segment for each k (first seed)."""
    w = results["windows"]
    ks = w["ks"]
    fig = Figure(figsize=(13, 4.8), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    offsets = {"mlp": -0.06, "lstm": 0.0, "gru": 0.06}
    n_seeds = len(results["seeds"])  # a min-max bar over one seed is no spread at all: drawn only for several
    for kind in KINDS:
        per_k = w["models"][kind]
        stats = [per_k[str(k)]["test_mse"] for k in ks]
        mean = np.array([s["mean"] for s in stats])
        spread = np.array([[s["mean"] - s["min"] for s in stats], [s["max"] - s["mean"] for s in stats]])
        xs = np.array(ks, dtype=float) * (1 + offsets[kind])
        ax.errorbar(xs, mean, yerr=spread if n_seeds > 1 else None, marker="o", capsize=3, color=COLORS[kind],
                    label=LABELS[kind])
    ax.axhline(w["baselines"]["persistence"], color="gray", ls="--", lw=1, label="persistence s[t-1]")
    ax.axhline(w["baselines"]["k1_bound"], color="red", ls=":", lw=1, label="best possible for k = 1")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("window length k (past values)")
    ax.set_ylabel("test MSE")
    ax.set_title("Next-value prediction of sin: test MSE, " + (f"mean over {n_seeds} seeds (bars: min to max)"
                 if n_seeds > 1 else f"one seed ({results['seeds'][0]}): no spread to show"))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    t, y = arrays["windows"]["t"], arrays["windows"]["y"]
    ax2.plot(t, 0.1 * y, color="black", lw=2.5, alpha=0.2, label="true s[t] / 10 (phase guide)")
    styles = ["-", "--", ":", "-."]
    for i, k in enumerate(ks):
        p = arrays["windows"]["pred"][("lstm", k)]
        ax2.plot(t, p - y, lw=1.1, ls=styles[i % len(styles)], label=f"LSTM, k = {k}: MSE {np.mean((p - y) ** 2):.2e}")
    ax2.axhline(0, color="black", lw=0.6)
    ax2.set_xlabel("t")
    ax2.set_ylabel("prediction - s[t]")
    ax2.set_title(f"LSTM error on the test segment, seed {results['seeds'][0]} (k = 1 cannot tell rising from falling)")
    ax2.legend(fontsize=8)
    return fig
