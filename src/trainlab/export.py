"""``trainlab export``: a run's model as ONNX or TorchScript, with its preprocessing inside and beside it.

The exported graph takes what :func:`trainlab.data.images.decode_image` gives for the run's image size and
resize policy: ``uint8`` pixels, shape ``(N, H, W, 3)``, RGB. It scales them with the model's own mean and
std, runs the network and returns class probabilities ``(N, K)``, so a deployment cannot get the scaling
wrong (the coursework's EfficientNet lost 22 points to a double rescale). The same facts travel as metadata
(``trainlab.json``: classes, image size, resize policy, mean, std, input and output contract, the run and
checkpoint it came from): ONNX ``metadata_props`` and a TorchScript extra file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from trainlab._version import __version__
from trainlab.errors import TrainlabError
from trainlab.utils.log import get_logger

log = get_logger("trainlab.export")

FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
METADATA_FILE = "trainlab.json"


def _deployable(model, mean, std):
    """The network behind its preprocessing and a softmax: uint8 NHWC in, probabilities out."""
    import torch

    class Deployable(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = model
            mean_t = torch.as_tensor(mean, dtype=torch.float32).reshape(1, -1, 1, 1)
            std_t = torch.as_tensor(std, dtype=torch.float32).reshape(1, -1, 1, 1)
            # (x / 255 - mean) / std in one multiply-add, as trainlab.data.loader.Normalize does
            self.register_buffer("scale", 1.0 / (255.0 * std_t))
            self.register_buffer("shift", mean_t / std_t)

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            x = images.permute(0, 3, 1, 2).float() * self.scale - self.shift
            return torch.softmax(self.net(x).float(), dim=-1)

    return Deployable().eval()


@dataclass(frozen=True)
class Exported:
    path: Path
    format: str
    metadata: dict

    def summary(self) -> str:
        h, w = self.metadata["image_size"]
        return (f"{self.format} model -> {self.path} (input uint8 N x {h} x {w} x 3 RGB, "
                f"output probabilities over {len(self.metadata['classes'])} classes)")


def export_run(run: str | Path, *, fmt: str = "onnx", out: str | Path | None = None, checkpoint: str = "best") -> Exported:
    """Export a run's checkpoint; returns where it went and the metadata embedded."""
    import torch

    from trainlab.training.predict import load_run_model

    if fmt not in FORMATS:
        raise TrainlabError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
    model, meta, data_config, _ = load_run_model(run, checkpoint, device="cpu")
    metadata = {  # the deployment's contract: the run's DataConfig, spelled for a reader without trainlab
        "trainlab_version": __version__, "run": str(Path(run).resolve()), "checkpoint": checkpoint,
        "model": meta.get("model"), "classes": [str(c) for c in meta["classes"]], "target": meta.get("target"),
        "image_size": list(data_config.size), "resize": data_config.resize,
        "mean": list(data_config.mean), "std": list(data_config.std),
        "input": "uint8 (N, H, W, 3) RGB pixels, decoded and resized as 'resize' says",
        "output": "float32 (N, K) class probabilities in the order of 'classes'",
    }
    wrapped = _deployable(model, metadata["mean"], metadata["std"])
    h, w = metadata["image_size"]
    example = torch.zeros(2, h, w, 3, dtype=torch.uint8)
    target = Path(out) if out is not None else Path(run) / "export" / f"model{FORMATS[fmt]}"
    target.parent.mkdir(parents=True, exist_ok=True)
    from trainlab.utils.io import atomic_path

    with atomic_path(target) as tmp, torch.no_grad():
        if fmt == "onnx":
            _write_onnx(wrapped, example, tmp, metadata)
        else:
            import warnings

            with warnings.catch_warnings():  # PyTorch marks TorchScript deprecated; it is asked for, and still loads
                warnings.simplefilter("ignore", FutureWarning)
                traced = torch.jit.trace(wrapped, example, check_trace=False)
                torch.jit.save(traced, str(tmp), _extra_files={METADATA_FILE: json.dumps(metadata)})
    return Exported(target, fmt, metadata)


def _write_onnx(wrapped, example, path: Path, metadata: dict) -> None:
    import torch

    try:
        import onnx
    except ImportError:
        raise TrainlabError("ONNX export needs the onnx package: pip install 'trainlab[export]'") from None
    program = torch.onnx.export(
        wrapped, (example,), input_names=["images"], output_names=["probabilities"], dynamo=True,
        dynamic_shapes={"images": {0: torch.export.Dim("batch", min=1)}}, external_data=False, verbose=False,
    )
    program.save(str(path), external_data=False)
    graph = onnx.load(str(path))
    for key, value in metadata.items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, value if isinstance(value, str) else json.dumps(value)
    entry = graph.metadata_props.add()
    entry.key, entry.value = METADATA_FILE, json.dumps(metadata)
    onnx.save(graph, str(path))


def read_metadata(path: str | Path) -> dict:
    """The trainlab metadata of an exported file (ONNX or TorchScript)."""
    path = Path(path)
    if path.suffix == ".onnx":
        import onnx

        props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        if METADATA_FILE not in props:
            raise TrainlabError(f"{path}: no trainlab metadata; it was not written by trainlab export")
        return json.loads(props[METADATA_FILE])
    import torch

    extra = {METADATA_FILE: ""}
    torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    if not extra[METADATA_FILE]:
        raise TrainlabError(f"{path}: no trainlab metadata; it was not written by trainlab export")
    return json.loads(extra[METADATA_FILE])
