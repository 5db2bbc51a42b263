"""Saliency at the edge: Grad-CAM overlays of a run's model, for the class the model predicts.

This is the one judge that needs the model (evaluate, audit and the galleries read only the predictions table),
so it lives here, loads the run's checkpoint through :func:`trainlab.training.predict.load_run_model`, and is
imported only by the ``trainlab gallery`` verb. Grad-CAM itself is captum's ``LayerGradCam`` (with ReLU on the
map, as in Selvaraju et al. 2017) on the model's last ``Conv2d`` layer, upsampled bilinearly to the model's input
size with captum's ``LayerAttribution.interpolate``. Hand-written here: choosing the layer, scaling each map to
[0, 1] (a map that is zero everywhere stays zero: no evidence for the class), and blending it over the image.

Each image goes through the run's own decode, resize and normalisation (as ``trainlab predict`` does), so the
overlay has the size the model saw, the run's data config ``size`` (H × W).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trainlab.errors import TrainlabError

ALPHA = 0.5  # weight of the heat map in the blend


@dataclass
class Overlays:
    method: str
    layer: str
    checkpoint: str
    classes: list[int]  # the class each map is computed for (the predicted class)
    cams: list[np.ndarray]  # (H, W) float32 maps in [0, 1]
    images: list[np.ndarray]  # (H, W, 3) uint8 overlays
    files: list[str] = field(default_factory=list)

    def thumbnails(self, size: int) -> list[np.ndarray]:
        from PIL import Image

        return [np.asarray(Image.fromarray(img).resize((size, size), Image.Resampling.BILINEAR)) for img in self.images]


def unavailable(run: str | Path) -> str | None:
    """Why no overlays can be made for ``run`` (a folder, or a predictions file), or None when they can."""
    run = Path(run)
    if not run.is_dir():
        return f"{run} is a predictions file, not a run folder (saliency needs the run's model)"
    try:
        import captum  # noqa: F401
    except ImportError as exc:
        return f"the saliency extra is not installed ({exc}); pip install 'trainlab[saliency]'"
    from trainlab.training.checkpoint import resolve

    for name in ("best", "last"):
        try:
            resolve(run / "checkpoints" / name)
            return None
        except TrainlabError:
            pass
    return f"{run} has no checkpoint (checkpoints/best or last; saliency needs the run's model)"


def last_conv(model) -> tuple[str, object]:
    import torch

    convs = [(name, m) for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    if not convs:
        raise TrainlabError(f"{type(model).__name__} has no Conv2d layer; Grad-CAM needs a convolutional feature map")
    return convs[-1]


def grad_cam(model, images: np.ndarray, data_config, *, classes=None, layer=None,
             batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM maps of uint8 NHWC ``images`` (decoded at the run's size) for ``classes``, normalised with the
    run's ``data_config`` (:class:`trainlab.data.dataconfig.DataConfig`).

    ``classes`` defaults to the predicted classes. Returns ``(maps (N, H, W) in [0, 1], classes (N,))``.
    """
    import torch
    from captum.attr import LayerAttribution, LayerGradCam

    from trainlab.data.loader import Normalize

    if layer is None:
        layer = last_conv(model)[1]
    device = next(model.parameters()).device
    norm = Normalize(data_config.mean, data_config.std)
    cam = LayerGradCam(model, layer)
    maps, targets = [], []
    for start in range(0, len(images), batch_size):
        x = norm(torch.from_numpy(np.array(images[start : start + batch_size])).to(device))
        if classes is None:
            with torch.no_grad():
                target = model(x).argmax(1)
        else:
            target = torch.as_tensor(np.asarray(classes[start : start + batch_size]), device=device, dtype=torch.long)
        attr = cam.attribute(x, target=target, relu_attributions=True)
        up = LayerAttribution.interpolate(attr, tuple(x.shape[-2:]), interpolate_mode="bilinear")[:, 0]
        top = up.flatten(1).amax(1).clamp_min(1e-12)[:, None, None]
        maps.append((up / top).clamp(0, 1).detach().float().cpu().numpy())
        targets.append(target.cpu().numpy())
    return np.concatenate(maps), np.concatenate(targets)


def blend(image: np.ndarray, cam: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """``image`` (H, W, 3) uint8 with ``cam`` (H, W) in [0, 1] drawn over it in the 'jet' colour map."""
    from matplotlib import colormaps

    heat = colormaps["jet"](cam)[..., :3]
    weight = alpha * cam[..., None]  # no evidence leaves the image as it is
    return np.clip(image * (1 - weight) + 255 * heat * weight, 0, 255).astype(np.uint8)


def overlays_for_run(run: str | Path, paths: list[Path], predicted: list[str], out: str | Path, *,
                     checkpoint: str = "best", device: str = "auto") -> Overlays:
    """Grad-CAM overlays of each image file for its predicted class (a class name, as in the predictions
    table's ``y_pred``), written as ``out/<k>.png`` in order."""
    from PIL import Image

    from trainlab.data.images import decode_image
    from trainlab.training.predict import load_run_model
    from trainlab.utils.io import atomic_path

    model, meta, data_config, _ = load_run_model(run, checkpoint, device)
    size = tuple(data_config.size)
    images = np.stack([decode_image(p, size, data_config.resize) for p in paths]) if paths else np.zeros((0, *size, 3), np.uint8)
    known = {str(c): k for k, c in enumerate(meta["classes"])}
    unknown = sorted(set(map(str, predicted)) - set(known))
    if unknown:
        raise TrainlabError(f"{run}: the model of checkpoint '{checkpoint}' has no class {unknown[:3]}; "
                            "are these predictions from another run?")
    name, layer = last_conv(model)
    wanted = [known[str(c)] for c in predicted]
    cams, classes = grad_cam(model, images, data_config, classes=wanted, layer=layer) if len(images) else (np.zeros((0, *size)), np.zeros(0, int))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = Overlays(method="Grad-CAM (captum LayerGradCam)", layer=name, checkpoint=checkpoint,
                      classes=[int(c) for c in classes], cams=list(cams),
                      images=[blend(img, cam) for img, cam in zip(images, cams)])
    for k, img in enumerate(result.images):
        with atomic_path(out / f"{k:03d}.png") as tmp:
            Image.fromarray(img).save(tmp, format="PNG")
        result.files.append(f"{k:03d}.png")
    return result
