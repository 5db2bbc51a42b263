"""Image-cache benchmark: build speed against a plain Pillow loop, and the cost of opening a built cache.

    PYTHONPATH=src python bench/bench_cache.py [--data /work/shared/data/fairface-8k/train_labels.csv] [--size 100]

Measures, on the same files in the same run (all files read once first, so every variant sees a warm
page cache and the comparison is of decoding, not of the disk):

1. baseline: the plain per-image Pillow loop, ``Image.open(p).convert("RGB").resize((W, H))``, one process;
2. ``decode_image`` in one process (JPEG draft downscaling, antialiased resize): the per-core gain;
3. ``build_cache`` with one worker per core into a fresh cache folder: the whole build;
4. opening the built cache in a fresh process (key check + memory map): seconds and resident memory.

Prints the command, a markdown table and the figures; run it on a quiet machine for final numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

DEFAULT_DATA = "/work/shared/data/fairface-8k/train_labels.csv"

OPEN_SNIPPET = r"""
import json, os, resource, sys, time
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
from trainlab.data.formats import load_manifest
from trainlab.data.cache import build_cache
data, h, w, cache_dir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
t0 = time.perf_counter(); m = load_manifest(data); t1 = time.perf_counter()
before = rss()
t2 = time.perf_counter(); c = build_cache(m, size=(h, w), cache_dir=cache_dir); t3 = time.perf_counter()
after = rss()
assert c.reused and c.images.shape[0] == len(m)
print(json.dumps({"manifest_s": t1 - t0, "open_s": t3 - t2, "rss_before_mb": before, "rss_after_mb": after,
                  "rss_open_delta_mb": after - before, "images": len(c), "array_mb": c.images.nbytes / 2**20}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DEFAULT_DATA, help="dataset (default: the shared FairFace 8k labels CSV)")
    ap.add_argument("--size", type=int, default=100, help="square side of cached images (default 100)")
    ap.add_argument("--workers", type=int, default=0, help="cache build workers (default: one per core)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N images for the loops (0: all)")
    args = ap.parse_args()
    os.environ.setdefault("TRAINLAB_NO_PROGRESS", "1")

    from trainlab.data._pool import usable_cores
    from trainlab.data.cache import build_cache
    from trainlab.data.formats import load_manifest
    from trainlab.data.images import decode_image

    h = w = args.size
    manifest = load_manifest(args.data)
    paths = [str(p) for p in manifest.frame["path"]]
    loop_paths = paths[: args.limit] if args.limit else paths
    for p in paths:  # warm the page cache for every variant alike
        with open(p, "rb") as fh:
            fh.read()

    t0 = time.perf_counter()
    for p in loop_paths:
        with Image.open(p) as im:
            np.asarray(im.convert("RGB").resize((w, h)))
    baseline = len(loop_paths) / (time.perf_counter() - t0)

    t0 = time.perf_counter()
    for p in loop_paths:
        decode_image(p, (h, w), "stretch")
    serial = len(loop_paths) / (time.perf_counter() - t0)

    with tempfile.TemporaryDirectory(prefix="bench-cache-") as cache_dir:
        t0 = time.perf_counter()
        cache = build_cache(manifest, size=(h, w), cache_dir=cache_dir, workers=args.workers)
        build_s = time.perf_counter() - t0
        build = len(manifest) / build_s
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1] / "src"), os.environ.get("PYTHONPATH", "")])}
        out = subprocess.run([sys.executable, "-c", OPEN_SNIPPET, args.data, str(h), str(w), cache_dir],
                             capture_output=True, text=True, env=env, check=True).stdout
        opened = json.loads(out.strip().splitlines()[-1])
        workers = json.loads((cache.path / "meta.json").read_text())["workers"]

    command = "PYTHONPATH=src python bench/bench_cache.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    rows = [
        ("plain Pillow loop: open → convert → resize (1 process)", f"{baseline:,.0f} img/s", "1.00×"),
        ("trainlab decode_image (JPEG draft + resize, 1 process)", f"{serial:,.0f} img/s", f"{serial / baseline:.2f}×"),
        (f"trainlab build_cache ({workers} worker processes → memory-mapped .npy)", f"{build:,.0f} img/s ({build_s:.1f} s)", f"{build / baseline:.2f}×"),
        (f"open the built {opened['images']:,}-image cache (fresh process)", f"{opened['open_s']:.3f} s", ""),
        ("  resident memory added by opening it", f"{opened['rss_open_delta_mb']:.1f} MiB (array {opened['array_mb']:.0f} MiB mapped)", ""),
        ("  process RSS after opening (Python + numpy + pandas + Pillow)", f"{opened['rss_after_mb']:.0f} MiB", ""),
    ]
    print(f"command: {command}")
    print(f"data: {args.data} ({len(paths):,} images; loops over {len(loop_paths):,}), size {h}x{w}, stretch")
    print(f"machine: {platform.machine()}, {usable_cores()} usable cores, Python {platform.python_version()}, "
          f"Pillow {Image.__version__}, load average {os.getloadavg()[0]:.1f}")
    print()
    print("| measurement | result | vs loop |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")
    print()
    print(json.dumps({"baseline_img_s": baseline, "decode_serial_img_s": serial, "build_img_s": build, "build_s": build_s,
                      "workers": workers, **opened}))


if __name__ == "__main__":
    main()
