import json

import pytest
import torch
from safetensors import safe_open

from trainlab.errors import TrainlabError
from trainlab.models.factory import build_from_spec, create_model
from trainlab.models.weights import load_weights, read_metadata, save_weights


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


def test_build_from_spec_rebuilds_the_same_model_from_the_files_header(tmp_path):
    torch.manual_seed(0)
    model = create_model("seed_cnn", 3, input_size=(20, 24)).eval()
    path = save_weights(model, tmp_path / "m.safetensors", {"classes": ["a", "b", "c"]})
    meta = read_metadata(path)  # the header alone, no tensor read
    assert meta["classes"] == ["a", "b", "c"] and meta["data_config"] == model.data_config
    again = build_from_spec(meta, weights=path)
    x = torch.rand(2, 3, 20, 24)
    assert torch.equal(again.eval()(x), model(x))
    assert again.trainlab_spec == json.loads(json.dumps(model.trainlab_spec))  # the spec, as JSON stores it


def test_build_from_spec_drops_weight_sources_and_refuses_weights_that_do_not_fit(tmp_path):
    # a spec that was initialised from a file rebuilds without it (the file may be gone; the checkpoint has every weight)
    transfer = {"model": "timm:test_resnet", "model_options": {"weights": str(tmp_path / "gone.safetensors"), "mode": "frozen"},
                "num_classes": 2}
    assert build_from_spec(transfer).trainlab_spec["model_options"] == {"mode": "frozen"}
    spec = {"model": "seed_cnn", "model_options": {"input_size": 16}, "num_classes": 3}
    other = save_weights(create_model("seed_cnn", 5, input_size=16), tmp_path / "five.safetensors")
    with pytest.raises(TrainlabError, match=r"five.safetensors does not fit model 'seed_cnn'.*fc2"):
        build_from_spec(spec, weights=other)
    with pytest.raises(TrainlabError, match="run.json: no 'model'/'num_classes'"):
        build_from_spec({"model_options": {}}, where="run.json")


def test_save_refuses_metadata_that_is_not_json(tmp_path):
    with pytest.raises(TrainlabError, match="metadata 'when' is not JSON-serialisable"):
        save_weights(create_model("sine_mlp", 1), tmp_path / "m.safetensors", {"when": object()})
    assert not (tmp_path / "m.safetensors").exists()


def test_unwraps_compiled_and_ddp_style_modules(tmp_path):
    model = create_model("sine_mlp", 1)
    wrapper = torch.nn.DataParallel(model)
    state, meta = load_weights(save_weights(wrapper, tmp_path / "m.safetensors"))
    assert set(state) == set(model.state_dict()) and meta["model"] == "sine_mlp"
