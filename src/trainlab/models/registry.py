"""The model registry: name → builder function, and nothing else (a leaf: it imports no model).

Built-in models register themselves with :func:`register_model` (as in timm's ``_registry.py``), so a
new model is one decorated function in its own module; :mod:`trainlab.models.factory` imports those
modules and builds models. ``timm:<name>`` is not registered here: the factory sends that prefix to
:func:`trainlab.models.backbones.create_timm_model`.
"""

from __future__ import annotations

from typing import Any, Callable

_REGISTRY: dict[str, Callable[..., Any]] = {}
TIMM_PREFIX = "timm:"


def register_model(name: str):
    """Decorator: register ``fn(num_classes, **options) -> nn.Module`` under ``name``."""

    def deco(fn):
        if name in _REGISTRY and _REGISTRY[name] is not fn:
            raise ValueError(f"model '{name}' is registered twice")
        _REGISTRY[name] = fn
        return fn

    return deco


def registered_names() -> list[str]:
    return sorted(_REGISTRY)


def lookup(name: str) -> Callable[..., Any] | None:
    """The builder registered as ``name``, or None."""
    return _REGISTRY.get(name)
