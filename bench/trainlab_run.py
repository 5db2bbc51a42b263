"""One trainlab training configuration, measured in its own process (the worker of the bench_* drivers).

    PYTHONPATH=src python bench/trainlab_run.py '{"data": "...", "epochs": 2, "amp": "bf16", ...}'

Prints one line ``RESULT {json}``: cache build seconds and size, data-path img/s (gather from the cache +
float conversion + the keyed Keras-equivalent augmentation + normalisation, no model; best of passes),
training img/s of every epoch (the Trainer's own figure, training steps only), peak resident memory (and
peak GPU memory on CUDA), and test accuracy after the last epoch. The drivers (bench_peer, bench_defaults,
bench_scaling, bench_gpu) run it in a fresh process per configuration, so peak memory is that
configuration's own. Settings (JSON keys, defaults in ``DEFAULTS``) are those of a recipe: the real
``Trainer``, the seed CNN or a timm model, the coursework augmentation, Adam at 1e-3.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

DEFAULTS = dict(
    data="/work/shared/data/fairface-8k", format="fairface", target="gender", limit=None, size=100,
    model="seed_cnn", mode="finetune", batch_size=32, epochs=3, amp="auto", channels_last=False, compile=False,
    device="cpu", device_resident="auto", seed=0, deterministic=False, data_passes=2, cache_dir=None,
    train_steps=None,
)


def subset_csv(data: str, limit: int, folder: Path) -> Path:
    """A FairFace labels CSV holding the first ``limit`` rows of ``data``'s train CSV, with absolute paths
    (the images themselves are not copied)."""
    root = Path(data)
    labels = root / "train_labels.csv" if root.is_dir() else root
    with labels.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    head, body = rows[0], rows[1 : limit + 1]
    out = folder / f"subset{limit}_labels.csv"
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(head)
        for r in body:
            r = list(r)
            r[0] = str((labels.parent / r[0]).resolve())
            w.writerow(r)
    return out


def dataset_source(s: dict, scratch: Path) -> str:
    return str(subset_csv(s["data"], int(s["limit"]), scratch)) if s.get("limit") else s["data"]


def run(settings: dict) -> dict:
    s = {**DEFAULTS, **settings}
    from trainlab.training.host_memory import keep_freed_memory

    tuned = keep_freed_memory()  # as `trainlab train` does, before torch is imported
    import numpy as np
    import torch

    from trainlab.config import AugmentSection, TrainSection
    from trainlab.data.augment import BatchAugment, KerasAffine
    from trainlab.data.cache import build_cache
    from trainlab.data.formats import load_manifest
    from trainlab.data.loader import BatchLoader, Normalize
    from trainlab.models.factory import create_model
    from trainlab.training.distributed import DistInfo
    from trainlab.training.policy import amp_dtype
    from trainlab.training.trainer import Trainer
    from trainlab.utils.device import pick_device

    device = pick_device(s["device"])
    with tempfile.TemporaryDirectory(prefix="trainlab-bench-") as scratch:
        source = dataset_source(s, Path(scratch))
        manifest = load_manifest(Path(source), fmt=s["format"], target=s["target"], val_fraction=0.1, test_fraction=0.1, seed=0)
        t0 = time.perf_counter()
        cache = build_cache(manifest, size=(s["size"], s["size"]), policy="stretch", cache_dir=s["cache_dir"])
        cache_s = time.perf_counter() - t0
    images, manifest = cache.images, cache.manifest
    labels = manifest.labels()
    train, test = manifest.indices("train"), manifest.indices("test")
    if s["train_steps"]:
        train = train[: int(s["train_steps"]) * s["batch_size"]]
    torch.manual_seed(s["seed"])
    options = {"input_size": [s["size"], s["size"]]} if s["model"] == "seed_cnn" else {"mode": s["mode"]}
    model = create_model(s["model"], manifest.num_classes, **options)
    out = {"settings": s, "device": str(device), "images": int(len(images)), "train_images": int(len(train)),
           "test_images": int(len(test)), "cache_s": round(cache_s, 2), "cache_mb": round(images.nbytes / 2**20, 1),
           "allocator": ", ".join(tuned) or "system", "threads": torch.get_num_threads(),
           "precision": str(amp_dtype(s["amp"], device, deterministic=s["deterministic"]) or "float32").replace("torch.", "")}

    # Data path alone: every training image once per pass, no model; the best pass (the first reads the cache).
    norm = Normalize(model.data_config["mean"], model.data_config["std"], channels_last=s["channels_last"])
    aug = BatchAugment(KerasAffine())
    loader = BatchLoader(images, labels, train, batch_size=s["batch_size"], shuffle=True, device=device, prefetch=3)
    rates = []
    for epoch in range(s["data_passes"]):
        loader.set_epoch(epoch)
        n, t0 = 0, time.perf_counter()
        for batch in loader:
            x = norm.normalize(aug(norm.to_float(batch.images), keys=batch.index, seed=0, epoch=epoch))
            n += len(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        rates.append(n / (time.perf_counter() - t0))
    out["data_img_s"] = round(max(rates), 1)
    del loader

    cfg = TrainSection(epochs=s["epochs"], batch_size=s["batch_size"], optimizer="adam", lr=1e-3, augment=AugmentSection(),
                       amp=s["amp"], channels_last=s["channels_last"], compile=s["compile"], seed=s["seed"],
                       deterministic=s["deterministic"], device_resident=s["device_resident"])
    trainer = Trainer(model, cfg, images=images, labels=labels, train_index=train, num_classes=manifest.num_classes,
                      dist=DistInfo(device=device))
    out["device_resident"] = trainer.device_images is not None
    t0 = time.perf_counter()
    result = trainer.fit()
    out["fit_s"] = round(time.perf_counter() - t0, 1)
    out["train_img_s_all"] = [round(h["images_per_s"], 1) for h in result.history]
    later = out["train_img_s_all"][1:] or out["train_img_s_all"]  # the first epoch includes warm-up (and compiling)
    out["train_img_s"] = float(np.median(later))
    out["train_acc"] = round(result.history[-1]["train_acc"], 4)
    out["test_acc"] = round(trainer.evaluate(test)["acc"], 4) if len(test) else None
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if device.type == "cuda":
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
        out["gpu"] = torch.cuda.get_device_name(device)
    out["load_average"] = round(os.getloadavg()[0], 2)
    return out


def measure(settings: dict, *, python: str = sys.executable) -> dict:
    """``run(settings)`` in a fresh process (the drivers' entry point); raises with its stderr on failure."""
    import subprocess

    env = dict(os.environ)
    src = str(Path(__file__).resolve().parent.parent / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("TRAINLAB_NO_PROGRESS", "1")
    proc = subprocess.run([python, __file__, json.dumps(settings)], capture_output=True, text=True, env=env)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if proc.returncode or line is None:
        raise RuntimeError(f"trainlab run {settings} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(line[len("RESULT "):])


if __name__ == "__main__":
    print("RESULT " + json.dumps(run(json.loads(sys.argv[1]))), flush=True)
