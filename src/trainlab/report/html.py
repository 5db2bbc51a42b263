"""``trainlab report``: one self-contained HTML file for one or more runs (and compare, audit and sine folders).

The page opens with a strip of pictures (sample images, the highest-loss errors, saliency) linking to their
sections, beside a sticky table of contents. It holds, per run: the dataset summary, class distribution and
sample grids (once per dataset), the resolved config, the training curves, the test metrics with their 95%
bootstrap intervals, the confusion matrix (an HTML heatmap in the evaluation's class order, with a tooltip)
with the top confusions and a per-class table, the error gallery and saliency, the fairness audit and any
mitigation, and the model summary; then the comparison of runs scored on the
same test items (``trainlab compare``) with McNemar's test, and the function-fitting results when a sine
folder is given. What a run does not have (no audit, no history) is said plainly, with the command that
makes it, never a crash.

This package only reads artifacts and renders: it never trains, evaluates, compares or builds a model.
``trainlab report`` (:func:`trainlab.reporting.make_report`) makes missing metrics and comparisons first.

Self-contained: images are embedded as base64 ``data:`` URIs, the style sheet is inline, the one script
(``tooltip.js``: the confusion matrix's per-cell tooltip) is inline and allowed by its SHA-256 in the
Content-Security-Policy, which forbids loading anything else. The page is rendered by Jinja2 with
autoescape on, so every string from data (class names, group values, paths) is escaped.
Key numbers carry their exact value in data attributes, e.g.
``<td data-run="cnn" data-metric="accuracy" data-value="0.8125">0.812</td>``.
"""

from __future__ import annotations

import base64
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from trainlab._version import __version__
from trainlab.errors import TrainlabError
from trainlab.report import collect as C
from trainlab.report import sections as S
from trainlab.report.blocks import Ids, Section
from trainlab.utils.io import atomic_write_text
from trainlab.utils.log import get_logger

log = get_logger("trainlab.report")


def build_report(
    inputs: list[str | Path],
    *,
    out: str | Path | None = None,
    title: str | None = None,
    intro: str | None = None,
    notes: list[str] | None = None,
    made: list[str | Path] = (),
) -> Path:
    """Write the report of ``inputs`` (run, compare, audit and sine folders) to ``out``; return its path.

    ``out`` defaults to ``<first run>/report.html`` (or ``<first input>/report.html``). ``intro`` is
    Markdown shown first (the demo describes what it did there); ``notes`` are shown under it. ``made``:
    compare folders that ``trainlab report`` made itself from the runs given (shown as "Comparison").
    """
    paths = [Path(p) for p in inputs]
    if not paths:
        raise TrainlabError("give at least one run folder (or a compare, audit or sine folder) to report on")
    kinds = [C.kind_of(p) for p in paths]
    runs_given = [p for p, k in zip(paths, kinds) if k == "run"]
    if out is None:
        out = (runs_given[0] if runs_given else paths[0]) / "report.html"
    out = Path(out)
    if out.exists() and out.is_dir():
        raise TrainlabError(f"--out {out} is a folder; give the HTML file to write, e.g. {out / 'report.html'}")

    names = _display_names(paths, kinds)
    found: list[Any] = []
    for path, kind, name in zip(paths, kinds, names):
        log.info("report: reading %s %s", kind, path)
        if kind == "run":
            found.append(C.read_run(path, name))
        elif kind == "compare":
            found.append(C.read_compare(path, name))
        elif kind == "sine":
            found.append(C.read_sine(path, name))
        else:
            found.append(C.read_audit_folder(path, name))
    runs = [f for f in found if f.kind == "run"]
    compares = [f for f in found if f.kind == "compare"]
    for folder in map(Path, made):
        cmp = C.read_compare(folder, folder.name, internal=True)
        if cmp.data is not None:
            cmp.name = "Comparison of " + ", ".join(r.name for r in cmp.data.runs)
        compares.append(cmp)
    page = _page(
        found=found, runs=runs, compares=compares, title=title or _default_title(runs, found),
        intro=intro, notes=notes or [], inputs=[str(p) for p in paths],
    )
    atomic_write_text(out, page)
    log.info("report: wrote %s (%.1f MB)", out, out.stat().st_size / 1e6)
    return out


# ---- assembling --------------------------------------------------------------------------------
def _display_names(paths: list[Path], kinds: list[str]) -> list[str]:
    """Folder names, lengthened with their parents until they differ."""
    for depth in (1, 2, 3, 4):
        names = ["/".join(p.resolve().parts[-depth:]) for p in paths]
        if len(set(names)) == len(names):
            return names
    return [f"{p.name} ({i + 1})" for i, p in enumerate(paths)]


def _default_title(runs: list, found: list) -> str:
    if len(runs) == 1:
        return f"trainlab report: {runs[0].name}"
    if runs:
        return f"trainlab report: {len(runs)} runs"
    return f"trainlab report: {found[0].name}"


def _page(*, found, runs, compares, title, intro, notes, inputs) -> str:
    ids = Ids()
    sections: list[Section] = []
    if intro or notes or len(runs) > 1:
        sections.append(S.overview(ids, runs, intro=intro, notes=notes))
    run_sections, datasets = {}, {}
    for item in found:
        if item.kind == "run":
            section = S.run_section(ids, item, datasets=datasets)
            run_sections[item.name] = section
            sections.append(section)
    strip = S.glance(runs, run_sections)
    if strip is not None and sections:  # pictures first: data, errors, saliency above the key results
        sections[0].blocks.insert(0 if sections[0].id == "overview" else min(1, len(sections[0].blocks)), strip)
    classes = {r.name: r.metrics.n_classes for r in runs if r.metrics is not None}
    for cmp in compares:
        known = {classes.get(r.name) for r in cmp.data.runs} if cmp.data is not None else set()
        sections.append(S.compare_section(ids, cmp, n_classes=known.pop() if len(known) == 1 else None))
    for item in found:
        if item.kind == "audit":
            sections.append(S.audit_only_section(ids, item))
        elif item.kind == "sine":
            sections.append(S.sine_section(ids, item))
    return _render(title=title, sections=sections, inputs=inputs)


def _render(*, title: str, sections: list[Section], inputs: list[str]) -> str:
    import jinja2

    template_text = resources.files("trainlab.report").joinpath("template.html").read_text(encoding="utf-8")
    css = resources.files("trainlab.report").joinpath("style.css").read_text(encoding="utf-8")
    script = resources.files("trainlab.report").joinpath("tooltip.js").read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=False, lstrip_blocks=False)
    template = env.from_string(template_text)
    return template.render(
        title=title, sections=sections, inputs=inputs, version=__version__,
        generated=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip(),
        css=_markup(css), script=_markup(script), script_hash=_csp_hash(script),
    )


def _csp_hash(text: str) -> str:
    """The CSP source that allows exactly this inline script (and nothing else to run)."""
    import hashlib

    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _markup(text: str):
    from markupsafe import Markup

    # Our own style sheet and script; they must not close the element they sit in.
    if "</" in text:
        raise ValueError("style.css and tooltip.js must not contain '</'")
    return Markup(text)


