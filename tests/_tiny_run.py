"""A run folder with an untrained seed CNN checkpoint, for tests of commands that read a run (no training)."""

from __future__ import annotations

from pathlib import Path

import torch

from trainlab.models.factory import create_model
from trainlab.models.weights import save_weights

CLASSES = ["cat", "dog"]
SIZE = (16, 16)


def tiny_run(root: Path) -> Path:
    """``root/checkpoints/best/{model.safetensors, state.pt}`` with the metadata ``trainlab train`` writes."""
    torch.manual_seed(0)
    model = create_model("seed_cnn", len(CLASSES), input_size=list(SIZE))
    best = root / "checkpoints" / "best"
    best.mkdir(parents=True)
    data_config = {**model.data_config, "resize": "stretch"}  # the model's own size, mean and std
    save_weights(model, best / "model.safetensors", {"classes": CLASSES, "data_config": data_config})
    torch.save({"epoch": 1}, best / "state.pt")
    return root
