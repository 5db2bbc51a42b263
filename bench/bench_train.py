"""Training throughput from the uint8 cache, the data path alone, and peak memory (issue 3).

Builds (or reuses) the image cache of a dataset (default: the 8,000 real FairFace JPEGs at 100x100,
stretched, as the coursework), then for every batch size, each in a fresh process (so peak memory is
that configuration's own):

* data path only: loader (gather from the memory-mapped cache, background thread) + conversion +
  the Keras-equivalent augmentation + normalisation, no model: images/s;
* training: the real Trainer (seed_cnn, coursework augmentation on, Adam) for three short epochs;
  images/s of the best of the second and third (the first includes warm-up), and the peak resident memory.

Best-of figures because the development machine is shared: other processes' load only ever slows a
measurement down. The load average is printed beside each row.

The comparison with the coursework's Keras pipeline is bench/bench_peer.py, which runs it in the same session
(issue 18); this script has no peer figure of its own.

    PYTHONPATH=src python bench/bench_train.py [--data /work/shared/data/fairface-8k] [--batch-sizes 32 256]
        [--device cpu|cuda] [--model seed_cnn|timm:efficientnet_b0] [--size 100] [--amp off|bf16] [--steps 30]

On a GPU: ``--device cuda --amp auto --channels-last`` for seed_cnn at 100, and
``--model timm:efficientnet_b0 --size 224 --device cuda --amp auto --channels-last``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

def load_images(args):
    """The cache (built once, reused from $TRAINLAB_CACHE), its manifest and class count."""
    from trainlab.data.cache import build_cache
    from trainlab.data.formats import load_manifest

    manifest = load_manifest(Path(args.data), fmt=args.format, target=args.target, val_fraction=0.1, test_fraction=0.1, seed=0)
    t0 = time.perf_counter()
    cache = build_cache(manifest, size=(args.size, args.size), policy="stretch", cache_dir=args.cache_dir)
    return cache, time.perf_counter() - t0


def one(args) -> dict:
    """One configuration (run in its own process)."""
    from trainlab.training.host_memory import keep_freed_memory

    tuned = keep_freed_memory()  # as `trainlab train` does, before torch is imported
    import numpy as np
    import torch

    from trainlab.config import AugmentSection, TrainSection
    from trainlab.data.augment import BatchAugment, KerasAffine
    from trainlab.data.loader import BatchLoader, Normalize
    from trainlab.models.factory import create_model
    from trainlab.training.distributed import DistInfo
    from trainlab.training.trainer import Trainer
    from trainlab.utils.device import pick_device

    device = pick_device(args.device)
    cache, cache_s = load_images(args)
    images, manifest = cache.images, cache.manifest
    labels = manifest.labels()
    train = manifest.indices("train")
    bs = args.batch_size
    options = {"input_size": [args.size, args.size]} if args.model == "seed_cnn" else {"mode": "finetune"}
    model = create_model(args.model, manifest.num_classes, **options)
    out = {"batch_size": bs, "device": str(device), "model": args.model, "size": args.size, "amp": args.amp,
           "channels_last": args.channels_last, "images": int(len(images)), "cache_s": round(cache_s, 1),
           "allocator": ", ".join(tuned) or "system"}

    # The first read of the cache comes from disk (or the page cache); time it apart, then measure warm.
    t0 = time.perf_counter()
    for start in range(0, len(images), 1024):
        np.asarray(images[start : start + 1024]).sum(dtype=np.uint64)
    out["first_read_s"] = round(time.perf_counter() - t0, 2)

    # Data path alone: every training image once, nothing else; the best of three passes.
    norm = Normalize(model.data_config["mean"], model.data_config["std"], channels_last=args.channels_last)
    aug = BatchAugment(KerasAffine())
    loader = BatchLoader(images, labels, train, batch_size=bs, shuffle=True, device=device, prefetch=3)
    rates = []
    for epoch in range(3):
        loader.set_epoch(epoch)
        n, t0 = 0, time.perf_counter()
        for batch in loader:
            x = norm.normalize(aug(norm.to_float(batch.images), keys=batch.index, seed=0, epoch=epoch))  # as the trainer draws
            n += len(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        rates.append(n / (time.perf_counter() - t0))
    out["data_img_s"] = round(max(rates), 1)
    out["data_img_s_all"] = [round(r) for r in rates]

    # Training: three epochs over steps x batch images, augmentation on; the best of epochs 2 and 3
    # (the first includes warm-up: allocations, oneDNN kernel selection).
    cfg = TrainSection(epochs=3, batch_size=bs, optimizer="adam", lr=1e-3, augment=AugmentSection(), amp=args.amp,
                       channels_last=args.channels_last, compile=args.compile)
    subset = train[: args.steps * bs]
    trainer = Trainer(model, cfg, images=images, labels=labels, train_index=subset, num_classes=manifest.num_classes,
                      dist=DistInfo(device=device))
    result = trainer.fit()
    epochs = [round(h["images_per_s"], 1) for h in result.history]
    out["train_img_s_all"] = epochs
    out["train_img_s"] = max(epochs[1:])
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)
    if device.type == "cuda":
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 0)
        out["gpu"] = torch.cuda.get_device_name(device)
    out["threads"] = torch.get_num_threads()
    out["load_average"] = os.getloadavg()[0]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="/work/shared/data/fairface-8k", help="dataset root (default: the shared FairFace 8k)")
    ap.add_argument("--format", default="fairface")
    ap.add_argument("--target", default="gender")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--model", default="seed_cnn")
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 256])
    ap.add_argument("--steps", type=int, default=None, help="training steps an epoch (default: ~1,000 images)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--amp", default="off", choices=("auto", "off", "bf16", "fp16"))
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)  # internal: one configuration
    args = ap.parse_args()
    if args.batch_size:
        args.steps = args.steps or max(4, 1000 // args.batch_size)
        print("RESULT " + json.dumps(one(args)), flush=True)
        return

    print(f"command: PYTHONPATH=src {Path(sys.executable).name} {' '.join(sys.argv)}")
    print(f"python {platform.python_version()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    os.environ.setdefault("TRAINLAB_NO_PROGRESS", "1")
    rows = []
    for bs in args.batch_sizes:
        cmd = [sys.executable, __file__, *sys.argv[1:], "--batch-size", str(bs)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if proc.returncode or line is None:
            sys.exit(f"batch {bs} failed:\n{proc.stderr[-3000:]}")
        rows.append(json.loads(line[len("RESULT "):]))
    r0 = rows[0]
    print(f"\n{r0['model']} at {r0['size']}x{r0['size']}, augmentation on, device {r0['device']}, amp {r0['amp']}, "
          f"channels_last {r0['channels_last']}, {r0['images']} cached images, {r0['threads']} torch threads, "
          f"host allocator: {r0['allocator']}\n")
    print(f"(the first read of the {r0['images']}-image cache took {r0['first_read_s']} s; figures below are with it in memory)\n")
    print("| batch | training img/s | data path img/s | data / training | peak RSS MB | load avg | epochs (train) | passes (data) |")
    print("|---:|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        print(f"| {r['batch_size']} | {r['train_img_s']:.1f} | {r['data_img_s']:.0f} | "
              f"{r['data_img_s'] / r['train_img_s']:.0f}x | {r['peak_rss_mb']:.0f} | "
              f"{r['load_average']:.1f} | {r['train_img_s_all']} | {r['data_img_s_all']} |")
    if any("gpu" in r for r in rows):
        print("\nGPU: " + ", ".join(f"{r['gpu']} peak {r['peak_gpu_mb']:.0f} MB (batch {r['batch_size']})" for r in rows if "gpu" in r))


if __name__ == "__main__":
    main()
