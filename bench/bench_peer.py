"""trainlab against the coursework's Keras pipeline, interleaved in one run (issue 18).

    PYTHONPATH=src python bench/bench_peer.py [--data /work/shared/data/fairface-8k] [--epochs 3] [--rounds 2]
        [--configs keras,default,fast,fast-compile] [--out bench/out/peer]
    PYTHONPATH=src python bench/bench_peer.py --smoke      # a few hundred images, 1 epoch, 1 round: checks the harness

Every configuration trains the same images (trainlab's manifest: FairFace gender, its train split; accuracy
on its test split) at 100x100, batch 32, with the same model (the coursework CNN; trainlab's ``seed_cnn``) and
augmentation, each in a fresh process, in the order A B C D A B C D ... (``--rounds``), so a change in the
machine's load hits every configuration alike. Configurations:

* ``keras``: the notebook's ``ImageDataGenerator.flow_from_dataframe`` + CNN in TensorFlow
  (bench/keras_peer/peer.py, in its own environment bench/.keras-venv, created on first use);
* ``default``: trainlab with every setting at its default (``train.amp=auto``, channels_last off);
* ``fast``: ``train.amp=bf16 train.channels_last=true``;
* ``fast-compile``: the same plus ``train.compile=true`` (kept in the table only if it pays).

Training img/s: the median over epochs 2.. of each run (the first epoch includes warm-up and tracing or
compiling), then the median over rounds; every ratio is taken within a round and the median ratio is
shown. Writes ``<out>.json`` (every run's record) and ``<out>.md`` (the side-by-side table BENCHMARKS.md
quotes) and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import trainlab_run  # noqa: E402  (bench/ helpers)

CONFIGS = {
    "default": dict(amp="auto", channels_last=False),
    "fast": dict(amp="bf16", channels_last=True),
    "fast-compile": dict(amp="bf16", channels_last=True, compile=True),
}
LABELS = {
    "keras": "Keras ImageDataGenerator + CNN (TensorFlow)",
    "default": "trainlab, defaults",
    "fast": "trainlab, `train.amp=bf16 train.channels_last=true`",
    "fast-compile": "trainlab, bf16 + channels_last + `train.compile=true`",
}


def write_items(source: str, folder: Path) -> Path:
    """The images both sides use, from trainlab's manifest: filename, class, split (train/test)."""
    import pandas as pd

    from trainlab.data.formats import load_manifest

    m = load_manifest(Path(source), fmt="fairface", target="gender", val_fraction=0.1, test_fraction=0.1, seed=0)
    f = m.frame[m.frame["split"].isin(["train", "test"])]
    items = pd.DataFrame({"filename": f["path"], "class": [m.classes[k] for k in f["label"]], "split": f["split"]})
    path = folder / "items.csv"
    items.to_csv(path, index=False)
    return path


def run_keras(python: str, items: Path, args) -> dict:
    cmd = [python, str(HERE / "keras_peer" / "peer.py"), "--split-csv", str(items), "--epochs", str(args.epochs),
           "--batch-size", str(args.batch_size), "--size", str(args.size), "--data-passes", str(args.data_passes)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if proc.returncode or line is None:
        raise RuntimeError(f"the Keras peer failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(line[len("RESULT "):])


def summarize(runs: list[dict], names: list[str]) -> list[dict]:
    """Per configuration: medians over rounds, and ratios to Keras taken within each round."""
    rows = []
    for name in names:
        mine = [r for r in runs if r["config"] == name]
        row = {"config": name, "label": LABELS[name], "rounds": len(mine)}
        for key in ("train_img_s", "data_img_s", "peak_rss_mb"):
            row[key] = statistics.median(r[key] for r in mine)
            row[key + "_all"] = [r[key] for r in mine]
        row["test_acc"] = statistics.fmean(r["test_acc"] for r in mine)
        row["test_acc_all"] = [r["test_acc"] for r in mine]
        for key in ("train_img_s", "data_img_s"):
            ratios = [r[key] / k[key] for r in mine for k in runs if k["config"] == "keras" and k["round"] == r["round"]]
            row[key + "_vs_keras"] = statistics.median(ratios) if ratios else None
        rows.append(row)
    return rows


def table(rows: list[dict], meta: dict) -> str:
    lines = [
        f"{meta['train_images']:,} training images, {meta['test_images']:,} test images, {meta['size']}x{meta['size']}, "
        f"batch {meta['batch_size']}, {meta['epochs']} epoch(s), {meta['rounds']} round(s) interleaved; "
        f"{meta['machine']}; load average {meta['load_start']:.2f} at start, {meta['load_end']:.2f} at the end; {meta['date']}",
        "",
        "| configuration | training img/s | vs Keras | data path img/s | vs Keras | peak RSS MB | test accuracy | per round (train img/s) |",
        "|---|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in rows:
        ratio = lambda v: f"{v:.2f}×" if v is not None else "—"  # noqa: E731
        lines.append(
            f"| {r['label']} | {r['train_img_s']:,.1f} | {ratio(r['train_img_s_vs_keras'])} | {r['data_img_s']:,.0f} | "
            f"{ratio(r['data_img_s_vs_keras'])} | {r['peak_rss_mb']:,.0f} | {r['test_acc']:.3f} | "
            f"{', '.join(f'{v:.1f}' for v in r['train_img_s_all'])} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/work/shared/data/fairface-8k", help="FairFace folder or labels CSV")
    ap.add_argument("--limit", type=int, default=None, help="only the first N images of the labels CSV")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--data-passes", type=int, default=2)
    ap.add_argument("--configs", default="keras,default,fast,fast-compile", help=f"subset of keras,{','.join(CONFIGS)}")
    ap.add_argument("--cache-dir", default=None, help="trainlab's image cache (default $TRAINLAB_CACHE)")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "peer", help="writes <out>.json and <out>.md")
    ap.add_argument("--smoke", action="store_true", help="320 images, 1 epoch, 1 round, no compile: checks the harness")
    args = ap.parse_args(argv)
    if args.smoke:
        args.limit, args.epochs, args.rounds, args.data_passes = args.limit or 320, 1, 1, 1
        if args.configs == ap.get_default("configs"):
            args.configs = "keras,default,fast"
        args.out = args.out.with_name(args.out.name + "-smoke")
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in names if c != "keras" and c not in CONFIGS]
    if unknown:
        ap.error(f"unknown configuration(s) {', '.join(unknown)}; choose from keras, {', '.join(CONFIGS)}")

    from keras_peer.venv import keras_python

    python = keras_python() if "keras" in names else None
    load_start = os.getloadavg()[0]
    runs, failed = [], []
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as scratch:
        source = trainlab_run.dataset_source({"data": args.data, "limit": args.limit}, Path(scratch))
        items = write_items(source, Path(scratch))
        for rnd in range(1, args.rounds + 1):
            for name in names:
                t0 = time.perf_counter()
                try:
                    if name == "keras":
                        r = run_keras(python, items, args)
                    else:
                        r = trainlab_run.measure(dict(data=args.data, limit=args.limit, epochs=args.epochs, batch_size=args.batch_size,
                                                      size=args.size, data_passes=args.data_passes, cache_dir=args.cache_dir,
                                                      **CONFIGS[name]))
                except RuntimeError as exc:  # recorded, and the other configurations still run
                    failed.append({"config": name, "round": rnd, "error": str(exc)[-2000:]})
                    print(f"round {rnd} {name}: FAILED\n{exc}", flush=True)
                    continue
                r.update(config=name, round=rnd, wall_s=round(time.perf_counter() - t0, 1))
                runs.append(r)
                print(f"round {rnd} {name}: {r['train_img_s']:.1f} img/s training, {r['data_img_s']:.0f} img/s data path, "
                      f"test acc {r['test_acc']:.3f}, peak {r['peak_rss_mb']} MB (load {r['load_average']})", flush=True)
    first = next(r for r in runs if r["config"] != "keras") if any(r["config"] != "keras" for r in runs) else runs[0]
    meta = dict(command="PYTHONPATH=src python bench/bench_peer.py " + " ".join(sys.argv[1:] if argv is None else argv),
                date=time.strftime("%Y-%m-%d %H:%M"), machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
                python=platform.python_version(), epochs=args.epochs, rounds=args.rounds, batch_size=args.batch_size,
                size=args.size, train_images=first["train_images"], test_images=first["test_images"],
                load_start=load_start, load_end=os.getloadavg()[0], smoke=args.smoke)
    rows = summarize(runs, [n for n in names if any(r["config"] == n for r in runs)])
    md = table(rows, meta)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows, "runs": runs, "failed": failed}, indent=1), encoding="utf-8")
    args.out.with_suffix(".md").write_text(f"command: `{meta['command']}`\n\n" + md, encoding="utf-8")
    print(f"\ncommand: {meta['command']}\n\n{md}\nwritten: {args.out.with_suffix('.json')}, {args.out.with_suffix('.md')}")
    if failed:
        print(f"failed: {', '.join(sorted({f['config'] for f in failed}))} (errors in the JSON)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
