"""One entry point for every model: ``create_model(name, num_classes, **options)``.

Built-in models register themselves with :func:`register_model` (as in timm's registry), so a new
model is one decorated function. ``timm:<name>`` builds any timm backbone with a trainlab head
(see :mod:`trainlab.models.backbones`). Unknown names and options are errors that list what is allowed.

Every model that comes out of :func:`create_model` carries

- ``.data_config``: ``input_size`` (C, H, W) (for sequence models (T, F) or (F,)), ``mean``, ``std``
  (for pixels scaled to [0, 1]), ``interpolation``, ``crop_pct``, ``crop_mode``;
- ``.trainlab_spec``: ``{"model", "model_options", "num_classes"}``, enough to build it again
  (:func:`trainlab.models.weights.save_weights` stores it in every checkpoint).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable

from trainlab.errors import TrainlabError

_REGISTRY: dict[str, Callable[..., Any]] = {}
_BUILTIN_MODULES = ("trainlab.models.cnn", "trainlab.models.sequence")
TIMM_PREFIX = "timm:"


def register_model(name: str):
    """Decorator: register ``fn(num_classes, **options) -> nn.Module`` under ``name``."""

    def deco(fn):
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            raise ValueError(f"model '{name}' is registered twice")
        _REGISTRY[name] = fn
        return fn

    return deco


def _load_builtins() -> None:
    for module in _BUILTIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a module not written yet must not hide the others
            if exc.name != module:
                raise


def list_models() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY) + [TIMM_PREFIX + "<any timm model name>"]


def get_builder(name: str) -> Callable[..., Any]:
    """The function that builds ``name`` (``timm:<name>`` → :func:`~trainlab.models.backbones.create_timm_model`)."""
    if name.startswith(TIMM_PREFIX):
        from trainlab.models.backbones import check_timm_name, create_timm_model

        check_timm_name(name[len(TIMM_PREFIX):])
        return create_timm_model
    _load_builtins()
    if name not in _REGISTRY:
        hint = ""
        try:
            import timm

            if timm.is_model(name):
                hint = f"; timm has it: use 'timm:{name}'"
        except ImportError:  # pragma: no cover - timm is a dependency
            pass
        raise TrainlabError(f"unknown model '{name}'{hint}; known models: {', '.join(list_models())}")
    return _REGISTRY[name]


def model_options(name: str) -> list[str]:
    """The option names model ``name`` accepts (its builder's keyword arguments)."""
    params = inspect.signature(get_builder(name)).parameters
    return [p for p, v in params.items() if p not in ("name", "num_classes") and v.kind is not v.VAR_KEYWORD]


def default_num_classes(name: str) -> int | None:
    """The builder's default ``num_classes`` (``seed_cnn``: 102 as IP102, sine models: 1), or None."""
    if name.startswith(TIMM_PREFIX):
        return None
    default = inspect.signature(get_builder(name)).parameters["num_classes"].default
    return None if default is inspect.Parameter.empty else int(default)


def create_model(name: str, num_classes: int, **options: Any):
    """Build model ``name`` for ``num_classes`` outputs.

    ``options`` are the builder's keyword arguments (for example ``input_size`` for ``seed_cnn``,
    ``weights``/``mode``/``drop_rate`` for ``timm:<name>``); an unknown one is an error naming it.
    """
    if not isinstance(name, str) or not name:
        raise TrainlabError(f"model name must be a non-empty string; got {name!r}")
    builder = get_builder(name)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise TrainlabError(f"model '{name}': num_classes must be a positive integer; got {num_classes!r}")
    allowed = model_options(name)
    unknown = [k for k in options if k not in allowed]
    if unknown:
        raise TrainlabError(f"model '{name}' has no option(s) {unknown}; allowed: {allowed}")
    if name.startswith(TIMM_PREFIX):
        model = builder(name[len(TIMM_PREFIX):], num_classes=num_classes, **options)
    else:
        model = builder(num_classes=num_classes, **options)
    model.trainlab_spec = {"model": name, "model_options": dict(options), "num_classes": num_classes}
    return model


def param_groups(model, *, lr: float, weight_decay: float = 0.0, backbone_lr_scale: float = 0.1) -> list[dict]:
    """Optimizer parameter groups for any trainlab model.

    Models with their own ``param_groups`` (``timm:<name>``: lower backbone learning rate) decide;
    for the others: one group with weight decay on weights (ndim ≥ 2) and one without it on biases and
    normalisation scales (ndim ≤ 1), the usual practice (timm's ``param_groups_weight_decay``).
    """
    if hasattr(model, "param_groups"):
        return model.param_groups(lr=lr, weight_decay=weight_decay, backbone_lr_scale=backbone_lr_scale)
    return split_weight_decay(model.named_parameters(), lr=lr, weight_decay=weight_decay)


def split_weight_decay(named_params, *, lr: float, weight_decay: float, no_decay: set[str] = frozenset(),
                       name: str = "") -> list[dict]:
    """Two groups of trainable parameters: decayed (ndim ≥ 2) and not decayed (ndim ≤ 1 or in ``no_decay``)."""
    decay, skip = [], []
    for pname, p in named_params:
        (skip if p.ndim <= 1 or pname in no_decay else decay).append(p)
    groups = [
        {"params": decay, "lr": lr, "weight_decay": weight_decay, "name": f"{name}decay"},
        {"params": skip, "lr": lr, "weight_decay": 0.0, "name": f"{name}no_decay"},
    ]
    return [g for g in groups if g["params"]]
