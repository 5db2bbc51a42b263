"""Throughput on an accelerator: seed_cnn at 100x100 and efficientnet_b0 fine-tuned at 224x224 (issue 18).

    PYTHONPATH=src python bench/bench_gpu.py [--device cuda] [--data /work/shared/data/fairface-8k]
        [--batch-sizes 32,256] [--compile] [--out bench/out/gpu]
    PYTHONPATH=src python bench/bench_gpu.py --smoke      # on the CPU, a few images: checks the harness

Every row is bench/trainlab_run.py in a fresh process: the real Trainer with the defaults a recipe gets on
that device (``train.amp=auto``: bf16 on a recent GPU; ``train.device_resident=auto``: the uint8 cache
on the GPU, batches and augmentation drawn there) plus ``train.channels_last=true``, and each row once
more with the host loader (``train.device_resident=false``) so the device-resident path's gain is in
the same run. Training img/s is the median over epochs 2.. (the first includes cuDNN autotuning and
compiling). Targets (issue 18): seed_cnn at 100x100 >= 30,000 img/s on an H200.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import trainlab_run  # noqa: E402

MODELS = {
    "seed_cnn": dict(model="seed_cnn", size=100, epochs=8),
    "efficientnet_b0": dict(model="timm:efficientnet_b0", mode="finetune", size=224, epochs=3),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--data", default="/work/shared/data/fairface-8k")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--batch-sizes", default="32,256")
    ap.add_argument("--epochs", type=int, default=None, help="default: 8 for seed_cnn, 3 for efficientnet_b0")
    ap.add_argument("--compile", action="store_true", help="also each row with train.compile=true")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--out", type=Path, default=HERE / "out" / "gpu")
    ap.add_argument("--smoke", action="store_true", help="CPU, 96 images, 1 epoch, batch 32: checks the harness")
    args = ap.parse_args(argv)
    if args.smoke:
        args.device, args.limit, args.epochs, args.batch_sizes = "cpu", args.limit or 96, 1, "32"
        args.out = args.out.with_name(args.out.name + "-smoke")
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            print("bench_gpu: skipped: no CUDA device here (--smoke checks the harness on the CPU)")
            return 0
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    if any(m not in MODELS for m in names):
        ap.error(f"--models: choose from {', '.join(MODELS)}")

    resident = "on" if args.smoke else "auto"  # on the CPU, auto keeps the host loader; the smoke checks both paths
    variants = [dict(device_resident=resident), dict(device_resident="off")]
    if args.compile:
        variants += [dict(device_resident=resident, compile=True)]
    runs = []
    for name in names:
        for bs in [int(b) for b in args.batch_sizes.split(",")]:
            for v in variants:
                spec = {**MODELS[name], **v}
                if args.epochs:
                    spec["epochs"] = args.epochs
                settings = dict(data=args.data, limit=args.limit, device=args.device, batch_size=bs, amp="auto",
                                channels_last=True, data_passes=2, cache_dir=args.cache_dir, **spec)
                r = trainlab_run.measure(settings)
                r.update(name=name, batch_size=bs, variant=v)
                runs.append(r)
                print(f"{name} batch {bs} {v}: {r['train_img_s']:,.1f} img/s", flush=True)

    gpu = next((r["gpu"] for r in runs if "gpu" in r), "no GPU")
    lines = [
        f"device {args.device} ({gpu}); {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"{runs[0]['train_images']:,} training images; {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        "| model | size | batch | precision | cache on device | compile | training img/s | data path img/s (host loader) | peak GPU MB | peak RSS MB | per epoch |",
        "|---|--:|--:|---|---|---|--:|--:|--:|--:|---|",
    ]
    for r in runs:
        s = r["settings"]
        lines.append(
            f"| {r['name']} | {s['size']} | {r['batch_size']} | {r['precision']} | {'yes' if r['device_resident'] else 'no'} | "
            f"{'yes' if s['compile'] else 'no'} | {r['train_img_s']:,.1f} | {r['data_img_s']:,.0f} | {r.get('peak_gpu_mb', '—')} | "
            f"{r['peak_rss_mb']:,} | {', '.join(f'{v:,.0f}' for v in r['train_img_s_all'])} |")
    md = "\n".join(lines) + "\n"
    command = "PYTHONPATH=src python bench/bench_gpu.py " + " ".join(sys.argv[1:] if argv is None else argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"command": command, "runs": runs}, indent=1), encoding="utf-8")
    args.out.with_suffix(".md").write_text(f"command: `{command}`\n\n{md}", encoding="utf-8")
    print(f"\ncommand: {command}\n\n{md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
