"""Functions that run in decode worker processes. Imports only numpy, Pillow and trainlab.data.images,
so a spawned worker starts quickly (no torch, no pandas). Every worker dies with the process that
started it (:func:`start_worker`)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import numpy as np

from trainlab.data.images import BadImageError, decode_image, image_header

_STATE: dict = {}
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def start_worker(parent_pid: int, initializer=None, initargs: tuple = ()) -> None:
    """Every pool worker's initializer: tie the worker's life to its parent's, then run ``initializer``.

    A killed build (SIGKILL, OOM killer) must not leave workers decoding on, holding the partial cache
    file open so that its disk space is never freed.
    """
    die_with_parent(parent_pid)
    if initializer is not None:
        initializer(*initargs)


def die_with_parent(parent_pid: int) -> None:
    """Linux: the kernel sends this process SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``).
    Elsewhere (or if prctl is unavailable): a daemon thread checks once a second that the parent is
    still this process's parent and exits when it is not."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent_pid:  # the parent died before the signal was armed: it will never come
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent_pid,), name="trainlab-parent-watch", daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(1)


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
