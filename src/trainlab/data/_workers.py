"""Functions that run in decode worker processes. Imports only numpy, Pillow and trainlab.data.images,
so a spawned worker starts quickly (no torch, no pandas)."""

from __future__ import annotations

import os

import numpy as np

from trainlab.data.images import BadImageError, decode_image, image_header

_STATE: dict = {}


def init_cache_writer(npy_path: str, offset: int, size: tuple[int, int], policy: str) -> None:
    """Per process: open the preallocated ``.npy`` file for writing, once.

    Rows are written with ``pwrite`` at ``offset + row * row_bytes`` (``offset`` = the .npy header size):
    one system call per chunk, no page faults on a memory map, no flush per chunk. The build fsyncs
    the file once at the end.
    """
    _STATE.clear()
    _STATE.update(fd=os.open(npy_path, os.O_WRONLY), offset=int(offset), size=tuple(size), policy=policy)


def decode_into_cache(task: tuple[int, list[str]]) -> list[tuple[int, str]]:
    """Decode ``paths`` into rows ``start, start+1, ...`` of the cache file.

    Returns ``(row, reason)`` for the files that failed (their rows are left zero).
    """
    start, paths = task
    (h, w), policy = _STATE["size"], _STATE["policy"]
    buf = np.zeros((len(paths), h, w, 3), np.uint8)
    bad = []
    for k, path in enumerate(paths):
        try:
            buf[k] = decode_image(path, (h, w), policy)
        except BadImageError as exc:
            bad.append((start + k, exc.reason))
    _write_at(_STATE["fd"], memoryview(buf).cast("B"), _STATE["offset"] + start * h * w * 3)
    return bad


def _write_at(fd: int, data: memoryview, offset: int) -> None:
    while len(data):
        if hasattr(os, "pwrite"):
            n = os.pwrite(fd, data, offset)
        else:  # Windows: each worker has its own descriptor, so seek + write is safe
            os.lseek(fd, offset, os.SEEK_SET)
            n = os.write(fd, data)
        data, offset = data[n:], offset + n


def scan_images(paths: list[str]) -> list[tuple]:
    """Header facts and a full (draft-reduced) decode of each file: ``(w, h, mode, format, bytes, error)``."""
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
