"""summarize_manifest / inspect_dataset and the data CLI verbs."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from PIL import Image
from test_data_helpers import fairface, ip102, truncated_jpeg

from trainlab.cli import main
from trainlab.data.formats import load_manifest
from trainlab.data.inspect import inspect_dataset, summarize_manifest
from trainlab.data.manifest import Manifest
from trainlab.errors import TrainlabError


def _manifest() -> Manifest:
    """Hand-built: class a has 6 train images, b has 3 (imbalance 2.0); attribute 'group' x/y."""
    rows = [("a", "train", "x")] * 4 + [("a", "train", "y")] * 2 + [("b", "train", "y")] * 3 + [("a", "test", "x"), ("b", "test", "y")]
    frame = pd.DataFrame(
        {"id": [f"{i}.png" for i in range(len(rows))], "path": [f"/d/{i}.png" for i in range(len(rows))],
         "label": [0 if r[0] == "a" else 1 for r in rows], "split": [r[1] for r in rows], "group": [r[2] for r in rows]}
    )
    return Manifest(frame, ["a", "b"], target="kind", source={"format": "csv", "root": "/d"})


def test_summary_counts_imbalance_and_cross_tabs(tmp_path):
    s = summarize_manifest(_manifest(), tmp_path / "out")
    assert s["counts"] == {"a": {"train": 6, "test": 1}, "b": {"train": 3, "test": 1}}
    assert s["splits"] == {"train": 9, "test": 2}
    assert s["imbalance"]["ratio"] == 2.0 and s["imbalance"]["smallest"] == {"class": "b", "images": 3}
    assert s["attributes"]["group"]["counts"] == {"x": {"train": 4, "test": 1}, "y": {"train": 5, "test": 1}}
    tab = s["cross_tabs"]["group"]
    assert tab["counts"] == {"a": {"x": 5, "y": 2}, "b": {"x": 0, "y": 4}}
    assert tab["p_class_given_value"]["y"] == {"a": round(2 / 6, 4), "b": round(4 / 6, 4)}
    on_disk = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert on_disk["counts"] == s["counts"]
    assert on_disk["plots"] == ["class_distribution.png", "attribute_group.png", "samples_kind_p1.png", "samples_group_p1.png"]
    for name in on_disk["plots"]:
        with Image.open(tmp_path / "out" / name) as im:
            assert im.format == "PNG" and im.size[0] >= 600


def test_class_plot_grows_to_stay_readable_at_102_classes(tmp_path):
    root = tmp_path / "ip"
    root.mkdir()
    (root / "train.txt").write_text("".join(f"{k}.jpg {k}\n" for k in range(102)))
    (root / "classes.txt").write_text("".join(f"{k + 1}  insect number {k}\t\r\n" for k in range(102)))
    m = load_manifest(root, check_files=False, val_fraction=0, test_fraction=0)
    summarize_manifest(m, tmp_path / "out")
    with Image.open(tmp_path / "out" / "class_distribution.png") as im:
        assert im.size[1] >= 102 * 18  # at least 18 pixels of height per class name


def test_inspect_fairface_prints_and_writes(tmp_path, capsys):
    root = fairface(tmp_path / "ff", damaged_ages=2)
    quiet = inspect_dataset(root, target="race", out=tmp_path / "quiet", workers=1)
    assert capsys.readouterr().out == ""  # the library returns the summary; only the command line prints
    s = inspect_dataset(root, target="race", out=tmp_path / "out", workers=1, show=print)
    assert quiet["image_files"] == s["image_files"]
    out = capsys.readouterr().out
    assert "target     race (3 classes)" in out
    assert "repaired   2 'age' value(s)" in out
    assert "race × gender: share of each race within each gender value" in out
    assert "bad files  none" in out
    assert s["image_files"]["readable"] == 24 and s["image_files"]["common_sizes"] == {"12x10": 24}
    assert (tmp_path / "out" / "attribute_gender.png").is_file()


def test_inspect_lists_every_bad_file_then_fails_or_skips(tmp_path, capsys):
    root = ip102(tmp_path / "ip")
    (root / "images" / "00001.jpg").unlink()
    truncated_jpeg(root / "images" / "00013.jpg")  # test.txt line 2
    with pytest.raises(TrainlabError, match=r"2 bad image file\(s\)"):
        inspect_dataset(root, out=tmp_path / "out", workers=1, show=print)
    out = capsys.readouterr().out
    assert "bad files  2" in out
    assert f"{root / 'images' / '00001.jpg'} (train.txt:2): file not found" in out
    assert f"{root / 'images' / '00013.jpg'} (test.txt:2): corrupt or truncated" in out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert len(summary["image_files"]["bad_files"]) == 2
    s = inspect_dataset(root, out=tmp_path / "out2", on_bad_image="skip", workers=1)  # reported, not fatal
    assert len(s["image_files"]["bad_files"]) == 2


def test_cli_inspect_and_cache_and_errors(tmp_path, capsys):
    root = ip102(tmp_path / "ip", "coursework")
    assert main(["data", "inspect", str(root), "--out", str(tmp_path / "out"), "--workers", "1"]) == 0
    assert "coursework: classification/<split>/<label>/<file>" in capsys.readouterr().out
    assert main(["data", "cache", str(root), "--size", "8x6", "--cache-dir", str(tmp_path / "c"), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "images:   15 at 8x6 (stretch)" in out and "status:   built" in out
    assert main(["data", "cache", str(root), "--size", "8x6", "--cache-dir", str(tmp_path / "c")]) == 0
    assert "status:   reused" in capsys.readouterr().out
    assert main(["data", "inspect", str(tmp_path / "nowhere")]) == 2
    assert f"error: dataset path {tmp_path / 'nowhere'} does not exist" in capsys.readouterr().err


def test_class_plot_adds_a_log_panel_when_the_imbalance_is_large(tmp_path):
    from trainlab.data.plots import LOG_SCALE_RATIO, plot_class_distribution

    balanced = pd.DataFrame({"train": [50, 40, 30], "test": [5, 4, 3]}, index=["a", "b", "c"])
    skewed = pd.DataFrame({"train": [2000, 40, 3], "test": [200, 4, 0]}, index=["a", "b", "c"])
    assert 2200 / 3 > LOG_SCALE_RATIO
    sizes = {}
    for name, counts in (("balanced", balanced), ("skewed", skewed)):
        plot_class_distribution(counts, tmp_path / f"{name}.png", title=name)
        with Image.open(tmp_path / f"{name}.png") as im:
            sizes[name] = im.size
    assert sizes["skewed"][0] > sizes["balanced"][0] * 1.4  # the second (log-scale) panel
