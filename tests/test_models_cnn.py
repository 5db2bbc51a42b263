import pytest
import torch

from trainlab.errors import TrainlabError
from trainlab.models.factory import create_model


def _count(model):
    return sum(p.numel() for p in model.parameters())


def test_seed_cnn_has_the_coursework_parameter_count():
    # By hand, Keras layer by layer at 100x100x3 with 102 classes:
    #   conv1 3·3·3·32 + 32  =        896   ('same': 100x100)
    #   conv2 3·3·32·32 + 32 =      9,248   ('valid': 98x98) -> pool 49x49
    #   conv3 3·3·32·64 + 64 =     18,496   ('same': 49x49)
    #   conv4 3·3·64·64 + 64 =     36,928   ('valid': 47x47) -> pool 23x23 (floor)
    #   fc1 23·23·64·512 + 512 = 17,334,784
    #   fc2 512·102 + 102 =        52,326
    #   total                  17,452,678 (the coursework's model.summary())
    model = create_model("seed_cnn", 102)
    assert _count(model) == 896 + 9_248 + 18_496 + 36_928 + 17_334_784 + 52_326 == 17_452_678
    assert model(torch.zeros(2, 3, 100, 100)).shape == (2, 102)


def test_keras_same_and_valid_padding_shapes():
    model = create_model("seed_cnn", 4)
    shapes = {}
    for name in ("conv1", "conv2", "pool1", "conv3", "conv4", "pool2"):
        getattr(model, name).register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape[1:])))
    model(torch.zeros(1, 3, 100, 100))
    assert shapes == {"conv1": (32, 100, 100), "conv2": (32, 98, 98), "pool1": (32, 49, 49),
                      "conv3": (64, 49, 49), "conv4": (64, 47, 47), "pool2": (64, 23, 23)}


def test_input_size_and_channels_are_options():
    # 64x48x1: H 64 -> 62 -> 31 -> 29 -> 14; W 48 -> 46 -> 23 -> 21 -> 10; flatten 64·14·10 = 8,960
    # conv1 3·3·1·32 + 32 = 320; conv2..conv4 as before (9,248 + 18,496 + 36,928);
    # fc1 8,960·512 + 512 = 4,588,032; fc2 512·5 + 5 = 2,565
    model = create_model("seed_cnn", 5, input_size=[64, 48], in_chans=1)
    assert _count(model) == 320 + 9_248 + 18_496 + 36_928 + 4_588_032 + 2_565
    assert model(torch.zeros(3, 1, 64, 48)).shape == (3, 5)
    assert model.data_config["input_size"] == (1, 64, 48)


def test_data_config_is_unit_scaled_pixels():
    config = create_model("seed_cnn", 3).data_config
    # the coursework's only preprocessing was rescale=1/255: pixels in [0, 1], no mean/std normalisation
    assert config["input_size"] == (3, 100, 100)
    assert config["mean"] == (0.0, 0.0, 0.0) and config["std"] == (1.0, 1.0, 1.0)
    assert {"interpolation", "crop_pct"} <= set(config)


def test_regularization_loss_is_keras_l1_l2_on_the_first_kernel():
    model = create_model("seed_cnn", 3)
    with torch.no_grad():
        model.conv1.weight.fill_(-0.5)
        model.conv2.weight.fill_(7.0)  # other layers carry no penalty
    # 3·3·3·32 = 864 weights of |w| = 0.5: l1·Σ|w| + l2·Σw² = 1e-5·432 + 1e-5·216 = 0.00648
    assert model.regularization_loss().item() == pytest.approx(0.00648, rel=1e-6)

    torch.manual_seed(0)
    model = create_model("seed_cnn", 3, kernel_l1=0.01, kernel_l2=0.1)
    w = model.conv1.weight.detach().double()
    expected = 0.01 * w.abs().sum() + 0.1 * (w * w).sum()
    loss = model.regularization_loss()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    loss.backward()  # the penalty trains the kernel: d/dw = l1·sign(w) + 2·l2·w
    assert torch.allclose(model.conv1.weight.grad, 0.01 * torch.sign(w).float() + 0.2 * w.float(), atol=1e-6)


def test_logits_not_probabilities():
    model = create_model("seed_cnn", 3).eval()
    assert isinstance(model[-1], torch.nn.Linear)
    out = model(torch.rand(4, 3, 100, 100) * 50)
    assert not torch.allclose(out.sum(1), torch.ones(4))


def test_bad_seed_cnn_options_are_named():
    with pytest.raises(TrainlabError, match="input_size' 8x100 is too small.*at least 10x10"):
        create_model("seed_cnn", 3, input_size=(8, 100))
    with pytest.raises(TrainlabError, match="'input_size' 'big' is not HxW: give \\[height, width\\]"):
        create_model("seed_cnn", 3, input_size="big")
    with pytest.raises(TrainlabError, match=r"no option\(s\) \['dropout'\]; allowed: \['input_size', 'in_chans'"):
        create_model("seed_cnn", 3, dropout=0.1)
    with pytest.raises(TrainlabError, match="num_classes must be a positive integer"):
        create_model("seed_cnn", 0)


def test_model_remembers_how_it_was_built():
    model = create_model("seed_cnn", 7, input_size=64)
    assert model.trainlab_spec == {"model": "seed_cnn", "model_options": {"input_size": 64}, "num_classes": 7}
