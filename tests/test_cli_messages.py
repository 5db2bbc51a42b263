"""Bad input reaches the user as one line naming the file and the problem, exit 2 (through cli.main)."""

from __future__ import annotations

import collections
import os

import pytest
import torch
from _tiny_run import tiny_run
from test_data_helpers import solid

from trainlab.cli import main


def run_main(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    err = capsys.readouterr().err.strip()
    return code, err


def one_line_error(code: int, err: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and err.splitlines()[-1] == errors[0], err  # warnings may come first; one error line ends it
    return errors[0]


def test_recipe_that_is_not_utf8_names_the_file_and_line(tmp_path, capsys):
    recipe = tmp_path / "latin1.yaml"
    recipe.write_bytes("data:\n  root: /data/caf\xe9\n".encode("latin-1"))
    line = one_line_error(*run_main(capsys, "train", recipe))
    assert f"{recipe}:2: not UTF-8 text (byte 0xe9" in line and "save the recipe as UTF-8" in line


class Unsafe:  # any class outside torch's allow-list makes the pickle unsafe to load
    pass


def test_summary_on_an_unsafe_pth_says_it_was_refused(tmp_path, capsys):
    path = tmp_path / "unsafe.pth"
    torch.save({"w": torch.zeros(2), "extra": Unsafe()}, path)
    line = one_line_error(*run_main(capsys, "summary", path))
    assert str(path) in line and "refused" in line and "Unsafe" in line and "does not exist" not in line


def test_summary_on_a_safe_pth_asks_for_the_model_name(tmp_path, capsys):
    path = tmp_path / "plain.pth"
    torch.save(collections.OrderedDict(w=torch.zeros(2)), path)
    line = one_line_error(*run_main(capsys, "summary", path))
    assert str(path) in line and "give the model name" in line


def test_summary_on_a_corrupt_safetensors(tmp_path, capsys):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(os.urandom(64))
    line = one_line_error(*run_main(capsys, "summary", path))
    assert f"{path} is not a readable safetensors file" in line


@pytest.mark.parametrize("data", [b"hello, this is text", b"\x00\x01garbage" * 10, b"", b"\x80\x02" + b"\xef" * 40])
def test_garbage_named_pth_is_not_called_pickled_objects(tmp_path, capsys, data):
    path = tmp_path / "garbage.pth"
    path.write_bytes(data)
    line = one_line_error(*run_main(capsys, "summary", path))
    assert str(path) in line and "pickled" not in line
    assert "not a PyTorch file" in line or "damaged" in line


def test_predict_skip_reasons_name_the_file_and_the_problem(tmp_path, capsys, caplog):
    run = tiny_run(tmp_path / "run")
    folder = tmp_path / "in"
    solid(folder / "good.png")
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.jpg").write_text("not an image")
    code = main(["predict", str(run), str(folder), "--on-bad-image", "skip", "--device", "cpu"])
    assert code == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert f"skipped {folder / 'empty.png'}: empty file (0 bytes)" in warnings
    assert f"skipped {folder / 'text.jpg'}: not an image file Pillow can read" in warnings
    (folder / "good.png").unlink()
    line = one_line_error(*run_main(capsys, "predict", run, folder, "--on-bad-image", "skip", "--device", "cpu"))
    assert "none of the 2 input file(s) could be decoded" in line


def test_predict_on_a_folder_of_images_and_a_class_folder_predicts_every_image(tmp_path, caplog):
    import pandas as pd

    run = tiny_run(tmp_path / "run")
    folder = tmp_path / "mixed"
    for name in ("top1.png", "top2.jpg", "cat/a.png", "cat/b.png"):
        solid(folder / name)
    out = tmp_path / "pred.csv"
    assert main(["predict", str(run), str(folder), "--device", "cpu", "--out", str(out)]) == 0
    table = pd.read_csv(out, keep_default_na=False)
    assert sorted(table["id"]) == ["cat/a.png", "cat/b.png", "top1.png", "top2.jpg"]
    assert table.set_index("id").loc[["cat/a.png", "top1.png"], "y_true"].tolist() == ["cat", ""]
    said = " ".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert "2 image file(s) under it are not part of the imagefolder dataset" in said and "top1.png" in said
