"""ImageCache: every image decoded once, resized, stored as uint8 in a memory-mapped ``.npy``.

Layout on disk (``cache_dir``: ``$TRAINLAB_CACHE``, else ``~/.cache/trainlab``)::

    <cache_dir>/<dataset>-<H>x<W>-<policy>-<key[:16]>/
        images.npy     (N, H, W, 3) uint8, row i = manifest row i
        meta.json      key, size, policy, rows, skipped files, build time

The **key** is a SHA-256 of the decode settings (size, policy, resize filter, decode and cache format
versions, Pillow version) and, row by row, each image's path, byte size and modification time (ns). A changed,
added, removed or reordered file gives a new key, hence a rebuild; an unchanged dataset finds its
folder and opens it at once: the array is memory-mapped, so opening reads no pixels.

A build decodes in parallel worker processes (:mod:`trainlab.data._pool`) straight into a
preallocated ``.npy`` file (each chunk of rows written with one ``pwrite``) inside a temporary
folder, fsyncs it, writes ``meta.json`` and renames the folder into place. A killed build leaves only a ``.building-*`` folder (removed by the next build),
never a cache that looks complete. Truncated or non-image files are found here, where decoding
happens anyway: an error naming each file and the manifest line, or with ``on_bad_image="skip"``
a counted, listed skip, the rows removed from ``.images`` and ``.manifest`` alike.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trainlab.data import _workers
from trainlab.data._pool import chunked, resolve_workers, run_chunks
from trainlab.data.dataconfig import check_resize, parse_hw
from trainlab.data.images import DECODE_VERSION, RESAMPLE, BadImageError
from trainlab.data.manifest import Manifest
from trainlab.data.validate import check_on_bad_image, describe, listing
from trainlab.errors import TrainlabError
from trainlab.utils.io import write_json
from trainlab.utils.log import get_logger

log = get_logger("trainlab.data")

CACHE_FORMAT = 1
CHUNK = 64  # images per task sent to a worker
MAX_BAD_BEFORE_STOP = 50  # with on_bad_image="error", stop decoding after this many bad files


@dataclass
class ImageCache:
    """A built cache. ``images[i]`` is row ``i`` of ``manifest.frame`` as an (H, W, 3) uint8 array."""

    images: np.ndarray  # read-only np.memmap
    manifest: Manifest  # aligned with images: skipped rows removed
    key: str
    path: Path
    size: tuple[int, int]
    policy: str
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    reused: bool = False
    build_seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.images)


def default_cache_dir() -> Path:
    env = os.environ.get("TRAINLAB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "trainlab"


def cache_key(manifest: Manifest, size: tuple[int, int], policy: str) -> str:
    """SHA-256 over the decode settings and each row's (path, bytes, mtime_ns), in row order."""
    from PIL import __version__ as pillow

    h = hashlib.sha256()
    h.update(f"trainlab-image-cache {CACHE_FORMAT}|decode {DECODE_VERSION}|pillow {pillow}|{size[0]}x{size[1]}|{policy}|{RESAMPLE.name}\n".encode())
    for path in manifest.frame["path"]:
        try:
            st = os.stat(path)
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        h.update(f"{path}\0{stamp}\n".encode())
    return h.hexdigest()


def build_cache(
    manifest: Manifest,
    size=(100, 100),
    policy: str = "stretch",
    cache_dir: str | os.PathLike | None = None,
    workers: int = 0,
    on_bad_image: str = "error",
) -> ImageCache:
    """Decode every manifest row once into a memory-mapped cache, or open the one already built.

    ``workers``: decode processes (0 = one per usable core). ``on_bad_image``: ``"error"`` raises
    naming every undecodable file (and its manifest line); ``"skip"`` leaves them out and lists them.
    """
    size = parse_hw(size, what="cache image size")
    check_resize(policy)
    check_on_bad_image(on_bad_image)
    if len(manifest) == 0:
        raise TrainlabError("the manifest has no rows: nothing to cache")
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    key = cache_key(manifest, size, policy)
    folder = root / f"{_slug(manifest)}-{size[0]}x{size[1]}-{policy}-{key[:16]}"

    cache = _open(folder, manifest, key, size, policy)
    if cache is not None:
        log.info("image cache reused: %s (%d images, %dx%d, %s)", folder, len(cache), size[0], size[1], policy)
        return _check_skips(cache, on_bad_image)

    root.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(root)
    tmp = root / f".building-{folder.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        t0 = time.perf_counter()
        n_workers = _build(tmp, manifest, key, size, policy, workers, on_bad_image)
        seconds = time.perf_counter() - t0
        meta = json.loads((tmp / "meta.json").read_text())
        meta.update(build_seconds=round(seconds, 3), images_per_s=round(len(manifest) / seconds, 1), workers=n_workers)
        write_json(tmp / "meta.json", meta)
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / "meta.json").is_file():  # not a concurrent build that won the race
                raise
            log.info("another process finished the same cache first; using it")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cache = _open(folder, manifest, key, size, policy)
    if cache is None:
        raise TrainlabError(f"the image cache at {folder} could not be opened right after it was built; delete it and retry")
    cache.reused, cache.build_seconds = False, seconds
    log.info("image cache built: %s (%d images in %.1f s, %.0f images/s, %d worker(s))",
             folder, len(cache), seconds, len(manifest) / seconds, n_workers)
    return cache


def _build(tmp: Path, manifest: Manifest, key: str, size, policy: str, workers: int, on_bad_image: str) -> int:
    n = len(manifest)
    paths = [str(p) for p in manifest.frame["path"]]
    npy = tmp / "images.npy"
    out = np.lib.format.open_memmap(npy, mode="w+", dtype=np.uint8, shape=(n, size[0], size[1], 3))
    offset = out.offset  # the .npy header's length: row i starts at offset + i * H * W * 3
    del out  # preallocated (sparse) on disk; the workers write their rows into it
    tasks = [(r.start, paths[r.start:r.stop]) for r in chunked(n, CHUNK)]  # each task carries its own paths
    n_workers = resolve_workers(workers, len(tasks))
    bad: list[tuple[int, str]] = []
    for failed in run_chunks(
        _workers.decode_into_cache, tasks, workers=n_workers, initializer=_workers.init_cache_writer,
        initargs=(str(npy), offset, size, policy), total=n, desc=f"caching {size[0]}x{size[1]}", weight=lambda t: len(t[1]),
    ):
        bad.extend(failed)
        if on_bad_image == "error" and len(bad) >= MAX_BAD_BEFORE_STOP:
            break
    bad.sort()
    records = [{"row": i, "path": paths[i], "reason": reason, "origin": manifest.origin(i)} for i, reason in bad]
    if records and on_bad_image == "error":
        raise _bad_images_error(records, stopped=len(records) >= MAX_BAD_BEFORE_STOP)
    if records:
        log.warning("skipped %d image file(s) that cannot be decoded:%s", len(records),
                    listing([f"{describe(r['path'], r['origin'])}: {r['reason']}" for r in records]))
        _compact(npy, sorted(r["row"] for r in records))
    with open(npy, "rb+") as fh:  # the pixels are on disk before the folder is renamed into place
        os.fsync(fh.fileno())
    write_json(tmp / "meta.json", {
        "format": CACHE_FORMAT, "key": key, "rows": n, "images": n - len(records), "size": list(size), "policy": policy,
        "resample": RESAMPLE.name, "skipped": records, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "dataset": {k: manifest.source.get(k) for k in ("format", "root", "layout") if k in manifest.source},
    })
    return n_workers


def _compact(npy: Path, drop: list[int]) -> None:
    """Rewrite the array without the rows in ``drop`` (rare: only when bad files were skipped)."""
    src = np.load(npy, mmap_mode="r")
    keep = np.setdiff1d(np.arange(len(src)), drop)
    tmp = npy.with_name("images.compact.npy")
    dst = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(keep), *src.shape[1:]))
    for start in range(0, len(keep), 1024):
        dst[start:start + 1024] = src[keep[start:start + 1024]]
    dst.flush()
    del dst, src
    os.replace(tmp, npy)


def _open(folder: Path, manifest: Manifest, key: str, size, policy: str) -> ImageCache | None:
    meta_file = folder / "meta.json"
    if not meta_file.is_file():
        return None
    try:
        meta = json.loads(meta_file.read_text())
        images = np.load(folder / "images.npy", mmap_mode="r")
    except (OSError, ValueError) as exc:
        log.warning("image cache %s is unreadable (%s); rebuilding it", folder, exc)
        shutil.rmtree(folder, ignore_errors=True)
        return None
    skipped = meta.get("skipped", [])
    expected = (len(manifest) - len(skipped), size[0], size[1], 3)
    if meta.get("key") != key or images.shape != expected or images.dtype != np.uint8:
        log.warning("image cache %s does not match its key or shape %s; rebuilding it", folder, expected)
        del images
        shutil.rmtree(folder, ignore_errors=True)
        return None
    kept = manifest
    if skipped:
        frame = manifest.frame.drop(index=[r["row"] for r in skipped]).reset_index(drop=True)
        prior = list(manifest.source.get("skipped", []))
        kept = manifest.with_frame(frame, skipped=prior + [{k: r[k] for k in ("path", "reason", "origin")} for r in skipped])
    return ImageCache(
        images=images, manifest=kept, key=key, path=folder, size=tuple(size), policy=policy,
        skipped=[(r["path"], r["reason"]) for r in skipped], reused=True, build_seconds=float(meta.get("build_seconds", 0.0)),
    )


def _check_skips(cache: ImageCache, on_bad_image: str) -> ImageCache:
    """A cache built with skips, opened with on_bad_image='error': the bad files are still an error."""
    if cache.skipped and on_bad_image == "error":
        meta = json.loads((cache.path / "meta.json").read_text())
        raise _bad_images_error(meta["skipped"], stopped=False)
    return cache


def _bad_images_error(records: list[dict], *, stopped: bool) -> TrainlabError:
    if len(records) == 1:
        r = records[0]
        return BadImageError(r["path"], r["reason"], r["origin"])
    return TrainlabError(
        f"{len(records)}{'+' if stopped else ''} image file(s) cannot be decoded"
        + (" (stopped counting)" if stopped else "") + ":"
        + listing([f"{describe(r['path'], r['origin'])}: {r['reason']}" for r in records])
        + "\nReplace or remove them, or pass --on-bad-image skip (on_bad_image='skip') to leave them out, counted and listed."
    )


def _remove_stale_builds(root: Path) -> None:
    """Remove ``.building-*`` folders left by builds whose process is gone (killed, crashed)."""
    for d in root.glob(".building-*"):
        m = re.search(r"-(\d+)-[0-9a-f]{8}$", d.name)
        if m and not _alive(int(m.group(1))):
            log.info("removing an interrupted cache build: %s", d)
            shutil.rmtree(d, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _slug(manifest: Manifest) -> str:
    root = manifest.source.get("root")
    name = Path(str(root)).name if root else "dataset"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")[:40] or "dataset"


def cache_dataset(dataset, *, fmt="auto", target=None, val_fraction=0.1, test_fraction=0.1, seed=0,
                  on_bad_image="error", size=(100, 100), policy="stretch", cache_dir=None, workers=0,
                  accept_labels=(), duplicate_images="error") -> tuple[ImageCache, str]:
    """``trainlab data cache``: read the dataset, build (or find) its cache; returns it and what was done, as text."""
    from trainlab.data.formats import load_manifest

    manifest = load_manifest(dataset, fmt=fmt, target=target, val_fraction=val_fraction, test_fraction=test_fraction,
                             seed=seed, on_bad_image=on_bad_image, accept_labels=accept_labels, duplicate_images=duplicate_images)
    cache = build_cache(manifest, size=size, policy=policy, cache_dir=cache_dir, workers=workers, on_bad_image=on_bad_image)
    mb = (cache.path / "images.npy").stat().st_size / 2**20
    lines = [
        f"cache:    {cache.path}",
        f"images:   {len(cache)} at {size[0]}x{size[1]} ({policy}), {mb:.1f} MiB",
        ("status:   reused (unchanged dataset)" if cache.reused
         else f"status:   built in {cache.build_seconds:.1f} s ({len(manifest) / max(cache.build_seconds, 1e-9):.0f} images/s)"),
    ]
    if cache.skipped:
        lines.append(f"skipped:  {len(cache.skipped)} bad file(s)" + listing([f"{p}: {r}" for p, r in cache.skipped]))
    return cache, "\n".join(lines)
