"""One function per part of the page: what a run, a comparison, an audit or a sine folder shows.

Each takes what :mod:`trainlab.report.collect` read and returns a :class:`~trainlab.report.blocks.Section`.
A part whose files are missing says so ("not run") instead of disappearing without a word.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from trainlab.report import blocks as B
from trainlab.report.blocks import Ids, Section, fmt, fmt_p, fmt_pct, fmt_seconds
from trainlab.report.markdown import to_html

METRICS = (
    ("accuracy", "Accuracy", "share of items with y_pred = y_true"),
    ("balanced_accuracy", "Balanced accuracy", "mean recall over the classes present in y_true"),
    ("f1_macro", "F1 macro", "unweighted mean of per-class F1"),
    ("f1_weighted", "F1 weighted", "per-class F1 weighted by support"),
    ("top5_accuracy", "Top-5 accuracy", "share whose true class is among the 5 most probable"),
    ("roc_auc", "ROC AUC", "from probabilities; one-vs-rest macro for more than two classes"),
    ("log_loss", "Log loss", "−mean log p(true class); lower is better"),
    ("ece", "ECE", "expected calibration error, 15 equal-width confidence bins; lower is better"),
)
HEADLINE = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc")
# How a run ends normally (trainlab.training.trainer writes them); any other status in run.json is shown as a warning.
# D's run record will own these as an Enum (trainlab.artifacts.run): read them from there once it lands.


TOP_K_MIN_CLASSES = 10  # top-5 accuracy is shown from this many classes on (below, 5 of k is most of the classes)


def headline_metrics(k: int | None) -> tuple[str, ...]:
    """The big numbers for a task of ``k`` classes: top-5 joins them from 10 classes on."""
    return HEADLINE + (("top5_accuracy",) if k and k >= TOP_K_MIN_CLASSES else ())


def shown_metrics(k: int | None) -> tuple[str, ...]:
    """Every metric the tables show for ``k`` classes (no top-5 below 10 classes)."""
    return tuple(key for key, _, _ in METRICS if key != "top5_accuracy" or (k and k >= TOP_K_MIN_CLASSES))


def _metric_attrs(run: str, key: str, value: Any, ci: tuple[float, float] | None = None) -> dict[str, str]:
    attrs = {"data-run": run, "data-metric": key, "data-value": B.data_value(value)}
    if ci:
        attrs.update({"data-ci-low": B.data_value(ci[0]), "data-ci-high": B.data_value(ci[1])})
    return attrs


# ---- overview ----------------------------------------------------------------------------------
def overview(ids: Ids, runs: list, *, intro: str | None, notes: list[str]) -> Section:
    sec = Section(ids.make("overview"), "Overview")
    if intro:
        sec.add(B.html(to_html(intro)))
    if notes:
        sec.add(B.notes(notes))
    if runs:
        rows = []
        for run in runs:
            rj, m = run.run_json or {}, run.metrics
            rows.append({
                "run": run.name, "model": rj.get("model"), "target": rj.get("target"),
                "classes": rj.get("num_classes") or (m.n_classes if m else None), "test items": m.n if m else None,
                "epochs": rj.get("epochs_done"), "accuracy": m.accuracy if m else None,
                "balanced_accuracy": m.balanced_accuracy if m else None, "f1_macro": m.f1_macro if m else None,
                "train time": (rj.get("timings") or {}).get("train_s"),
            })
        frame = pd.DataFrame(rows)
        table = B.frame_table(
            frame, labels={"balanced_accuracy": "balanced acc.", "f1_macro": "F1 macro", "train time": "training time"},
            formats={"train time": fmt_seconds},
            cell_attrs=lambda c, v, r: _metric_attrs(r["run"], c, v) if c in ("accuracy", "balanced_accuracy", "f1_macro") else {},
            caption="Every run in this report (test split).", row_headers=True, scroll=False,
        )
        sec.add(B.table(table))
    return sec


# ---- one run -----------------------------------------------------------------------------------
def run_section(ids: Ids, run, *, datasets: dict | None = None) -> Section:
    """One run. ``datasets`` maps a dataset (:attr:`Run.dataset_key`) to the (run name, section id) that shows it
    first; a later run on the same data links there instead of repeating it."""
    rj = run.run_json or {}
    sec = Section(ids.make("run", run.name), f"Run: {run.name}", attrs={"data-run-section": run.name})
    line = _run_line(run, rj)
    if line:
        sec.add(B.p(line, "lead"))
    sec.add(B.p(f"Folder: {run.path}", "small"))
    if run.record is not None and not run.record.status.complete:  # finished and stopped-early are normal ends
        sec.add(B.p(f"Status in run.json: {run.record.status.value}" + (f" ({run.record.error})" if run.record.error else ""), "warning"))
    key = run.dataset_key
    first = (datasets or {}).get(key) if key else None
    dataset = _dataset_link(ids, run, *first) if first else _dataset(ids, run, rj)
    if key and datasets is not None and not first:
        datasets[key] = (run.name, dataset.id)
    sec.children = [
        dataset,
        _config(ids, run, rj),
        _training(ids, run, rj),
        _metrics(ids, run),
        _errors(ids, run),
        _gallery(ids, run),
        _audits(ids, run),
        _model(ids, run, rj),
    ]
    if run.notes:
        sec.add(B.p("Some files of this run could not be used:", "small"), B.notes(run.notes))
    return sec


def _run_line(run, rj: dict) -> str | None:
    parts = []
    if rj.get("model"):
        parts.append(f"Model {rj['model']}")
    if rj.get("target"):
        parts.append(f"classifying '{rj['target']}'")
    n = rj.get("num_classes") or (run.metrics.n_classes if run.metrics else None)
    if n:
        parts.append(f"{n:,} classes")
    if rj.get("epochs_done") is not None:
        parts.append(f"{rj['epochs_done']} of {rj.get('epochs', '?')} epochs")
    if rj.get("device"):
        parts.append(f"on {rj['device']}" + (f" ({rj['device_name']})" if rj.get("device_name") else ""))
    return ", ".join(parts) + "." if parts else None


def _dataset_link(ids: Ids, run, first_run: str, first_id: str) -> Section:
    sec = Section(ids.make(run.name, "dataset"), "Dataset", attrs={"data-part": "dataset-link"})
    return sec.add(B.link("The same dataset (root, format and target) as run", first_run, first_id,
                          "; its summary, class counts and sample images are shown there once."))


def _dataset(ids: Ids, run, rj: dict) -> Section:
    sec = Section(ids.make(run.name, "dataset"), "Dataset", attrs={"data-part": "dataset"})
    summary = run.data_summary if isinstance(run.data_summary, dict) else None
    source = (summary or {}).get("source") or (rj.get("dataset") if isinstance(rj.get("dataset"), dict) else {})
    sizes = (summary or {}).get("splits") or rj.get("split_sizes") or {}
    imbalance = (summary or {}).get("imbalance") if isinstance((summary or {}).get("imbalance"), dict) else {}
    carved = [c for c in source.get("carved") or [] if isinstance(c, dict)]
    facts = [
        ("format", source.get("format")),
        ("root", str(source["root"]) if source.get("root") else None),
        ("layout", source.get("layout_description") or (source.get("layout") if isinstance(source.get("layout"), str) else None)),
        ("target", (summary or {}).get("target") or rj.get("target")),
        ("classes", (summary or {}).get("num_classes") or rj.get("num_classes")),
        ("images", " · ".join(f"{k} {fmt(v)}" for k, v in sizes.items()) if sizes else None),
        ("imbalance", f"{fmt(imbalance['ratio'], 2)} (largest class / smallest, in train)" if imbalance.get("ratio") else None),
        ("val split", "; ".join(f"{fmt(c.get('rows'))} rows carved from {c.get('carved_from')} "
                                f"({fmt(c.get('fraction'), 2)}, seed {c.get('seed')}, stratified by {', '.join(c.get('stratified_by') or [])})"
                                for c in carved) or None),
        ("repairs", "; ".join(map(str, source.get("repairs") or [])) or None),
        ("skipped files", fmt(len(source["skipped"])) if source.get("skipped") else None),
        ("image size", _image_size(rj.get("data_config"))),
    ]
    facts_block = B.kv(facts)
    if facts_block:
        sec.add(facts_block)
    images = []
    if run.data_images:
        order = [str(p) for p in (summary or {}).get("plots") or []]
        images = sorted(run.data_images, key=lambda im: order.index(im.path.name) if im.path.name in order else len(order))
        sec.add(B.figures(images[:1]))
    if run.samples is not None:
        for i, (column, pages) in enumerate(run.sample_images.items()):
            if not pages:
                continue
            what = "class" if i == 0 else f"value of '{column}'"
            title = f"Sample images: {run.samples.per_row} per {what} ({len(pages)} page{'s' if len(pages) > 1 else ''})"
            sec.add(B.details(title, [B.figures(pages[:1]), *( [B.details("More pages", [B.figures(pages[1:])])] if pages[1:] else [])],
                              open=i == 0))
    if summary:
        sec.add(*data_summary_blocks(summary, run.name))
    if images[1:]:
        sec.add(B.details("Attribute distributions", [B.figures(images[1:])]))
    if not summary and not run.data_images:
        sec.add(B.missing("no dataset summary in this run (data/summary.json and the class-distribution plot, "
                          "which 'trainlab train' writes)." if facts_block else "no dataset summary and no run.json in this run."))
    return sec


def data_summary_blocks(summary: dict, run: str) -> list[dict]:
    """``data/summary.json``: images per class and split, attribute counts and P(class | attribute value)."""
    out: list[dict] = []
    counts = summary.get("counts")
    if isinstance(counts, dict) and counts and all(isinstance(v, dict) for v in counts.values()):
        frame = pd.DataFrame.from_dict(counts, orient="index").fillna(0).astype(int)
        frame["total"] = frame.sum(axis=1)
        frame.insert(0, "class", [str(c) for c in frame.index])
        table = B.frame_table(frame.reset_index(drop=True), caption=f"Images per class and split ({len(frame)} classes).",
                              cell_attrs=lambda c, v, r: {"data-class": str(r["class"]), "data-count": c} if c != "class" else {},
                              scroll_rows=12)
        out.append(B.details(f"Images per class ({len(frame)} classes)", [B.table(table)], open=len(frame) <= 12))
    attributes = summary.get("attributes") if isinstance(summary.get("attributes"), dict) else {}
    cross = summary.get("cross_tabs") if isinstance(summary.get("cross_tabs"), dict) else {}
    inner: list[dict] = []
    for name, info in attributes.items():
        if not isinstance(info, dict) or not isinstance(info.get("counts"), dict):
            continue
        values = info["counts"]
        frame = pd.DataFrame.from_dict(values, orient="index").fillna(0)
        if all(isinstance(v, dict) for v in values.values()):
            frame = frame.astype(int)
            frame["total"] = frame.sum(axis=1)
        frame.insert(0, name, [str(v) for v in frame.index])
        p_class = (cross.get(name) or {}).get("p_class_given_value") if isinstance(cross.get(name), dict) else None
        if isinstance(p_class, dict):
            shares = pd.DataFrame.from_dict(p_class, orient="index")
            for column in shares.columns:
                frame[f"P({column} | {name})"] = [shares[column].get(v) for v in frame.index]
        caption = f"'{name}': {fmt(info.get('unique'))} values, {fmt(info.get('missing'))} missing; images per split" + (
            f", and the share of each {summary.get('target') or 'class'} within each value." if p_class else ".")
        inner.append(B.table(B.frame_table(frame.reset_index(drop=True), caption=caption, scroll_rows=12,
                                           formats={c: B.fmt_pct for c in frame.columns if str(c).startswith("P(")})))
    if inner:
        out.append(B.details(f"Attributes ({', '.join(attributes)})", inner))
    return out


def _config(ids: Ids, run, rj: dict) -> Section:
    sec = Section(ids.make(run.name, "config"), "Configuration", short="Config")
    timings = rj.get("timings") or {}
    facts = B.kv([
        ("model", rj.get("model")),
        ("parameters", rj.get("parameters")),
        ("trainable parameters", rj.get("trainable_parameters")),
        ("device", (rj.get("device") or "") + (f" ({rj['device_name']})" if rj.get("device_name") else "") or None),
        ("processes", rj.get("world_size")),
        ("mixed precision", rj.get("amp")),
        ("status", rj.get("status")),
        ("cache build", fmt_seconds(timings["cache_s"]) if "cache_s" in timings else None),
        ("training", fmt_seconds(timings["train_s"]) if "train_s" in timings else None),
        ("predictions", fmt_seconds(timings["predict_s"]) if "predict_s" in timings else None),
        ("total", fmt_seconds(timings["total_s"]) if "total_s" in timings else None),
        ("trainlab", rj.get("trainlab_version")),
        ("torch", rj.get("torch_version")),
        ("started", rj.get("created")),
        ("finished", rj.get("finished")),
    ])
    if facts:
        sec.add(facts)
    if run.config_text:
        sec.add(B.details("config.yaml: the resolved recipe (trainlab train <this file> redoes the run)",
                          [B.pre(run.config_text.rstrip())], open=True))
    elif not facts:
        sec.add(B.missing("no config.yaml and no run.json in this run."))
    else:
        sec.add(B.missing("no config.yaml in this run."))
    return sec


def _training(ids: Ids, run, rj: dict) -> Section:
    sec = Section(ids.make(run.name, "training"), "Training")
    h = run.history
    if h is None and run.curves is None:
        return sec.add(B.missing("no training history (history.csv) in this run."))
    if h is not None:
        items = [{"label": "epochs", "text": fmt(int(h["epoch"].max()))}]
        if "val_acc" in h and h["val_acc"].notna().any():
            best = h["val_acc"].idxmax()
            items.append({"label": "best val accuracy", "text": fmt(float(h["val_acc"][best])),
                          "sub": f"epoch {int(h['epoch'][best])}",
                          "attrs": {"data-run": run.name, "data-history": "best_val_acc", "data-value": B.data_value(float(h['val_acc'][best]))}})
        if "images_per_s" in h and h["images_per_s"].notna().any():
            items.append({"label": "training speed", "text": f"{fmt(float(h['images_per_s'].median()), 0)} img/s",
                          "sub": "median over epochs"})
        if "time_s" in h and h["time_s"].notna().any():
            items.append({"label": "epoch time", "text": fmt_seconds(float(h["time_s"].median())), "sub": "median"})
        sec.add(B.stats(items))
    sec.add(B.figures([run.curves]))
    if h is not None:
        labels = {"train_loss": "train loss", "train_acc": "train acc.", "val_loss": "val loss", "val_acc": "val acc.",
                  "time_s": "time", "images_per_s": "images/s"}
        formats = {"lr": lambda v: "n/a" if B.is_missing(v) else f"{float(v):.2e}", "time_s": fmt_seconds,
                   "images_per_s": lambda v: fmt(B.plain(v), 0)}
        table = B.frame_table(h, labels=labels, formats=formats, digits=4)
        sec.add(B.details(f"history.csv ({len(h)} epochs)", [B.table(table)], open=len(h) <= 12))
    return sec


def _metrics(ids: Ids, run) -> Section:
    sec = Section(ids.make(run.name, "metrics"), "Test metrics", short="Metrics")
    m = run.metrics
    if m is None:
        return sec.add(B.missing(run.metrics_note or "no test metrics: the run has no metrics.json and no test predictions "
                                 "('trainlab train' writes both at the end of training)."))
    undefined = m.undefined
    sec.add(B.p(f"{m.split} split: {fmt(m.n)} items, {fmt(m.n_classes)} classes.", "small"))
    if run.metrics_note:
        sec.add(B.p(run.metrics_note, "small"))
    shown = shown_metrics(m.n_classes)
    cards = []
    for key, label, _ in METRICS:
        if key in headline_metrics(m.n_classes):
            ci = m.interval(key)
            cards.append({"label": label, "text": fmt(m.value(key)), "title": undefined.get(key),
                          "sub": f"95% CI {fmt(ci[0])} to {fmt(ci[1])}" if ci else None,
                          "attrs": _metric_attrs(run.name, key, m.value(key), ci)})
    sec.add(B.stats(cards))
    if m.bootstrap is not None:
        sec.add(B.p(f"Intervals: {m.bootstrap.method}, {fmt(m.bootstrap.replicates)} resamples of the {fmt(m.n)} test items "
                    f"(seed {m.bootstrap.seed}), computed by evaluate and stored in metrics.json.", "small"))
    rows = []
    for key, label, definition in METRICS:
        if key not in shown:
            continue
        value = m.value(key)
        ci = m.interval(key)
        text = fmt(value, 4)
        note = undefined.get(key) or (m.roc_auc_average if key == "roc_auc" else None) or definition
        rows.append(B.Row([B.Cell(label), B.Cell(text, True, undefined.get(key), _metric_attrs(run.name, key, value, ci)),
                           B.Cell(f"{fmt(ci[0], 4)} to {fmt(ci[1], 4)}" if ci else "", True), B.Cell(note)]))
    sec.add(B.table(B.Table([B.Column("metric"), B.Column("value", True), B.Column("95% CI", True), B.Column("definition")],
                            rows, row_headers=True)))
    if "top5_accuracy" not in shown:
        sec.add(B.p(f"Top-5 accuracy is left out: with {m.n_classes} classes it says little (it is in metrics.json).", "small"))
    if m.y_pred_differs_from_argmax:
        sec.add(B.p(f"y_pred is not the most probable class on {fmt(m.y_pred_differs_from_argmax)} items "
                    "(e.g. after threshold mitigation); label metrics use y_pred, score metrics the probabilities.", "small"))
    return sec


def _errors(ids: Ids, run) -> Section:
    sec = Section(ids.make(run.name, "errors"), "Confusion matrix and per-class results", short="Confusions")
    if run.metrics is None:
        return sec.add(B.missing("no evaluation in this run."))
    m = run.metrics
    k = m.n_classes
    matrix = m.confusion if k <= B.HEATMAP_MAX_CLASSES else None
    if matrix is not None:
        ordered = bool(m.class_order) and m.class_order != list(range(k))
        sec.add(B.heatmap(
            matrix.tolist(), list(m.classes), m.class_order,
            caption=f"Confusion matrix, {m.split} split, {fmt(m.n)} items: rows are the true class, columns the predicted "
                    + ("one, in an order that puts classes confused with each other side by side (clustering of the "
                       "confusions, computed by evaluate and stored in metrics.json). " if ordered else "one. ")
                    + f"Colour: log scale of the count (1 to {fmt(int(matrix.max()))}), blue on the diagonal (right), red off it "
                      "(errors). Hover a cell for its true and predicted class, count and share of the row"
                    + (f"; scroll inside the box: the class names stay in view." if k > 20 else "."),
            attrs={"data-run": run.name, "data-classes": str(k)}))
    if run.eval_images:
        matrices = [im for im in run.eval_images if "confusion" in im.path.name] if matrix is None else []
        others = [im for im in run.eval_images if "confusion" not in im.path.name]
        if matrices and k > 25:
            sec.add(B.p(f"At {k} classes the matrices are shown at full resolution: scroll inside each box to pan. "
                        "The table of top confusions below lists the most frequent errors.", "small"))
            sec.add(B.figures(matrices, pan=True))
        elif matrices:
            sec.add(B.figures(matrices))
        if others:
            sec.add(B.figures(others))
    if run.top_confusions is not None and len(run.top_confusions):
        tc = run.top_confusions
        table = B.frame_table(
            tc, labels={"true": "true class", "predicted": "predicted as", "share_of_true": "share of true class",
                        "share_of_errors": "share of all errors"},
            formats={"share_of_true": fmt_pct, "share_of_errors": fmt_pct},
            caption=f"The {len(tc)} most frequent confusions (true → predicted).", scroll_rows=12,
        )
        sec.add(B.table(table))
    elif run.top_confusions is not None:
        sec.add(B.p("No confusions: every test item is classified correctly.", "small"))
    if run.per_class is not None and len(run.per_class):
        pc = run.per_class
        table = B.frame_table(
            pc, labels={"index": "#", "roc_auc": "ROC AUC", "f1": "F1"},
            formats={"index": lambda v: str(B.plain(v))},
            caption=f"Per class ({len(pc)} classes); precision, recall and F1 from y_pred, ROC AUC one-vs-rest from the probabilities.",
            cell_attrs=lambda c, v, r: {"data-class": str(r.get("class", "")), "data-metric": c,
                                        "data-value": B.data_value(v)} if c in ("precision", "recall", "f1") else {},
            scroll_rows=15,
        )
        table.id = f"{ids.make(run.name, 'per-class')}"
        sec.add(B.table(table))
    if len(sec.blocks) == 0:
        sec.add(B.missing("no confusion matrix or per-class table in this run."))
    return sec


def _gallery(ids: Ids, run) -> Section:
    sec = Section(ids.make(run.name, "gallery"), "Errors in pictures", short="Gallery", attrs={"data-part": "gallery"})
    g = run.gallery
    if g is None:
        return sec.add(B.missing(f"no error gallery in this run ('trainlab gallery {run.path}' makes it from the test predictions)."))
    sec.add(B.p(f"From the {g.split} predictions: {fmt(g.errors)} of {fmt(g.items)} items misclassified.", "small"))
    images = run.gallery_images
    sec.add(B.figures([images.get("top_loss")]))
    if g.saliency is not None:
        sec.add(B.p(f"Saliency: {g.saliency.method} on layer {g.saliency.layer} of the {g.saliency.checkpoint} checkpoint, "
                    f"for the {g.saliency.target}.", "small"))
    sec.add(B.figures([images.get("saliency")]))
    sec.add(B.figures([images.get("confused")]))
    groups = [im for role, im in images.items() if role.startswith("group:")]
    if groups:
        sec.add(B.details(f"Errors of the worst and the best group ({', '.join(gr.column for gr in g.groupings)})",
                          [B.figures(groups)], open=True))
    sec.add(B.notes(list(g.notes)))
    return sec


def glance(runs: list, run_sections: dict) -> dict | None:
    """The pictures a reader should see first: a page of sample images, the highest-loss errors and the saliency
    overlays (or the confused pairs), each from the first run that has it and linking to its full section."""
    def part(run, name):
        section = run_sections.get(run.name)
        return next((c.id for c in section.children if c.attrs.get("data-part") == name), section.id) if section else ""

    items = []
    for run in runs:
        pages = next(iter(run.sample_images.values()), [])
        if pages:
            items.append({"title": f"Data ({run.name})", "href": part(run, "dataset"), "image": pages[0]})
            break
    for role, title in (("top_loss", "Errors"), ("saliency", "Saliency"), ("confused", "Confusions")):
        if len(items) >= 3:
            break
        for run in runs:
            if role in run.gallery_images:
                items.append({"title": f"{title} ({run.name})", "href": part(run, "gallery"), "image": run.gallery_images[role]})
                break
    return B.glance(items)


def _model(ids: Ids, run, rj: dict) -> Section:
    sec = Section(ids.make(run.name, "model"), "Model")
    s = run.model_summary
    if s is None:
        return sec.add(B.missing(f"no model summary: {run.model_summary_note or 'not available'}."))
    sec.add(B.p(f"{s.model_name}; input {s.input_text()}.", "small"))
    items = [{"label": "parameters", "text": fmt(s.total), "sub": "PyTorch's count",
              "attrs": {"data-run": run.name, "data-model": "total", "data-value": str(s.total)}},
             {"label": "trainable", "text": fmt(s.trainable), "sub": "as built from run.json"}]
    if s.total_keras != s.total:
        items.append({"label": "Keras convention", "text": fmt(s.total_keras), "sub": "e.g. BatchNorm statistics counted"})
    sec.add(B.stats(items))
    rows = s.rows.copy()
    rows["formula"] = [f if fk == f else f"{f}   [Keras: {fk}]" for f, fk in zip(rows["formula"], rows["formula_keras"])]
    table = B.frame_table(
        rows, columns=["name", "type", "output_shape", "params", "trainable", "params_keras", "formula"],
        labels={"output_shape": "output shape", "params_keras": "Keras"}, scroll_rows=14,
    )
    sec.add(B.details(f"Per-layer table ({len(rows)} layers) with the formula behind each count", [B.table(table)],
                      open=len(rows) <= 20))
    sec.add(B.notes(s.notes))
    return sec


# ---- fairness ----------------------------------------------------------------------------------
def _audits(ids: Ids, run) -> Section:
    from trainlab.report import fairness as F

    sec = Section(ids.make(run.name, "fairness"), "Fairness audit", short="Fairness")
    if not run.audits:
        sec.add(B.missing("no fairness audit of this run (trainlab audit <run> --by <attribute> writes <run>/audit/)."))
    for audit in run.audits:
        heading = f"From {audit.path.name}/" if len(run.audits) > 1 else None
        blocks, children = F.audit_blocks(ids, audit, run.name, heading=heading, folder=audit.path.name)
        sec.add(*blocks)
        sec.children.extend(children)
    for mitigation in run.mitigations:
        sec.children.append(F.mitigation_section(ids, run.name, mitigation))
    return sec


def audit_only_section(ids: Ids, item) -> Section:
    from trainlab.report import fairness as F

    sec = Section(ids.make("audit", item.name), f"Fairness audit: {item.name}")
    blocks, children = F.audit_blocks(ids, item.audit, item.name)
    sec.add(*blocks)
    sec.children = children
    if item.notes:
        sec.add(B.notes(item.notes))
    return sec


# ---- comparison --------------------------------------------------------------------------------
def compare_section(ids: Ids, cmp, *, n_classes: int | None = None) -> Section:
    title = "Comparison" if cmp.internal else f"Comparison: {cmp.name}"
    sec = Section(ids.make("compare", cmp.name), title)
    data = cmp.data
    if data is None:
        return sec.add(B.missing(f"{cmp.path}: compare.json could not be read."))
    names = [r.name for r in data.runs]
    if cmp.internal:
        sec.add(B.p(f"trainlab report ran trainlab compare on {', '.join(names)}: the same {fmt(data.n_items)} "
                    f"{data.split} items, paired by id.", "small"))
    else:
        sec.add(B.p(f"From {cmp.path}: {fmt(data.n_items)} {data.split} items, paired by id.", "small"))
    rows = []
    for entry in data.runs:
        rows.append({"run": entry.name, **{k: entry.metrics.get(k) for k, _, _ in METRICS},
                     "best_val_acc": entry.best_val_acc, "best_epoch": entry.best_epoch, "epochs": entry.epochs})
    if rows:
        frame = pd.DataFrame(rows)
        keys = [k for k, _, _ in METRICS if k in shown_metrics(n_classes) or n_classes is None and k != "top5_accuracy"]
        sec.add(B.table(B.frame_table(
            frame, columns=["run", *keys, "best_val_acc", "best_epoch", "epochs"],
            labels={**{k: label for k, label, _ in METRICS}, "best_val_acc": "best val acc.", "best_epoch": "best epoch"},
            caption="Test metrics of every compared run (from compare.json).", row_headers=True)))
    sec.add(B.figures(cmp.images))
    pairs = [p.row() for p in data.mcnemar]
    if pairs:
        sec.add(B.p("McNemar's exact test on the items paired by id: 'a only' counts the items run a gets right and "
                    "run b gets wrong, 'b only' the reverse; the p-value is the two-sided exact binomial test on those "
                    f"two counts. {data.correction.capitalize()}. Verdicts at alpha = {data.alpha}."))
        frame = pd.DataFrame(pairs)
        cols = ["a", "b", "accuracy_a", "accuracy_b", "a_only", "b_only", "both_right", "both_wrong", "p_value", "p_holm", "verdict"]
        sec.add(B.table(B.frame_table(
            frame, columns=cols,
            labels={"accuracy_a": "acc. a", "accuracy_b": "acc. b", "a_only": "a only", "b_only": "b only",
                    "both_right": "both right", "both_wrong": "both wrong", "p_value": "p", "p_holm": "p (Holm)"},
            formats={"p_value": fmt_p, "p_holm": fmt_p},
            cell_attrs=lambda c, v, r: {"data-mcnemar": f"{r['a']}|{r['b']}", "data-key": c, "data-value": B.data_value(v)}
            if c in ("p_value", "p_holm", "a_only", "b_only") else {},
        )))
        for pair in pairs:
            cls = "finding" if "beats" in str(pair.get("verdict", "")) else "small"
            sec.add(B.p(f"{pair['a']} vs {pair['b']}: {pair.get('verdict')} (p = {fmt_p(pair.get('p_holm', pair.get('p_value')))}, "
                        f"{fmt(pair.get('a_only'))} items only {pair['a']} gets right, {fmt(pair.get('b_only'))} only {pair['b']}).", cls))
    if data.fairness:
        from trainlab.report.fairness import gap_change_table
    for entry in data.fairness or []:
        sec.add(B.p(f"Fairness compared: {entry.get('a')} − {entry.get('b')} by {entry.get('by')}. Each gap of the audit for "
                    "both runs and the change between them, with the paired bootstrap 95% interval (the same items "
                    "resampled for both runs); an interval that excludes 0 is a change the items can show."))
        sec.add(B.table(gap_change_table(entry)))
        if entry.get("note"):
            sec.add(B.p(f"Note: {entry['note']}.", "small"))
    if cmp.notes:
        sec.add(B.notes(cmp.notes))
    return sec


# ---- function fitting --------------------------------------------------------------------------
def sine_section(ids: Ids, item) -> Section:
    """``trainlab sine`` results: the models table (first seed, then mean ± std over seeds), the windowed task, figures."""
    data = item.data  # trainlab.artifacts.fit_results.FitResults
    title = "Function fitting: " + (f"y = {data.function}" if data else item.name)
    sec = Section(ids.make("sine", item.name), title, attrs={"data-sine": item.name})
    if data is None:
        sec.add(B.missing(f"{item.path}: results.json could not be read."))
        return sec.add(B.notes(item.notes)) if item.notes else sec
    domain, seeds = data.domain, data.seeds
    facts = [
        ("function", data.function),
        ("training interval", f"[{domain[0]:.4g}, {domain[1]:.4g}]"),
        ("training points", data.data.get("train_points")),
        ("test points", data.data.get("test_points")),
        ("seeds", f"{len(seeds)} ({seeds[0]}..{seeds[-1]})" if seeds else None),
        ("epochs", _sine_epochs(data)),
        ("wall time", fmt_seconds(data.timings_s.get("total"))),
    ]
    sec.add(B.kv(facts))
    if data.reduced:
        sec.add(B.p(data.reduced, "warning"))
    elif data.quick:
        sec.add(B.p("A quick run (fewer epochs and seeds than the full experiment): too short to judge the target.", "warning"))
    if data.models:
        sec.add(B.table(_sine_table(data, item.name)))
        if data.target_mse is not None and data.all_below_target is not None and not data.quick and not data.reduced:
            ok = data.all_below_target
            sec.add(B.p(f"Test MSE {'below' if ok else 'NOT below'} {data.target_mse:g} for the MLP, the LSTM and the GRU on every seed.",
                        "finding" if ok else "warning"))
    sec.add(B.figures(item.images[:2]))
    windows = data.windows
    if isinstance(windows, dict) and isinstance(windows.get("models"), dict):
        sub = Section(ids.make("sine", item.name, "windows"), "Next-value prediction from a window of past values")
        sub.add(B.p(f"{windows.get('series', '')}; {windows.get('split_description', '')}. "
                    f"{windows.get('inputs', '')}.".strip(" ;."), "small"))
        sub.add(B.table(_windows_table(windows, item.name)))
        sub.add(B.figures(item.images[2:]))
        sec.children.append(sub)
    elif len(item.images) > 2:
        sec.add(B.figures(item.images[2:]))
    if data.notes:
        sec.add(B.details("Notes on the method", [B.notes(list(data.notes))]))
    if item.notes:
        sec.add(B.notes(item.notes))
    return sec


def _sine_epochs(data) -> str | None:
    epochs = sorted({m.recipe.get("epochs") for m in data.models.values()} - {None})
    return ", ".join(str(e) for e in epochs) or None


def _pm(summary: dict | None, digits_fmt=lambda v: f"{v:.2e}") -> str:
    if not summary or summary.get("mean") is None:
        return "n/a"
    text = digits_fmt(summary["mean"])
    return text if summary.get("std") is None else f"{text} ± {digits_fmt(summary['std'])}"


def _sine_table(data, name: str) -> B.Table:
    domain, n = data.domain, len(data.seeds)
    sci = lambda v: "n/a" if B.is_missing(v) else f"{float(v):.2e}"  # noqa: E731 - MSEs span decades
    cols = [B.Column("model"), B.Column("params PyTorch / Keras", True), B.Column("test MSE", True, "first seed"),
            B.Column("max |error|", True, "first seed, on the test grid"), B.Column("train MSE", True, "in-sample, first seed"),
            B.Column("MSE outside", True, "extrapolation, first seed"), B.Column("time", True, "wall time, first seed"),
            B.Column(f"test MSE over {n} seeds", True, "mean ± sample std")]
    rows, extra = [], []
    for kind, m in data.models.items():
        r0 = m.runs[0] if m.runs else {}
        params = m.params
        label = m.label
        if not m.coursework:
            label += " *"
            extra.append(f"{m.label}: {m.architecture}")
        attrs = lambda key: {"data-sine-model": kind, "data-key": key, "data-value": B.data_value(r0.get(key))}  # noqa: E731
        rows.append(B.Row([
            B.Cell(label),
            B.Cell(f"{fmt(params.get('pytorch'))} / {fmt(params.get('keras'))}", True),
            B.Cell(sci(r0.get("test_mse")), True, None, attrs("test_mse")),
            B.Cell(fmt(r0.get("test_max_abs_error")), True),
            B.Cell(sci(r0.get("train_mse")), True),
            B.Cell(fmt(r0.get("extrapolation_mse")), True),
            B.Cell(fmt_seconds(r0.get("wall_s")), True),
            B.Cell(_pm(m.summary["test_mse"].model_dump() if "test_mse" in m.summary else None), True),
        ]))
    outside = f"outside [{domain[0]:.3g}, {domain[1]:.3g}]"
    note = "* not in the coursework: " + "; ".join(extra) if extra else None
    return B.Table(cols, rows, row_headers=True, note=note,
                   caption=f"First seed's figures, then the mean over seeds. Test MSE on points between the training "
                           f"points; train MSE on the training points (the coursework's figure); MSE outside: {outside}.")


def _windows_table(windows: dict, name: str) -> B.Table:
    ks = [str(k) for k in windows.get("ks", [])]
    cols = [B.Column("model")] + [B.Column(f"k = {k}", True) for k in ks]
    rows = []
    for kind, per_k in windows["models"].items():
        rows.append(B.Row([B.Cell(kind.upper() if len(kind) <= 4 else kind)] +
                          [B.Cell(_pm((per_k.get(k) or {}).get("test_mse")), True) for k in ks]))
    base = windows.get("baselines") or {}
    if isinstance(base.get("linear_ar"), dict):
        rows.append(B.Row([B.Cell("linear AR(k), least squares")] +
                          [B.Cell(f"{base['linear_ar'].get(k):.2e}" if base["linear_ar"].get(k) is not None else "n/a", True) for k in ks]))
    if base.get("persistence") is not None:
        rows.append(B.Row([B.Cell("persistence s[t−1]")] + [B.Cell(f"{base['persistence']:.2e}", True) for _ in ks]))
    return B.Table(cols, rows, row_headers=True, caption=f"Test MSE (mean ± std over seeds), {windows.get('epochs', '?')} epochs.")


def _image_size(data_config) -> str | None:
    """``H×W (policy)`` from the run record's data config (input_size is (C, H, W))."""
    if not isinstance(data_config, dict) or len(data_config.get("input_size") or ()) != 3:
        return None
    _, h, w = data_config["input_size"]
    return f"{h}×{w}" + (f" ({data_config['resize']})" if data_config.get("resize") else "")
