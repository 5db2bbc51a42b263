"""Model weights on disk: safetensors with the model's recipe in the header, and safe reading of any file.

``save_weights(model, path, metadata)`` writes ``model.state_dict()`` as safetensors, atomically, with a
metadata header of JSON strings (safetensors metadata is ``str → str``)::

    trainlab_format  "1"
    model            "timm:efficientnet_b0"        from model.trainlab_spec unless given
    model_options    {"mode": "staged", ...}       idem
    num_classes      102                           idem
    data_config      {"input_size": [3, 224, 224], "mean": [...], ...}   from model.data_config unless given
    classes          ["rice leaf roller", ...]     when given
    <any other key>  JSON of its value

``load_weights(path)`` reads that back (metadata decoded from JSON), and reads foreign files too:
``.safetensors`` and PyTorch ``.pth``/``.pt``/``.bin`` through ``torch.load(weights_only=True)``, which
rebuilds tensors and plain containers only and refuses any other pickled object instead of running it.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path
from typing import Any

import torch

from trainlab.errors import TrainlabError
from trainlab.utils.io import atomic_path

FORMAT_KEY = "trainlab_format"
FORMAT_VERSION = "1"
SAFETENSORS_SUFFIXES = (".safetensors",)
TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")
_WRAPPER_KEYS = ("state_dict", "model", "model_state_dict")  # common checkpoint layouts that nest the weights


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """The plain module inside DistributedDataParallel / DataParallel / ``torch.compile`` wrappers."""
    while True:
        if hasattr(model, "_orig_mod"):  # torch.compile
            model = model._orig_mod
        elif isinstance(model, (torch.nn.parallel.DistributedDataParallel, torch.nn.DataParallel)):
            model = model.module
        else:
            return model


def save_weights(model: torch.nn.Module, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model``'s parameters and buffers to ``path`` (safetensors), atomically, with ``metadata``.

    Missing ``model``/``model_options``/``num_classes``/``data_config`` entries are filled in from the
    model's ``trainlab_spec`` and ``data_config``. Returns the path.
    """
    from safetensors.torch import save_file

    path = Path(path)
    model = unwrap_model(model)
    meta: dict[str, Any] = {}
    meta.update(getattr(model, "trainlab_spec", None) or {})
    if getattr(model, "data_config", None) is not None:
        meta["data_config"] = model.data_config
    meta.update(metadata or {})
    header = {FORMAT_KEY: FORMAT_VERSION}
    for key, value in meta.items():
        try:
            header[str(key)] = json.dumps(value)
        except TypeError as exc:
            raise TrainlabError(f"weights metadata '{key}' is not JSON-serialisable ({exc}); store plain values") from None
    # clone: safetensors refuses tensors that share memory (tied weights, views); a copy per key is simplest.
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=header)
    return path


def load_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a weights file into ``(state_dict, metadata)`` on the CPU.

    ``.safetensors``: metadata values decoded from JSON (left as text when they are not JSON).
    ``.pth``/``.pt``/``.bin``/``.ckpt``: ``torch.load(weights_only=True)``, no pickle code is run; a
    checkpoint that nests its weights under ``state_dict``/``model`` is unwrapped, ``module.`` and
    ``_orig_mod.`` prefixes (DDP, torch.compile) are removed, and non-tensor entries are dropped;
    metadata is empty. Errors name the file.
    """
    path = Path(path)
    if not path.is_file():
        raise TrainlabError(f"weights file {path} does not exist (give a .safetensors or .pth file)")
    suffix = path.suffix.lower()
    if suffix in SAFETENSORS_SUFFIXES:
        state, raw_meta = _read_safetensors(path)
        metadata = _metadata(raw_meta)
    elif suffix in TORCH_SUFFIXES:
        state, metadata = _read_torch(path), {}
    else:
        raise TrainlabError(
            f"weights file {path}: unknown type '{path.suffix}'; use .safetensors or a PyTorch state dict "
            f"({', '.join(TORCH_SUFFIXES)})"
        )
    if not state:
        raise TrainlabError(f"weights file {path} holds no tensors")
    return state, metadata


def is_trainlab_file(metadata: dict[str, Any]) -> bool:
    return str(metadata.get(FORMAT_KEY, "")) != ""


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The header of a trainlab ``.safetensors`` file (metadata decoded from JSON), without reading a tensor.

    Other files have no metadata: ``{}``. Errors name the file.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise TrainlabError(f"weights file {path} does not exist (give a .safetensors or .pth file)")
    if path.suffix.lower() not in SAFETENSORS_SUFFIXES:
        return {}
    try:
        with safe_open(str(path), framework="pt", device="cpu") as fh:
            raw = fh.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise TrainlabError(f"weights file {path} is not a readable safetensors file: {exc}") from None
    return _metadata(raw)


# ---- reading -----------------------------------------------------------------------------
def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as fh:
            meta = fh.metadata() or {}
            state = {k: fh.get_tensor(k) for k in fh.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise TrainlabError(f"weights file {path} is not a readable safetensors file: {exc}") from None
    return state, meta


def _read_torch(path: Path) -> dict[str, torch.Tensor]:
    with open(path, "rb") as fh:
        head = fh.read(4)
    if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):  # torch.save: a zip archive, or a bare pickle (legacy)
        shown = "an empty file" if not head else f"it starts with bytes {head!r}"
        raise TrainlabError(
            f"weights file {path} is not a PyTorch file ({shown}; torch.save writes a zip archive or a pickle); "
            "it is damaged or in another format"
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        refused = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        if refused is None:  # torch's weights-only unpickler also fails on damaged data: not a refusal
            raise TrainlabError(f"weights file {path} is damaged: its pickle data cannot be read ({_last_line(exc)})") from None
        raise TrainlabError(
            f"weights file {path} was refused: it holds pickled Python objects other than tensors ({refused.group(1)}), "
            "and trainlab never runs pickle code. Save a plain state dict (torch.save(model.state_dict(), ...)) "
            "or safetensors instead."
        ) from None
    except Exception as exc:  # noqa: BLE001 - a damaged archive fails in many ways (RuntimeError, KeyError, EOFError...)
        raise TrainlabError(f"weights file {path} is not a readable PyTorch file ({type(exc).__name__}: {_last_line(exc)})") from None
    for _ in range(2):  # {'state_dict': {...}} or {'model': {...}}, at most twice nested
        if isinstance(obj, dict):
            nested = next((obj[k] for k in _WRAPPER_KEYS if isinstance(obj.get(k), dict)), None)
            if nested is not None and not any(isinstance(v, torch.Tensor) for v in obj.values()):
                obj = nested
    if not isinstance(obj, dict):
        raise TrainlabError(f"weights file {path} holds a {type(obj).__name__}, not a state dict of tensors")
    from timm.models import clean_state_dict  # strips 'module.' (DDP) and '_orig_mod.' (torch.compile)

    return clean_state_dict({str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)})


def _metadata(raw: dict[str, str]) -> dict[str, Any]:
    metadata = {k: _decode(v) for k, v in raw.items()}
    if isinstance(metadata.get("data_config"), dict):
        metadata["data_config"] = _tuples(metadata["data_config"])
    return metadata


def _last_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip() and not line.strip().startswith("Check the documentation")]
    return (lines[-1] if lines else type(exc).__name__)[:200]


def _decode(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return text


def _tuples(config: dict[str, Any]) -> dict[str, Any]:
    """JSON turns tuples into lists; data_config uses tuples (as timm does)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
