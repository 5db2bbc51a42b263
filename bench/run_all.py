"""Run every benchmark in bench/, one after another, each in its own process (what `make bench` runs).

    python bench/run_all.py [--only cache,train,...] [--skip demo] [--log bench-results.md]

Each script prints its own Markdown table and the command that made it; this runner prints the load
average before each one (figures from a busy machine are not comparable) and appends everything to
--log, from which BENCHMARKS.md is updated by hand. The cache and training benchmarks read the real
FairFace images (default /work/shared/data/fairface-8k, or --data); where that folder is missing they
are skipped with a message saying so, and the others still run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = "/work/shared/data/fairface-8k"

# name -> (script, arguments, needs the FairFace images)
BENCHES = {
    "cache": ("bench_cache.py", lambda data: ["--data", str(Path(data) / "train_labels.csv")], True),
    "train": ("bench_train.py", lambda data: ["--data", data], True),
    "peer": ("bench_peer.py", lambda data: ["--data", data], True),
    "defaults": ("bench_defaults.py", lambda data: ["--data", data], True),
    "scaling": ("bench_scaling.py", lambda data: ["--data", data, "--scale"], True),
    "gpu": ("bench_gpu.py", lambda data: ["--data", data], True),
    "models": ("models_step.py", lambda data: [], False),
    "evaluate": ("bench_evaluate.py", lambda data: [], False),
    "audit": ("bench_audit.py", lambda data: [], False),
    "sine": ("bench_sine.py", lambda data: ["--seeds", "3"], False),
    "demo": ("bench_demo.py", lambda data: [], False),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(BENCHES)}")
    ap.add_argument("--skip", default="", help="comma-separated benchmarks to leave out")
    ap.add_argument("--data", default=DEFAULT_DATA, help="FairFace-layout folder for the cache and training benchmarks")
    ap.add_argument("--log", type=Path, default=Path("bench-results.md"), help="where the outputs are appended")
    args = ap.parse_args(argv)

    chosen = [b.strip() for b in args.only.split(",") if b.strip()] or list(BENCHES)
    unknown = [b for b in chosen + [s.strip() for s in args.skip.split(",") if s.strip()] if b not in BENCHES]
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    chosen = [b for b in chosen if b not in {s.strip() for s in args.skip.split(",")}]

    env = dict(os.environ)
    src = str(HERE.parent / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    failed = []
    with args.log.open("a", encoding="utf-8") as log:
        log.write(f"\n# bench/run_all.py {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        for name in chosen:
            script, make_args, needs_data = BENCHES[name]
            if needs_data and not Path(args.data).is_dir():
                msg = f"## {name}: skipped: {args.data} is not there (give --data a FairFace-layout folder)\n"
                print(msg, end="")
                log.write(msg)
                continue
            cmd = [sys.executable, str(HERE / script), *make_args(args.data)]
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            head = f"## {name}: {' '.join(cmd[1:])} (load average {load:.2f})\n"
            print(head, end="", flush=True)
            log.write(head)
            log.flush()
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            sys.stdout.write(proc.stdout)
            log.write(proc.stdout + f"\n({name}: exit {proc.returncode}, {time.perf_counter() - t0:.0f} s)\n")
            log.flush()
            if proc.returncode:
                failed.append(name)
    print(f"\nall outputs appended to {args.log}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
