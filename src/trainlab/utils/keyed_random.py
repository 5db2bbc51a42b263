"""Randomness keyed by (seed, epoch, sample, stream): the same numbers for a sample on any process layout.

A run's random draws that belong to one training sample (its augmentation, its dropout masks) are not
taken from a generator that advances batch by batch on each process: they are a pure function of the
run's seed, the epoch, the sample's global index (its row in the image array) and a stream number
(which draw: augmentation, dropout layer 1, 2, ...). A sample therefore gets the same randomness on one
process or many, at any batch size and in any position of any batch, and a resumed run recomputes the
same numbers without any generator state to save.

The mixing function is SplitMix64 (Steele, Lea & Flood, 2014), vectorised in numpy uint64 arithmetic
(which wraps modulo 2**64 as the algorithm needs): :func:`sample_seeds` gives one 64-bit seed per sample,
:func:`keyed_uniform` turns it into ``count`` uniforms in [0, 1) with 24-bit resolution (exact float32).
"""

from __future__ import annotations

import numpy as np

_MASK = (1 << 64) - 1

# Streams: which draw of a sample. Dropout layers use DROPOUT + their own number.
AUGMENT = 1
DROPOUT = 100


def _splitmix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def sample_seeds(seed: int, epoch: int, keys, stream: int) -> np.ndarray:
    """One 64-bit seed (uint64) per key: ``mix(mix(mix(mix(seed) ^ epoch) ^ stream) ^ key)``."""
    keys = np.asarray(keys, dtype=np.int64).astype(np.uint64)
    h = _splitmix(np.array([int(seed) & _MASK], dtype=np.uint64))
    h = _splitmix(h ^ np.uint64(int(epoch) & _MASK))
    h = _splitmix(h ^ np.uint64(int(stream) & _MASK))
    return _splitmix(h ^ keys)


def keyed_uniform(seed: int, epoch: int, keys, stream: int, count: int) -> np.ndarray:
    """``(len(keys), count)`` float32 uniforms in [0, 1): column j of row i depends only on
    (seed, epoch, keys[i], stream, j)."""
    base = sample_seeds(seed, epoch, keys, stream)[:, None]
    j = _splitmix(np.arange(count, dtype=np.uint64))[None, :]
    bits = _splitmix(base ^ j) >> np.uint64(40)  # the top 24 bits: exactly representable in float32
    return (bits.astype(np.float32) / np.float32(1 << 24)).astype(np.float32)


def torch_seeds(seed: int, epoch: int, keys, stream: int) -> list[int]:
    """Per-key seeds for ``torch.Generator.manual_seed`` (63 bits, non-negative)."""
    return [int(s) & ((1 << 63) - 1) for s in sample_seeds(seed, epoch, keys, stream)]
