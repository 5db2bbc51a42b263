"""Galleries and sample grids: the right items are picked from the predictions table, and the figures are written."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from trainlab.artifacts.gallery import Gallery
from trainlab.artifacts.samples import SampleGrids
from trainlab.cli import main
from trainlab.data.manifest import Manifest
from trainlab.gallery import select
from trainlab.gallery.build import build_gallery
from trainlab.gallery.samples import PAGE_ROWS, write_sample_grids
from trainlab.artifacts.predictions import Predictions

CLASSES = ["ant", "bee", "cat", "dog"]


def _images(folder, n, rng):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        img = rng.integers(0, 255, (20 + i % 5, 24, 3)).astype(np.uint8)
        path = folder / f"{i:03d}.png"
        Image.fromarray(img).save(path)
        paths.append(str(path))
    return paths


@pytest.fixture
def table(tmp_path):
    """120 items, 4 classes, a 'site' attribute where site B is much worse than site A; real image files."""
    rng = np.random.default_rng(0)
    n = 120
    y_true = np.arange(n) % 4
    site = np.where(np.arange(n) < 60, "A", "B")
    logits = rng.normal(0, 1, (n, 4))
    logits[np.arange(n), y_true] += np.where(site == "A", 4.0, 0.5)
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    paths = _images(tmp_path / "img", n, rng)
    pred = Predictions.build(classes=CLASSES, y_true=y_true, proba=proba, paths=paths, split="test",
                             attributes=pd.DataFrame({"site": site}))
    return pred.write(tmp_path / "preds" / "test.csv")


def test_top_loss_items_are_the_highest_losses_in_the_table(table):
    pred = Predictions.from_frame(pd.read_csv(table))
    p_true = pred.proba[np.arange(len(pred)), pred.y_true]
    chosen = select.items(pred, select.top_loss(pred, 10))
    expected = np.sort(-np.log(p_true))[::-1][:10]
    assert np.allclose([it.loss for it in chosen], expected)
    assert min(it.loss for it in chosen) >= np.sort(-np.log(p_true))[::-1][10]  # nothing left out beats them
    for it in chosen:  # each item is its own row: labels and probabilities match the table
        row = pred.frame.loc[pred.frame["path"] == it.path].iloc[0]
        assert (it.y_true, it.y_pred) == (row["y_true"], row["y_pred"])
        assert it.probability == pytest.approx(row[f"p_{it.y_pred}"])


def test_confused_pairs_are_ranked_by_count_and_examples_have_that_pair():
    # ant->bee 3 times, bee->ant once; cat->dog twice; dog correct
    t = ["ant", "ant", "ant", "bee", "cat", "cat", "dog", "ant", "bee"]
    p = ["bee", "bee", "bee", "ant", "dog", "dog", "dog", "ant", "bee"]
    proba = np.full((len(t), 4), 0.1)
    for i, name in enumerate(p):
        proba[i, CLASSES.index(name)] = 0.7
    proba[1, :] = [0.05, 0.85, 0.05, 0.05]  # the most confident ant->bee mistake
    frame = Predictions.build(classes=CLASSES, y_true=[CLASSES.index(x) for x in t], proba=proba,
                              y_pred=[CLASSES.index(x) for x in p]).frame
    pairs = select.confused_pairs(Predictions.from_frame(frame), pairs=5, per_direction=2)
    assert [(q.a, q.b, q.count_a_as_b, q.count_b_as_a) for q in pairs] == [("ant", "bee", 3, 1), ("cat", "dog", 2, 0)]
    flipped = select.confused_pairs(Predictions.from_frame(frame.assign(y_true=frame["y_pred"], y_pred=frame["y_true"])), pairs=1)
    assert (flipped[0].a, flipped[0].b, flipped[0].count_a_as_b) == ("bee", "ant", 3)  # the frequent direction first
    first = pairs[0]
    assert all((it.y_true, it.y_pred) == ("ant", "bee") for it in first.a_as_b)
    assert all((it.y_true, it.y_pred) == ("bee", "ant") for it in first.b_as_a)
    assert len(first.a_as_b) == 2 and first.a_as_b[0].id == "1"  # highest loss first, capped at per_direction
    assert all((it.y_true, it.y_pred) == ("cat", "dog") for it in pairs[1].a_as_b) and pairs[1].b_as_a == []


def test_worst_and_best_group_with_wilson_intervals(table):
    pred = Predictions.from_frame(pd.read_csv(table))
    worst, best, used = select.worst_and_best(pred, "site", per_group=5, min_size=30)
    correct = pred.y_true == pred.y_pred
    site = pred.frame["site"].to_numpy()
    assert (worst.group, best.group, used) == ("B", "A", 30)
    assert worst.accuracy == pytest.approx(correct[site == "B"].mean())
    assert worst.low < worst.accuracy < worst.high and worst.high < best.accuracy  # B is clearly worse here
    assert worst.errors == int((~correct[site == "B"]).sum()) and len(worst.items) == min(5, worst.errors)
    assert all(it.y_true != it.y_pred for it in worst.items + best.items)
    b_paths = set(pred.frame.loc[site == "B", "path"])
    assert all(it.path in b_paths for it in worst.items)
    assert select.wilson(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)  # textbook values


def test_gallery_verb_on_a_predictions_file_writes_figures_and_the_artifact(table, tmp_path, capsys):
    out = tmp_path / "g"
    assert main(["gallery", str(table), "--by", "site", "--out", str(out)]) == 0
    assert "site: worst B" in capsys.readouterr().out
    gallery = Gallery.read(out)
    assert gallery.saliency is None and any("no saliency" in n for n in gallery.notes)  # a file has no model
    for name in ("top_loss.png", "confused_pairs.png", "errors_site.png"):
        with Image.open(out / name) as im:
            assert im.width > 300 and im.height > 150
    assert [g.column for g in gallery.groupings] == ["site"]
    assert all(it.found for it in gallery.top_loss)
    assert main(["gallery", str(table), "--by", "nope", "--out", str(out)]) == 2  # an unknown column is named
    assert "no column 'nope'" in capsys.readouterr().err
    assert main(["gallery", str(table), "--saliency", "--out", str(out)]) == 2  # required but impossible: said why
    assert "saliency needs the run's model" in capsys.readouterr().err
    assert Gallery.read(out).top_loss == gallery.top_loss  # the failed calls left the written gallery intact


def test_missing_images_are_drawn_grey_and_noted(table, tmp_path):
    frame = pd.read_csv(table)
    worst = select.top_loss(Predictions.from_frame(frame), 2)
    frame.loc[worst, "path"] = "gone/nowhere.png"
    path = Predictions.from_frame(frame).write(tmp_path / "other.csv")
    gallery, out = build_gallery(path, with_saliency=False)
    assert out == tmp_path / "gallery-other" and (out / "top_loss.png").is_file()
    assert gallery.notes and "not found" in gallery.notes[0]
    assert [it.found for it in gallery.top_loss[:3]] == [False, False, True]


def test_sample_grid_has_every_class_and_pages_at_many_classes(tmp_path):
    rng = np.random.default_rng(1)
    k = PAGE_ROWS + 5  # two pages
    rows = []
    for c in range(k):
        for i, p in enumerate(_images(tmp_path / "img" / str(c), 2 + c % 3, rng)):
            rows.append({"id": f"{c}-{i}", "path": p, "label": c, "split": "train", "colour": "red" if i % 2 else "blue"})
    classes = [f"class number {c}" for c in range(k)]
    manifest = Manifest(pd.DataFrame(rows), classes, target="species")
    files = write_sample_grids(manifest, tmp_path / "out", per_row=3)
    grids = SampleGrids.read(tmp_path / "out")
    assert [r.value for r in grids.classes.rows] == classes
    assert grids.classes.pages == ["samples_species_p1.png", "samples_species_p2.png"]
    counts = pd.DataFrame(rows).groupby("label").size()
    for c, row in enumerate(grids.classes.rows):
        assert len(row.paths) == min(3, counts[c]) and row.count == counts[c]
        assert all(f"/img/{c}/" in p for p in row.paths)  # each row shows its own class's images
    assert [r.value for r in grids.attributes[0].rows] == ["blue", "red"]
    assert set(files) == {*grids.classes.pages, *grids.attributes[0].pages}
    with Image.open(tmp_path / "out" / "samples_species_p1.png") as im:
        assert im.height > 20 * 50  # 20 rows of readable thumbnails, not one squeezed sheet
    assert json.loads((tmp_path / "out" / "samples.json").read_text())["kind"] == "samples"
