"""What train.amp=auto means: one function, float32 whenever the run must be deterministic."""

from __future__ import annotations

import torch

from trainlab.training import policy


def test_auto_is_float32_on_cpu_unless_the_switch_and_native_bf16_say_otherwise(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(policy, "cpu_native_bf16", lambda: True)
    monkeypatch.setattr(policy, "AUTO_BF16_ON_CPU", False)
    assert policy.amp_dtype("auto", cpu) is None
    monkeypatch.setattr(policy, "AUTO_BF16_ON_CPU", True)
    assert policy.amp_dtype("auto", cpu) is torch.bfloat16
    assert policy.amp_dtype("auto", cpu, deterministic=True) is None  # bit-reproducible float32
    assert policy.amp_dtype("off", cpu) is None
    monkeypatch.setattr(policy, "cpu_native_bf16", lambda: False)  # emulated bf16 is slower than float32
    assert policy.amp_dtype("auto", cpu) is None


def test_auto_on_cuda_is_bf16_or_fp16_but_float32_when_deterministic(monkeypatch):
    cuda = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert policy.auto_precision(cuda) is torch.bfloat16
    assert policy.auto_precision(cuda, deterministic=True) is None
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert policy.auto_precision(cuda) is torch.float16


def test_native_bf16_needs_the_cpu_flag(monkeypatch):
    policy.cpu_native_bf16.cache_clear()
    monkeypatch.setattr(policy, "_cpu_flags", lambda: {"avx512f", "avx512bw"})
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: True)
    assert not policy.cpu_native_bf16()
    policy.cpu_native_bf16.cache_clear()
    monkeypatch.setattr(policy, "_cpu_flags", lambda: {"avx512f", "avx512_bf16"})
    assert policy.cpu_native_bf16()
    policy.cpu_native_bf16.cache_clear()
