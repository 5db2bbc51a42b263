"""`trainlab export`: ONNX (in onnxruntime) and TorchScript (in a fresh process) give trainlab's probabilities."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from trainlab.cli import main
from trainlab.data.images import decode_image
from trainlab.export import read_metadata
from trainlab.training.predict import load_run_model, predict_paths

CLASSES = ["dark", "light", "red"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A real run: one epoch of the seed CNN on a small ImageFolder dataset of varied images."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(3)
    for split, n in {"train": 24, "val": 6, "test": 9}.items():
        for i in range(n):
            k = i % 3
            img = rng.integers(0, 90, (30, 26, 3)).astype(np.uint8) + np.uint8(80 * (k == 1))
            img[..., 0] += np.uint8(120 * (k == 2))
            folder = root / split / CLASSES[k]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(folder / f"{i}.png")
    runs = tmp_path_factory.mktemp("runs")
    assert main(["train", "ip102-seed-cnn", f"data.root={root}", "data.format=imagefolder", "data.image_size=20",
                 "train.epochs=1", "train.batch_size=8", f"output.runs={runs}", "output.name=r"]) == 0
    return runs / "r", sorted((root / "test").rglob("*.png"))


def trainlab_proba(run_dir, paths):
    model, _, data_config, dev = load_run_model(run_dir, "best", "cpu")
    proba, ok = predict_paths(model, paths, data_config=data_config, device=dev)
    assert ok.all()
    return proba, data_config


def pixels(paths, data_config):
    return np.stack([decode_image(p, data_config.size, data_config.resize) for p in paths])


def test_onnx_in_onnxruntime_equals_trainlab(run, capsys):
    import onnxruntime

    run_dir, paths = run
    assert main(["export", str(run_dir), "--format", "onnx"]) == 0
    path = run_dir / "export" / "model.onnx"
    assert "onnx model -> " in capsys.readouterr().out
    expected, meta = trainlab_proba(run_dir, paths)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(["probabilities"], {"images": pixels(paths, meta)})[0]
    assert got.shape == (len(paths), 3)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert not np.allclose(expected, expected[0])  # the images are told apart: the check has teeth
    embedded = read_metadata(path)
    assert embedded["classes"] == CLASSES and embedded["image_size"] == [20, 20]
    assert embedded["mean"] == [0.0, 0.0, 0.0] and embedded["std"] == [1.0, 1.0, 1.0]
    props = session.get_modelmeta().custom_metadata_map
    assert json.loads(props["classes"]) == CLASSES


def test_torchscript_in_a_fresh_process_equals_trainlab(run, tmp_path):
    run_dir, paths = run
    out = tmp_path / "m.pt"
    assert main(["export", str(run_dir), "--format", "torchscript", "--out", str(out)]) == 0
    expected, meta = trainlab_proba(run_dir, paths)
    np.save(tmp_path / "x.npy", pixels(paths, meta))
    code = (
        "import json, sys, numpy as np, torch\n"
        "extra = {'trainlab.json': ''}\n"
        "m = torch.jit.load(sys.argv[1], _extra_files=extra)\n"
        "x = torch.from_numpy(np.load(sys.argv[2]))\n"
        "np.save(sys.argv[3], m(x).detach().numpy())\n"
        "print(json.loads(extra['trainlab.json'])['classes'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(out), str(tmp_path / "x.npy"), str(tmp_path / "p.npy")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(CLASSES)
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), expected, atol=1e-4)


def test_export_of_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["export", str(tmp_path)]) == 2
    assert "no checkpoint" in capsys.readouterr().err
