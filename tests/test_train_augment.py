"""The batch augmentation reproduces Keras' ImageDataGenerator transforms, one grid_sample per batch."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from trainlab.data.augment import AffineParams, BatchAugment, KerasAffine, affine_theta, apply_affine


def keras_reference(img, theta, tx, ty, shear, zx, zy, flip):
    """Keras' apply_affine_transform + flip_axis, ported line by line (true image centre).

    ``img`` is (H, W, C); scipy's affine_transform maps output (row, col) to input coordinates.
    """
    th = np.deg2rad(theta)
    rot = np.array([[np.cos(th), -np.sin(th), 0], [np.sin(th), np.cos(th), 0], [0, 0, 1]])
    shift = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
    sh = np.deg2rad(shear)
    shear_m = np.array([[1, -np.sin(sh), 0], [0, np.cos(sh), 0], [0, 0, 1]])
    zoom = np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]])
    m = rot @ shift @ shear_m @ zoom
    h, w = img.shape[:2]
    o_x, o_y = (h - 1) / 2, (w - 1) / 2
    offset = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
    reset = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    m = offset @ m @ reset
    out = np.stack(
        [ndimage.affine_transform(img[..., c], m[:2, :2], m[:2, 2], order=1, mode="nearest") for c in range(img.shape[2])],
        axis=-1,
    )
    return out[:, ::-1] if flip else out


def _params(**kw):
    base = dict(theta=0.0, tx=0.0, ty=0.0, shear=0.0, zx=1.0, zy=1.0, flip=False)
    base.update(kw)
    return AffineParams(**{k: torch.tensor([v]) for k, v in base.items()})


def _run(img_hwc, params):
    x = torch.from_numpy(np.ascontiguousarray(img_hwc)).permute(2, 0, 1)[None].float()
    theta = affine_theta(params, tuple(x.shape[-2:]))
    return apply_affine(x, theta)[0].permute(1, 2, 0).numpy()


@pytest.fixture
def smooth_image():
    rng = np.random.default_rng(0)
    img = rng.random((24, 32, 3))
    return ndimage.gaussian_filter(img, sigma=(2, 2, 0))  # smooth, so bilinear differences stay small


@pytest.mark.parametrize(
    "kw",
    [
        dict(theta=17.0),
        dict(tx=2.5, ty=-1.5),
        dict(shear=4.0),
        dict(zx=1.05, zy=0.95),
        dict(flip=True),
        dict(theta=-12.0, tx=-1.2, ty=1.6, shear=-3.0, zx=0.96, zy=1.04, flip=True),
    ],
)
def test_matches_keras_reference(smooth_image, kw):
    ours = _run(smooth_image, _params(**kw))
    ref = keras_reference(smooth_image, **{**dict(theta=0, tx=0, ty=0, shear=0, zx=1, zy=1, flip=False), **kw})
    np.testing.assert_allclose(ours, ref, atol=1e-4)


def test_flip_only_mirrors_columns():
    img = np.zeros((5, 7, 3), np.float32)
    img[:, 1] = 1.0  # a bright column near the left edge
    out = _run(img, _params(flip=True))
    np.testing.assert_allclose(out, img[:, ::-1], atol=1e-6)
    assert out[:, 5].min() == pytest.approx(1.0) and out[:, 1].max() == pytest.approx(0.0)


def test_shift_moves_a_row_by_the_drawn_pixels():
    img = np.zeros((20, 20, 1), np.float32)
    img[10] = 1.0
    # Keras samples input(row + tx): a positive tx moves the content up by tx rows.
    out = _run(img, _params(tx=3.0))
    assert np.argmax(out[:, 5, 0]) == 7
    out = _run(img, _params(ty=4.0))  # a column shift leaves a horizontal line where it was
    np.testing.assert_allclose(out, img, atol=1e-6)


def test_rotation_by_90_degrees_is_a_clockwise_quarter_turn():
    img = np.arange(5 * 5 * 1, dtype=np.float32).reshape(5, 5, 1)
    out = _run(img, _params(theta=90.0))
    np.testing.assert_allclose(out, np.rot90(img, k=-1), atol=1e-4)


def test_identity_parameters_leave_the_batch_unchanged():
    x = torch.rand(4, 3, 9, 11)
    theta = affine_theta(AffineParams.identity(4), (9, 11))
    torch.testing.assert_close(apply_affine(x, theta), x, atol=1e-6, rtol=0)


def test_sampled_parameters_follow_the_keras_ranges():
    aug = KerasAffine()  # the coursework's settings
    g = torch.Generator().manual_seed(0)
    p = aug.sample(20000, (100, 80), g)
    assert p.theta.abs().max() <= 20 and p.theta.abs().max() > 19.9
    assert p.tx.abs().max() <= 0.05 * 100 and p.tx.abs().max() > 4.9
    assert p.ty.abs().max() <= 0.05 * 80 and p.ty.abs().max() > 3.9
    assert p.shear.abs().max() <= 0.05
    assert 0.95 <= p.zx.min() and p.zx.max() <= 1.05 and 0.95 <= p.zy.min() and p.zy.max() <= 1.05
    assert not torch.equal(p.zx, p.zy)  # rows and columns zoom independently
    assert 0.48 < p.flip.float().mean() < 0.52


def test_shift_only_batch_moves_each_sample_within_range():
    n, size = 64, 40
    img = np.zeros((n, 1, size, size), np.float32)
    img[:, :, 20, :] = 1.0  # a horizontal line: only the row shift moves it
    aug = BatchAugment(KerasAffine(rotation=0, zoom=0, width_shift=0, height_shift=0.1, shear=0, hflip=False))
    out = aug(torch.from_numpy(img), torch.Generator().manual_seed(1)).numpy()
    rows = out[:, 0, :, 20].argmax(axis=1)
    moved = rows - 20
    assert np.all(np.abs(moved) <= 4)  # 0.1 * 40 pixels at most
    assert len(set(moved.tolist())) >= 5  # drawn per sample, not once per batch


def test_generator_makes_augmentation_reproducible():
    x = torch.rand(8, 3, 16, 16)
    aug = BatchAugment(KerasAffine())
    a = aug(x, torch.Generator().manual_seed(5))
    b = aug(x, torch.Generator().manual_seed(5))
    c = aug(x, torch.Generator().manual_seed(6))
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_no_augmentation_is_a_no_op():
    x = torch.rand(2, 3, 8, 8)
    assert BatchAugment(None)(x) is x
    off = KerasAffine(rotation=0, zoom=0, width_shift=0, height_shift=0, shear=0, hflip=False)
    assert BatchAugment(off)(x) is x


def test_channels_last_is_kept():
    x = torch.rand(2, 3, 8, 8).contiguous(memory_format=torch.channels_last)
    out = BatchAugment(KerasAffine())(x, torch.Generator().manual_seed(0))
    assert out.is_contiguous(memory_format=torch.channels_last)
