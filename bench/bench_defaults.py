"""Fast by default? The face recipe with and without bf16 and channels_last, seeds interleaved (issue 18).

    PYTHONPATH=src python bench/bench_defaults.py [--data /work/shared/data/fairface-8k] [--epochs 10]
        [--seeds 0,1,2] [--configs float32,channels_last,bf16,bf16-channels_last] [--out bench/out/defaults]
    PYTHONPATH=src python bench/bench_defaults.py --smoke

The fairface-gender recipe's model and training (seed_cnn at 100x100, batch 32, Adam 1e-3, the coursework
augmentation) for ``--epochs`` epochs, every configuration once per seed, in the order
(seed 0: A B C D), (seed 1: A B C D), ... each in a fresh process. Reports per configuration the test
accuracy (mean, 95% t-interval of the mean over seeds: ``trainlab.training.seeds.summarize``) and the
training img/s (median over seeds), and whether this CPU has native bf16
(``trainlab.training.policy.cpu_native_bf16``). This is the evidence for flipping
``policy.AUTO_BF16_ON_CPU`` (``train.amp=auto`` -> bf16 on such a CPU) and the default of
``train.channels_last``: a configuration whose interval overlaps float32's and whose speed is higher.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import trainlab_run  # noqa: E402

CONFIGS = {
    "float32": dict(amp="off", channels_last=False),
    "channels_last": dict(amp="off", channels_last=True),
    "bf16": dict(amp="bf16", channels_last=False),
    "bf16-channels_last": dict(amp="bf16", channels_last=True),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/work/shared/data/fairface-8k")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--out", type=Path, default=HERE / "out" / "defaults")
    ap.add_argument("--smoke", action="store_true", help="256 images, 1 epoch, seeds 0 and 1: checks the harness")
    args = ap.parse_args(argv)
    if args.smoke:
        args.limit, args.epochs, args.seeds = args.limit or 256, 1, "0,1"
        args.out = args.out.with_name(args.out.name + "-smoke")
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    if any(c not in CONFIGS for c in names):
        ap.error(f"--configs: choose from {', '.join(CONFIGS)}")
    seeds = [int(s) for s in args.seeds.split(",")]

    from trainlab.training.policy import AUTO_BF16_ON_CPU, cpu_native_bf16
    from trainlab.training.seeds import summarize

    runs = []
    load_start = os.getloadavg()[0]
    for seed in seeds:
        for name in names:
            r = trainlab_run.measure(dict(data=args.data, limit=args.limit, epochs=args.epochs, seed=seed, data_passes=1,
                                          cache_dir=args.cache_dir, **CONFIGS[name]))
            r.update(config=name, seed=seed)
            runs.append(r)
            print(f"seed {seed} {name}: test acc {r['test_acc']:.4f}, {r['train_img_s']:.1f} img/s (load {r['load_average']})", flush=True)

    lines = [
        f"seed_cnn at 100x100, batch 32, {args.epochs} epoch(s), {runs[0]['train_images']:,} training / "
        f"{runs[0]['test_images']:,} test images, seeds {seeds}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, native bf16: {cpu_native_bf16()} (AUTO_BF16_ON_CPU={AUTO_BF16_ON_CPU}); "
        f"load {load_start:.2f} at start, {os.getloadavg()[0]:.2f} at the end; {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        "| configuration | test accuracy, mean [95% interval] | per seed | training img/s (median) | vs float32 | per seed |",
        "|---|---|---|--:|--:|---|",
    ]
    base = None
    rows = []
    for name in names:
        mine = [r for r in runs if r["config"] == name]
        acc = [r["test_acc"] for r in mine]
        s = summarize(acc)
        speed = statistics.median(r["train_img_s"] for r in mine)
        base = base if base is not None else (speed if name == "float32" else None)
        rows.append({"config": name, **CONFIGS[name], "acc": s.model_dump(),
                     "train_img_s": speed})
        interval = f"[{s.low:.3f}, {s.high:.3f}]" if s.low is not None else "(one seed)"
        per_seed = ", ".join(f"{r['train_img_s']:.1f}" for r in mine)
        vs = f"{speed / base:.2f}×" if base else "—"
        lines.append(f"| {name} | {s.mean:.3f} {interval} | {', '.join(f'{a:.3f}' for a in acc)} | {speed:,.1f} | {vs} | {per_seed} |")
    md = "\n".join(lines) + "\n"
    command = "PYTHONPATH=src python bench/bench_defaults.py " + " ".join(sys.argv[1:] if argv is None else argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"command": command, "rows": rows, "runs": runs}, indent=1, default=str), encoding="utf-8")
    args.out.with_suffix(".md").write_text(f"command: `{command}`\n\n{md}", encoding="utf-8")
    print(f"\ncommand: {command}\n\n{md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
