"""Layers whose training behaviour does not depend on how the global batch is split over processes.

- :class:`KeyedDropout`: ``nn.Dropout`` whose mask for a row comes from a generator seeded by that row's
  (seed, epoch, global sample index, layer stream) (:mod:`trainlab.utils.keyed_random`), read from the
  :mod:`~trainlab.models.sample_context` the trainer opens. A sample gets the same mask on 1 or N
  processes, in any batch position; a resumed run redraws the same masks with no state to restore.
- :class:`GlobalBatchNorm`: BatchNorm whose training statistics are taken over the real (weight-1) rows
  of the *global* batch: sums reduced over every process (differentiable all-reduce, so the backward
  pass is the global one too), the zero-weight padding rows of the last batch left out. The trainer
  converts ``nn.BatchNorm1d/2d/3d`` and timm's ``BatchNormAct2d`` to it under DDP
  (:func:`convert_batchnorm`); it is torch's ``SyncBatchNorm`` plus the padding mask, and it also runs
  on Gloo/CPU.

Outside a sample context, or in eval mode, both are their torch originals. :func:`unkeyed_randomness`
lists what in a model still depends on the process layout (torch dropout, stochastic depth, other
BatchNorm subclasses, which keep per-process statistics).
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
from torch import nn

from trainlab.models.sample_context import current
from trainlab.utils.keyed_random import DROPOUT, torch_seeds

_GENERATORS: dict[str, torch.Generator] = {}


def _generator(device: torch.device) -> torch.Generator:
    key = str(device)
    if key not in _GENERATORS:
        _GENERATORS[key] = torch.Generator(device=device)
    return _GENERATORS[key]


_M32 = 0xFFFFFFFF


def _mul32(x: torch.Tensor, c: int) -> torch.Tensor:
    """``(x * c) mod 2**32`` for int64 ``x`` in [0, 2**32), without an int64 overflow (16-bit halves of ``c``)."""
    return (x * (c & 0xFFFF) + (((x * (c >> 16)) & 0xFFFF) << 16)) & _M32


def _hash32(x: torch.Tensor) -> torch.Tensor:
    """Wellons' ``lowbias32`` integer hash (a bijection of 32-bit values), elementwise on int64 tensors."""
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def hashed_keep_mask(shape: tuple[int, ...], p: float, seeds: list[int], device: torch.device) -> torch.Tensor:
    """``(len(seeds), *shape)`` bool keep-mask computed in one pass on ``device``: element j of row i is kept when
    ``hash(hash(j + a_i) ^ b_i) / 2**32 >= p``, with (a_i, b_i) the two 32-bit halves of ``seeds[i]`` mixed by
    the hash. A counter-based draw (as Philox is): no generator state, no per-row loop, so on a GPU a batch's
    masks are a handful of kernels instead of one generator call per sample."""
    halves = torch.tensor([[s & _M32, (s >> 32) & _M32] for s in seeds], dtype=torch.int64, device=device)
    a = _hash32(halves[:, :1] ^ 0x9E3779B9)
    b = _hash32(halves[:, 1:] ^ a)
    j = torch.arange(math.prod(shape), dtype=torch.int64, device=device)[None, :]
    u = _hash32(_hash32((j + a) & _M32) ^ b)
    return (u >= int(p * 2**32)).reshape(len(seeds), *shape)


@torch.compiler.disable
def keyed_dropout_mask(shape: tuple[int, ...], p: float, seeds: list[int], device: torch.device) -> torch.Tensor:
    """``(len(seeds), *shape)`` bool keep-mask for the samples of ``seeds``. On CUDA :func:`hashed_keep_mask`
    (one pass, no per-sample loop: the loop below would cost a generator call per sample and layer at tens of
    thousands of images a second); elsewhere row i comes from a torch generator seeded with ``seeds[i]`` (as
    before: CPU runs keep their masks). Either way a sample's mask depends on its seed only."""
    if device.type == "cuda":
        return hashed_keep_mask(shape, p, seeds, device)
    g = _generator(device)
    rows = []
    for s in seeds:
        g.manual_seed(s)
        rows.append(torch.rand(shape, generator=g, device=device) >= p)
    return torch.stack(rows)


class KeyedDropout(nn.Dropout):
    """Dropout with a per-sample mask keyed by the sample (see the module docstring).

    ``stream`` tells the dropout layers of one model apart (each draws its own masks)."""

    def __init__(self, p: float = 0.5, *, stream: int = 0):
        super().__init__(p)
        self.stream = int(stream)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ctx = current()
        if not self.training or self.p == 0 or ctx is None:
            return super().forward(x)
        if len(ctx.keys) != x.shape[0]:
            raise RuntimeError(f"KeyedDropout: the sample context has {len(ctx.keys)} keys for a batch of {x.shape[0]} rows")
        if self.p == 1:
            return x * 0
        seeds = torch_seeds(ctx.seed, ctx.epoch, ctx.keys, DROPOUT + self.stream)
        keep = keyed_dropout_mask(tuple(x.shape[1:]), self.p, seeds, x.device)
        return x * keep.to(x.dtype) * (1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}, stream={self.stream}"


def _active_world() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _sum_over_processes(t: torch.Tensor) -> torch.Tensor:
    if not _active_world():
        return t
    from torch.distributed.nn.functional import all_reduce

    return all_reduce(t)  # differentiable: the backward pass sums the gradients over processes


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm over the weight-1 rows of the global batch (every process); eval mode as torch's."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least a 2-D input (N, C, ...); got {input.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(x)
        if not self.training and self.running_mean is not None:
            return super().forward(x)
        ctx = current()
        w = ctx.weights if ctx is not None and ctx.weights is not None and len(ctx.weights) == x.shape[0] else None
        if w is None:
            w = torch.ones(x.shape[0], device=x.device)
        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        xf = x.float()
        wv = w.float().view([-1] + [1] * (x.dim() - 1))
        count = (w.float().sum() * math.prod(x.shape[2:])).reshape(1)
        totals = _sum_over_processes(torch.cat([(xf * wv).sum(dims), count]))
        count = totals[-1]
        mean = totals[:-1] / count
        centred = xf - mean.view(shape)
        var = _sum_over_processes((centred * centred * wv).sum(dims)) / count
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                unbiased = var * (count / (count - 1).clamp(min=1))
                self.running_mean.mul_(1 - factor).add_(factor * mean.to(self.running_mean.dtype))
                self.running_var.mul_(1 - factor).add_(factor * unbiased.to(self.running_var.dtype))
        return y.to(x.dtype)


class GlobalBatchNormAct(GlobalBatchNorm):
    """timm's ``BatchNormAct2d`` (BatchNorm, then its ``drop`` and ``act`` modules) over the global batch."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.drop(super().forward(x)))


_PLAIN_BATCHNORM = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def _is_timm_bn_act(module: nn.Module) -> bool:
    return type(module).__name__ == "BatchNormAct2d" and type(module).__module__.startswith("timm.")


def convert_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every plain ``nn.BatchNorm1d/2d/3d`` and timm ``BatchNormAct2d`` (exactly those types;
    other subclasses stay) by a :class:`GlobalBatchNorm` (:class:`GlobalBatchNormAct`) sharing its
    parameters, buffers and submodules (the state-dict keys stay); returns the (possibly new) module."""
    bn_act = _is_timm_bn_act(module)
    if type(module) in _PLAIN_BATCHNORM or bn_act:
        cls = GlobalBatchNormAct if bn_act else GlobalBatchNorm
        new = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
                  device=module.running_mean.device if module.running_mean is not None else None)
        if module.affine:
            new.weight, new.bias = module.weight, module.bias
        new.running_mean, new.running_var = module.running_mean, module.running_var
        new.num_batches_tracked = module.num_batches_tracked
        if bn_act:
            new.drop, new.act = module.drop, module.act
        new.train(module.training)
        return new
    for name, child in module.named_children():
        converted = convert_batchnorm(child)
        if converted is not child:
            setattr(module, name, converted)
    return module


def unkeyed_randomness(model: nn.Module) -> list[str]:
    """What in ``model`` draws from a per-process random stream or keeps per-process statistics under
    DDP (so that N processes do not equal one): empty when every such layer is keyed or global."""
    found = []
    for name, m in model.named_modules():
        label = name or "(model)"
        if isinstance(m, nn.modules.dropout._DropoutNd) and not isinstance(m, KeyedDropout) and m.p > 0:
            found.append(f"{label}: {type(m).__name__}(p={m.p}) draws from the process's own random stream")
        elif type(m).__name__ == "DropPath" and float(getattr(m, "drop_prob", 0) or 0) > 0:
            found.append(f"{label}: stochastic depth (DropPath) draws from the process's own random stream")
        elif (isinstance(m, nn.modules.batchnorm._BatchNorm) and not isinstance(m, GlobalBatchNorm)
              and type(m) not in _PLAIN_BATCHNORM and not _is_timm_bn_act(m)):
            found.append(f"{label}: {type(m).__name__} keeps per-process batch statistics")
    return found
