"""The one decode-and-resize path: file → (H, W, 3) uint8 RGB array.

Every image trainlab looks at goes through :func:`decode_image`: the image cache, ``trainlab
predict`` and the dataset inspection. Cached pixels therefore equal a direct decode of the same file.

What it does, in order:

1. Open the file (header only) and read its EXIF orientation.
2. JPEG only: ask libjpeg for a DCT-domain downscale (``draft``, 1/2, 1/4 or 1/8) that still
   leaves at least the pixels the resize needs. Decoding a 224 px FairFace JPEG for a 100 px
   target decodes 112 px instead: about 3× less work, at no visible cost.
3. Convert to 8-bit RGB (see :func:`to_rgb`): grayscale and palette are expanded; RGBA, LA and
   palette images with transparency are composited onto **white** (``BACKGROUND``); CMYK is
   converted by Pillow; 16-bit images keep their 8 most significant bits (decided by the mode and
   header, never the values: a dark 16-bit image stays dark).
4. Resize with Pillow's antialiased bilinear (triangle) filter, as torchvision's ``Resize`` does by
   default; when a non-JPEG shrinks by more than 3× Pillow first box-reduces by an integer factor
   (``reducing_gap=3``, visually indistinguishable and much faster on large PNGs). ``policy="stretch"`` maps the whole image to
   H×W (the coursework's ``target_size``, aspect not kept); ``policy="shorter-side"`` takes the
   largest centred region with the target's aspect ratio (the shorter side resized to fit, the
   longer one centre-cropped), done in one resize through Pillow's ``box`` argument.
5. Apply the EXIF orientation to the small result (rotating 100×100 pixels instead of the full image).

A file that cannot be decoded (missing, empty, truncated, not an image) raises
:class:`BadImageError`, a :class:`~trainlab.errors.TrainlabError` that names the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from trainlab.data.dataconfig import INTERPOLATION, check_resize, parse_hw
from trainlab.errors import TrainlabError

#: colour that transparent pixels are composited onto (RGBA, LA, palette with transparency)
BACKGROUND = (255, 255, 255)
#: the resize filter (antialiased: Pillow widens the kernel when shrinking). Bilinear, as torchvision's
#: Resize default: after the JPEG draft the image is within 2× of the target, where bicubic only costs time.
RESAMPLE = Image.Resampling[INTERPOLATION.upper()]
REDUCING_GAP = 3.0
#: bump when the pixels decode_image returns change (part of every image-cache key)
DECODE_VERSION = 2  # 2: 16-bit images scaled by their bit depth, not by their largest value
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".jfif"}
)

_ORIENTATION_TAG = 0x0112
# EXIF orientation → the transpose that shows the image upright (as PIL.ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class BadImageError(TrainlabError):
    """An image file that cannot be decoded. ``.path`` and ``.reason`` say which and why."""

    def __init__(self, path, reason: str, origin: str | None = None):
        self.path = str(path)
        self.reason = reason
        self.origin = origin
        where = f"{self.path} (listed at {origin})" if origin else self.path
        super().__init__(
            f"cannot read image {where}: {reason}. Replace or remove the file, "
            "or pass --on-bad-image skip (on_bad_image='skip') to leave it out, counted and listed"
        )


def decode_image(path: str | os.PathLike, size=(100, 100), policy: str = "stretch") -> np.ndarray:
    """Decode ``path`` and resize it to ``size = (H, W)``; return an (H, W, 3) uint8 RGB array.

    ``policy``: ``"stretch"`` (whole image to H×W) or ``"shorter-side"`` (centred crop of the
    largest region with aspect W:H, resized to H×W). See the module docstring for the details.
    """
    h, w = parse_hw(size)
    check_resize(policy)
    try:
        with Image.open(path) as im:
            orientation = _orientation(im)
            turned = orientation in (5, 6, 7, 8)  # stored sideways: width and height swap on display
            th, tw = (w, h) if turned else (h, w)  # target in the file's own orientation
            sw, sh = im.size
            if policy == "stretch":
                need = (tw, th)
            else:
                scale = max(tw / sw, th / sh)
                need = (max(1, int(np.ceil(sw * scale))), max(1, int(np.ceil(sh * scale))))
            if im.format == "JPEG" and im.mode in ("RGB", "L", "CMYK"):
                im.draft(im.mode, need)  # DCT-domain downscale: decodes at most what the resize needs
            im.load()
            rgb = to_rgb(im)
    except FileNotFoundError:
        raise BadImageError(path, "file not found") from None
    except UnidentifiedImageError:
        reason = "empty file (0 bytes)" if _is_empty(path) else "not an image file Pillow can read"
        raise BadImageError(path, reason) from None
    except Image.DecompressionBombError as exc:
        raise BadImageError(path, f"image too large ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow reports truncated and corrupt data as OSError ("image file is truncated", "broken data stream")
        raise BadImageError(path, f"corrupt or truncated image data ({exc})") from None

    sw, sh = rgb.size
    if policy == "stretch":
        box = (0.0, 0.0, float(sw), float(sh))
    else:  # the largest centred region with the target's aspect ratio
        crop_w, crop_h = min(sw, sh * tw / th), min(sh, sw * th / tw)
        x0, y0 = (sw - crop_w) / 2, (sh - crop_h) / 2
        box = (x0, y0, x0 + crop_w, y0 + crop_h)
    small = rgb.resize((tw, th), RESAMPLE, box=box, reducing_gap=REDUCING_GAP)
    if orientation in _TRANSPOSE:
        small = small.transpose(_TRANSPOSE[orientation])
    out = np.asarray(small, dtype=np.uint8)
    assert out.shape == (h, w, 3), (out.shape, (h, w))
    return out


def to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode → 8-bit RGB. Transparency is composited onto ``BACKGROUND`` (white)."""
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return Image.fromarray(_to_uint8(np.asarray(im), bit_depth(im)), "L").convert("RGB")
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        mode = im.mode
    elif mode == "L" and "transparency" in im.info:
        im = im.convert("RGBA")
        mode = im.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return im.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV


def bit_depth(im: Image.Image) -> int:
    """Bits per sample of a single-channel integer image, from its mode and file header (never its values).

    ``I;16*`` is 16-bit. Mode ``I`` (32-bit integers in memory) holds what the file declares: TIFF's
    BitsPerSample tag; PNG and PNM readers put 16-bit samples there (Pillow scales a PNM maxval to 16 bits).
    """
    if im.mode.startswith("I;16"):
        return 16
    tags = getattr(im, "tag_v2", None)
    if tags is not None and tags.get(258):  # TIFF BitsPerSample
        return int(max(tags[258]))
    return 16


def _to_uint8(a: np.ndarray, bits: int = 16) -> np.ndarray:
    """Integer pixels of ``bits`` bits per sample → 8 bits, keeping the 8 most significant bits (``v >> (bits - 8)``).

    The depth comes from the image mode and header (:func:`bit_depth`), not from the values: a dark 16-bit
    image whose values are all ≤ 255 stays dark. Float (``F``) data is clipped to 0..255.
    """
    if a.dtype.kind == "f":
        return np.clip(np.nan_to_num(a), 0, 255).astype(np.uint8)
    shift = max(int(bits) - 8, 0)
    return (np.clip(a.astype(np.int64), 0, 2**max(int(bits), 8) - 1) >> shift).astype(np.uint8)


def _orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # a broken EXIF block must not make a good image unreadable
        return 1


def _is_empty(path) -> bool:
    try:
        return Path(path).stat().st_size == 0
    except OSError:
        return False


def image_header(path: str | os.PathLike) -> tuple[int, int, str, str]:
    """(width, height, mode, format) as displayed (EXIF orientation applied), reading only the header."""
    try:
        with Image.open(path) as im:
            w, h = im.size
            if _orientation(im) in (5, 6, 7, 8):
                w, h = h, w
            return w, h, im.mode, str(im.format)
    except FileNotFoundError:
        raise BadImageError(path, "file not found") from None
    except UnidentifiedImageError:
        raise BadImageError(path, "empty file (0 bytes)" if _is_empty(path) else "not an image file Pillow can read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadImageError(path, f"corrupt image header ({exc})") from None
