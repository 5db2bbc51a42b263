"""Checkpoints ``<run>/checkpoints/{last,best}/``: weights (safetensors) and the training state, atomically.

A checkpoint is a folder with two files:

``model.safetensors``  the model weights (``trainlab.models.weights.save_weights``), loadable on its own
``state.pt``           optimizer, grad scaler, RNG states (python, numpy, torch, cuda), epoch,
                       step, best metric; plain tensors and numbers only, read back with
                       ``torch.load(weights_only=True)`` (no pickled code is ever executed)

A folder cannot be replaced in one atomic step, so it is written whole under a temporary name, fsynced,
and swapped in with two renames: ``last -> .last.old``, ``.last.tmp -> last``; then the old one is
deleted. A crash before the swap leaves the previous checkpoint as it was; a crash between the two
renames leaves it as ``.last.old``, which :func:`resolve` finds. A half-written checkpoint is never read;
a write that fails (disk full) removes its temporary folder and leaves the previous checkpoint in place.

A checkpoint damaged after it was written (a truncated or emptied file) is found by :func:`latest_intact`,
which names the damaged file and falls back to the previous intact checkpoint (``best``).
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainlab.errors import TrainlabError
from trainlab.models.weights import unwrap_model as unwrap
from trainlab.utils.io import _fsync_dir

WEIGHTS = "model.safetensors"
STATE = "state.pt"


# ---- RNG -------------------------------------------------------------------------------------
def rng_state() -> dict[str, Any]:
    """Python, numpy, torch and CUDA random states as plain tensors/numbers (safe to load)."""
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = state["cuda"]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)


# ---- write -----------------------------------------------------------------------------------
def save_checkpoint(folder: str | os.PathLike, model: torch.nn.Module, state: dict[str, Any], metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` and ``state`` to ``folder`` atomically (see the module docstring)."""
    from trainlab.models.weights import save_weights

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.tmp")
    old = folder.with_name(f".{folder.name}.old")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        save_weights(unwrap(model), tmp / WEIGHTS, metadata=dict(metadata or {}))
        _save_state(state, tmp / STATE)
        _fsync_dir(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # no partial files left behind (a full disk stays as full as it was)
        raise
    if folder.exists():
        if old.exists():
            shutil.rmtree(old)
        os.replace(folder, old)
    os.replace(tmp, folder)
    _fsync_dir(folder.parent)
    if old.exists():
        shutil.rmtree(old)
    return folder


def _save_state(state: dict[str, Any], path: Path) -> None:
    with open(path, "wb") as fh:
        torch.save(state, fh)
        fh.flush()
        os.fsync(fh.fileno())


# ---- read ------------------------------------------------------------------------------------
def resolve(folder: str | os.PathLike) -> Path:
    """The complete checkpoint folder for ``folder``, recovering one left mid-swap by a crash."""
    folder = Path(folder)
    old = folder.with_name(f".{folder.name}.old")
    for candidate in (folder, old):
        if (candidate / WEIGHTS).is_file() and (candidate / STATE).is_file():
            return candidate
    raise TrainlabError(f"no checkpoint at {folder} (expected {WEIGHTS} and {STATE} in it); has the run finished an epoch?")


def latest_intact(checkpoints: str | os.PathLike) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint under ``checkpoints/`` whose files both read back, and its state: ``last``
    (or ``.last.old``, left mid-swap), else ``best``. Each damaged one is logged, naming the file and why.
    None when the run has no checkpoint at all; a :class:`TrainlabError` naming every damaged file when each
    one is damaged."""
    from trainlab.utils.log import get_logger

    checkpoints = Path(checkpoints)
    damaged: list[str] = []
    for name in ("last", ".last.old", "best", ".best.old"):
        folder = checkpoints / name
        if not folder.is_dir():
            continue
        problem, state = _read_intact(folder)
        if problem is None:
            if damaged:
                get_logger("trainlab.training").warning(
                    "%s; falling back to %s (epoch %s)", "; ".join(damaged), folder, state.get("epoch"))
            return folder, state
        damaged.append(problem)
    if damaged:
        raise TrainlabError(
            f"no intact checkpoint in {checkpoints}: {'; '.join(damaged)}. Move the checkpoints folder aside to "
            "train the run again from the first epoch"
        )
    return None


def _read_intact(folder: Path) -> tuple[str | None, dict[str, Any] | None]:
    """(None, its state) for a usable checkpoint folder, else (why not, None)."""
    from safetensors import safe_open

    for name in (WEIGHTS, STATE):
        path = folder / name
        if not path.is_file():
            return f"{path} is missing", None
        if path.stat().st_size == 0:
            return f"{path} is damaged (empty)", None
    try:
        with safe_open(str(folder / WEIGHTS), framework="pt"):
            pass
    except Exception as exc:  # truncated or not safetensors
        return f"{folder / WEIGHTS} is damaged ({str(exc).splitlines()[0][:120]})", None
    try:
        state = torch.load(folder / STATE, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, or not a torch file
        reason = str(exc).splitlines()[0][:120] if str(exc) else "it ends early"
        return f"{folder / STATE} is damaged (truncated or not a torch file: {reason})", None
    if not isinstance(state, dict) or "epoch" not in state:
        return f"{folder / STATE} is not a trainlab training state (no 'epoch')", None
    return None, state


def load_state(folder: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = resolve(folder) / STATE
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # a truncated or foreign file
        raise TrainlabError(f"{path}: cannot read the training state ({exc}); resume from another checkpoint") from None


def load_model_weights(folder_or_file: str | os.PathLike, model: torch.nn.Module, *, strict: bool = True) -> dict[str, str]:
    """Load checkpoint weights into ``model`` (a checkpoint folder or a .safetensors file); returns its metadata."""
    from trainlab.models.weights import load_weights

    path = Path(folder_or_file)
    if path.is_dir() or not path.exists():
        path = resolve(path) / WEIGHTS
    loaded = load_weights(path)
    tensors, metadata = loaded if isinstance(loaded, tuple) else (loaded, {})
    missing, unexpected = unwrap(model).load_state_dict(tensors, strict=False)
    if strict and (missing or unexpected):
        raise TrainlabError(
            f"{path}: the weights do not fit the model (missing: {list(missing)[:5]}, unexpected: {list(unexpected)[:5]}); "
            "was it written for another model or number of classes?"
        )
    return dict(metadata or {})
