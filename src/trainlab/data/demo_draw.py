"""Visual primitives shared by both demo datasets: smooth colour fields, textures (stripes, dots,
checks), shapes (disc, ellipse, polygon, star, cross, ring) and sensor noise.

The insect-like and face-like demo images are drawn from the same primitives, so features a network
learns on one (edges, stripes, blobs of colour on a textured ground) transfer to the other.
All randomness comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np
from PIL import Image, ImageDraw

SUPER = 2  # shapes are drawn at 2× and downsampled: anti-aliased edges


def hsv(h: float, s: float, v: float) -> np.ndarray:
    """A colour from hue (0..1, wraps), saturation and value as float RGB 0..255."""
    return np.array(colorsys.hsv_to_rgb(h % 1.0, float(np.clip(s, 0, 1)), float(np.clip(v, 0, 1)))) * 255.0


def colour_field(rng: np.random.Generator, n: int, base: np.ndarray, spread: float = 40.0, cells: int = 4) -> np.ndarray:
    """A smooth random colour field (n, n, 3) around ``base``: coarse noise, bilinearly upsampled."""
    coarse = base + rng.normal(0, spread, size=(cells, cells, 3))
    img = Image.fromarray(np.clip(coarse, 0, 255).astype(np.uint8), "RGB").resize((n, n), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.float32)


def texture(rng: np.random.Generator, n: int, kind: str, a: np.ndarray, b: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """An (n, n, 3) float texture mixing colours ``a`` and ``b``: plain, stripes, dots or checks."""
    if kind == "plain":
        return np.broadcast_to(a, (n, n, 3)).astype(np.float32).copy()
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / n
    angle = rng.uniform(0, math.pi)
    freq = rng.uniform(5, 8) / scale
    if kind == "stripes":
        t = 0.5 + 0.5 * np.sin(2 * math.pi * freq * (xx * math.cos(angle) + yy * math.sin(angle)) + rng.uniform(0, 6.3))
        t = (t > 0.5).astype(np.float32)
    elif kind == "checks":
        u = xx * math.cos(angle) + yy * math.sin(angle)
        v = -xx * math.sin(angle) + yy * math.cos(angle)
        t = ((np.floor(u * freq) + np.floor(v * freq)) % 2).astype(np.float32)
    elif kind == "dots":
        u = (xx * freq * 1.2 + rng.uniform()) % 1 - 0.5
        v = (yy * freq * 1.2 + rng.uniform()) % 1 - 0.5
        t = (u * u + v * v < 0.07).astype(np.float32)
    else:
        raise ValueError(kind)
    return (a * (1 - t[..., None]) + b * t[..., None]).astype(np.float32)


def shape_mask(n: int, kind: str, cx: float, cy: float, r: float, angle: float, aspect: float = 1.0) -> np.ndarray:
    """A soft-edged (n, n) float mask in 0..1 of a shape centred at (cx, cy) with radius r (pixels)."""
    m = Image.new("L", (n * SUPER, n * SUPER), 0)
    d = ImageDraw.Draw(m)
    s = SUPER
    cx, cy, r = cx * s, cy * s, r * s

    def poly(points):
        ca, sa = math.cos(angle), math.sin(angle)
        return [(cx + x * ca - y * sa, cy + x * sa + y * ca) for x, y in points]

    if kind in ("disc", "ellipse"):
        k = 64
        pts = [(r * math.cos(2 * math.pi * i / k), r * aspect * math.sin(2 * math.pi * i / k)) for i in range(k)]
        d.polygon(poly(pts), fill=255)
    elif kind == "ring":
        k = 64
        d.polygon(poly([(r * math.cos(2 * math.pi * i / k), r * math.sin(2 * math.pi * i / k)) for i in range(k)]), fill=255)
        d.polygon(poly([(0.55 * r * math.cos(2 * math.pi * i / k), 0.55 * r * math.sin(2 * math.pi * i / k)) for i in range(k)]), fill=0)
    elif kind in ("triangle", "square", "hexagon"):
        k = {"triangle": 3, "square": 4, "hexagon": 6}[kind]
        d.polygon(poly([(r * math.cos(2 * math.pi * i / k), r * math.sin(2 * math.pi * i / k)) for i in range(k)]), fill=255)
    elif kind == "star":
        pts = [((r if i % 2 == 0 else 0.42 * r) * math.cos(math.pi * i / 5), (r if i % 2 == 0 else 0.42 * r) * math.sin(math.pi * i / 5))
               for i in range(10)]
        d.polygon(poly(pts), fill=255)
    elif kind == "cross":
        w = 0.32 * r
        d.polygon(poly([(-r, -w), (r, -w), (r, w), (-r, w)]), fill=255)
        d.polygon(poly([(-w, -r), (w, -r), (w, r), (-w, r)]), fill=255)
    else:
        raise ValueError(kind)
    return np.asarray(m.resize((n, n), Image.Resampling.BOX), dtype=np.float32) / 255.0


def paint(canvas: np.ndarray, mask: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """Composite ``fill`` (n, n, 3 or a colour) through ``mask`` onto ``canvas``, in place."""
    canvas *= 1 - mask[..., None]
    canvas += mask[..., None] * fill
    return canvas


def finish(rng: np.random.Generator, canvas: np.ndarray, noise: float, contrast: float = 1.0) -> Image.Image:
    """Contrast around the mean, Gaussian sensor noise, clip to 8 bits."""
    mean = canvas.mean(axis=(0, 1), keepdims=True)
    out = mean + (canvas - mean) * contrast + rng.normal(0, noise, size=canvas.shape)
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), "RGB")
