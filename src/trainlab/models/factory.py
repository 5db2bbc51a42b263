"""Building models: ``create_model(name, num_classes, **options)`` and ``build_from_spec(spec, weights=None)``.

The factory is the only module that knows every builder: it imports the built-in model modules (each
registers itself in :mod:`trainlab.models.registry`) and sends ``timm:<name>`` to
:mod:`trainlab.models.backbones`. Unknown names and options are errors that list what is allowed.

Every model that comes out of :func:`create_model` carries

- ``.data_config``: ``input_size`` (C, H, W) (for sequence models (T, F) or (F,)), ``mean``, ``std``
  (for pixels scaled to [0, 1]), ``interpolation``, ...: the model's own preprocessing, which
  :func:`trainlab.data.dataconfig.resolve_data_config` joins with the recipe once per run;
- ``.trainlab_spec``: ``{"model", "model_options", "num_classes"}``, enough to build it again with
  :func:`build_from_spec` (:func:`trainlab.models.weights.save_weights` stores it in every checkpoint).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable, Mapping

import torch

from trainlab.errors import TrainlabError
from trainlab.models import backbones, cnn, sequence  # noqa: F401 - importing registers the built-in models
from trainlab.models.registry import TIMM_PREFIX, lookup, registered_names
from trainlab.models.weights import load_weights

#: options that say where initial weights come from: a spec rebuilt from a checkpoint drops them (the file holds every weight)
WEIGHT_SOURCES = ("weights", "pretrained")


def list_models() -> list[str]:
    return registered_names() + [TIMM_PREFIX + "<any timm model name>"]


def get_builder(name: str) -> Callable[..., Any]:
    """The function that builds ``name`` (``timm:<name>`` → :func:`~trainlab.models.backbones.create_timm_model`)."""
    if name.startswith(TIMM_PREFIX):
        backbones.check_timm_name(name[len(TIMM_PREFIX):])
        return backbones.create_timm_model
    builder = lookup(name)
    if builder is None:
        import timm

        hint = f"; timm has it: use 'timm:{name}'" if timm.is_model(name) else ""
        raise TrainlabError(f"unknown model '{name}'{hint}; known models: {', '.join(list_models())}")
    return builder


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


def create_model(name: str, num_classes: int, **options: Any) -> torch.nn.Module:
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


def build_from_spec(spec: Mapping[str, Any], weights: str | Path | None = None, *, where: str = "model spec") -> torch.nn.Module:
    """The architecture ``spec`` describes (``model``, ``model_options``, ``num_classes``), optionally with ``weights``.

    ``spec`` is a model's ``trainlab_spec`` as stored in a run record or a weights file's header. The
    spec's own weight sources (``weights``, ``pretrained``) are dropped: they only initialised the
    original, and the rebuilt model either gets ``weights`` (a trainlab weights file, loaded strictly,
    every tensor) or stays as initialised (enough to count parameters). Errors name ``where``.
    """
    if not isinstance(spec, Mapping) or not spec.get("model") or not spec.get("num_classes"):
        raise TrainlabError(f"{where}: no 'model'/'num_classes' (expected model, model_options, num_classes)")
    options = {k: v for k, v in dict(spec.get("model_options") or {}).items() if k not in WEIGHT_SOURCES}
    model = create_model(str(spec["model"]), int(spec["num_classes"]), **options)
    if weights is not None:
        state, _ = load_weights(weights)
        own = model.state_dict()
        problems = [(label, keys) for label, keys in (
            ("missing", [k for k in own if k not in state]),
            ("unexpected", [k for k in state if k not in own]),
            ("with another shape", [f"{k} {tuple(v.shape)} in the file, {tuple(own[k].shape)} here"
                                    for k, v in state.items() if k in own and v.shape != own[k].shape]),
        ) if keys]
        if problems:
            raise TrainlabError(f"weights file {weights} does not fit model '{spec['model']}' ({where}): "
                                + "; ".join(f"{len(keys)} {label}, e.g. {', '.join(keys[:3])}" for label, keys in problems))
        model.load_state_dict(state)
    return model

