import json

import pytest
import torch
from safetensors import safe_open

from trainlab.errors import TrainlabError
from trainlab.models.registry import create_model
from trainlab.models.weights import build_from_weights, load_weights, save_weights


def test_round_trip_keeps_every_tensor_and_the_metadata(tmp_path):
    torch.manual_seed(0)
    model = create_model("timm:test_efficientnet", 4, mode="frozen", input_size=32)
    classes = ["aphid", "mite", "thrips", "weevil"]
    path = save_weights(model, tmp_path / "ckpt" / "model.safetensors", {"classes": classes, "epoch": 3})
    assert [p.name for p in path.parent.iterdir()] == ["model.safetensors"]  # no temporary file left behind

    state, meta = load_weights(path)
    ref = model.state_dict()
    assert state.keys() == ref.keys() and all(torch.equal(state[k], ref[k]) for k in ref)  # incl. BN buffers
    assert meta["model"] == "timm:test_efficientnet" and meta["num_classes"] == 4
    assert meta["model_options"] == {"mode": "frozen", "input_size": 32}
    assert meta["classes"] == classes and meta["epoch"] == 3
    assert meta["data_config"] == model.data_config  # tuples again after JSON

    with safe_open(str(path), framework="pt") as fh:  # stored as JSON strings, readable by any tool
        raw = fh.metadata()
    assert json.loads(raw["classes"]) == classes and raw["trainlab_format"] == "1"


def test_build_from_weights_rebuilds_the_same_model(tmp_path):
    torch.manual_seed(0)
    model = create_model("seed_cnn", 3, input_size=(20, 24)).eval()
    path = save_weights(model, tmp_path / "m.safetensors", {"classes": ["a", "b", "c"]})
    again, meta = build_from_weights(path)
    x = torch.rand(2, 3, 20, 24)
    assert torch.equal(again.eval()(x), model(x))
    assert again.data_config == model.data_config and meta["classes"] == ["a", "b", "c"]


def test_save_refuses_metadata_that_is_not_json(tmp_path):
    with pytest.raises(TrainlabError, match="metadata 'when' is not JSON-serialisable"):
        save_weights(create_model("sine_mlp", 1), tmp_path / "m.safetensors", {"when": object()})
    assert not (tmp_path / "m.safetensors").exists()


def test_unwraps_compiled_and_ddp_style_modules(tmp_path):
    model = create_model("sine_mlp", 1)
    wrapper = torch.nn.DataParallel(model)
    state, meta = load_weights(save_weights(wrapper, tmp_path / "m.safetensors"))
    assert set(state) == set(model.state_dict()) and meta["model"] == "sine_mlp"
