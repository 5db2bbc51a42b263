"""The report as a person sees it: opened in headless Chromium (Debian's, never a downloaded one).

Checks that the page loads with no console errors, that every image decodes, that the key numbers on the
page equal metrics.json, and saves a screenshot (into the test's tmp folder, and into
$TRAINLAB_SCREENSHOT_DIR when set). Without Chromium the test says so and skips, except in CI (CI set),
where it fails: .ci/run installs chromium, so a skip there would hide a gap.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from test_report import _png, make_face_run, make_run
from trainlab.artifacts.samples import SampleGrid, SampleGrids, SampleRow
from trainlab.evaluation.evaluate import evaluate
from trainlab.reporting import make_report

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def chromium_or_skip() -> str:
    """The system Chromium's path; without it, skip with a plain reason (fail in CI). Playwright must import."""
    import playwright.sync_api  # noqa: F401  (part of the test extra: missing it is an install error, never a skip)

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    # the one thing pip cannot install: the system browser (.ci/run installs it, so CI fails instead of skipping)
    reason = None if path else ("Chromium is not installed: the report test opens the HTML report in headless "
                                "Chromium; install Debian's chromium (sudo apt-get install chromium), as .ci/run does")
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this test must run)")
        pytest.skip(reason)
    return path


def add_pictures(run: Path) -> Path:
    """The run's error gallery (the real `trainlab gallery`, without saliency: no checkpoint here) and a sample grid
    page (samples.json as `trainlab data inspect` writes it, with a drawn page)."""
    from trainlab.gallery.build import build_gallery

    build_gallery(run, with_saliency=False)
    _png(run / "data" / "samples_label_p1.png", (90, 160, 60), size=(480, 300))
    rows = [SampleRow(value=f"class {i}", count=20, paths=[], page=0) for i in range(3)]
    SampleGrids(per_row=4, seed=0, classes=SampleGrid(column="label", rows=rows, pages=["samples_label_p1.png"])).write(run / "data")
    return run


def save_screenshot(shot: Path, name: str) -> None:
    if os.environ.get("TRAINLAB_SCREENSHOT_DIR"):
        folder = Path(os.environ["TRAINLAB_SCREENSHOT_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, folder / name)


def hover_cell(page, selector: str) -> dict:
    """Hover one heatmap cell; what the tooltip says and the cell's true/predicted names (from the sticky headers)."""
    cell = page.locator(selector).first
    cell.scroll_into_view_if_needed()
    cell.hover()
    names = cell.evaluate("td => { const tr = td.parentNode, t = td.closest('table');"
                          " return {true: tr.cells[0].title, pred: t.tHead.rows[0].cells[td.cellIndex].title}; }")
    tip = page.locator(".cm-tip")
    return {**names, "visible": tip.is_visible(), "text": tip.text_content()}


def expected_cell(run: Path, true: str, pred: str) -> tuple[int, int]:
    """(count, items of the true class), recomputed from the predictions table."""
    import pandas as pd

    frame = pd.read_csv(run / "predictions" / "test.csv", dtype=str, keep_default_na=False)
    mine = frame[frame["y_true"] == true]
    return int((mine["y_pred"] == pred).sum()), len(mine)


def open_report(html: Path, screenshot: Path, *, viewport=(1280, 900), actions=None) -> dict:
    """Open ``html`` in headless Chromium; return console messages, page errors, image states, key numbers, and
    what ``actions(page)`` returns (under ``acted``)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            console, errors, requests = [], [], []
            page.on("console", lambda m: console.append((m.type, m.text)))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(html.resolve().as_uri(), wait_until="load")
            images = page.evaluate(
                "Array.from(document.images).map(i => ({complete: i.complete, w: i.naturalWidth, alt: i.alt}))")
            numbers = page.evaluate(
                "Array.from(document.querySelectorAll('[data-metric][data-run]')).map(e => "
                "({run: e.dataset.run, metric: e.dataset.metric, value: e.dataset.value, text: e.textContent.trim(),"
                " low: e.dataset.ciLow || null, high: e.dataset.ciHigh || null}))")
            glance = page.evaluate("Array.from(document.querySelectorAll('.glance figure')).map(f => "
                                   "({bottom: f.getBoundingClientRect().bottom, caption: f.textContent.trim()}))")
            audit = page.evaluate(
                "Array.from(document.querySelectorAll('[data-audit-folder=\"audit\"][data-measure]')).map(e => "
                "({audit: e.dataset.audit, group: e.dataset.group || null, measure: e.dataset.measure, value: e.dataset.value,"
                " low: e.dataset.ciLow || null, high: e.dataset.ciHigh || null, text: e.textContent.trim()}))")
            sticky = page.evaluate(
                "(() => { const th = document.querySelector('.table-wrap.scroll thead th');"
                " return th ? getComputedStyle(th).position : null; })()")
            page.screenshot(path=str(screenshot), full_page=False)
            title = page.title()
            acted = actions(page) if actions else None
        finally:
            browser.close()
    return {"console": console, "errors": errors, "requests": requests, "images": images, "numbers": numbers,
            "audit": audit, "sticky": sticky, "title": title, "glance": glance, "acted": acted}


def test_report_in_chromium(tmp_path, capsys):
    chromium_or_skip()
    runs = [add_pictures(make_run(tmp_path, "cnn", seed=1, accuracy=0.8)),
            make_run(tmp_path, "transfer", seed=2, accuracy=0.55), make_face_run(tmp_path, "faces")]
    html = make_report(runs, out=tmp_path / "report.html", title="Report test")
    shot = tmp_path / "report.png"
    def act(page):
        hovered = hover_cell(page, 'table.cm[data-run="cnn"] td[data-c]')
        page.evaluate("window.scrollTo(0, document.body.scrollHeight * 0.7)")
        layout = page.evaluate(
            "(() => { const toc = document.querySelector('nav.toc').getBoundingClientRect();"
            " return {page: document.documentElement.scrollWidth, view: window.innerWidth, scrolled: window.scrollY,"
            " toc: [toc.top, toc.bottom], wraps: Array.from(document.querySelectorAll('.table-wrap, .cm-wrap'))"
            ".map(w => w.getBoundingClientRect().right)}; })()")
        return {**hovered, "layout": layout}

    seen = open_report(html, shot, actions=act)

    assert seen["title"] == "Report test"
    problems = [m for m in seen["console"] if m[0] in ("error", "warning")]
    assert not problems and not seen["errors"], (problems, seen["errors"])
    assert all(url.startswith(("file:", "data:")) for url in seen["requests"]), seen["requests"]
    assert len(seen["images"]) >= 20
    broken = [i for i in seen["images"] if not (i["complete"] and i["w"] > 0)]
    assert not broken, broken
    assert seen["sticky"] == "sticky"  # the per-class table's header stays in view while it scrolls

    for run in runs:
        metrics = json.loads((run / "metrics.json").read_text())
        mine = [n for n in seen["numbers"] if n["run"] == run.name]
        assert {n["metric"] for n in mine} >= {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss", "ece"}
        for n in mine:
            expected = metrics[n["metric"]]
            if expected is None:  # undefined (top-5 of a binary target): said, not a number
                assert n["value"] == "" and n["text"] == "n/a", n
                continue
            assert float(n["value"]) == expected, n
            assert n["text"] in (f"{expected:.3f}", f"{expected:.4f}"), n
            if n["low"] is not None:  # the 95% bootstrap interval shown is the one evaluate stored
                assert [float(n["low"]), float(n["high"])] == metrics["intervals"][n["metric"]], n
        assert {n["metric"] for n in mine if n["low"]} >= set(metrics["intervals"]) - {"roc_auc"} | {"accuracy"}
        assert "top5_accuracy" not in {n["metric"] for n in mine}  # 2 or 6 classes: no top-5 headline

    # pictures before the key results: the sample grid and the error gallery sit in the first screen
    assert [g["caption"].split(":")[0] for g in seen["glance"]][:2] == ["Data (cnn)", "Errors (cnn)"], seen["glance"]
    assert all(g["bottom"] <= 900 for g in seen["glance"]), seen["glance"]

    # the contents stay in view while the page scrolls; no table widens the page (wide ones scroll in their box)
    layout = seen["acted"]["layout"]
    assert layout["scrolled"] > 2000 and 0 <= layout["toc"][0] < 50 < layout["toc"][1], layout
    assert layout["page"] <= layout["view"] and max(layout["wraps"]) <= layout["view"], layout

    # hovering a confusion-matrix cell shows its true and predicted class, count and row share
    cell = seen["acted"]
    count, total = expected_cell(runs[0], cell["true"], cell["pred"])
    assert cell["visible"] and count > 0
    assert cell["text"] == (f"true: {cell['true']}\npredicted: {cell['pred']}\ncount: {count} of {total}\n"
                            f"row share: {100 * count / total:.1f} %"), cell

    # the audit's figures on the page equal audit.json: every group's accuracy (with its interval) and every disparity
    data = json.loads((runs[2] / "audit" / "audit.json").read_text())["audits"][0]
    shown = {(n["group"], n["measure"]): n for n in seen["audit"]}
    for g in data["groups"] + [data["overall"]]:
        n = shown[(g["group"], "accuracy")]
        assert float(n["value"]) == g["accuracy"]["value"]
        assert [float(n["low"]), float(n["high"])] == g["accuracy"]["ci"]
        assert n["text"].startswith(f"{g['accuracy']['value']:.3f}")
    for measure, d in data["disparities"].items():
        n = shown[(None, measure)]
        assert (float(n["value"]) if n["value"] else None) == d["value"], measure
    assert shown[(None, "accuracy_gap")]["low"] and float(shown[(None, "accuracy_gap")]["low"]) > 0  # the planted gap

    assert shot.stat().st_size > 10_000
    save_screenshot(shot, "report.png")


def test_a_102_class_matrix_keeps_its_class_names_in_view(tmp_path):
    chromium_or_skip()
    classes = [" ".join([f"pest {i:03d}"] + ["with a long name"] * (i % 3)) for i in range(102)]
    run = make_run(tmp_path, "many", seed=3, accuracy=0.6, n=816, classes=classes, meta=False, evaluated=False)
    evaluate(run, plots=False).write(run)  # the heatmap needs only metrics.json (no 102-class PNG to draw)
    html = make_report([run], out=tmp_path / "many.html", title="102 classes")

    def scroll_matrix(page):
        box = page.locator("table.cm").first.locator("xpath=..")
        box.scroll_into_view_if_needed()
        box.evaluate("b => { b.scrollTop = b.scrollHeight; b.scrollLeft = b.scrollWidth; }")
        page.wait_for_timeout(50)
        geometry = box.evaluate(
            "b => { const t = b.querySelector('table'), r = b.getBoundingClientRect(), rows = t.tBodies[0].rows,"
            " last = rows[rows.length - 1], head = t.tHead.rows[0].cells;"
            " const col = head[head.length - 1].getBoundingClientRect(), row = last.cells[0].getBoundingClientRect();"
            " return {box: [r.left, r.top, r.right, r.bottom], colTop: col.top, colLeft: col.left, rowLeft: row.left,"
            " rowTop: row.top, scrolled: [b.scrollLeft, b.scrollTop], rows: rows.length, cols: head.length - 1}; }")
        hovered = hover_cell(page, "table.cm tbody tr:last-child td:last-child")
        page.screenshot(path=str(tmp_path / "many.png"))
        return {"geometry": geometry, "hovered": hovered}

    seen = open_report(html, tmp_path / "many-top.png", viewport=(1400, 900), actions=scroll_matrix)
    assert not seen["errors"] and not [m for m in seen["console"] if m[0] in ("error", "warning")]
    g = seen["acted"]["geometry"]
    assert g["rows"] == g["cols"] == 102 and min(g["scrolled"]) > 0  # scrolled both ways inside the box
    left, top, right, bottom = g["box"]
    # after scrolling to the bottom right, the last column's name is still at the top of the box and the last
    # row's name at its left edge: the labels are sticky, not 2,300 px away
    assert abs(g["colTop"] - top) <= 2 and left < g["colLeft"] < right, g
    assert abs(g["rowLeft"] - left) <= 2 and top < g["rowTop"] < bottom, g
    hovered = seen["acted"]["hovered"]
    count, total = expected_cell(run, hovered["true"], hovered["pred"])
    assert hovered["visible"] and f"count: {count} of {total}" in hovered["text"], hovered
    save_screenshot(tmp_path / "many.png", "report-102-classes.png")
