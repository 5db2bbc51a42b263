"""Functions that run in decode worker processes. Imports only numpy, Pillow and trainlab.data.images,
so a spawned worker starts quickly (no torch, no pandas)."""

from __future__ import annotations

import numpy as np

from trainlab.data.images import BadImageError, decode_image, image_header

_STATE: dict = {}


def init_cache_writer(npy_path: str, size: tuple[int, int], policy: str) -> None:
    """Per process: open the preallocated cache array for writing, once."""
    _STATE.clear()
    _STATE.update(out=np.load(npy_path, mmap_mode="r+"), size=tuple(size), policy=policy)


def decode_into_cache(task: tuple[int, list[str]]) -> list[tuple[int, str]]:
    """Decode ``paths`` into rows ``start, start+1, ...`` of the memory-mapped array.

    Returns ``(row, reason)`` for the files that failed (their rows stay zero).
    """
    start, paths = task
    out, size, policy = _STATE["out"], _STATE["size"], _STATE["policy"]
    bad = []
    for i, path in enumerate(paths, start):
        try:
            out[i] = decode_image(path, size, policy)
        except BadImageError as exc:
            bad.append((i, exc.reason))
    out.flush()
    return bad


def scan_images(paths: list[str]) -> list[tuple]:
    """Header facts and a full (draft-reduced) decode of each file: ``(w, h, mode, format, bytes, error)``."""
    import os

    out = []
    for p in paths:
        try:
            w, h, mode, fmt = image_header(p)
            decode_image(p, (16, 16), "stretch")  # decodes all the data: truncation and corrupt streams show here
            out.append((w, h, mode, fmt, os.path.getsize(p), None))
        except BadImageError as exc:
            out.append((None, None, None, None, None, exc.reason))
    return out


def scan_chunk(part: tuple[int, list[str]]) -> tuple[int, list[tuple]]:
    """``scan_images`` on a numbered chunk, so results can be put back in order."""
    k, paths = part
    return k, scan_images(paths)
