"""Time `trainlab demo` end to end and per stage; print a Markdown table for BENCHMARKS.md.

    python bench/bench_demo.py [--out /tmp/demo-bench] [--quick] [--seed 0]

Runs the demo in a fresh process (as a user would: `python -m trainlab demo --out DIR`), measures the
wall time from the outside, and reads the per-stage times and key figures from DIR/demo.json.
The load average before and after is printed: figures taken on a busy machine are not comparable.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/trainlab-demo-bench"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="reuse the folder (and its image caches) instead of starting empty")
    args = parser.parse_args()
    if args.out.exists() and not args.keep:
        shutil.rmtree(args.out)
    command = [sys.executable, "-m", "trainlab", "demo", "--out", str(args.out), "--seed", str(args.seed)]
    if args.quick:
        command.append("--quick")
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", str(Path(__file__).resolve().parents[1] / "src"))
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    proc = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t0
    load_after = os.getloadavg()
    if proc.returncode != 0:
        print(proc.stdout[-4000:])
        print(f"demo failed with exit status {proc.returncode}")
        return proc.returncode
    record = json.loads((args.out / "demo.json").read_text())
    print(f"command: {' '.join(command)}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}")
    print(f"load average before: {load_before[0]:.2f} (1 min), after: {load_after[0]:.2f}")
    print()
    print("| stage | status | seconds |")
    print("|---|---|--:|")
    for stage in record["stages"]:
        seconds = "" if stage["seconds"] is None else f"{stage['seconds']:.1f}"
        print(f"| {stage['title']} | {stage['status']} | {seconds} |")
    print(f"| **total (stages)** | | **{record['total_s']:.1f}** |")
    print(f"| **wall time of the process** (imports included) | | **{wall:.1f}** |")
    print()
    for key, value in record.get("figures", {}).items():
        print(f"{key}: {json.dumps(value)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
