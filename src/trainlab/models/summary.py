"""Per-layer model summaries with the formula behind every parameter count, in PyTorch's and Keras's conventions.

``summarize(model, input_shape)`` runs one forward pass with hooks to record each layer's output shape and
returns a :class:`trainlab.artifacts.model_summary.ModelSummary`: a table (``.rows``) of name, type, output shape, parameters, trainable
parameters, the Keras-convention count, and the formula that gives the count, plus totals.

Where the two libraries count differently (everything else agrees):

- LSTM: PyTorch keeps two bias vectors per gate (``bias_ih`` and ``bias_hh``), Keras one:
  PyTorch ``4·(i·u + u² + 2u)``, Keras ``4·(i·u + u² + u)``; for u = 16, i = 1: 1,216 against 1,152.
- GRU: Keras's default ``reset_after=True`` (since TF 2) also keeps two: ``3·(i·u + u² + 2u)`` in both.
  The one-bias formula ``3·((i+1)·u + u²)`` is Keras's ``reset_after=False``; it gives 864, not 912,
  for the sine model's first GRU.
- SimpleRNN: ``i·u + u² + 2u`` against Keras's ``i·u + u² + u``.
- BatchNorm: PyTorch counts γ and β (2·C) and keeps the moving mean and variance as buffers;
  Keras counts all four (4·C, the moving statistics as non-trainable parameters).

So the coursework's Keras figures follow: LSTM model 1,152 + 6,272 + 33 = 7,457 (PyTorch: 7,649);
GRU model 912 + 4,800 + 33 = 5,745 in both; seed CNN 17,452,678 in both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from trainlab.artifacts.model_summary import Layer, ModelSummary
from trainlab.errors import TrainlabError
from trainlab.utils.log import get_logger

log = get_logger("trainlab.models")


@dataclass
class Count:
    """One layer's parameter count in both conventions, with the formulas that give them."""

    params: int
    params_keras: int
    formula: str
    formula_keras: str
    keras_non_trainable: int = 0  # Keras's BatchNorm moving statistics


# ---- formulas ----------------------------------------------------------------------------
def _n(v: int) -> str:
    return f"{v:,}"


def _conv(m: nn.modules.conv._ConvNd) -> Count:
    k = tuple(m.kernel_size)
    c_in, c_out, g = m.in_channels, m.out_channels, m.groups
    ksym = "·".join("k" for _ in k) if len(set(k)) == 1 else "·".join(("k_h", "k_w", "k_d")[: len(k)])
    knum = "·".join(str(v) for v in k)
    cin_sym, cin_num = ("c_in", str(c_in)) if g == 1 else ("(c_in/g)", f"({c_in}/{g})")
    cout_sym, cout_num = "c_out", str(c_out)
    if m.transposed and g != 1:
        cin_sym, cin_num, cout_sym, cout_num = "c_in", str(c_in), "(c_out/g)", f"({c_out}/{g})"
    weights = math.prod(k) * (c_in // g) * c_out
    bias = c_out if m.bias is not None else 0
    sym = f"{ksym}·{cin_sym}·{cout_sym}" + (" + c_out" if bias else "")
    num = f"{knum}·{cin_num}·{cout_num}" + (f" + {c_out}" if bias else "")
    text = f"{sym} = {num} = {_n(weights + bias)}"
    return Count(weights + bias, weights + bias, text, text)


def _linear(m: nn.Linear) -> Count:
    i, o = m.in_features, m.out_features
    bias = o if m.bias is not None else 0
    text = f"i·o + o = {i}·{o} + {o} = {_n(i * o + o)}" if bias else f"i·o = {i}·{o} = {_n(i * o)}"
    return Count(i * o + bias, i * o + bias, text, text)


def _recurrent(m: nn.RNNBase) -> Count | None:
    """LSTM (4 gates), GRU (3), RNN (1); PyTorch: two bias vectors per gate; Keras: see module docstring."""
    if getattr(m, "proj_size", 0):
        return None
    gates = {"LSTM": 4, "GRU": 3}.get(m.mode, 1)
    keras_bias_vectors = 2 if m.mode == "GRU" else 1  # GRU: Keras reset_after=True
    dirs = 2 if m.bidirectional else 1
    u = m.hidden_size
    pt_terms, k_terms, pt_total, k_total = [], [], 0, 0
    for layer in range(m.num_layers):
        i = m.input_size if layer == 0 else u * dirs
        w = i * u + u * u
        pt = gates * (w + (2 * u if m.bias else 0))
        kc = gates * (w + (keras_bias_vectors * u if m.bias else 0))
        g = f"{gates}·" if gates > 1 else ""
        d = "2·" if dirs == 2 else ""
        pt_terms.append(f"{d}{g}({i}·{u} + {u}² + {'2·' + str(u) if m.bias else '0'})" if m.bias else f"{d}{g}({i}·{u} + {u}²)")
        kb = f"{keras_bias_vectors}·{u}" if keras_bias_vectors == 2 else str(u)
        k_terms.append(f"{d}{g}({i}·{u} + {u}² + {kb})" if m.bias else f"{d}{g}({i}·{u} + {u}²)")
        pt_total += dirs * pt
        k_total += dirs * kc
    g = f"{gates}·" if gates > 1 else ""
    d = "2·" if dirs == 2 else ""
    sym = f"{d}{g}(i·u + u² + 2u)" if m.bias else f"{d}{g}(i·u + u²)"
    ksym = f"{d}{g}(i·u + u² + {'2u' if keras_bias_vectors == 2 else 'u'})" if m.bias else sym
    if m.num_layers > 1:
        sym, ksym = f"Σ_layers {sym}", f"Σ_layers {ksym}"
    return Count(pt_total, k_total, f"{sym} = {' + '.join(pt_terms)} = {_n(pt_total)}",
                 f"{ksym} = {' + '.join(k_terms)} = {_n(k_total)}")


def _batchnorm(m: nn.modules.batchnorm._NormBase) -> Count:
    c = m.num_features
    pt = 2 * c if m.affine else 0
    stats = 2 * c if m.track_running_stats else 0
    text = f"2·C (γ, β) = 2·{c} = {_n(pt)}" if m.affine else "0 (no affine γ, β)"
    ktext = (f"{2 + (2 if stats else 0)}·C (γ, β" + (", moving mean and variance" if stats else "")
             + f") = {_n(pt + stats)}") if m.affine else f"2·C (moving mean and variance) = {_n(stats)}"
    return Count(pt, pt + stats, text, ktext, keras_non_trainable=stats)


def _layernorm(m: nn.LayerNorm) -> Count | None:
    if not m.elementwise_affine:
        return Count(0, 0, "0", "0")
    d = math.prod(m.normalized_shape)
    vecs = 2 if m.bias is not None else 1
    text = f"{vecs}·d = {vecs}·{d} = {_n(vecs * d)}"
    return Count(vecs * d, vecs * d, text, text)


def _groupnorm(m: nn.GroupNorm) -> Count:
    c = m.num_channels
    pt = 2 * c if m.affine else 0
    text = f"2·C = 2·{c} = {_n(pt)}"
    return Count(pt, pt, text, text)


def _embedding(m: nn.Embedding) -> Count:
    text = f"n·d = {m.num_embeddings}·{m.embedding_dim} = {_n(m.num_embeddings * m.embedding_dim)}"
    return Count(m.num_embeddings * m.embedding_dim, m.num_embeddings * m.embedding_dim, text, text)


def _generic(own: list[tuple[str, torch.Tensor]]) -> Count:
    total = sum(p.numel() for _, p in own)
    if not own:
        return Count(0, 0, "—", "—")
    parts = [f"{n} {'·'.join(str(s) for s in p.shape) or '1'}" for n, p in own]
    text = " + ".join(parts) + f" = {_n(total)}"
    return Count(total, total, text, text)


def layer_count(module: nn.Module, own: list[tuple[str, torch.Tensor]]) -> Count:
    """The parameter count of ``module``'s own parameters, with formulas; checked against the real count."""
    actual = sum(p.numel() for _, p in own)
    count = None
    if isinstance(module, nn.modules.conv._ConvNd):
        count = _conv(module)
    elif isinstance(module, nn.Linear):
        count = _linear(module)
    elif isinstance(module, nn.RNNBase):
        count = _recurrent(module)
    elif isinstance(module, nn.modules.batchnorm._NormBase):
        count = _batchnorm(module)
    elif isinstance(module, nn.LayerNorm):
        count = _layernorm(module)
    elif isinstance(module, nn.GroupNorm):
        count = _groupnorm(module)
    elif isinstance(module, nn.Embedding):
        count = _embedding(module)
    if count is None or count.params != actual:  # a subclass with extra tensors: list them instead
        count = _generic(own)
    return count


# ---- summarize ---------------------------------------------------------------------------
def _shape_of(output: Any) -> str:
    if isinstance(output, torch.Tensor):
        return "(" + ", ".join(["N", *(str(s) for s in output.shape[1:])]) + ")"
    if isinstance(output, (tuple, list)) and output:
        return _shape_of(output[0])  # LSTM/GRU: (sequence output, state)
    if isinstance(output, dict) and output:
        return _shape_of(next(iter(output.values())))
    return "—"


def summarize(model: nn.Module, input_shape: tuple[int, ...] | None = None, *, name: str | None = None) -> ModelSummary:
    """Per-layer summary of ``model`` for one input of ``input_shape`` (no batch axis; default
    ``model.data_config["input_size"]``): image models (C, H, W), recurrent models (T, F), MLPs (F,).

    A row per module that owns parameters or has no children, in definition order; each parameter is
    counted once (shared ones at their first owner). Output shapes come from forward hooks on one
    forward pass in eval mode (the model's mode is restored).

    Totals: ``total = Σ params``; ``trainable = Σ params with requires_grad``; ``total_keras = Σ params_keras``.
    """
    if input_shape is None:
        config = getattr(model, "data_config", None) or {}
        if not config.get("input_size"):
            raise TrainlabError(f"summarize: give input_shape for {type(model).__name__} (it has no data_config)")
        input_shape = tuple(config["input_size"])
    input_shape = tuple(int(v) for v in input_shape)
    name = name or (getattr(model, "trainlab_spec", None) or {}).get("model") or type(model).__name__

    shapes: dict[str, str] = {}
    hooks = []
    for mname, module in model.named_modules():
        def hook(_mod, _inp, out, mname=mname):
            shapes[mname] = _shape_of(out)

        hooks.append(module.register_forward_hook(hook))
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1, *input_shape), device=device, dtype=dtype))
    except RuntimeError as exc:
        raise TrainlabError(f"model '{name}' does not accept input {'x'.join(map(str, input_shape))}: {exc}") from None
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)

    seen: set[int] = set()
    records = []
    keras_trainable_total = 0
    for mname, module in model.named_modules():
        own = []
        for pname, p in module.named_parameters(recurse=False):
            if id(p) not in seen:
                seen.add(id(p))
                own.append((pname, p))
        leaf = next(module.children(), None) is None
        if not own and not leaf:
            continue
        count = layer_count(module, own)
        trainable = sum(p.numel() for _, p in own if p.requires_grad)
        if trainable == count.params:
            keras_trainable = count.params_keras - count.keras_non_trainable
        else:
            keras_trainable = trainable
        keras_trainable_total += keras_trainable
        records.append({
            "name": mname or "(model)", "type": type(module).__name__, "output_shape": shapes.get(mname, "—"),
            "params": count.params, "trainable": trainable, "params_keras": count.params_keras,
            "formula": count.formula, "formula_keras": count.formula_keras,
        })
    return ModelSummary(model_name=name, input_shape=input_shape, layers=tuple(Layer(**r) for r in records),
                        trainable_keras=int(keras_trainable_total), notes=tuple(_notes(model)))


def _notes(model: nn.Module) -> list[str]:
    """Explain, with this model's numbers, every place where PyTorch and Keras count differently."""
    notes = []
    lstms = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.LSTM)]
    grus = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.GRU)]
    rnns = [(n, m) for n, m in model.named_modules() if type(m) is nn.RNN]
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._NormBase) and m.track_running_stats]
    if lstms:
        n, m = lstms[0]
        c = _recurrent(m)
        if c is not None:
            notes.append(
                f"LSTM: PyTorch keeps two bias vectors per gate (bias_ih, bias_hh), Keras one, so each LSTM layer "
                f"counts 4·u more here: '{n}' {_n(c.params)} (PyTorch) against {_n(c.params_keras)} (Keras)."
            )
    if grus:
        n, m = grus[0]
        c = _recurrent(m)
        if c is not None and m.num_layers == 1 and not m.bidirectional and m.bias:
            i, u = m.input_size, m.hidden_size
            one_bias = 3 * ((i + 1) * u + u * u)
            notes.append(
                f"GRU: Keras's default reset_after=True keeps two bias vectors per gate, as PyTorch does, so the "
                f"counts agree: 3·(i·u + u² + 2u) = {_n(c.params)} for '{n}'. The formula 3·((i+1)·u + u²) counts one "
                f"bias vector (Keras's reset_after=False) and gives {_n(one_bias)}, not {_n(c.params)}."
            )
    if rnns:
        notes.append("SimpleRNN: PyTorch keeps two bias vectors, Keras one: i·u + u² + 2u against i·u + u² + u.")
    if bns:
        stats = sum(2 * m.num_features for m in bns)
        notes.append(
            f"BatchNorm: Keras counts the moving mean and variance as non-trainable parameters (4·C); PyTorch keeps "
            f"them as buffers (2·C parameters): {_n(stats)} more in Keras's convention over {len(bns)} layers."
        )
    return notes


# ---- command line ------------------------------------------------------------------------
def parse_shape(text: str) -> list[int]:
    """'100x100x3' → [100, 100, 3] (also '×' and ','); an error that says the expected form otherwise."""
    try:
        parts = [int(v) for v in text.lower().replace("×", "x").replace(",", "x").split("x") if v.strip()]
    except ValueError:
        parts = []
    if not parts or min(parts) <= 0:
        raise TrainlabError(f"--input '{text}' is not a shape: use HxWxC for images (e.g. 100x100x3), TxF for "
                            f"recurrent models (e.g. 1x1), F for an MLP")
    return parts


def _resolve_input(name: str, given: list[int], default: tuple[int, ...]) -> tuple[int, ...]:
    """Turn the command line's Keras-style HxWxC (or HxW) into PyTorch's (C, H, W); sequences stay as given."""
    if len(default) == 3:
        if len(given) == 3:
            h, w, c = given
            return c, h, w
        if len(given) == 2:
            return default[0], given[0], given[1]
        if len(given) == 1:
            return default[0], given[0], given[0]
        raise TrainlabError(f"--input for image model '{name}' is HxWxC or HxW, e.g. 100x100x3; got {'x'.join(map(str, given))}")
    if len(given) != len(default):
        form = "TxF (timesteps x features)" if len(default) == 2 else "F (features)"
        raise TrainlabError(f"--input for '{name}' is {form}, e.g. {'x'.join(map(str, default))}; got {'x'.join(map(str, given))}")
    return tuple(given)


def _source(target: str) -> tuple[str, dict, int | None, dict | None, str]:
    """(model name, options, num_classes, data_config, label) from a model name, a run folder or a weights file."""
    from trainlab.models.weights import TORCH_SUFFIXES, load_weights, read_metadata

    path = Path(target)
    if path.is_dir():
        from trainlab.artifacts.run import RunRecord

        if not RunRecord.exists_in(path):
            raise TrainlabError(f"{path} is a folder without run.json: give a model name or a run folder written by 'trainlab train'")
        run = RunRecord.read(path)
        if not run.model:
            raise TrainlabError(f"{RunRecord.path_in(path)}: field 'model' is not set yet (the run has not built its "
                                "model); give a model name instead")
        return run.model, dict(run.model_options), run.num_classes, run.data_config, f"run {path}"
    if path.is_file() and path.suffix.lower() in TORCH_SUFFIXES:
        load_weights(path)  # an unsafe or damaged file is named as such
        raise TrainlabError(f"{path} is a PyTorch state dict without the model's name; give the model name (e.g. timm:resnet18) instead")
    if path.suffix == ".safetensors" and path.is_file():
        meta = read_metadata(path)
        if not meta.get("model"):
            raise TrainlabError(f"{path} has no trainlab metadata (model name); summarise a model name instead")
        return meta["model"], dict(meta.get("model_options") or {}), meta.get("num_classes"), meta.get("data_config"), str(path)
    if path.is_file():
        raise TrainlabError(f"{path} is a file but not a weights file (.safetensors, {', '.join(TORCH_SUFFIXES)}) or a run folder")
    if "/" in target or target.endswith((".safetensors", ".json", *TORCH_SUFFIXES)):
        raise TrainlabError(f"{target} does not exist: give a model name (seed_cnn, sine_lstm, timm:<name>), a run folder or a weights file")
    return target, {}, None, None, target


def summarize_target(target: str, *, input_shape: str | None = None, num_classes: int | None = None,
                out: str | Path | None = None, options: dict | None = None) -> ModelSummary:
    """The summary of a model name, run folder or weights file (``trainlab summary``); with ``out`` also
    written as CSV, markdown and JSON. Returns the :class:`ModelSummary` (its ``to_text()`` is the table)."""
    from trainlab.models.factory import build_from_spec, default_num_classes, get_builder, model_options
    from trainlab.models.registry import TIMM_PREFIX

    name, opts, run_classes, data_config, label = _source(str(target))
    get_builder(name)  # an unknown name fails here, before anything else is said
    opts.update(options or {})
    if num_classes is None:
        num_classes = run_classes or default_num_classes(name)
    if num_classes is None and name.startswith(TIMM_PREFIX):
        import timm

        cfg = timm.models.get_pretrained_cfg(name[len(TIMM_PREFIX):], allow_unregistered=True)
        num_classes = int(getattr(cfg, "num_classes", None) or 1000)
        log.info("--classes not given: using %d (the head of the model's pretrained config)", num_classes)
    if num_classes is None:
        raise TrainlabError(f"give --classes for '{name}'")
    if num_classes < 1:
        raise TrainlabError(f"--classes must be at least 1; got {num_classes}")

    def spec() -> dict:
        return {"model": name, "model_options": opts, "num_classes": num_classes}

    shape = None
    if input_shape is not None:
        given = parse_shape(input_shape)
        default = tuple((data_config or {}).get("input_size") or build_from_spec(spec(), where=label).data_config["input_size"])
        shape = _resolve_input(name, given, default)
        if len(shape) == 3:  # image models are built for their input size (seed_cnn's Dense layer depends on it)
            allowed = model_options(name)
            if "input_size" in allowed:
                opts["input_size"] = [shape[1], shape[2]]
            if shape[0] != default[0]:
                if "in_chans" not in allowed:
                    raise TrainlabError(f"'{name}' takes {default[0]}-channel input here; got {shape[0]} channels")
                opts["in_chans"] = shape[0]
    elif data_config and data_config.get("input_size"):
        shape = tuple(data_config["input_size"])
    model = build_from_spec(spec(), where=label)  # counts need no weights: the spec's weight sources are dropped
    result = summarize(model, shape, name=name if label == name else f"{name} ({label})")
    if out is not None:
        paths = result.export(out)
        log.info("wrote %s", ", ".join(str(p) for p in paths))
    return result
