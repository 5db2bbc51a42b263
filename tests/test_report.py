"""`trainlab report` on run folders the tests write by the contracts (no training): content, key numbers,
escaping, no external references, missing parts said plainly.

Predictions are synthetic; metrics.json, per_class.csv and the plots come from the real ``evaluate``.
Expected key numbers are recomputed here from the predictions (plain numpy), not copied from the code.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trainlab.cli import main
from trainlab.errors import TrainlabError
from trainlab.evaluation.evaluate import evaluate
from trainlab.artifacts.predictions import Predictions
from trainlab.report.blocks import fmt, fmt_p
from trainlab.report.html import build_report
from trainlab.report.markdown import to_html
from trainlab.reporting import make_report

EVIL = '<script>alert("x")</script>'
EVIL_ATTR = '"><img src=x onerror=alert(1)>'
CLASSES = ["aphid", "beetle", EVIL, "moth", EVIL_ATTR, "weevil"]
GROUPS = np.array(["north", "south", "<b>east</b>"])


# ---- fixtures: run folders as `trainlab train` writes them --------------------------------------
def _png(path: Path, color=(30, 90, 160), size=(64, 48)) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


def make_run(root: Path, name: str, *, seed: int = 0, accuracy: float = 0.7, n: int = 120,
             classes=CLASSES, history: bool = True, meta: bool = True, evaluated: bool = True) -> Path:
    """A run folder: predictions/{val,test}.csv (right on about ``accuracy`` of the items), history.csv,
    plots/curves.png, config.yaml, run.json, data/; then the real evaluate writes metrics.json and plots."""
    run = Path(root) / name
    rng = np.random.default_rng(seed)
    k = len(classes)
    for split in ("val", "test"):
        y = np.arange(n) % k
        right = rng.random(n) < accuracy
        y_pred = np.where(right, y, (y + 1 + rng.integers(0, k - 1, n)) % k)
        proba = rng.dirichlet(np.ones(k), n) * 0.4
        proba[np.arange(n), y_pred] += 0.6
        proba /= proba.sum(1, keepdims=True)
        attributes = pd.DataFrame({"region": GROUPS[np.arange(n) % 3]})
        frame = Predictions.build(classes=classes, y_true=y, proba=proba, ids=[f"img{i:04d}" for i in range(n)],
                           paths=[f"images/img{i:04d}.jpg" for i in range(n)], split=split, attributes=attributes).frame
        Predictions.from_frame(frame).write(run / "predictions" / f"{split}.csv")
    if history:
        epochs = np.arange(1, 7)
        pd.DataFrame({"epoch": epochs, "train_loss": 2 / epochs, "train_acc": 1 - 0.6 / epochs, "val_loss": 2.2 / epochs,
                      "val_acc": 0.8 - 0.5 / epochs, "lr": 1e-3, "time_s": 3.5, "images_per_s": 812.0}
                     ).to_csv(run / "history.csv", index=False)
        _png(run / "plots" / "curves.png")
    if meta:
        (run / "config.yaml").write_text("data:\n  root: /data/demo\n  format: ip102\nmodel:\n  name: seed_cnn\n"
                                         "  options:\n    input_size: [32, 32]\ntrain:\n  epochs: 6\n")
        run_json = {
            "name": name, "status": "finished", "model": "seed_cnn", "model_options": {"input_size": [32, 32]},
            "num_classes": k, "classes": list(classes), "target": "label", "data_config": {"input_size": [3, 32, 32], "resize": "stretch"},
            "split_sizes": {"train": 600, "val": n, "test": n}, "epochs_done": 6, "epochs": 6, "device": "cpu",
            "dataset": {"format": "ip102", "root": "/data/demo"},
            "timings": {"cache_s": 1.2, "train_s": 21.0, "predict_s": 0.4, "total_s": 23.1},
        }
        (run / "run.json").write_text(json.dumps(run_json))
        summary = {"n_images": n * 2 + 600, "n_classes": k, "imbalance_ratio": 1.0,
                   "splits": {"train": {"images": 600}, "val": {"images": n}, "test": {"images": n}}}
        (run / "data").mkdir(parents=True, exist_ok=True)
        (run / "data" / "summary.json").write_text(json.dumps(summary))
        _png(run / "data" / "class_distribution.png", (200, 120, 40))
        from trainlab.models.factory import create_model
        from trainlab.models.summary import summarize

        # what `trainlab train` writes at the end of training (it holds the model; the report never builds one)
        summarize(create_model("seed_cnn", k, input_size=[32, 32]), (3, 32, 32), name="seed_cnn").write(run)
    if evaluated:
        evaluate(run, split="test").write(run)
    return run


def test_predictions(run: Path, split: str = "test") -> pd.DataFrame:
    return pd.read_csv(run / "predictions" / f"{split}.csv", dtype=str, keep_default_na=False)


test_predictions.__test__ = False  # a helper, not a test


# ---- reading the page -------------------------------------------------------------------------
class Page(HTMLParser):
    """Every element's attributes and text, and the document's images/links/scripts."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[dict] = []
        self._open: list[dict] = []
        self.tags: list[tuple[str, dict]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        element = {"tag": tag, "attrs": attrs, "text": ""}
        self.elements.append(element)
        if tag not in ("img", "meta", "br", "hr", "input", "link"):
            self._open.append(element)

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i]["tag"] == tag:
                del self._open[i:]
                break

    def handle_data(self, data):
        for element in self._open:
            element["text"] += data

    def with_attr(self, name: str, value: str | None = None) -> list[dict]:
        return [e for e in self.elements if name in e["attrs"] and (value is None or e["attrs"][name] == value)]


def heatmaps(page: Page) -> list[dict]:
    return [e for e in page.elements if e["tag"] == "table" and "cm" in (e["attrs"].get("class") or "").split()]


def assert_only_our_script(page: Page, text: str) -> None:
    """One script: the confusion-matrix tooltip, inline, and the CSP allows exactly it (by its SHA-256)."""
    import base64
    import hashlib
    from importlib import resources

    scripts = [e for e in page.elements if e["tag"] == "script"]
    assert len(scripts) == 1 and not scripts[0]["attrs"], scripts
    ours = resources.files("trainlab.report").joinpath("tooltip.js").read_text(encoding="utf-8")
    assert scripts[0]["text"] == ours
    digest = base64.b64encode(hashlib.sha256(ours.encode()).digest()).decode()
    csp = next(a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert f"script-src 'sha256-{digest}'" in csp and "unsafe-inline'" not in csp.split("script-src")[1]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    a = make_run(root, "cnn", seed=1, accuracy=0.75)
    b = make_run(root, "transfer", seed=2, accuracy=0.5)
    return a, b


@pytest.fixture(scope="module")
def report_two(two_runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report.html"
    make_report(list(two_runs), out=out, title="Two runs")
    return out, out.read_text(encoding="utf-8")


def test_key_numbers_equal_metrics_json_and_the_predictions(two_runs, report_two):
    _, text = report_two
    page = Page(text)
    for run in two_runs:
        metrics = json.loads((run / "metrics.json").read_text())
        frame = test_predictions(run)
        # independent check of the headline figure: share of rows with y_pred == y_true
        assert metrics["accuracy"] == pytest.approx(float((frame["y_true"] == frame["y_pred"]).mean()), abs=1e-12)
        cells = [e for e in page.with_attr("data-metric") if e["attrs"].get("data-run") == run.name]
        keys = {e["attrs"]["data-metric"] for e in cells}
        assert {"accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "roc_auc", "log_loss", "ece"} <= keys
        for e in cells:
            key = e["attrs"]["data-metric"]
            assert float(e["attrs"]["data-value"]) == metrics[key], key
            shown = e["text"].strip()
            assert shown in (f"{metrics[key]:.3f}", f"{metrics[key]:.4f}"), (key, shown)


def test_per_class_table_lists_every_class_with_its_recall(two_runs, report_two):
    _, text = report_two
    page = Page(text)
    run = two_runs[0]
    frame = test_predictions(run)
    recall_cells = [e for e in page.with_attr("data-metric", "recall") if "data-class" in e["attrs"]]
    by_class = {e["attrs"]["data-class"]: float(e["attrs"]["data-value"]) for e in recall_cells[: len(CLASSES)]}
    assert set(by_class) == set(CLASSES)  # attribute values come back unescaped: they were escaped in the file
    for name in CLASSES:
        mine = frame[frame["y_true"] == name]
        assert by_class[name] == pytest.approx(float((mine["y_pred"] == name).mean()))


def test_malicious_class_names_are_escaped_everywhere(report_two):
    _, text = report_two
    assert EVIL not in text and EVIL_ATTR not in text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text or "&lt;script&gt;alert(&quot;x&quot;)" in text
    page = Page(text)
    assert_only_our_script(page, text)
    # the only <img> elements are the embedded figures; none came from a class name
    assert all(attrs.get("src", "").startswith("data:image/") for t, attrs in page.tags if t == "img")
    assert not [attrs for t, attrs in page.tags if any(k.startswith("on") for k in attrs)]


def test_page_has_no_external_references(report_two):
    _, text = report_two
    page = Page(text)
    for tag, attrs in page.tags:
        for key in ("src", "href", "action", "data", "poster"):
            value = attrs.get(key) or ""
            assert not re.match(r"\s*(https?:)?//", value), (tag, key, value)
        assert not (tag == "link" and "stylesheet" in (attrs.get("rel") or "")), attrs
        assert not (tag == "script" and attrs), attrs  # no src: the one inline script, checked below
        if attrs.get("href"):
            assert attrs["href"].startswith("#"), attrs  # in-page links only
    assert "@import" not in text and not re.search(r"url\(\s*['\"]?(https?:)?//", text)
    assert [t for t, _ in page.tags].count("style") == 1
    assert_only_our_script(page, text)
    images = [a for t, a in page.tags if t == "img"]
    assert len(images) >= 6  # per run: curves, reliability; the class distribution once (one dataset); compare: curves
    assert len(heatmaps(page)) == 2  # the confusion matrices are HTML heatmaps, one per run


def test_page_structure_toc_and_comparison(two_runs, report_two):
    _, text = report_two
    page = Page(text)
    toc_links = [a["href"] for t, a in page.tags if t == "a" and a.get("href", "").startswith("#")]
    ids = {a["id"] for t, a in page.tags if "id" in a}
    assert toc_links and all(link[1:] in ids for link in toc_links)  # every contents entry lands somewhere
    titles = [e["text"].strip() for e in page.elements if e["tag"] == "h2"]
    assert titles[:4] == ["Contents", "Overview", "Run: cnn", "Run: transfer"] and "Comparison" in titles
    # the report ran compare itself (same test items); McNemar's discordant counts from the predictions
    a, b = (test_predictions(r).set_index("id") for r in two_runs)
    b = b.loc[a.index]
    right_a, right_b = a["y_pred"] == a["y_true"], b["y_pred"] == b["y_true"]
    cells = {e["attrs"]["data-key"]: e for e in page.with_attr("data-mcnemar", "cnn|transfer")}
    assert int(cells["a_only"]["attrs"]["data-value"]) == int((right_a & ~right_b).sum())
    assert int(cells["b_only"]["attrs"]["data-value"]) == int((~right_a & right_b).sum())
    assert 0 < float(cells["p_value"]["attrs"]["data-value"]) <= 1
    # an audit was never run on these runs: said plainly
    assert text.count("no fairness audit of this run") == 2


def test_missing_parts_are_said_plainly_and_the_renderer_changes_nothing(tmp_path):
    run = make_run(tmp_path, "bare", history=False, meta=False, evaluated=False)
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    text = build_report([run], out=tmp_path / "r.html").read_text(encoding="utf-8")
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before  # the renderer only reads
    assert "no training history" in text and "no config.yaml and no run.json" in text
    assert "no model summary" in text and "no fairness audit" in text
    assert f"no metrics.json: &#39;trainlab evaluate {run}&#39; makes it" in text
    assert not Page(text).with_attr("data-metric", "accuracy")


def test_trainlab_report_evaluates_a_run_without_metrics_first(tmp_path):
    run = make_run(tmp_path, "bare", history=False, meta=False, evaluated=False)
    text = make_report([run], out=tmp_path / "r.html").read_text(encoding="utf-8")
    assert (run / "metrics.json").is_file()  # where 'trainlab evaluate' writes it
    assert "trainlab report ran &#39;trainlab evaluate" in text
    page = Page(text)
    frame = test_predictions(run)
    acc = [e for e in page.with_attr("data-metric", "accuracy")]
    assert acc and float(acc[0]["attrs"]["data-value"]) == pytest.approx(float((frame["y_true"] == frame["y_pred"]).mean()))


def test_a_run_with_only_run_json_and_a_broken_image(tmp_path):
    run = tmp_path / "odd"
    (run / "plots").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"model": "no_such_model", "num_classes": 3, "status": "failed",
                                              "error": "NaN loss at step 12"}))
    (run / "plots" / "curves.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)  # truncated
    (run / "history.csv").write_text("epoch,train_loss,train_acc,val_loss,val_acc,lr,time_s,images_per_s\n1,nan,0.1,nan,0.1,0.001,1,10\n")
    text = build_report([run], out=tmp_path / "r.html").read_text(encoding="utf-8")
    assert "curves.png is not a readable image" in text
    assert "NaN loss at step 12" in text  # the failed status is shown
    assert "no test metrics" in text and "no model summary: no model_summary.json in the run" in text
    assert "<img" not in text


def test_stopped_early_is_a_normal_end_and_other_statuses_are_flagged(tmp_path):
    from trainlab.artifacts.run import RunRecord, RunStatus

    run = make_run(tmp_path, "early", history=False, meta=False)
    RunRecord(status=RunStatus.stopped_early, name="early", model="seed_cnn", num_classes=len(CLASSES)).write(run)
    text = build_report([run], out=tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Status in run.json" not in text  # the trainer's own early stop is not a warning
    RunRecord(status=RunStatus.interrupted, name="early", error="stopped by SIGTERM").write(run)
    text = build_report([run], out=tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Status in run.json: interrupted (stopped by SIGTERM)" in text
    (run / "run.json").write_text(json.dumps({"status": "half-done"}))
    text = build_report([run], out=tmp_path / "r.html").read_text(encoding="utf-8")
    assert "run.json: field &#39;status&#39;" in text and "half-done" in text  # a bad record is named, not a crash


def test_model_section_reads_the_summary_train_wrote(two_runs, report_two):
    from trainlab.artifacts.model_summary import ModelSummary

    _, text = report_two
    summary = ModelSummary.read(two_runs[0])
    cells = [e for e in Page(text).with_attr("data-model", "total") if e["attrs"]["data-run"] == "cnn"]
    assert [int(e["attrs"]["data-value"]) for e in cells] == [summary.total]
    assert summary.total == sum(layer.params for layer in summary.layers) > 0


def make_face_run(root: Path, name: str = "faces", *, n: int = 600, seed: int = 5) -> Path:
    """A binary run (female/male) whose predictions are worse for one group ('south': 60% right, others 90%),
    audited by the real `trainlab audit` and mitigated by the real `trainlab mitigate`."""
    from trainlab.fairness.audit import audit
    from trainlab.artifacts.predictions import Predictions
    from trainlab.fairness.folder import write_audit
    from trainlab.fairness.mitigate import mitigate_run

    run = Path(root) / name
    rng = np.random.default_rng(seed)
    classes = ["female", "male"]
    for split in ("val", "test"):
        y = rng.integers(0, 2, n)
        group = GROUPS[rng.integers(0, 3, n)]
        right = rng.random(n) < np.where(group == "south", 0.6, 0.9)
        y_pred = np.where(right, y, 1 - y)
        p_male = np.where(y_pred == 1, 0.55 + 0.4 * rng.random(n), 0.45 * rng.random(n))
        frame = Predictions.build(classes=classes, y_true=y, proba=np.stack([1 - p_male, p_male], 1), split=split,
                           ids=[f"face{i}" for i in range(n)], attributes=pd.DataFrame({"race": group})).frame
        Predictions.from_frame(frame).write(run / "predictions" / f"{split}.csv")
    evaluate(run, split="test").write(run)
    write_audit(audit(Predictions.read(run, "test"), by=["race"], bootstrap=200, seed=0), run / "audit")
    mitigate_run(run, by="race", bootstrap=200)
    return run


def test_audit_and_mitigation_numbers_equal_their_json_and_names_are_escaped(tmp_path, capsys):
    run = make_face_run(tmp_path)
    capsys.readouterr()
    text = build_report([run], out=tmp_path / "r.html").read_text(encoding="utf-8")
    page = Page(text)
    assert "<b>east</b>" not in text and "&lt;b&gt;east&lt;/b&gt;" in text
    data = json.loads((run / "audit" / "audit.json").read_text())
    by_race = data["audits"][0]
    # group accuracies: equal audit.json, and equal the share right computed here from the predictions
    frame = test_predictions(run)
    original = [e for e in page.with_attr("data-audit-folder", "audit") if e["attrs"]["data-audit"] == "race"]
    shown = {e["attrs"]["data-group"]: e for e in original if e["attrs"]["data-measure"] == "accuracy"}
    assert set(shown) == {"north", "south", "<b>east</b>", "overall"}
    for g in by_race["groups"]:
        cell = shown[g["group"]]
        assert float(cell["attrs"]["data-value"]) == g["accuracy"]["value"]
        assert [float(cell["attrs"]["data-ci-low"]), float(cell["attrs"]["data-ci-high"])] == g["accuracy"]["ci"]
        mine = frame[frame["race"] == g["group"]]
        assert g["accuracy"]["value"] == pytest.approx(float((mine["y_true"] == mine["y_pred"]).mean()))
    # the planted gap: south is the worst group, the accuracy gap is flagged and its interval excludes zero
    gap = [e for e in original if e["attrs"]["data-measure"] == "accuracy_gap"][0]
    assert float(gap["attrs"]["data-value"]) == by_race["disparities"]["accuracy_gap"]["value"]
    assert float(gap["attrs"]["data-ci-low"]) > 0
    assert "Accuracy gap (max − min over groups) ⚑" in text
    worst = by_race["disparities"]["worst_group_accuracy"]
    assert worst["group"] == "south"
    # the plain-language summary is there (our Markdown, escaped), and the three audit plots
    assert "The audit&#39;s plain-language summary" in text or "The audit's plain-language summary" in text
    assert "<strong>" in text and "<ol>" in text
    # mitigation: before/after on test equal mitigation.json
    record = json.loads((run / "mitigated-demographic_parity" / "mitigation.json").read_text())
    for row in (r for r in record["before_after"] if r["split"] == "test"):
        cells = {e["attrs"]["data-when"]: e for e in page.with_attr("data-mitigation-split", "test")
                 if e["attrs"]["data-measure"] == row["measure"]}
        for when in ("before", "after"):
            value = cells[when]["attrs"]["data-value"]
            assert (float(value) if value else None) == row[when], (row["measure"], when)
        if row["change_ci"]:  # the change with its paired interval (#17)
            change = cells["change"]["attrs"]
            assert float(change["data-value"]) == row["change"]
            assert [float(change["data-ci-low"]), float(change["data-ci-high"])] == row["change_ci"]
    assert "Mitigation: demographic parity across race" in text
    assert len([t for t, _ in page.tags if t == "img"]) >= 1 + 3 + 3  # reliability, audit, audit after mitigation
    assert heatmaps(page)  # the confusion matrix, as a heatmap


def test_compare_folder_given_is_used_not_recomputed(two_runs, tmp_path):
    from trainlab.evaluation.compare import compare

    cmp = tmp_path / "cmp"
    compare(list(two_runs), names=["A", "B"]).write(cmp)
    text = make_report([*two_runs, cmp], out=tmp_path / "r.html").read_text(encoding="utf-8")
    page = Page(text)
    assert [e["attrs"]["data-key"] for e in page.with_attr("data-mcnemar", "A|B")]
    assert not page.with_attr("data-mcnemar", "cnn|transfer")  # the given compare covers these runs
    assert text.count("McNemar") >= 1


def test_runs_on_different_items_are_not_compared(tmp_path):
    a = make_run(tmp_path, "a", n=60)
    b = make_run(tmp_path, "b", n=90)
    text = make_report([a, b], out=tmp_path / "r.html").read_text(encoding="utf-8")
    assert "McNemar" not in text and "Run: a" in text and "Run: b" in text


def test_cli_report_default_out_and_errors(two_runs, tmp_path, capsys):
    a, _ = two_runs
    target = tmp_path / "copy"
    import shutil

    shutil.copytree(a, target)
    assert main(["report", str(target)]) == 0
    assert (target / "report.html").is_file()
    assert f"report: {target / 'report.html'}" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "is not a folder the report knows" in capsys.readouterr().err
    with pytest.raises(TrainlabError, match="is a folder"):
        build_report([target], out=tmp_path)


def test_markdown_is_escaped_before_markup():
    html = str(to_html("# Title <x>\n\nText with `a<b` and **bold** & *it*.\n\n| g | acc |\n|---|--:|\n| <i>n</i> | 0.5 |\n"))
    assert "<h3>Title &lt;x&gt;</h3>" in html
    assert "<code>a&lt;b</code>" in html and "<strong>bold</strong>" in html and "&amp;" in html and "<em>it</em>" in html
    assert "<td>&lt;i&gt;n&lt;/i&gt;</td>" in html and '<td class=num>0.5</td>' in html


@pytest.mark.parametrize("value, text", [
    (None, "n/a"), (float("nan"), "n/a"), (3, "3"), (1234567, "1,234,567"), (0.81234, "0.812"), (0.0, "0"),
    (12345.6, "12,346"), (0.00004, "4.0e-05"), (np.float64(0.5), "0.500"), (np.int64(7), "7"), (True, "yes"),
])
def test_number_formatting(value, text):
    assert fmt(value) == text


def test_p_value_formatting():
    assert fmt_p(0.125) == "0.1250" and fmt_p(3e-7) == "3.0e-07" and fmt_p(None) == "n/a"


def _sine_folder(root: Path) -> Path:
    """A sine folder as `trainlab sine` writes it: results.json (its documented keys), tables, figures."""
    folder = root / "sine"
    folder.mkdir()
    run = lambda mse: {"seed": 0, "test_mse": mse, "test_max_abs_error": 0.05, "train_mse": mse * 0.9,  # noqa: E731
                       "extrapolation_mse": 0.7, "wall_s": 9.5}
    models = {kind: {"label": label, "coursework": kind != "mlp_cosine", "architecture": arch,
                     "params": {"pytorch": pt, "keras": ks}, "recipe": {"epochs": 40},
                     "runs": [run(mse)], "summary": {"test_mse": {"mean": mse, "std": None, "n": 1}}}
              for kind, label, arch, pt, ks, mse in (("mlp", "MLP", "Dense", 609, 609, 4.2e-4),
                                                     ("lstm", "LSTM", "LSTM", 7649, 7457, 3.1e-5),
                                                     ("mlp_cosine", "MLP, cosine lr", "as MLP <with cosine>", 609, 609, 1e-5))}
    results = {"experiment": "trainlab.sine", "function": "np.sin(x)", "domain": [-3.14159, 3.14159],
               "data": {"train_points": 1000, "test_points": 1998}, "seeds": [0], "target_mse": 1e-3,
               "all_below_target": True, "models": models, "windows": None, "notes": ["a note"],
               "timings_s": {"total": 31.0}, "reduced": "Reduced for the demo: 40 epochs, 1 seed."}
    (folder / "results.json").write_text(json.dumps(results))
    pd.DataFrame({"model": ["mlp"], "epoch": [1], "train_loss": [0.1]}).to_csv(folder / "history.csv", index=False)
    _png(folder / "fits.png")
    _png(folder / "loss_curves.png")
    return folder


def test_sine_folder(tmp_path):
    folder = _sine_folder(tmp_path)
    text = build_report([folder], out=tmp_path / "r.html").read_text(encoding="utf-8")
    page = Page(text)
    cells = {e["attrs"]["data-sine-model"]: float(e["attrs"]["data-value"]) for e in page.with_attr("data-key", "test_mse")}
    assert cells == {"mlp": 4.2e-4, "lstm": 3.1e-5, "mlp_cosine": 1e-5}
    assert "7,649 / 7,457" in text and "Reduced for the demo: 40 epochs, 1 seed." in text
    assert "as MLP &lt;with cosine&gt;" in text  # the footnote for the model outside the coursework, escaped
    assert "Run:" not in text  # a sine folder is not taken for a run although it has a history.csv
    assert len([t for t, _ in page.tags if t == "img"]) == 2


def test_an_audit_json_that_does_not_validate_is_named_not_rendered(tmp_path, capsys):
    """The report reads audit.json through AuditResult: a file with a bad field becomes a note naming it."""
    run = make_face_run(tmp_path)
    capsys.readouterr()
    path = run / "audit" / "audit.json"
    data = json.loads(path.read_text())
    data["audits"][0]["groups"][0]["count"] = "many"
    path.write_text(json.dumps(data))
    text = build_report([run], out=tmp_path / "r.html").read_text(encoding="utf-8")
    assert "audits.0.groups.0.count" in text and "the audit section is left out" in text


def test_dataset_once_per_dataset_and_every_heatmap_cell_equals_the_predictions(two_runs, report_two):
    _, text = report_two
    page = Page(text)
    # both runs read /data/demo: the class distribution is shown once, the second run links to the first
    assert [a.get("alt") for t, a in page.tags if t == "img"].count("Class distribution") == 1
    first = page.with_attr("data-part", "dataset")
    link = page.with_attr("data-part", "dataset-link")
    assert len(first) == 1 and len(link) == 1 and first[0]["attrs"]["id"] == "cnn-dataset"
    assert any(a.get("href") == "#cnn-dataset" for t, a in page.tags if t == "a" and "transfer" not in a.get("href", ""))
    # the heatmap: rows and columns in metrics.json's class order, every cell the count in the predictions table
    run = two_runs[0]
    metrics = json.loads((run / "metrics.json").read_text())
    frame = test_predictions(run)
    names = [metrics["classes"][i] for i in metrics["class_order"]]
    table = heatmaps(page)[0]
    start = page.elements.index(table)
    end = next(i for i in range(start, len(page.elements)) if page.elements[i]["tag"] == "figcaption")
    inside = page.elements[start:end]
    header = [e["attrs"]["title"] for e in inside if e["tag"] == "th" and e["attrs"].get("scope") == "col"][1:]
    assert header == names
    rows = [e for e in inside if e["tag"] == "th" and e["attrs"].get("scope") == "row"]
    assert [r["attrs"]["title"] for r in rows] == names
    cells = [e for e in inside if e["tag"] == "td"]
    assert len(cells) == len(names) ** 2
    for index, cell in enumerate(cells):
        true, pred = names[index // len(names)], names[index % len(names)]
        count = int(((frame["y_true"] == true) & (frame["y_pred"] == pred)).sum())
        assert int(cell["attrs"].get("data-c", 0)) == count, (true, pred)
        if count:
            assert float(cell["attrs"]["data-s"]) == pytest.approx(count / (frame["y_true"] == true).sum())


def test_headline_metrics_follow_the_task_and_carry_their_intervals(tmp_path):
    many = make_run(tmp_path, "twelve", classes=[f"c{i}" for i in range(12)], meta=False, evaluated=False)
    evaluate(many, plots=False, bootstrap=200).write(many)
    page = Page(build_report([many, make_run(tmp_path, "six", meta=False)], out=tmp_path / "r.html").read_text())
    shown = {(e["attrs"]["data-run"], e["attrs"]["data-metric"]) for e in page.with_attr("data-metric") if "data-run" in e["attrs"]}
    assert ("twelve", "top5_accuracy") in shown and ("six", "top5_accuracy") not in shown
    metrics = json.loads((many / "metrics.json").read_text())
    cards = [e for e in page.with_attr("data-run", "twelve") if e["tag"] == "dd" and "data-ci-low" in e["attrs"]]
    assert {e["attrs"]["data-metric"] for e in cards} == {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc"}
    for e in cards:
        assert [float(e["attrs"]["data-ci-low"]), float(e["attrs"]["data-ci-high"])] == metrics["intervals"][e["attrs"]["data-metric"]]
