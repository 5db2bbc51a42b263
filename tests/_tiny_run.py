"""A run folder with an untrained seed CNN checkpoint, for tests of commands that read a run (no training)."""

from __future__ import annotations

from pathlib import Path

import torch

from trainlab.models.registry import create_model
from trainlab.models.weights import save_weights

CLASSES = ["cat", "dog"]
SIZE = (16, 16)


def tiny_run(root: Path) -> Path:
    """``root/checkpoints/best/{model.safetensors, state.pt}`` with the metadata ``trainlab train`` writes."""
    torch.manual_seed(0)
    model = create_model("seed_cnn", len(CLASSES), input_size=list(SIZE))
    best = root / "checkpoints" / "best"
    best.mkdir(parents=True)
    save_weights(model, best / "model.safetensors", {"classes": CLASSES, "image_size": list(SIZE), "resize": "stretch"})
    torch.save({"epoch": 1}, best / "state.pt")
    return root
