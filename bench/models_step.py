"""Model-only training-step throughput (no data loading, no augmentation): the compute ceiling.

The trainer's end-to-end figures (bench of issue 3) must come close to these; the gap is the data path.
Prints images/s for seed_cnn at 100x100 (batch 32 and 256, contiguous and channels_last) and for
timm:efficientnet_b0 at 224 in frozen and finetune mode, plus the exact command.

    PYTHONPATH=src python bench/models_step.py [--steps 5] [--device cpu|cuda] [--quick]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import torch

from trainlab.models import create_model
from trainlab.training.param_groups import param_groups


def step_rate(model, batch: int, size: tuple[int, int], steps: int, device: str, channels_last: bool) -> float:
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(param_groups(model, lr=1e-3), lr=1e-3)
    x = torch.rand(batch, 3, *size, device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, model.head.fc.out_features if hasattr(model, "head") else 102, (batch,), device=device)
    model.train()

    def one():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        if hasattr(model, "regularization_loss"):
            loss = loss + model.regularization_loss()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    one()  # warm-up (allocations, kernel selection)
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        one()
    if device == "cuda":
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--quick", action="store_true", help="seed_cnn batch 32 only")
    args = ap.parse_args()
    print(f"command: PYTHONPATH=src {sys.executable} {' '.join(sys.argv)}")
    print(f"torch {torch.__version__}, device {args.device}, threads {torch.get_num_threads()}, {platform.processor() or platform.machine()}")
    cases = [("seed_cnn", {}, 32, (100, 100))]
    if not args.quick:
        cases += [("seed_cnn", {}, 256, (100, 100)),
                  ("timm:efficientnet_b0", {"mode": "frozen"}, 16, (224, 224)),
                  ("timm:efficientnet_b0", {"mode": "finetune"}, 16, (224, 224))]
    for name, opts, batch, size in cases:
        for cl in (False, True):
            torch.manual_seed(0)
            rate = step_rate(create_model(name, 102, **opts), batch, size, args.steps, args.device, cl)
            layout = "channels_last" if cl else "contiguous"
            print(f"{name:22s} {str(opts or ''):20s} batch {batch:4d} {size[0]}x{size[1]} {layout:13s} {rate:9.1f} img/s (train step)")


if __name__ == "__main__":
    main()
