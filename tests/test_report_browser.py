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

from test_report import make_face_run, make_run
from trainlab.reporting import make_report

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def chromium_or_skip() -> str:
    """The system Chromium's path; skip (fail in CI) with a plain reason when it or Playwright is missing."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "the playwright Python package is not installed: pip install -e '.[test]'"
    else:
        reason = None if path else ("Chromium is not installed: the report test opens the HTML report in headless "
                                    "Chromium; install Debian's chromium (sudo apt-get install chromium), as .ci/run does")
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this test must run)")
        pytest.skip(reason)
    return path


def open_report(html: Path, screenshot: Path, *, viewport=(1280, 900)) -> dict:
    """Open ``html`` in headless Chromium; return console messages, page errors, image states, key numbers."""
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
                "({run: e.dataset.run, metric: e.dataset.metric, value: e.dataset.value, text: e.textContent.trim()}))")
            audit = page.evaluate(
                "Array.from(document.querySelectorAll('[data-audit-folder=\"audit\"][data-measure]')).map(e => "
                "({audit: e.dataset.audit, group: e.dataset.group || null, measure: e.dataset.measure, value: e.dataset.value,"
                " low: e.dataset.ciLow || null, high: e.dataset.ciHigh || null, text: e.textContent.trim()}))")
            sticky = page.evaluate(
                "(() => { const th = document.querySelector('.table-wrap.scroll thead th');"
                " return th ? getComputedStyle(th).position : null; })()")
            page.screenshot(path=str(screenshot), full_page=False)
            title = page.title()
        finally:
            browser.close()
    return {"console": console, "errors": errors, "requests": requests, "images": images, "numbers": numbers,
            "audit": audit, "sticky": sticky, "title": title}


def test_report_in_chromium(tmp_path, capsys):
    chromium_or_skip()
    runs = [make_run(tmp_path, "cnn", seed=1, accuracy=0.8), make_run(tmp_path, "transfer", seed=2, accuracy=0.55),
            make_face_run(tmp_path, "faces")]
    html = make_report(runs, out=tmp_path / "report.html", title="Report test")
    shot = tmp_path / "report.png"
    seen = open_report(html, shot)

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
    if os.environ.get("TRAINLAB_SCREENSHOT_DIR"):
        folder = Path(os.environ["TRAINLAB_SCREENSHOT_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, folder / "report.png")
