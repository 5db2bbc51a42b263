"""Dataset summaries: ``summarize_manifest`` (every run writes one to ``<run>/data/``) and
``inspect_dataset`` (the ``trainlab data inspect`` verb: the summary plus image sizes and a bad-file scan).

Definitions used in ``summary.json``:

- counts ``n[c, s]``: images of class ``c`` in split ``s``;
- imbalance ratio ``= max_c n[c, train] / min_c n[c, train]`` over classes with at least one
  training image (1.0 is perfectly balanced; classes with none are listed separately);
- attribute distribution: images per attribute value and split;
- cross-tab target × attribute: ``n[c, v]`` over all splits, and ``P(c | v) = n[c, v] / Σ_c n[c, v]``
  (for a FairFace audit: is gender balanced within each race group?).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from trainlab.data.manifest import Manifest
from trainlab.data.readers.common import natural_sorted
from trainlab.errors import TrainlabError
from trainlab.utils.io import write_json
from trainlab.utils.log import get_logger

log = get_logger("trainlab.data")

MAX_CATEGORIES = 50  # an attribute with more distinct values is summarised, not tabulated


def summarize_manifest(manifest: Manifest, out_dir: str | os.PathLike, image_stats: dict | None = None) -> dict:
    """Write ``summary.json``, ``class_distribution.png`` and ``attribute_<name>.png`` to ``out_dir``; return the summary."""
    from trainlab.data.plots import plot_attribute, plot_class_distribution
    from trainlab.gallery.samples import write_sample_grids

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frame = manifest.frame
    counts = manifest.counts()
    summary: dict = {
        "target": manifest.target,
        "num_classes": manifest.num_classes,
        "classes": list(manifest.classes),
        "images": int(len(frame)),
        "splits": {s: int(n) for s, n in counts.sum(axis=0).items()},
        "counts": {c: {s: int(n) for s, n in row.items()} for c, row in counts.iterrows()},
        "imbalance": imbalance(counts),
        "attributes": {},
        "cross_tabs": {},
        "source": _jsonable(manifest.source),
    }
    names = manifest.label_names()
    for col in manifest.attributes:
        summary["attributes"][col] = attribute_summary(frame, col)
        if summary["attributes"][col]["kind"] == "categorical":
            summary["cross_tabs"][col] = cross_tab(names, frame[col], manifest.classes)
    if image_stats is not None:
        summary["image_files"] = image_stats

    plots = [plot_class_distribution(
        counts, out / "class_distribution.png",
        title=f"{manifest.target}: images per class ({manifest.num_classes} classes, "
              f"imbalance ratio {summary['imbalance']['ratio']:.2f})" if summary["imbalance"]["ratio"] else manifest.target,
    )]
    for col in manifest.attributes:
        if summary["attributes"][col]["kind"] in ("categorical", "numeric"):
            plots.append(plot_attribute(frame, col, out / f"attribute_{_slug(col)}.png", target=manifest.target,
                                        classes=manifest.classes))
    summary["plots"] = [p.name for p in plots] + write_sample_grids(manifest, out)
    write_json(out / "summary.json", summary)
    return summary


def imbalance(counts: pd.DataFrame) -> dict:
    """max/min training images per class, over classes that have any (see the module docstring)."""
    col = counts["train"] if "train" in counts.columns else counts.sum(axis=1)
    present = col[col > 0]
    if present.empty:
        return {"ratio": None, "largest": None, "smallest": None, "classes_without_train_images": list(map(str, col.index))}
    return {
        "ratio": float(present.max() / present.min()),
        "largest": {"class": str(present.idxmax()), "images": int(present.max())},
        "smallest": {"class": str(present.idxmin()), "images": int(present.min())},
        "classes_without_train_images": [str(c) for c in col.index[col == 0]],
        "definition": "max over classes of training images / min over classes with at least one",
    }


def attribute_summary(frame: pd.DataFrame, col: str) -> dict:
    values = frame[col]
    missing = int(values.isna().sum() + (values.astype(str).str.strip() == "").sum())
    unique = values.nunique(dropna=True)
    numeric = pd.to_numeric(values, errors="coerce")
    if unique > MAX_CATEGORIES:
        if numeric.notna().mean() > 0.95:
            return {"kind": "numeric", "unique": int(unique), "missing": missing, "mean": float(numeric.mean()),
                    "std": float(numeric.std()), "min": float(numeric.min()), "max": float(numeric.max())}
        return {"kind": "high-cardinality", "unique": int(unique), "missing": missing,
                "most_common": {str(k): int(v) for k, v in values.value_counts().head(10).items()}}
    table = pd.crosstab(values.astype(str), frame["split"])
    table = table.loc[natural_sorted(table.index), [s for s in ("train", "val", "test") if s in table.columns]]
    return {
        "kind": "categorical", "unique": int(unique), "missing": missing,
        "counts": {v: {s: int(n) for s, n in row.items()} for v, row in table.iterrows()},
        "total": {v: int(n) for v, n in table.sum(axis=1).items()},
    }


def cross_tab(labels: pd.Series, values: pd.Series, classes: list[str]) -> dict:
    """Counts n[c, v] and P(c | v) for target class c and attribute value v (all splits)."""
    table = pd.crosstab(labels.astype(str), values.astype(str))
    table = table.reindex(index=[c for c in classes if c in table.index], columns=natural_sorted(table.columns))
    share = table / table.sum(axis=0)
    return {
        "counts": {c: {v: int(n) for v, n in row.items()} for c, row in table.iterrows()},
        "p_class_given_value": {v: {c: round(float(share.at[c, v]), 4) for c in share.index} for v in share.columns},
    }


# ---- the `trainlab data inspect` verb ------------------------------------------------------
def scan_image_files(paths: list[str], *, workers: int = 0) -> tuple[list[tuple], list[int]]:
    """Read every file's header and decode it (cheaply: JPEG draft to 1/8), in parallel.

    Returns one ``(width, height, mode, format, bytes, error)`` per path, in path order, and the
    positions whose error is not None.
    """
    from trainlab.data import _workers
    from trainlab.data._pool import chunked, run_chunks

    parts = [(k, [paths[i] for i in c]) for k, c in enumerate(chunked(len(paths), 128))]
    results = dict(run_chunks(_workers.scan_chunk, parts, workers=workers, total=len(paths),
                              desc="checking images", weight=lambda part: len(part[1])))
    flat = [r for k in sorted(results) for r in results[k]]
    return flat, [i for i, r in enumerate(flat) if r[-1] is not None]


def image_stats(scan: list[tuple], bad: list[dict]) -> dict:
    ok = [r for r in scan if r[-1] is None]
    w = np.array([r[0] for r in ok]) if ok else np.zeros(0)
    h = np.array([r[1] for r in ok]) if ok else np.zeros(0)
    nbytes = np.array([r[4] for r in ok]) if ok else np.zeros(0)

    def stats(a):
        return {"min": int(a.min()), "median": float(np.median(a)), "mean": round(float(a.mean()), 1), "max": int(a.max())} if len(a) else None

    return {
        "scanned": len(scan) + sum(1 for b in bad if b.get("stage") == "listing"),
        "readable": len(ok),
        "width": stats(w), "height": stats(h),
        "common_sizes": {f"{a}x{b}": n for (a, b), n in Counter(zip(w.tolist(), h.tolist())).most_common(5)},
        "modes": dict(Counter(r[2] for r in ok).most_common()),
        "formats": dict(Counter(r[3] for r in ok).most_common()),
        "bytes": {"total": int(nbytes.sum()), "mean": round(float(nbytes.mean()), 1) if len(nbytes) else None},
        "bad_files": bad,
    }


def inspect_dataset(
    dataset, *, fmt: str = "auto", target: str | None = None, val_fraction: float = 0.1, test_fraction: float = 0.1,
    seed: int = 0, on_bad_image: str = "error", out=None, check_images: bool = True, workers: int = 0,
    accept_labels=(), duplicate_images: str = "error", show=None,
) -> dict:
    """Summarise a dataset, scan its images and write the report files; ``show`` (e.g. ``print``, as the
    command line passes) receives the readable summary before any error about bad files is raised.

    Bad files (missing, empty, truncated, not an image) are all listed, never stopped at. With
    ``on_bad_image="error"`` (the default) finding any ends in an error (exit status 2) after the
    report is written; with ``"skip"`` they are reported and the command succeeds.
    """
    from trainlab.data.formats import load_manifest
    from trainlab.data.validate import check_on_bad_image

    check_on_bad_image(on_bad_image)
    manifest = load_manifest(dataset, fmt=fmt, target=target, val_fraction=val_fraction, test_fraction=test_fraction,
                             seed=seed, on_bad_image="skip", check_files=check_images, accept_labels=accept_labels,
                             duplicate_images=duplicate_images)
    out = Path(out) if out is not None else Path.cwd() / f"inspect-{_slug(Path(manifest.source.get('root', dataset)).name)}"
    bad = [{**b, "stage": "listing"} for b in manifest.source.get("skipped", [])]
    stats = None
    if check_images:
        paths = [str(p) for p in manifest.frame["path"]]
        scan, bad_rows = scan_image_files(paths, workers=workers)
        bad += [{"path": paths[i], "reason": scan[i][-1], "origin": manifest.origin(i), "stage": "decode"} for i in bad_rows]
        stats = image_stats(scan, bad)
    summary = summarize_manifest(manifest, out, image_stats=stats)
    if show is not None:
        show(format_summary(summary, manifest, out, checked=check_images))
    if bad and on_bad_image == "error":
        raise TrainlabError(
            f"{len(bad)} bad image file(s) in {dataset} (listed in {out / 'summary.json'}{' and above' if show is not None else ''}); fix or remove them, "
            "or train with --on-bad-image skip (data.on_bad_image: skip) to leave them out"
        )
    return summary


def format_summary(summary: dict, manifest: Manifest, out: Path, *, checked: bool) -> str:
    """The summary as text for a terminal."""
    src = summary["source"]
    lines = [
        f"dataset    {src.get('root')}",
        f"layout     {src.get('format')}: {src.get('layout_description', src.get('layout'))}",
        f"target     {summary['target']} ({summary['num_classes']} classes)",
    ]
    carved = {r["split"]: r for r in src.get("carved", [])}
    parts = []
    for s, n in summary["splits"].items():
        note = f" (carved {carved[s]['fraction']:.0%} of train, seed {carved[s]['seed']})" if s in carved else ""
        parts.append(f"{s} {n}{note}")
    lines.append("splits     " + " · ".join(parts) + f" · total {summary['images']}")
    for rep in src.get("repairs", []):
        lines.append(f"repaired   {rep['rows']} '{rep['column']}' value(s) damaged by a spreadsheet: "
                     + ", ".join(f"{k} → {v}" for k, v in rep["values"].items()))
    imb = summary["imbalance"]
    if imb["ratio"] == 1.0:
        lines.append(f"imbalance  1.00 (balanced: {imb['largest']['images']} training images per class)")
    elif imb["ratio"]:
        lines.append(f"imbalance  {imb['ratio']:.2f} (train: largest '{imb['largest']['class']}' {imb['largest']['images']}, "
                     f"smallest '{imb['smallest']['class']}' {imb['smallest']['images']})")
    if imb.get("classes_without_train_images"):
        lines.append(f"no train   {len(imb['classes_without_train_images'])} class(es): {imb['classes_without_train_images'][:5]}")

    counts = manifest.counts()
    counts["total"] = counts.sum(axis=1)
    counts = counts.sort_values("total", ascending=False, kind="stable")
    lines += ["", "images per class and split" + (" (10 largest and 10 smallest)" if len(counts) > 24 else "") + ":"]
    shown = pd.concat([counts.head(10), counts.tail(10)]) if len(counts) > 24 else counts
    lines.append(_indent(shown.to_string()))

    for col, info in summary["attributes"].items():
        if info["kind"] != "categorical":
            lines += ["", f"attribute '{col}': {info['kind']}, {info['unique']} distinct values"]
            continue
        table = pd.DataFrame(info["counts"]).T
        table.index.name = col
        lines += ["", f"attribute '{col}' (images per value and split):", _indent(table.to_string())]
        if col in summary["cross_tabs"] and info["unique"] <= 20 and summary["num_classes"] <= 12:
            share = pd.DataFrame(summary["cross_tabs"][col]["p_class_given_value"]).T.map(lambda v: f"{v:.2f}")
            share.index.name = col
            lines += [f"{summary['target']} × {col}: share of each {summary['target']} within each {col} value",
                      _indent(share.to_string())]

    files = summary.get("image_files")
    if files:
        w, h = files["width"], files["height"]
        lines += ["", f"image files {files['readable']} readable of {files['scanned']}"]
        if w:
            lines.append(f"  size     width {w['min']}–{w['max']} (median {w['median']:.0f}), height {h['min']}–{h['max']} "
                         f"(median {h['median']:.0f}); most common " + ", ".join(f"{k} ({v})" for k, v in files["common_sizes"].items()))
            lines.append("  modes    " + ", ".join(f"{k} {v}" for k, v in files["modes"].items())
                         + " · formats " + ", ".join(f"{k} {v}" for k, v in files["formats"].items()))
            lines.append(f"  on disk  {files['bytes']['total'] / 2**20:.1f} MiB (mean {files['bytes']['mean'] / 1024:.1f} KiB)")
        bad = files["bad_files"]
        lines.append(f"bad files  {len(bad) or 'none'}")
        for b in bad[:20]:
            lines.append(f"  {b['path']}" + (f" ({b['origin']})" if b.get("origin") else "") + f": {b['reason']}")
        if len(bad) > 20:
            lines.append(f"  ... and {len(bad) - 20} more (all in summary.json)")
    elif not checked:
        lines += ["", "image files not opened (--no-image-check): no size summary, no bad-file scan"]
    lines += ["", f"written    {out / 'summary.json'}", *[f"           {out / p}" for p in summary["plots"]]]
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "dataset"


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    return obj
