"""Batch augmentation on the training device: the coursework's Keras ImageDataGenerator, done per batch.

Keras draws one random affine transform per image and resamples it with scipy on the CPU, one image at
a time. Here the same transforms are drawn per sample, turned into one ``(B, 2, 3)`` matrix stack, and
the whole batch is resampled with a single ``F.affine_grid`` + ``F.grid_sample`` call on the device the
model trains on (the GPU when there is one).

Keras parameters and their distributions (``ImageDataGenerator.get_random_transform``)::

    theta ~ U(-rotation, rotation)              degrees
    tx    ~ U(-height_shift, height_shift) * H  pixels, along rows
    ty    ~ U(-width_shift,  width_shift)  * W  pixels, along columns
    shear ~ U(-shear, shear)                    degrees (Keras' shear_range is in degrees)
    zx,zy ~ U(1 - zoom, 1 + zoom)               independently (zx scales rows, zy columns)
    flip  ~ Bernoulli(1/2)                      horizontal, applied after the affine transform

and the transform (``apply_affine_transform``) maps an *output* pixel to the *input* pixel it samples,
in (row, col) coordinates centred on the image::

    input = R(theta) @ T(tx, ty) @ S(shear) @ Z(zx, zy) @ output
    R = [[cos, -sin], [sin, cos]]   S = [[1, -sin(shear)], [0, cos(shear)]]   Z = diag(zx, zy)

resampled bilinearly (order=1) with ``fill_mode='nearest'``, which is ``padding_mode='border'`` here.
One deliberate difference: Keras centres the transform on (H/2 + 0.5, W/2 + 0.5), one pixel off the true
centre ((H-1)/2, (W-1)/2); this module uses the true centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AffineParams:
    """One random transform per sample (all tensors of shape (B,), float32 on the CPU)."""

    theta: torch.Tensor  # degrees
    tx: torch.Tensor  # pixels along rows (height)
    ty: torch.Tensor  # pixels along columns (width)
    shear: torch.Tensor  # degrees
    zx: torch.Tensor  # row zoom factor
    zy: torch.Tensor  # column zoom factor
    flip: torch.Tensor  # bool: horizontal flip

    def take(self, index: torch.Tensor) -> "AffineParams":
        return AffineParams(*(getattr(self, f)[index] for f in ("theta", "tx", "ty", "shear", "zx", "zy", "flip")))

    @classmethod
    def identity(cls, n: int) -> "AffineParams":
        zeros, ones = torch.zeros(n), torch.ones(n)
        return cls(zeros, zeros, zeros, zeros, ones, ones, torch.zeros(n, dtype=torch.bool))


@dataclass(frozen=True)
class KerasAffine:
    """The ImageDataGenerator settings of the coursework (the defaults) or any others."""

    rotation: float = 20.0
    zoom: float = 0.05
    width_shift: float = 0.05
    height_shift: float = 0.05
    shear: float = 0.05
    hflip: bool = True
    flip_prob: float = 0.5

    @property
    def is_identity(self) -> bool:
        return not (self.rotation or self.zoom or self.width_shift or self.height_shift or self.shear or self.hflip)

    def sample(self, n: int, size: tuple[int, int], generator: torch.Generator | None = None) -> AffineParams:
        """Draw ``n`` transforms for images of ``size`` = (H, W), as Keras does per image."""
        return self.from_uniform(torch.rand(n, 7, generator=generator), size)

    def sample_keyed(self, keys, size: tuple[int, int], *, seed: int, epoch: int) -> AffineParams:
        """One transform per key (a global sample index), a function of (seed, epoch, key) only
        (:mod:`trainlab.utils.keyed_random`): a sample gets the same transform on any process layout."""
        from trainlab.utils.keyed_random import AUGMENT, keyed_uniform

        return self.from_uniform(torch.from_numpy(keyed_uniform(seed, epoch, keys, AUGMENT, 7)), size)

    def from_uniform(self, u: torch.Tensor, size: tuple[int, int]) -> AffineParams:
        """Transforms from ``(n, 7)`` uniforms in [0, 1): one column per parameter, in field order."""
        h, w = size

        def uniform(col: int, lo: float, hi: float) -> torch.Tensor:
            return lo + (hi - lo) * u[:, col]

        return AffineParams(
            theta=uniform(0, -self.rotation, self.rotation),
            tx=uniform(1, -self.height_shift, self.height_shift) * h,
            ty=uniform(2, -self.width_shift, self.width_shift) * w,
            shear=uniform(3, -self.shear, self.shear),
            zx=uniform(4, 1 - self.zoom, 1 + self.zoom),
            zy=uniform(5, 1 - self.zoom, 1 + self.zoom),
            flip=(u[:, 6] < self.flip_prob) if self.hflip else torch.zeros(u.shape[0], dtype=torch.bool),
        )


def affine_theta(params: AffineParams, size: tuple[int, int]) -> torch.Tensor:
    """``(B, 2, 3)`` matrices for ``F.affine_grid`` (normalised coordinates, ``align_corners=False``).

    Built in centred pixel coordinates (x = column, y = row) so rotations stay rotations on
    non-square images, then rescaled: ``x_norm = x_pix / (W / 2)``, ``y_norm = y_pix / (H / 2)``.
    """
    h, w = size
    th = torch.deg2rad(params.theta.double())
    sh = torch.deg2rad(params.shear.double())
    cos, sin = torch.cos(th), torch.sin(th)
    zx, zy = params.zx.double(), params.zy.double()
    tx, ty = params.tx.double(), params.ty.double()
    n = th.shape[0]
    one, zero = torch.ones(n, dtype=torch.float64), torch.zeros(n, dtype=torch.float64)

    def mat(a, b, c, d, e, f):  # [[a, b, c], [d, e, f], [0, 0, 1]] per sample
        return torch.stack([torch.stack([a, b, c], -1), torch.stack([d, e, f], -1), torch.stack([zero, zero, one], -1)], -2)

    # Keras' matrices, in (row, col) coordinates.
    rot = mat(cos, -sin, zero, sin, cos, zero)
    shift = mat(one, zero, tx, zero, one, ty)
    shear = mat(one, -torch.sin(sh), zero, zero, torch.cos(sh), zero)
    zoom = mat(zx, zero, zero, zero, zy, zero)
    m_rc = rot @ shift @ shear @ zoom
    # A flip after the transform means the output column x is read from -x: right-multiply by diag(1, -1).
    flip = mat(one, zero, zero, zero, torch.where(params.flip, -one, one), zero)
    m_rc = m_rc @ flip
    # (row, col) -> (x=col, y=row): swap both axes of the 2x2 part and the two offsets.
    perm = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    m_xy = perm @ m_rc @ perm
    # Centred pixels -> normalised [-1, 1] (align_corners=False: the image edge is at +-1).
    scale = torch.diag(torch.tensor([w / 2.0, h / 2.0, 1.0], dtype=torch.float64))
    theta = torch.linalg.inv(scale) @ m_xy @ scale
    return theta[:, :2, :].float()


def apply_affine(images: torch.Tensor, theta: torch.Tensor, *, mode: str = "bilinear") -> torch.Tensor:
    """Resample a float ``(B, C, H, W)`` batch with one ``(B, 2, 3)`` matrix per image, in one call.

    ``padding_mode='border'`` repeats the edge pixels, as Keras' ``fill_mode='nearest'``.
    """
    theta = theta.to(device=images.device, dtype=images.dtype if images.is_floating_point() else torch.float32)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode=mode, padding_mode="border", align_corners=False)


class BatchAugment:
    """Training-time augmentation of a float batch on its device; ``eval`` batches are never passed here.

    The trainer gives ``keys`` (each row's global sample index), ``seed`` and ``epoch``: every row's
    transform is then a function of (seed, epoch, key) only (:meth:`KerasAffine.sample_keyed`), so a
    sample gets the same transform on one process or N, at any batch size, and a resumed run redraws it.
    Without keys, ``generator`` (a CPU ``torch.Generator``) draws the batch's parameters.
    """

    def __init__(self, affine: KerasAffine | None):
        self.affine = affine if affine is not None and not affine.is_identity else None

    def __call__(self, images: torch.Tensor, generator: torch.Generator | None = None, *, keys=None, seed: int = 0,
                 epoch: int = 0) -> torch.Tensor:
        if self.affine is None:
            return images
        n = images.shape[0]
        size = (images.shape[-2], images.shape[-1])
        if keys is not None:
            if len(keys) != n:
                raise ValueError(f"BatchAugment: {len(keys)} keys for a batch of {n} images")
            params = self.affine.sample_keyed(keys, size, seed=seed, epoch=epoch)
        else:
            params = self.affine.sample(n, size, generator)
        out = apply_affine(images, affine_theta(params, size))
        if images.is_contiguous(memory_format=torch.channels_last):
            out = out.contiguous(memory_format=torch.channels_last)
        return out


def uint8_policy(name: str):
    """A torchvision policy applied per image on uint8 CHW tensors (``randaugment``, ``trivialaugment``)."""
    from torchvision.transforms import v2

    if name == "randaugment":
        return v2.RandAugment()
    if name == "trivialaugment":
        return v2.TrivialAugmentWide()
    raise ValueError(f"unknown augmentation policy '{name}'; allowed: randaugment, trivialaugment")

