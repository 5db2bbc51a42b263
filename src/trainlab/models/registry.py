"""One entry point for every model: ``create_model(name, num_classes, **options)``.

Built-in models register themselves with :func:`register_model` (as in timm's registry), so a new
model is one decorated function. ``timm:<name>`` builds any timm backbone with a trainlab head
(see :mod:`trainlab.models.backbones`). Unknown names and options are errors that list what is allowed.
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


def create_model(name: str, num_classes: int, **options: Any):
    """Build model ``name`` for ``num_classes`` outputs.

    ``options`` are the builder's keyword arguments (for example ``input_size`` for ``seed_cnn``,
    ``weights``/``mode``/``drop_rate`` for ``timm:<name>``); an unknown one is an error naming it.
    """
    if name.startswith(TIMM_PREFIX):
        from trainlab.models.backbones import create_timm_model

        return create_timm_model(name[len(TIMM_PREFIX):], num_classes=num_classes, **options)
    _load_builtins()
    if name not in _REGISTRY:
        raise TrainlabError(f"unknown model '{name}'; known models: {', '.join(list_models())}")
    builder = _REGISTRY[name]
    params = inspect.signature(builder).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        allowed = [p for p in params if p != "num_classes"]
        unknown = [k for k in options if k not in params]
        if unknown:
            raise TrainlabError(f"model '{name}' has no option(s) {unknown}; allowed: {allowed}")
    return builder(num_classes=num_classes, **options)
