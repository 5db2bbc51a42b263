"""ImageCache: pixels equal decode_image, reuse, rebuild on change, bad files, atomic builds."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from test_data_helpers import pattern, solid, truncated_jpeg

from trainlab.data import _workers
from trainlab.data.cache import build_cache, default_cache_dir
from trainlab.data.formats import load_manifest
from trainlab.data.images import BadImageError, decode_image
from trainlab.errors import TrainlabError


def _dataset(root, n=8):
    """A generic-CSV dataset of n PNGs of different sizes, all in train (nothing carved)."""
    lines = ["path,label,split"]
    for i in range(n):
        pattern(root / f"{i}.png", seed=i, size=(30 + 7 * i, 20 + 3 * i))
        lines.append(f"{i}.png,{'ab'[i % 2]},{'train' if i < n - 2 else 'test'}")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root / "labels.csv"


def test_a_relative_root_gives_absolute_paths_and_the_same_cache(tmp_path, monkeypatch):
    labels = _dataset(tmp_path / "d")
    first = build_cache(load_manifest(labels, val_fraction=0), size=(8, 8), cache_dir=tmp_path / "c", workers=1)
    monkeypatch.chdir(tmp_path / "d")
    m = load_manifest("labels.csv", val_fraction=0)
    assert all(os.path.isabs(p) for p in m.frame["path"])
    assert m.frame["path"].tolist() == first.manifest.frame["path"].tolist()
    again = build_cache(m, size=(8, 8), cache_dir=tmp_path / "c", workers=1)
    assert again.reused and again.key == first.key and again.path == first.path


def test_cached_pixels_equal_a_direct_decode(tmp_path):
    m = load_manifest(_dataset(tmp_path / "d"), val_fraction=0)
    for policy in ("stretch", "shorter-side"):
        cache = build_cache(m, size=(12, 16), policy=policy, cache_dir=tmp_path / "cache", workers=1)
        assert cache.images.shape == (8, 12, 16, 3) and cache.images.dtype == np.uint8
        assert not cache.images.flags.writeable
        assert isinstance(cache.images, np.memmap)
        for i, path in enumerate(m.frame["path"]):
            assert np.array_equal(cache.images[i], decode_image(path, (12, 16), policy))
        assert cache.manifest.frame["id"].tolist() == m.frame["id"].tolist() and cache.skipped == []


def test_unchanged_dataset_reuses_the_cache(tmp_path):
    m = load_manifest(_dataset(tmp_path / "d"), val_fraction=0)
    first = build_cache(m, size=(8, 8), cache_dir=tmp_path / "c", workers=1)
    stamp = os.stat(first.path / "images.npy").st_mtime_ns
    again = build_cache(load_manifest(tmp_path / "d" / "labels.csv", val_fraction=0), size=(8, 8), cache_dir=tmp_path / "c", workers=1)
    assert again.reused and not first.reused
    assert again.path == first.path and again.key == first.key
    assert os.stat(again.path / "images.npy").st_mtime_ns == stamp  # not rewritten


def test_a_changed_file_rebuilds(tmp_path):
    csv = _dataset(tmp_path / "d")
    m = load_manifest(csv, val_fraction=0)
    before = build_cache(m, size=(8, 8), cache_dir=tmp_path / "c", workers=1)
    target = tmp_path / "d" / "3.png"
    solid(target, colour=(1, 2, 3), size=(30, 30))
    st = os.stat(target)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a later mtime, whatever the clock resolution
    after = build_cache(load_manifest(csv, val_fraction=0), size=(8, 8), cache_dir=tmp_path / "c", workers=1)
    assert after.key != before.key and not after.reused
    assert (after.images[3] == [1, 2, 3]).all()
    assert np.array_equal(after.images[2], before.images[2])


def test_size_and_policy_are_part_of_the_key(tmp_path):
    m = load_manifest(_dataset(tmp_path / "d"), val_fraction=0)
    keys = {build_cache(m, size=s, policy=p, cache_dir=tmp_path / "c", workers=1).key
            for s, p in (((8, 8), "stretch"), ((8, 9), "stretch"), ((8, 8), "shorter-side"))}
    assert len(keys) == 3


def test_bad_image_is_an_error_naming_file_and_line(tmp_path):
    csv = _dataset(tmp_path / "d")
    truncated_jpeg(tmp_path / "d" / "4.png")  # a truncated JPEG under a .png name; labels.csv line 6
    m = load_manifest(csv, val_fraction=0)
    with pytest.raises(BadImageError) as exc:
        build_cache(m, size=(8, 8), cache_dir=tmp_path / "c", workers=1)
    assert str(tmp_path / "d" / "4.png") in str(exc.value) and "labels.csv:6" in str(exc.value)
    assert "truncated" in str(exc.value)
    assert not [p for p in (tmp_path / "c").iterdir()]  # nothing left behind, not even the temporary folder


def test_bad_images_skipped_counted_listed_and_rows_stay_aligned(tmp_path):
    csv = _dataset(tmp_path / "d")
    truncated_jpeg(tmp_path / "d" / "1.png")
    (tmp_path / "d" / "5.png").write_text("not an image")
    m = load_manifest(csv, val_fraction=0)
    cache = build_cache(m, size=(8, 8), cache_dir=tmp_path / "c", workers=1, on_bad_image="skip")
    assert [p for p, _ in cache.skipped] == [str(tmp_path / "d" / "1.png"), str(tmp_path / "d" / "5.png")]
    assert len(cache.images) == len(cache.manifest) == 6
    assert "1.png" not in set(cache.manifest.frame["id"]) and "5.png" not in set(cache.manifest.frame["id"])
    for i, path in enumerate(cache.manifest.frame["path"]):
        assert np.array_equal(cache.images[i], decode_image(path, (8, 8)))
    recorded = cache.manifest.source["skipped"]
    assert [r["origin"] for r in recorded] == ["labels.csv:3", "labels.csv:7"]
    # the same cache opened again still knows; asking for errors now raises, naming both files
    again = build_cache(m, size=(8, 8), cache_dir=tmp_path / "c", workers=1, on_bad_image="skip")
    assert again.reused and len(again.skipped) == 2
    with pytest.raises(TrainlabError, match=r"2 image file\(s\) cannot be decoded"):
        build_cache(m, size=(8, 8), cache_dir=tmp_path / "c", workers=1)


def test_an_interrupted_build_leaves_no_cache_that_looks_complete(tmp_path, monkeypatch):
    m = load_manifest(_dataset(tmp_path / "d", n=8), val_fraction=0)
    calls = {"n": 0}
    real = _workers.decode_into_cache

    def dies_midway(task):
        calls["n"] += 1
        real(task)
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C after the first chunk was written

    monkeypatch.setattr(_workers, "decode_into_cache", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        build_cache(m, size=(8, 8), cache_dir=tmp_path / "c", workers=1)
    assert calls["n"] == 1
    assert list((tmp_path / "c").iterdir()) == []
    monkeypatch.setattr(_workers, "decode_into_cache", real)
    cache = build_cache(m, size=(8, 8), cache_dir=tmp_path / "c", workers=1)
    assert not cache.reused


def test_a_killed_build_folder_is_removed_by_the_next_build(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    stale = tmp_path / "c" / f".building-x-8x8-stretch-0123-{dead}-abcdef12"
    stale.mkdir(parents=True)
    (stale / "images.npy").write_bytes(b"half")
    m = load_manifest(_dataset(tmp_path / "d"), val_fraction=0)
    build_cache(m, size=(8, 8), cache_dir=tmp_path / "c", workers=1)
    assert not stale.exists()


def test_a_damaged_cache_is_rebuilt(tmp_path):
    m = load_manifest(_dataset(tmp_path / "d"), val_fraction=0)
    first = build_cache(m, size=(8, 8), cache_dir=tmp_path / "c", workers=1)
    (first.path / "images.npy").write_bytes(b"garbage")
    again = build_cache(m, size=(8, 8), cache_dir=tmp_path / "c", workers=1)
    assert not again.reused and again.images.shape == (8, 8, 8, 3)


def test_parallel_build_equals_serial_build(tmp_path):
    m = load_manifest(_dataset(tmp_path / "d", n=10), val_fraction=0)
    import trainlab.data.cache as cache_module

    old = cache_module.CHUNK
    cache_module.CHUNK = 3  # several chunks, so both workers get some
    try:
        parallel = build_cache(m, size=(9, 7), cache_dir=tmp_path / "p", workers=2)
    finally:
        cache_module.CHUNK = old
    serial = build_cache(m, size=(9, 7), cache_dir=tmp_path / "s", workers=1)
    assert json.loads((parallel.path / "meta.json").read_text())["workers"] == 2
    assert np.array_equal(np.asarray(parallel.images), np.asarray(serial.images))


def test_default_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINLAB_CACHE", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    m = load_manifest(_dataset(tmp_path / "d"), val_fraction=0)
    assert build_cache(m, size=(4, 4), workers=1).path.parent == tmp_path / "here"
    monkeypatch.delenv("TRAINLAB_CACHE")
    assert str(default_cache_dir()).endswith(os.path.join(".cache", "trainlab"))


BUILD_ON_FIFOS = """
import sys
import pandas as pd
import trainlab.data.cache as cache
from trainlab.data.manifest import Manifest

fifo, out = sys.argv[1], sys.argv[2]
cache.CHUNK = 2  # two chunks, two workers; each blocks opening the FIFO (nobody writes to it)
frame = pd.DataFrame({"id": ["a", "b", "c", "d"], "path": [fifo] * 4, "label": [0, 1, 0, 1], "split": "train"})
cache.build_cache(Manifest(frame, ["x", "y"]), size=(8, 8), cache_dir=out, workers=2)
"""


def _holders(folder, name: str) -> dict[int, str]:
    """pid → state ('S', 'R', 'Z', ...) of every process with a file ``folder/**/name`` open."""
    found = {}
    for proc in os.listdir("/proc"):
        if not proc.isdigit():
            continue
        try:
            links = [os.readlink(f"/proc/{proc}/fd/{fd}") for fd in os.listdir(f"/proc/{proc}/fd")]
            state = open(f"/proc/{proc}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if any(link.startswith(str(folder)) and link.split(" (deleted)")[0].endswith(name) for link in links):
            found[int(proc)] = state
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the workers")
def test_killing_a_build_leaves_no_worker_holding_the_partial_cache(tmp_path):
    import time

    import trainlab

    fifo = tmp_path / "never-written.png"
    os.mkfifo(fifo)
    env = {**os.environ, "PYTHONPATH": str(os.path.dirname(os.path.dirname(trainlab.__file__)))}
    build = subprocess.Popen([sys.executable, "-c", BUILD_ON_FIFOS, str(fifo), str(tmp_path / "c")], env=env)
    workers: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline and build.poll() is None:
            time.sleep(0.2)
            workers = {pid: s for pid, s in _holders(tmp_path / "c", "images.npy").items() if pid != build.pid}
        assert len(workers) == 2, f"the build did not start two workers (exit {build.poll()})"
        build.kill()  # SIGKILL: no cleanup code runs in the parent
        build.wait()
        deadline = time.monotonic() + 10
        alive = workers
        while alive and time.monotonic() < deadline:
            time.sleep(0.2)
            alive = {pid: s for pid, s in _holders(tmp_path / "c", "images.npy").items() if pid in workers and s != "Z"}
        assert not alive, f"worker(s) {sorted(alive)} outlived the killed build and still hold the partial cache file"
    finally:
        for pid in workers:  # only the workers this test's build started
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        if build.poll() is None:
            build.kill()
