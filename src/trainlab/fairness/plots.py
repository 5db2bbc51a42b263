"""Audit plots: per-group accuracy, selection rate and TPR/FPR, each with 95% CI bars.

One PNG of each kind per audit (grouping), ``plots/<kind>_<slug>.png`` in the audit folder, e.g.
``plots/accuracy_race.png``, ``plots/selection_rate_race_x_gender.png``, ``plots/tpr_fpr_race.png``.
Groups too small to compare are drawn in grey and marked ``n<min``; the reference group is bold; a group that
any flag of the audit names (``flags[].group``) is drawn in red and its label says ``FLAGGED`` in the accuracy,
selection-rate and TPR/FPR plots. With class probabilities, ``plots/reliability_<slug>.png`` draws every group's
reliability curve in one plot, the groups named by a calibration-gap flag thick and marked ⚑.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trainlab.utils.io import atomic_path

KINDS = ("accuracy", "selection_rate", "tpr_fpr")
BLUE, GREY, RED = "#2b6cb0", "#a0aec0", "#c53030"


def plot_names(slug: str, reliability: bool = False) -> dict[str, str]:
    """Plot files of one audit, relative to the audit folder (``reliability`` when probabilities were audited)."""
    return {kind: f"plots/{kind}_{slug}.png" for kind in KINDS + (("reliability",) if reliability else ())}


def plot_reliability(audit: dict, path: Path, min_size: int) -> Path:
    """Every group's reliability curve in one plot (accuracy against mean confidence per bin); groups named by a
    calibration flag drawn thick and marked ⚑, groups too small to compare dashed and grey."""
    flagged = {name for f in audit["flags"] if f["measure"] == "calibration_gap" for name in (f["group"], f["versus"])}
    small = {g["group"] for g in audit["groups"] if g["too_small"]}
    ece = {g["group"]: g.get("ece", {}).get("value") for g in audit["groups"]}
    fig = _figure(8)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="#4a5568", linestyle="--", linewidth=0.9, label="perfect calibration")
    for curve in audit["reliability"]:
        x = np.array([np.nan if v is None else v for v in curve["confidence"]], float)
        y = np.array([np.nan if v is None else v for v in curve["accuracy"]], float)
        keep = np.isfinite(x) & np.isfinite(y)
        name, e = curve["group"], ece.get(curve["group"])
        label = name + (f" (ECE {e:.3f})" if e is not None else "")
        style = {"linewidth": 1.2, "marker": "o", "markersize": 3}
        if name in flagged:
            label, style = f"⚑ {label}", {**style, "linewidth": 2.8, "markersize": 5}
        if name in small:
            label, style = f"{label}, n<{min_size}", {**style, "linestyle": ":", "color": GREY}
        ax.plot(x[keep], y[keep], label=label, **style)
    ax.set_xlim(0, 1.0)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("mean confidence in bin (top-label probability)")
    ax.set_ylabel("accuracy in bin")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=7)
    gap = audit["disparities"].get("calibration_gap") or {}
    sub = f"calibration gap {gap['value']:.3f}" if gap.get("value") is not None else "calibration gap undefined"
    ax.set_title(f"Reliability by {audit['name']}\n{sub} · ⚑ flagged", fontsize=10, loc="left")
    return _save(fig, path)


def _series(audit: dict, metric: str, cls: str | None):
    values, lo, hi = [], [], []
    for g in audit["groups"]:
        s = g[metric] if cls is None else g["per_class"][cls][metric]
        v = s["value"]
        values.append(np.nan if v is None else v)
        lo.append(np.nan if not s["ci"] else s["ci"][0])
        hi.append(np.nan if not s["ci"] else s["ci"][1])
    return np.array(values, float), np.array(lo, float), np.array(hi, float)


def _panel(ax, audit: dict, metric: str, cls: str | None, xlabel: str, min_size: int):
    labels = [g["group"] for g in audit["groups"]]
    small = np.array([g["too_small"] for g in audit["groups"]])
    flagged = flagged_groups(audit)
    marked = np.array([lab in flagged for lab in labels]) & ~small
    v, lo, hi = _series(audit, metric, cls)
    y = np.arange(len(labels))[::-1]
    err = np.vstack([np.where(np.isfinite(lo), v - lo, 0), np.where(np.isfinite(hi), hi - v, 0)])
    err = np.where(np.isfinite(err), np.clip(err, 0, None), 0)
    for mask, colour in ((~small & ~marked, BLUE), (small, GREY), (marked, RED)):
        if mask.any():
            ax.errorbar(np.where(mask, v, np.nan), y, xerr=np.where(mask, err, 0), fmt="o", color=colour,
                        ecolor=colour, capsize=3, markersize=5, linewidth=1.2)
    overall = audit["overall"][metric] if cls is None else audit["overall"]["per_class"][cls][metric]
    if overall["value"] is not None:
        ax.axvline(overall["value"], color="#4a5568", linestyle="--", linewidth=0.9, label=f"overall {overall['value']:.3f}")
    ticks = [f"{'FLAGGED  ' if m else ''}{lab}  (n={g['count']:,}{', n<' + str(min_size) if g['too_small'] else ''})"
             for lab, g, m in zip(labels, audit["groups"], marked)]
    ax.set_yticks(y, ticks)
    for tick, g in zip(ax.get_yticklabels(), audit["groups"]):
        if g.get("reference"):
            tick.set_fontweight("bold")
        if g["too_small"]:
            tick.set_color("#718096")
        elif g["group"] in flagged:
            tick.set_color(RED)
    for yy, vv in zip(y, v):
        if not np.isfinite(vv):
            ax.text(0.01, yy, "undefined", va="center", fontsize=8, color="#718096", transform=ax.get_yaxis_transform())
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    return v


def flagged_groups(audit: dict) -> set[str]:
    """The groups any flag of this audit names (the flagged side of a comparison)."""
    return {f["group"] for f in audit.get("flags") or []}


def _figure(n_groups: int, ncols: int = 1):
    from matplotlib.figure import Figure

    height = 1.8 + 0.36 * max(n_groups, 2)
    return Figure(figsize=(5.2 * ncols + 2.4, height), dpi=110, layout="constrained")


def _save(fig, path: Path) -> Path:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    return path


def _head_class(audit: dict, measure: str) -> str | None:
    d = audit["disparities"].get(measure)
    return d.get("class") if d else None


def plot_audit(data: dict, out: Path) -> list[Path]:
    """Write the three plots of every audit under the audit folder ``out``; returns the paths."""
    out = Path(out)
    paths = []
    for audit in data["audits"]:
        names = plot_names(audit["slug"])
        n = len(audit["groups"])
        ref = f" · reference (bold): {audit['reference']}" if audit["reference"] else ""
        min_size = data["min_group_size"]

        fig = _figure(n)
        ax = fig.add_subplot()
        _panel(ax, audit, "accuracy", None, "accuracy (95% CI)", min_size)
        gap = audit["disparities"].get("accuracy_gap")
        sub = f"gap {gap['value']:.3f}" if gap and gap["value"] is not None else "gap undefined"
        ax.set_title(f"Accuracy by {audit['name']}\n{sub}{ref}", fontsize=10, loc="left")
        ax.legend(loc="lower left", fontsize=8)
        paths.append(_save(fig, out / names["accuracy"]))

        cls = _head_class(audit, "demographic_parity_difference") or data["classes"][-1]
        fig = _figure(n)
        ax = fig.add_subplot()
        v = _panel(ax, audit, "selection_rate", cls, f"P(predicted '{cls}') (95% CI)", min_size)
        compared = [not g["too_small"] for g in audit["groups"]]
        top = np.nanmax(np.where(compared, v, np.nan)) if np.isfinite(np.where(compared, v, np.nan)).any() else np.nan
        if np.isfinite(top) and top > 0:
            ax.axvline(0.8 * top, color=RED, linestyle=":", linewidth=1.2, label=f"four-fifths of highest ({0.8 * top:.3f})")
        ax.legend(loc="lower left", fontsize=8)
        why = "favorable class" if data["favorable"] is not None else "class with the largest demographic-parity gap"
        ax.set_title(f"Selection rate of '{cls}' by {audit['name']}\n{why}{ref}", fontsize=10, loc="left")
        paths.append(_save(fig, out / names["selection_rate"]))

        cls = _head_class(audit, "equalized_odds_difference") or data["classes"][-1]
        fig = _figure(n, ncols=2)
        axes = fig.subplots(1, 2, sharey=True)
        _panel(axes[0], audit, "tpr", cls, f"TPR: P(pred '{cls}' | true '{cls}')", min_size)
        _panel(axes[1], audit, "fpr", cls, f"FPR: P(pred '{cls}' | true not '{cls}')", min_size)
        axes[0].legend(loc="lower left", fontsize=8)
        axes[1].legend(loc="lower right", fontsize=8)
        fig.suptitle(f"True- and false-positive rates for '{cls}' by {audit['name']} (95% CI){ref}", fontsize=10)
        paths.append(_save(fig, out / names["tpr_fpr"]))

        if audit.get("reliability"):
            paths.append(plot_reliability(audit, out / f"plots/reliability_{audit['slug']}.png", min_size))
    return paths
