"""The data config: how a run's images become model inputs, resolved once.

:func:`resolve_data_config` joins the recipe's ``data`` section and the model's own preprocessing
(``model.data_config``, which timm resolves from the pretrained config) into one frozen
:class:`DataConfig`; the image cache, the trainer, the checkpoint header, the run record and
``trainlab predict`` all read that object (or its ``to_dict()`` in a file), never the pieces again.

- ``input_size`` (C, H, W): channels from the model; H, W from ``data.image_size``, else the model's own;
- ``mean``, ``std``: the model's normalisation of [0, 1] pixels;
- ``interpolation``: the resize filter the one decode path uses (:data:`trainlab.data.images.RESAMPLE`);
- ``resize``: ``data.resize``, how an image is brought to H×W (``stretch`` or ``shorter-side``).

This module also holds the one ``HxW`` parser and size check (:func:`parse_hw`): recipes, the command
line, the cache and the model builders (with their own minimum) all call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from trainlab.errors import TrainlabError

RESIZE_POLICIES = ("stretch", "shorter-side")
#: the one resize filter (:func:`trainlab.data.images.decode_image` resizes with it)
INTERPOLATION = "bilinear"

_SIZE_FORM = "give [height, width] in pixels (or HxW, or one number), e.g. [100, 100] or 100x100"


def parse_hw(value: Any, *, what: str = "image size", minimum: int = 1, why: str = "") -> tuple[int, int]:
    """``(H, W)`` from ``[H, W]``, ``(H, W)``, ``H`` (square), ``"HxW"``, ``"H×W"`` or ``"H"``; each at least ``minimum``.

    ``what`` names the value in the error (a recipe key, a model option, a command-line flag); ``why``
    says why a minimum applies. This is the only place trainlab parses or checks an image size.
    """
    parts: Any = value
    if isinstance(value, str):
        try:
            parts = [int(v) for v in value.lower().replace("×", "x").split("x")]
        except ValueError:
            parts = None
    elif _is_int(value):
        parts = [value]
    if not isinstance(parts, (list, tuple)) or len(parts) not in (1, 2) or not all(_is_int(v) for v in parts):
        raise TrainlabError(f"{what} {value!r} is not HxW: {_SIZE_FORM}")
    h, w = int(parts[0]), int(parts[-1])
    if min(h, w) < minimum:
        floor = "positive" if minimum == 1 else f"at least {minimum}x{minimum}"
        raise TrainlabError(f"{what} {h}x{w} is too small: it must be {floor}" + (f" ({why})" if why else ""))
    return h, w


def _is_int(v: Any) -> bool:
    return not isinstance(v, bool) and hasattr(v, "__index__")  # int and numpy integers, not True/False


def check_resize(policy: str) -> str:
    if policy not in RESIZE_POLICIES:
        raise TrainlabError(f"unknown resize policy '{policy}'; allowed: {', '.join(RESIZE_POLICIES)}")
    return policy


@dataclass(frozen=True)
class DataConfig:
    """How images become model inputs; see the module docstring. Build it with :func:`resolve_data_config`."""

    input_size: tuple[int, int, int]  # (C, H, W)
    mean: tuple[float, ...]
    std: tuple[float, ...]
    interpolation: str = INTERPOLATION
    resize: str = "stretch"

    def __post_init__(self) -> None:
        c = self.input_size[0]
        if len(self.input_size) != 3 or len(self.mean) != c or len(self.std) != c or min(self.std) <= 0:
            raise TrainlabError(f"data config {self.to_dict()}: input_size must be (C, H, W) with C means and C positive stds")
        check_resize(self.resize)

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)``: the size images are decoded and cached at."""
        return self.input_size[1], self.input_size[2]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (what the run record and the checkpoint header store)."""
        return {"input_size": list(self.input_size), "mean": list(self.mean), "std": list(self.std),
                "interpolation": self.interpolation, "resize": self.resize}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], where: str = "data_config") -> "DataConfig":
        """Read ``to_dict()`` back (also a model's ``data_config`` dict); errors name ``where`` and the key."""
        if isinstance(raw, DataConfig):
            return raw
        if not isinstance(raw, Mapping):
            raise TrainlabError(f"{where}: expected a mapping with input_size, mean, std; got {type(raw).__name__}")
        missing = [k for k in ("input_size", "mean", "std") if raw.get(k) is None]
        if missing:
            raise TrainlabError(f"{where}: no {', '.join(missing)} (expected input_size, mean, std, interpolation, resize)")
        try:
            c, *hw = (int(v) for v in raw["input_size"])
            input_size = (c, *parse_hw(hw, what=f"{where}: input_size"))
            mean, std = tuple(float(v) for v in raw["mean"]), tuple(float(v) for v in raw["std"])
        except (TypeError, ValueError):
            raise TrainlabError(f"{where}: input_size must be (C, H, W) and mean, std lists of numbers; got {dict(raw)}") from None
        return cls(input_size=input_size, mean=mean, std=std, interpolation=str(raw.get("interpolation") or INTERPOLATION),
                   resize=str(raw.get("resize") or "stretch"))


def resolve_data_config(data, model) -> DataConfig:
    """The run's :class:`DataConfig` from the recipe's ``data`` section and the model's ``data_config``.

    The model is built for ``data.image_size`` when that is set (the builder's ``input_size`` option),
    else ``data.image_size`` resolves to the model's native size; a model built for another size than
    ``data.image_size`` is an error. ``data.resize`` gives the policy; channels, mean and std are the
    model's own (never set by hand).
    """
    own = getattr(model, "data_config", None)
    spec = getattr(model, "trainlab_spec", None) or {}
    name = spec.get("model") or type(model).__name__
    if not own or len(own.get("input_size") or ()) != 3:
        raise TrainlabError(f"model '{name}' does not take images (its input_size is "
                            f"{(own or {}).get('input_size')}); an image run needs a model built for (C, H, W) input")
    c, h, w = (int(v) for v in own["input_size"])
    size = parse_hw(data.image_size, what="data.image_size") if data.image_size else (h, w)
    if size != (h, w):
        raise TrainlabError(
            f"data.image_size {size[0]}x{size[1]} differs from the {h}x{w} input model '{name}' is built for "
            f"(model.options.input_size); give the size once, as data.image_size"
        )
    return DataConfig(input_size=(c, *size), mean=tuple(float(v) for v in own["mean"]),
                      std=tuple(float(v) for v in own["std"]), interpolation=INTERPOLATION, resize=check_resize(data.resize))
