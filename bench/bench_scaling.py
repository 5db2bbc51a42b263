"""Cost as the work grows: cache build time and size, training img/s and peak memory against dataset size (issue 18).

    PYTHONPATH=src python bench/bench_scaling.py [--data /work/shared/data/fairface-8k] [--sizes 2000,8000]
        [--scale] [--work /tmp/trainlab-scale] [--out bench/out/scaling]
    PYTHONPATH=src python bench/bench_scaling.py --smoke     # 200 and 400 images, 2 short epochs

``--scale`` adds 32,000 and 75,000 images (IP102's size): the real images replicated with a seeded
transform (per copy: a random crop of 80-100% of each side resized back, a horizontal flip, a brightness
factor in [0.8, 1.2], written as JPEG quality 90, so every file decodes as a new image; labels and attributes
copied) into ``--work`` (generated once; the generation is not timed). Each size, in a fresh process with an
empty cache folder: the cache build (decode + resize to 100x100, all cores), its size on disk, the data path
over every training image (the pass touches the whole memory-mapped cache), a short training run
(``--train-steps`` steps of batch 32 per epoch, 2 epochs: throughput does not depend on the dataset's size,
memory does), and the peak resident memory of the process. Then the extrapolation, from the measured build
rate of the largest size, to IP102 (75,222 images) and ImageNet-1k (1,281,167) at 224x224: cache bytes
are exact (N x 224 x 224 x 3), build time assumes the same decode rate per image (sources larger than
FairFace's 224-pixel JPEGs decode slower, so it is a lower bound).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import trainlab_run  # noqa: E402

SCALE_SIZES = (32000, 75000)
TARGETS = {"IP102 at 224x224": (75_222, 224), "ImageNet-1k at 224x224": (1_281_167, 224)}


def replicate(data: str, n: int, work: Path, seed: int = 0) -> Path:
    """A FairFace-layout folder of ``n`` images made from ``data``'s by a seeded transform (see the module doc)."""
    import numpy as np
    from PIL import Image, ImageEnhance

    folder = work / f"replicated-{n}"
    labels = folder / "train_labels.csv"
    if labels.is_file():
        return folder
    root = Path(data)
    src_csv = root / "train_labels.csv" if root.is_dir() else root
    with src_csv.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    head, body = rows[0], rows[1:]
    (folder / "train").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tmp = folder / "train_labels.csv.part"
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(head)
        for i in range(n):
            row = list(body[i % len(body)])
            with Image.open(src_csv.parent / row[0]) as im:
                im = im.convert("RGB")
                width, height = im.size
                cw, ch = int(width * rng.uniform(0.8, 1.0)), int(height * rng.uniform(0.8, 1.0))
                x, y = int(rng.integers(0, width - cw + 1)), int(rng.integers(0, height - ch + 1))
                im = im.crop((x, y, x + cw, y + ch)).resize((width, height), Image.BILINEAR)
                if rng.random() < 0.5:
                    im = im.transpose(Image.FLIP_LEFT_RIGHT)
                im = ImageEnhance.Brightness(im).enhance(float(rng.uniform(0.8, 1.2)))
                name = f"train/r{i}.jpg"
                im.save(folder / name, quality=90)
            row[0] = name
            w.writerow(row)
    tmp.rename(labels)
    return folder


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/work/shared/data/fairface-8k")
    ap.add_argument("--sizes", default="2000,8000", help="dataset sizes taken from --data (at most its size)")
    ap.add_argument("--scale", action="store_true", help=f"also {', '.join(map(str, SCALE_SIZES))} replicated images")
    ap.add_argument("--work", type=Path, default=Path("/tmp/trainlab-scale"), help="replicated datasets and caches")
    ap.add_argument("--train-steps", type=int, default=30)
    ap.add_argument("--out", type=Path, default=HERE / "out" / "scaling")
    ap.add_argument("--smoke", action="store_true", help="200 and 400 images (400 replicated), 4 steps: checks the harness")
    args = ap.parse_args(argv)
    sizes = [(int(s), False) for s in args.sizes.split(",")]
    if args.scale:
        sizes += [(s, True) for s in SCALE_SIZES]
    if args.smoke:
        sizes, args.train_steps = [(200, False), (400, True)], 4
        args.out = args.out.with_name(args.out.name + "-smoke")
        args.work = args.work.with_name(args.work.name + "-smoke")

    runs = []
    for n, synthetic in sizes:
        data, limit = (str(replicate(args.data, n, args.work)), None) if synthetic else (args.data, n)
        cache_dir = args.work / f"cache-{n}"
        shutil.rmtree(cache_dir, ignore_errors=True)
        r = trainlab_run.measure(dict(data=data, limit=limit, epochs=2, train_steps=args.train_steps, data_passes=1,
                                      cache_dir=str(cache_dir)))
        r.update(n=n, synthetic=synthetic)
        shutil.rmtree(cache_dir, ignore_errors=True)
        runs.append(r)
        print(f"{n:,} images: cache {r['cache_s']} s, {r['cache_mb']} MB; {r['train_img_s']:.1f} img/s; peak {r['peak_rss_mb']} MB", flush=True)

    lines = [
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; seed_cnn at 100x100, batch 32, "
        f"{args.train_steps} steps an epoch; {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        "| images | source | cache build s | build img/s | cache MB | data path img/s | training img/s | peak RSS MB | load |",
        "|--:|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in runs:
        lines.append(f"| {r['n']:,} | {'replicated (seeded transform)' if r['synthetic'] else 'real'} | {r['cache_s']:.1f} | "
                     f"{r['n'] / r['cache_s']:,.0f} | {r['cache_mb']:,.0f} | {r['data_img_s']:,.0f} | {r['train_img_s']:.1f} | "
                     f"{r['peak_rss_mb']:,} | {r['load_average']:.1f} |")
    rate = runs[-1]["n"] / runs[-1]["cache_s"]
    lines += ["", f"Extrapolated from the build rate of the largest size ({rate:,.0f} img/s):", "",
              "| dataset | images | uint8 cache | build (lower bound) |", "|---|--:|--:|--:|"]
    extrapolation = []
    for name, (n, px) in TARGETS.items():
        gb = n * px * px * 3 / 1e9
        extrapolation.append({"dataset": name, "images": n, "cache_gb": round(gb, 1), "build_s": round(n / rate)})
        lines.append(f"| {name} | {n:,} | {gb:,.1f} GB | {n / rate / 60:,.0f} min |")
    md = "\n".join(lines) + "\n"
    command = "PYTHONPATH=src python bench/bench_scaling.py " + " ".join(sys.argv[1:] if argv is None else argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"command": command, "runs": runs, "extrapolation": extrapolation}, indent=1), encoding="utf-8")
    args.out.with_suffix(".md").write_text(f"command: `{command}`\n\n{md}", encoding="utf-8")
    print(f"\ncommand: {command}\n\n{md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
