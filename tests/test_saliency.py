"""Saliency on errors: Grad-CAM from a real run's checkpoint, for the predicted class, at the image's size;
and a run's own pictures (sample grids, galleries, overlays) written at the end of training."""

import numpy as np
import pytest
import torch
from PIL import Image

from trainlab.artifacts.gallery import Gallery
from trainlab.artifacts.samples import SampleGrids
from trainlab.cli import main
from trainlab.data.images import decode_image
from trainlab.artifacts.predictions import Predictions
from trainlab.saliency import blend, grad_cam, last_conv, overlays_for_run
from trainlab.training.predict import load_run_model

import captum  # noqa: E402,F401  (the saliency extra is part of the test extra: without it this is an install error, not a skip)

CLASSES = ["blue", "green", "red"]  # the bright square is on that channel


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One epoch of the seed CNN on a small ImageFolder dataset with a bright square on a class-coloured channel."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(5)
    for split, n in {"train": 24, "val": 6, "test": 12}.items():
        for i in range(n):
            k = i % 3
            img = rng.integers(0, 60, (28, 28, 3)).astype(np.uint8)
            r, c = rng.integers(2, 16, 2)
            img[r : r + 10, c : c + 10, 2 - k] = 240
            folder = root / split / CLASSES[k]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(folder / f"{i}.png")
    runs = tmp_path_factory.mktemp("runs")
    assert main(["train", "ip102-seed-cnn", f"data.root={root}", "data.format=imagefolder", "data.image_size=24",
                 "train.epochs=1", "train.batch_size=8", f"output.runs={runs}", "output.name=r"]) == 0
    return runs / "r"


def test_overlay_is_for_the_predicted_class_and_has_the_images_size(run, tmp_path):
    pred = Predictions.read(run, "test")
    paths = list(pred.frame["path"][:4])
    names = list(pred.frame["y_pred"][:4])
    result = overlays_for_run(run, paths, names, tmp_path / "sal")
    model, meta, dc, _ = load_run_model(run)
    assert result.classes == [meta["classes"].index(n) for n in names]  # the table's predicted class
    size = tuple(dc.size)
    for k, path in enumerate(paths):
        assert result.cams[k].shape == size and result.images[k].shape == (*size, 3)
        with Image.open(tmp_path / "sal" / result.files[k]) as im:
            assert im.size == size[::-1]
    # the default target is the model's own arg-max, which is what the table holds for trainlab's predictions
    images = np.stack([decode_image(p, size, dc.resize) for p in paths])
    cams, classes = grad_cam(model, images, dc)
    assert list(classes) == result.classes
    assert np.allclose(cams, np.stack(result.cams), atol=1e-5)
    assert not np.allclose(cams[0], cams[1])  # two different images, two different maps
    assert result.layer == last_conv(model)[0]


def test_the_map_depends_on_the_class_asked_for(run):
    model, _, dc, _ = load_run_model(run)
    path = Predictions.read(run, "test").frame["path"][0]
    image = decode_image(path, tuple(dc.size), dc.resize)[None]
    maps = [grad_cam(model, image, dc, classes=[k])[0][0] for k in range(3)]
    assert any(not np.allclose(maps[0], m) for m in maps[1:])
    assert all(m.min() >= 0 and m.max() <= 1 for m in maps)


def test_blend_leaves_pixels_without_evidence_untouched():
    image = np.full((6, 8, 3), 100, np.uint8)
    cam = np.zeros((6, 8), np.float32)
    cam[2, 3] = 1.0
    out = blend(image, cam)
    assert out.shape == image.shape
    assert (out[0, 0] == 100).all() and not (out[2, 3] == 100).all()


def test_a_run_writes_its_pictures(run):
    grids = SampleGrids.read(run / "data")
    assert [r.value for r in grids.classes.rows] == CLASSES
    gallery = Gallery.read(run / "gallery")
    assert gallery.saliency is not None and gallery.saliency.figure == "saliency.png"
    for it in gallery.top_loss:
        with Image.open(run / "gallery" / it.saliency) as im:
            assert im.size == (24, 24)
    for name in ("top_loss.png", "saliency.png", *grids.classes.pages):
        folder = run / ("data" if name.startswith("samples") else "gallery")
        with Image.open(folder / name) as im:
            im.verify()
    assert torch.is_grad_enabled()  # saliency left autograd as it found it


def test_saliency_needs_a_run_with_a_checkpoint(run, tmp_path, capsys):
    assert main(["gallery", str(run), "--saliency", "--out", str(tmp_path / "g")]) == 0
    assert Gallery.read(tmp_path / "g").saliency.layer == "conv4"
    empty = tmp_path / "empty"
    (empty / "checkpoints").mkdir(parents=True)
    (empty / "predictions").mkdir()
    (empty / "predictions" / "test.csv").write_text((run / "predictions" / "test.csv").read_text())
    assert main(["gallery", str(empty), "--saliency"]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert not (empty / "gallery").exists()  # refused before drawing anything
