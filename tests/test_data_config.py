"""The data config (issue 12): one HxW parser and size check, one resolved object per run, one dataset root."""

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

from trainlab.data.dataconfig import DataConfig, parse_hw, resolve_data_config
from trainlab.data.formats import dataset_root
from trainlab.errors import TrainlabError
from trainlab.models.factory import create_model

SRC = Path(__file__).resolve().parents[1] / "src" / "trainlab"


@pytest.mark.parametrize("value, hw", [("64x48", (64, 48)), ("64×48", (64, 48)), ("32", (32, 32)), (32, (32, 32)),
                                       ([64, 48], (64, 48)), ((20, 24), (20, 24)), ([40], (40, 40))])
def test_parse_hw_reads_every_spelling(value, hw):
    assert parse_hw(value) == hw


@pytest.mark.parametrize("value", ["big", "64x", "1x2x3", [1, 2, 3], [], True, 2.5, None, ["a", 3]])
def test_parse_hw_names_the_value_and_the_form(value):
    with pytest.raises(TrainlabError, match=r"^data\.image_size .* is not HxW: give \[height, width\]"):
        parse_hw(value, what="data.image_size")


def test_parse_hw_checks_the_callers_minimum():
    assert parse_hw("0x5", minimum=0) == (0, 5)
    with pytest.raises(TrainlabError, match="size 0x5 is too small: it must be positive"):
        parse_hw("0x5", what="size")
    with pytest.raises(TrainlabError, match=r"'input_size' 9x12 is too small: it must be at least 10x10 \(two blocks\)"):
        parse_hw((9, 12), what="option 'input_size'", minimum=10, why="two blocks")


def test_one_hxw_parser_in_the_package():
    """No module but dataconfig splits text on 'x' into an image size (the recipe, the CLI and two builders did).

    ``trainlab summary --input`` reads a whole input shape (HxWxC for images, TxF for sequences): another thing.
    """
    offenders = []
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name not in ("dataconfig.py", "summary.py") and ('.split("x")' in text or "replace(\"×\", \"x\").split" in text):
            offenders.append(str(path.relative_to(SRC)))
    assert offenders == []


def _data(image_size=None, resize="stretch"):
    return SimpleNamespace(image_size=image_size, resize=resize)


def test_resolve_takes_size_from_the_recipe_or_the_model_and_the_rest_from_the_model():
    cnn = create_model("seed_cnn", 3, input_size=[24, 32], in_chans=1)
    dc = resolve_data_config(_data([24, 32], "shorter-side"), cnn)
    assert dc == DataConfig(input_size=(1, 24, 32), mean=(0.0,), std=(1.0,), interpolation="bilinear", resize="shorter-side")
    assert dc.size == (24, 32)
    timm_model = create_model("timm:test_efficientnet", 2)
    native = resolve_data_config(_data(), timm_model)
    assert native.input_size == tuple(timm_model.data_config["input_size"])
    assert native.mean == tuple(timm_model.data_config["mean"]) and native.std == tuple(timm_model.data_config["std"])
    with pytest.raises(AttributeError):
        dc.resize = "stretch"  # frozen: read by every stage, changed by none


def test_resolve_refuses_a_model_built_for_another_size_or_not_for_images():
    with pytest.raises(TrainlabError, match="data.image_size 32x32 differs from the 24x24 input model 'seed_cnn' is built for"):
        resolve_data_config(_data([32, 32]), create_model("seed_cnn", 3, input_size=24))
    with pytest.raises(TrainlabError, match="model 'sine_mlp' does not take images"):
        resolve_data_config(_data(), create_model("sine_mlp", 1))
    with pytest.raises(TrainlabError, match="unknown resize policy 'crop'"):
        resolve_data_config(_data(resize="crop"), create_model("seed_cnn", 3, input_size=24))


def test_round_trip_through_json_and_errors_name_the_file():
    dc = DataConfig(input_size=(3, 20, 24), mean=(0.5,) * 3, std=(0.25,) * 3, resize="shorter-side")
    assert DataConfig.from_dict(dc.to_dict()) == dc
    with pytest.raises(TrainlabError, match=r"run\.json: data_config: no mean, std"):
        DataConfig.from_dict({"input_size": [3, 20, 24]}, where="run.json: data_config")
    with pytest.raises(TrainlabError, match=r"x: input_size 4x0 is too small"):
        DataConfig.from_dict({"input_size": [3, 4, 0], "mean": [0] * 3, "std": [1] * 3}, where="x")


def test_dataset_root_is_the_real_path(tmp_path, monkeypatch):
    real = tmp_path / "data"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    assert dataset_root("link") == dataset_root(tmp_path / "link") == dataset_root(real) == real.resolve()


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m.startswith("trainlab.models.") and (SRC / "models" / f"{m.rsplit('.', 1)[1]}.py").is_file()}


def test_models_package_has_no_import_cycle_and_its_leaves_are_leaves():
    graph = {p.stem: {m.rsplit(".", 1)[1] for m in _imports(p)} for p in (SRC / "models").glob("*.py") if p.stem != "__init__"}
    assert graph["registry"] == set() and graph["weights"] == set()  # leaves: no other model module
    assert "factory" not in graph["backbones"] | graph["cnn"] | graph["sequence"] | graph["weights"]

    def reach(start, seen):
        for nxt in graph.get(start, ()):
            if nxt not in seen:
                seen.add(nxt)
                reach(nxt, seen)
        return seen

    assert [m for m in graph if m in reach(m, set())] == []  # no module reaches itself
    assert not any("param_groups" in line for line in (SRC / "models" / "backbones.py").read_text().splitlines()
                   if line.lstrip().startswith("def "))  # optimizer policy lives in trainlab.training.param_groups
