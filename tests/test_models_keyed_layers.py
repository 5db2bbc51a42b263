"""Keyed randomness and global-batch BatchNorm on one process: a sample's draws follow its key, not its row."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from trainlab.config import TrainSection
from trainlab.data.augment import KerasAffine
from trainlab.errors import TrainlabError
from trainlab.models.keyed_layers import GlobalBatchNorm, KeyedDropout, convert_batchnorm, unkeyed_randomness
from trainlab.models.factory import create_model
from trainlab.models.sample_context import sample_context
from trainlab.training.randomness import check_resume_layout, layout_dependent
from trainlab.utils.keyed_random import keyed_uniform


def test_keyed_uniforms_depend_only_on_seed_epoch_key_and_stream():
    a = keyed_uniform(1, 0, [10, 11, 12], 1, 7)
    b = keyed_uniform(1, 0, [12, 10], 1, 7)
    np.testing.assert_array_equal(a[[2, 0]], b)
    assert not np.array_equal(a, keyed_uniform(1, 1, [10, 11, 12], 1, 7))  # another epoch
    assert not np.array_equal(a, keyed_uniform(2, 0, [10, 11, 12], 1, 7))  # another seed
    assert not np.array_equal(a, keyed_uniform(1, 0, [10, 11, 12], 2, 7))  # another stream
    many = keyed_uniform(0, 0, np.arange(20000), 1, 2)
    assert many.dtype == np.float32 and many.min() >= 0 and many.max() < 1
    assert abs(many.mean() - 0.5) < 0.01 and abs(np.corrcoef(many[:, 0], many[:, 1])[0, 1]) < 0.03


def test_keyed_augmentation_gives_a_sample_the_same_transform_in_any_batch():
    aug = KerasAffine()
    a = aug.sample_keyed([4, 8, 15, 16], (20, 20), seed=3, epoch=2)
    b = aug.sample_keyed([16, 4], (20, 20), seed=3, epoch=2)
    for field in ("theta", "tx", "ty", "shear", "zx", "zy", "flip"):
        assert torch.equal(getattr(a, field)[[3, 0]], getattr(b, field))
    c = aug.sample_keyed([4, 8, 15, 16], (20, 20), seed=3, epoch=3)
    assert not torch.equal(a.theta, c.theta)


def test_keyed_dropout_masks_follow_the_sample_not_the_row():
    drop = KeyedDropout(0.5, stream=1).train()
    x = torch.ones(4, 3, 8, 8)
    with sample_context([0, 1, 2, 3], seed=1, epoch=0):
        a = drop(x)
    with sample_context([3, 1], seed=1, epoch=0):
        b = drop(x[:2])
    torch.testing.assert_close(a[[3, 1]], b, rtol=0, atol=0)
    assert set(torch.unique(a).tolist()) == {0.0, 2.0}  # dropped, or kept and scaled by 1 / (1 - p)
    assert 0.4 < (a == 0).float().mean() < 0.6
    with sample_context([0, 1, 2, 3], seed=1, epoch=1):
        assert not torch.equal(drop(x), a)  # a new mask every epoch
    other = KeyedDropout(0.5, stream=2).train()
    with sample_context([0, 1, 2, 3], seed=1, epoch=0):
        assert not torch.equal(other(x), a)  # each layer its own masks
    assert torch.equal(drop.eval()(x), x)


def test_keyed_dropout_outside_a_sample_context_is_torch_dropout():
    drop = KeyedDropout(0.5).train()
    torch.manual_seed(0)
    a = drop(torch.ones(2, 100))
    torch.manual_seed(0)
    torch.testing.assert_close(a, nn.Dropout(0.5).train()(torch.ones(2, 100)))


@pytest.mark.parametrize("kind", ["torch", "timm"])
def test_global_batchnorm_leaves_the_padding_rows_out_of_the_statistics(kind):
    if kind == "torch":
        torch.manual_seed(0)
        original = nn.BatchNorm2d(4)
    else:
        from timm.layers import BatchNormAct2d

        original = BatchNormAct2d(4, act_layer=nn.ReLU)
    with torch.no_grad():
        original.weight.uniform_(0.5, 1.5)
        original.bias.uniform_(-0.5, 0.5)
    converted = convert_batchnorm(copy.deepcopy(original))
    assert isinstance(converted, GlobalBatchNorm)
    assert converted.state_dict().keys() == original.state_dict().keys()
    x = torch.randn(5, 4, 3, 3) * 2 + 1
    real = x[:4].clone().requires_grad_()
    padded = torch.cat([x[:4], x[:1] * 50]).requires_grad_()  # a padding row (weight 0) far off
    expected = original.train()(real)
    expected.square().sum().backward()
    with sample_context(np.arange(5), weights=torch.tensor([1.0, 1, 1, 1, 0])):
        got = converted.train()(padded)
    got[:4].square().sum().backward()
    torch.testing.assert_close(got[:4], expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(padded.grad[:4], real.grad, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(converted.weight.grad, original.weight.grad, atol=1e-4, rtol=1e-5)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(converted, name), getattr(original, name), atol=1e-6, rtol=1e-5)
    converted.eval(), original.eval()
    torch.testing.assert_close(converted(x), original(x))


def test_what_depends_on_the_process_layout_is_named():
    cnn = create_model("seed_cnn", 3, input_size=12)
    assert unkeyed_randomness(cnn) == []
    net = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.2), nn.BatchNorm1d(3))
    assert unkeyed_randomness(net) == ["1: Dropout(p=0.2) draws from the process's own random stream"]
    cfg = TrainSection()
    cfg.augment.mixup, cfg.augment.extra = 0.2, "randaugment"
    reasons = layout_dependent(cnn, cfg)
    assert any("mixup" in r for r in reasons) and any("randaugment" in r for r in reasons)


def test_resume_refuses_another_global_batch_on_the_same_processes():
    model = create_model("seed_cnn", 3, input_size=12)
    state = {"world_size": 1, "batch_size": 16}
    check_resume_layout(state, folder="ck", world_size=1, batch_size=16, model=model, cfg=TrainSection())
    check_resume_layout(state, folder="ck", world_size=2, batch_size=8, model=model, cfg=TrainSection())  # keyed: exact
    with pytest.raises(TrainlabError, match=r"ck: the run trained on 1 process\(es\) with a global batch of 16"):
        check_resume_layout(state, folder="ck", world_size=1, batch_size=32, model=model, cfg=TrainSection())


def test_hashed_keep_mask_is_keyed_by_the_seed_and_keeps_one_minus_p():
    from trainlab.models.keyed_layers import hashed_keep_mask

    shape = (4, 50, 50)
    a = hashed_keep_mask(shape, 0.25, [11, 2**40 + 11, 7], torch.device("cpu"))
    b = hashed_keep_mask(shape, 0.25, [7, 11], torch.device("cpu"))
    assert a.shape == (3, *shape) and a.dtype == torch.bool
    assert torch.equal(a[2], b[0]) and torch.equal(a[0], b[1])  # the mask follows the seed, not the row
    assert not torch.equal(a[0], a[1])  # the high half of the seed counts
    n = a[0].numel()
    for row in a.float():  # keep rate 0.75 within 5 binomial standard deviations
        assert abs(row.mean().item() - 0.75) < 5 * (0.75 * 0.25 / n) ** 0.5
    agree = (a[0] == a[2]).float().mean().item()  # independent rows agree on 0.75^2 + 0.25^2 = 0.625
    assert abs(agree - 0.625) < 5 * (0.625 * 0.375 / n) ** 0.5
    flat = a[0].flatten().float()  # no correlation between neighbouring elements
    both = (flat[1:] * flat[:-1]).mean().item()
    assert abs(both - 0.5625) < 5 * (0.5625 * 0.4375 / n) ** 0.5


def test_the_hash_is_lowbias32_in_exact_32_bit_arithmetic():
    from trainlab.models.keyed_layers import _hash32

    def reference(x):  # Python integers: no overflow to avoid
        x ^= x >> 16
        x = (x * 0x7FEB352D) % 2**32
        x ^= x >> 15
        x = (x * 0x846CA68B) % 2**32
        return x ^ (x >> 16)

    xs = [0, 1, 2**31, 2**32 - 1] + [int(v) for v in np.random.default_rng(0).integers(0, 2**32, 200, dtype=np.uint64)]
    assert _hash32(torch.tensor(xs, dtype=torch.int64)).tolist() == [reference(x) for x in xs]
