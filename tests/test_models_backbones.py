import logging
import pathlib
import re

import pytest
import timm
import torch
from timm.data import resolve_model_data_config

from trainlab.errors import TrainlabError
from trainlab.models.factory import create_model
from trainlab.models.weights import load_weights, save_weights
from trainlab.training.param_groups import param_groups


@pytest.fixture
def logs():
    """Capture trainlab's log records (its logger does not propagate once the CLI has set it up)."""
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger, handler = logging.getLogger("trainlab"), Keep(level=logging.DEBUG)
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(old)


def _snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _steps(model, n=3, lr=0.1, size=32, seed=0):
    torch.manual_seed(seed)
    opt = torch.optim.SGD(param_groups(model, lr=lr), lr=lr)
    model.train()
    for _ in range(n):
        x, y = torch.randn(8, 3, size, size) * 3 + 1, torch.randint(0, model.head.fc.out_features, (8,))
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()


@pytest.mark.parametrize("arch", ["test_resnet", "test_efficientnet"])
def test_data_config_is_timms_resolved_config(arch):
    model = create_model(f"timm:{arch}", 4)
    assert model.data_config == resolve_model_data_config(timm.create_model(arch))
    # test_resnet's own config normalises with 0.5/0.5, not ImageNet's: nothing is set by hand
    if arch == "test_resnet":
        assert model.data_config["mean"] == (0.5, 0.5, 0.5)


def test_classifier_structure_and_output(logs):
    model = create_model("timm:test_efficientnet", 5, input_size=(48, 40), drop_rate=0.2)
    assert model.head.fc.out_features == 5 and model.head.drop.p == 0.2
    assert model.backbone.num_classes == 0  # timm's own classifier removed, ours is model.head
    assert model.data_config["input_size"] == (3, 48, 40)
    # from scratch (no weights) the size is the model's own: no warning about weaker pretrained features (#14)
    assert not any("overrides the model's native" in m for m in logs)
    assert model(torch.zeros(2, 3, 48, 40)).shape == (2, 5)


def test_frozen_keeps_backbone_weights_and_batchnorm_statistics(logs):
    torch.manual_seed(0)
    model = create_model("timm:test_efficientnet", 3, mode="frozen", input_size=32)
    before = _snapshot(model.backbone)
    head_before = _snapshot(model.head)
    assert any("running_mean" in k for k in before)  # the backbone has BatchNorm statistics to keep
    _steps(model)
    assert model.training and not model.backbone.training
    assert all(not m.training for m in model.backbone.modules() if isinstance(m, torch.nn.BatchNorm2d))
    after = _snapshot(model.backbone)
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights AND running mean/var/num_batches
    assert not torch.equal(head_before["fc.weight"], model.head.fc.weight)
    assert all(not p.requires_grad for p in model.backbone.parameters())


def test_finetune_changes_the_backbone_and_its_statistics():
    # the control for the test above: the same steps in finetune mode do change them
    torch.manual_seed(0)
    model = create_model("timm:test_efficientnet", 3, mode="finetune", input_size=32)
    before = _snapshot(model.backbone)
    _steps(model)
    after = _snapshot(model.backbone)
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert any("running_mean" in k for k in changed) and any(k.endswith("conv_stem.weight") for k in changed)


def test_param_groups_per_mode():
    lr = 1e-3
    finetune = create_model("timm:test_resnet", 3)
    groups = {g["name"]: g for g in param_groups(finetune, lr=lr, weight_decay=0.05)}
    assert groups["head_decay"]["lr"] == lr and groups["backbone_decay"]["lr"] == pytest.approx(lr * 0.1)
    assert groups["head_no_decay"]["weight_decay"] == 0.0 and groups["backbone_decay"]["weight_decay"] == 0.05
    assert all(p.ndim <= 1 for p in groups["backbone_no_decay"]["params"])
    n_all = sum(p.numel() for p in finetune.parameters())
    assert sum(p.numel() for g in groups.values() for p in g["params"]) == n_all  # every parameter, once

    frozen = create_model("timm:test_resnet", 3, mode="frozen")
    names = {g["name"] for g in param_groups(frozen, lr=lr)}
    assert names == {"head_decay", "head_no_decay"}


def test_staged_starts_frozen_then_unfreezes():
    model = create_model("timm:test_efficientnet", 3, mode="staged", input_size=32)
    groups = param_groups(model, lr=0.1, backbone_lr_scale=0.5)
    assert {g["name"] for g in groups} >= {"backbone_decay", "head_decay"}  # one optimizer for both stages
    before = _snapshot(model.backbone)
    _steps(model, n=2)
    assert all(torch.equal(before[k], v) for k, v in _snapshot(model.backbone).items())
    model.unfreeze_backbone()
    assert model.training and model.backbone.training
    assert all(p.requires_grad for p in model.backbone.parameters())
    _steps(model, n=2)
    assert not torch.equal(before["conv_stem.weight"], model.backbone.conv_stem.weight)
    model.eval()
    assert not model.backbone.training


def test_transfer_from_a_trainlab_checkpoint_with_another_head(tmp_path, logs):
    torch.manual_seed(1)
    source = create_model("timm:test_resnet", 5, input_size=(64, 64))
    _steps(source, n=1, size=64)  # weights (and BN statistics) now differ from a fresh model
    ckpt = save_weights(source, tmp_path / "checkpoints" / "best" / "model.safetensors", {"classes": list("abcde")})

    target = create_model("timm:test_resnet", 3, weights=str(ckpt))
    src, dst = source.backbone.state_dict(), target.backbone.state_dict()
    assert src.keys() == dst.keys() and all(torch.equal(src[k], dst[k]) for k in src)
    assert target.head.fc.out_features == 3
    assert sorted(target.load_report["dropped"]) == ["head.fc.bias", "head.fc.weight"]
    assert target.load_report["missing"] == [] and target.load_report["unexpected"] == []
    # same architecture, written by trainlab: the checkpoint's preprocessing (64x64) is used, not the native 160
    assert target.data_config["input_size"] == (3, 64, 64)
    assert target.data_config["mean"] == source.data_config["mean"]
    assert any("head not loaded" in m for m in logs)

    same_head = create_model("timm:test_resnet", 5, weights=str(ckpt))
    assert torch.equal(same_head.head.fc.weight, source.head.fc.weight)


def test_backbone_from_a_plain_timm_state_dict(tmp_path, logs):
    torch.manual_seed(2)
    imagenet = timm.create_model("test_resnet")  # with its own 1000-class classifier 'fc'
    torch.save(imagenet.state_dict(), tmp_path / "resnet.pth")
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in imagenet.state_dict().items()}}, tmp_path / "ddp.pt")
    for file in ("resnet.pth", "ddp.pt"):
        model = create_model("timm:test_resnet", 7, weights=str(tmp_path / file), mode="frozen")
        got = model.backbone.state_dict()
        assert all(torch.equal(got[k], v) for k, v in imagenet.state_dict().items() if not k.startswith("fc."))
        assert sorted(model.load_report["dropped"]) == ["fc.bias", "fc.weight"]
        assert model.load_report["missing"] == []
        assert model.head.fc.weight.shape == (7, imagenet.num_features)


def test_vit_weights_are_resampled_to_a_smaller_input(tmp_path):
    vit = timm.create_model("test_vit")  # 160x160, fixed input size
    torch.save(vit.state_dict(), tmp_path / "vit.pth")
    model = create_model("timm:test_vit", 2, weights=str(tmp_path / "vit.pth"), input_size=64)
    assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 2)
    assert model.load_report["mismatched"] == []  # pos_embed went through timm's checkpoint_filter_fn
    assert torch.equal(model.backbone.blocks[0].attn.qkv.weight, vit.blocks[0].attn.qkv.weight)


class _Evil:
    """Pickles to a call that creates a file: a stand-in for arbitrary code in a .pth."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_pth_with_pickled_code_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"conv1.weight": torch.zeros(2), "payload": _Evil(marker)}, path)
    with pytest.raises(TrainlabError, match=r"evil\.pth was refused: it holds pickled Python objects"):
        create_model("timm:test_resnet", 2, weights=str(path))
    with pytest.raises(TrainlabError, match="refused"):
        load_weights(path)
    assert not marker.exists()
    torch.load(path, weights_only=False)  # the control: an unsafe load does run the payload
    assert marker.exists()


def test_weights_that_fit_nothing_name_the_file(tmp_path):
    # seed_cnn: 4 convs and 2 dense layers, a weight and a bias each = 12 tensors, none named like a ResNet's
    cnn = save_weights(create_model("seed_cnn", 3, input_size=16), tmp_path / "cnn.safetensors")
    with pytest.raises(TrainlabError, match=r"cnn\.safetensors \(written for model 'seed_cnn'\): none of its 12 tensors fit"):
        create_model("timm:test_resnet", 3, weights=str(cnn))
    with pytest.raises(TrainlabError, match=r"missing\.pth does not exist"):
        create_model("timm:test_resnet", 3, weights=str(tmp_path / "missing.pth"))
    (tmp_path / "w.npz").write_bytes(b"x")
    with pytest.raises(TrainlabError, match=r"unknown type '\.npz'"):
        create_model("timm:test_resnet", 3, weights=str(tmp_path / "w.npz"))
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(TrainlabError, match=r"bad\.safetensors is not a readable safetensors file"):
        create_model("timm:test_resnet", 3, weights=str(tmp_path / "bad.safetensors"))


def test_bad_timm_names_and_options():
    with pytest.raises(TrainlabError, match="unknown timm model 'test_resnt'; did you mean: .*test_resnet"):
        create_model("timm:test_resnt", 3)
    with pytest.raises(TrainlabError, match="needs a timm model name"):
        create_model("timm:", 3)
    with pytest.raises(TrainlabError, match=r"option 'mode' must be one of \['frozen', 'finetune', 'staged'\]; got 'freeze'"):
        create_model("timm:test_resnet", 3, mode="freeze")
    with pytest.raises(TrainlabError, match=r"no option\(s\) \['lr'\]; allowed: \['weights', 'pretrained', 'mode'"):
        create_model("timm:test_resnet", 3, lr=0.1)
    with pytest.raises(TrainlabError, match="either 'weights'.*or pretrained='hub', not both"):
        create_model("timm:test_resnet", 3, weights="x.pth", pretrained="hub")
    with pytest.raises(TrainlabError, match="option 'pretrained' must be 'hub'"):
        create_model("timm:test_resnet", 3, pretrained="imagenet")
    with pytest.raises(TrainlabError, match=r"option 'drop_rate' must be a number in \[0, 1\)"):
        create_model("timm:test_resnet", 3, drop_rate=1.5)
    with pytest.raises(TrainlabError, match="unknown model 'resnet18'; timm has it: use 'timm:resnet18'"):
        create_model("resnet18", 3)


def test_trainlab_vit_checkpoint_loads_at_another_input_size(tmp_path):
    source = create_model("timm:test_vit", 2, input_size=64)
    ckpt = save_weights(source, tmp_path / "vit.safetensors")
    target = create_model("timm:test_vit", 2, weights=str(ckpt), input_size=96)  # explicit size wins over the file's
    assert target.data_config["input_size"] == (3, 96, 96)
    assert target.load_report["mismatched"] == [] and target.load_report["missing"] == []
    assert target(torch.zeros(1, 3, 96, 96)).shape == (1, 2)


def test_frozen_transfer_from_another_architecture_is_an_error_naming_the_keys(tmp_path, logs):
    # issue 13 item 12: resnet18 weights load 9 of test_resnet's 90 backbone tensors; a frozen run trained a head
    # on a mostly random backbone and exited 0
    other = save_weights(create_model("timm:resnet18", 2), tmp_path / "resnet18.safetensors")
    for mode in ("frozen", "staged"):
        with pytest.raises(TrainlabError) as err:
            create_model("timm:test_resnet", 2, weights=str(other), mode=mode)
        text = str(err.value)
        assert "resnet18.safetensors (written for model 'timm:resnet18') fits only 9 of 90 backbone tensors" in text
        assert re.search(r"\d+ with another shape, e\.g\. [\w.]+ \(", text)  # counts, and a few keys by name
        assert re.search(r"\d+ missing from the file, e\.g\. [\w.]+", text) and f"mode={mode}" in text
        assert "\n" not in text  # one line
    model = create_model("timm:test_resnet", 2, weights=str(other), mode="finetune")  # trains every layer: a loud warning
    assert model.load_report["loaded"] == 9
    assert any("fits only 9 of 90" in m and "mostly from random initialisation" in m for m in logs)


def test_frozen_transfer_needs_95_percent_of_the_backbone(tmp_path):
    state = {k: v for k, v in timm.create_model("test_resnet").state_dict().items() if not k.startswith("fc.")}
    keys = sorted(state)  # 90 backbone tensors
    for dropped, fits in ((4, True), (5, False)):  # 86/90 = 95.6 % loads; 85/90 = 94.4 % is refused
        torch.save({k: state[k] for k in keys[dropped:]}, tmp_path / f"part{dropped}.pth")
        if fits:
            model = create_model("timm:test_resnet", 2, weights=str(tmp_path / f"part{dropped}.pth"), mode="frozen")
            assert model.load_report["loaded"] == 90 - dropped
        else:
            with pytest.raises(TrainlabError, match=rf"fits only {90 - dropped} of 90 .*{dropped} missing from the file"):
                create_model("timm:test_resnet", 2, weights=str(tmp_path / f"part{dropped}.pth"), mode="frozen")
