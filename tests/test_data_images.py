"""decode_image: modes, EXIF orientation, resize policies, JPEG draft, bad files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps
from test_data_helpers import png16_rgb, solid, truncated_jpeg

from trainlab.data.images import BadImageError, decode_image
from trainlab.errors import TrainlabError


def test_rgb_png_stretch_shape_dtype_and_colour(tmp_path):
    p = solid(tmp_path / "a.png", (10, 200, 30), size=(50, 20))
    out = decode_image(p, (16, 24))
    assert out.shape == (16, 24, 3) and out.dtype == np.uint8
    assert (out == [10, 200, 30]).all()


def test_grayscale_becomes_three_equal_channels(tmp_path):
    p = tmp_path / "g.png"
    Image.new("L", (8, 8), 77).save(p)
    assert (decode_image(p, (4, 4)) == 77).all()


def test_palette_colours_are_looked_up(tmp_path):
    p = tmp_path / "p.png"
    im = Image.new("P", (8, 8), 1)
    im.putpalette([0, 0, 0, 12, 34, 56] + [0] * 762)
    im.save(p)
    assert (decode_image(p, (4, 4)) == [12, 34, 56]).all()


def test_palette_transparency_is_white(tmp_path):
    p = tmp_path / "pt.png"
    im = Image.new("P", (8, 8), 0)
    im.putpalette([255, 0, 0] * 256)
    im.info["transparency"] = 0
    im.save(p, transparency=0)
    assert (decode_image(p, (4, 4)) == 255).all()  # a fully transparent red image shows the white ground


def test_rgba_is_composited_onto_white(tmp_path):
    p = tmp_path / "rgba.png"
    a = np.zeros((8, 12, 4), np.uint8)
    a[:, :4] = [0, 0, 255, 255]  # opaque blue
    a[:, 4:8] = [255, 0, 0, 0]  # fully transparent red: shows white
    a[:, 8:] = [0, 0, 0, 128]  # half-transparent black over white: grey ≈ 255·(1 − 128/255)
    Image.fromarray(a, "RGBA").save(p)
    out = decode_image(p, (8, 12)).astype(int)
    assert (out[:, :4] == [0, 0, 255]).all()
    assert (out[:, 4:8] == 255).all()
    assert np.abs(out[:, 8:] - 255 * (1 - 128 / 255)).max() <= 1


def test_la_grayscale_with_alpha(tmp_path):
    p = tmp_path / "la.png"
    Image.new("LA", (6, 6), (0, 0)).save(p)  # black, fully transparent
    assert (decode_image(p, (3, 3)) == 255).all()


def test_cmyk_jpeg_to_rgb(tmp_path):
    p = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(p, quality=95)  # pure red in CMYK
    assert Image.open(p).mode == "CMYK"
    out = decode_image(p, (8, 8)).astype(int)
    assert np.abs(out - [255, 0, 0]).max() <= 12


def test_16_bit_grayscale_png_keeps_the_high_byte(tmp_path):
    p = tmp_path / "g16.png"
    Image.fromarray(np.full((6, 6), 40000, np.uint16)).save(p)
    assert Image.open(p).mode.startswith("I")
    assert (decode_image(p, (3, 3)) == 40000 >> 8).all()  # not clipped to 255 (the naive convert("L") result)


def test_16_bit_rgb_png(tmp_path):
    p = png16_rgb(tmp_path / "rgb16.png", (40000, 10000, 65535))
    assert (decode_image(p, (2, 3)) == [40000 >> 8, 10000 >> 8, 255]).all()


# EXIF orientation: the stored pixels are the displayed picture transformed by the inverse of what
# the tag asks a viewer to do (EXIF 2.3, tag 0x0112). Displayed picture: 60 tall, 40 wide, a red
# top-left quadrant, a green top-right one, the lower half blue.
STORE = {  # orientation → how to turn the displayed picture into the stored one
    1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270,
}


def _displayed() -> Image.Image:
    a = np.zeros((60, 40, 3), np.uint8)
    a[:30, :20] = [255, 0, 0]
    a[:30, 20:] = [0, 255, 0]
    a[30:] = [0, 0, 255]
    return Image.fromarray(a)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_shows_the_picture_upright(tmp_path, orientation):
    stored = _displayed()
    if STORE[orientation] is not None:
        stored = stored.transpose(STORE[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    p = tmp_path / f"o{orientation}.jpg"
    stored.save(p, quality=95, exif=exif.tobytes())
    out = decode_image(p, (30, 20)).astype(int)
    assert out.shape == (30, 20, 3)
    assert np.abs(out[4, 4] - [255, 0, 0]).max() < 40  # red top-left
    assert np.abs(out[4, 15] - [0, 255, 0]).max() < 40  # green top-right
    assert np.abs(out[25, 10] - [0, 0, 255]).max() < 40  # blue bottom
    # and it agrees with Pillow's own exif_transpose followed by a plain resize
    with Image.open(p) as im:
        ref = np.asarray(ImageOps.exif_transpose(im).convert("RGB").resize((20, 30), Image.Resampling.BILINEAR)).astype(int)
    assert np.abs(out - ref).mean() < 4


def test_shorter_side_crops_the_centre_and_stretch_keeps_everything(tmp_path):
    a = np.zeros((100, 300, 3), np.uint8)
    a[:, :100] = [255, 0, 0]
    a[:, 100:200] = [0, 255, 0]
    a[:, 200:] = [0, 0, 255]
    p = tmp_path / "wide.png"
    Image.fromarray(a).save(p)
    crop = decode_image(p, (50, 50), "shorter-side")
    assert (crop[:, 2:-2] == [0, 255, 0]).all()  # only the middle third survives the centre crop
    stretch = decode_image(p, (50, 50), "stretch")
    assert (stretch[:, 2] == [255, 0, 0]).all() and (stretch[:, -3] == [0, 0, 255]).all()


def test_shorter_side_on_a_tall_image_keeps_the_aspect(tmp_path):
    a = np.zeros((300, 100, 3), np.uint8)
    a[:100] = 10
    a[100:200] = 120
    a[200:] = 250
    p = tmp_path / "tall.png"
    Image.fromarray(a).save(p)
    out = decode_image(p, (20, 40), "shorter-side")  # wider target: the crop is 100 wide, 50 tall, centred
    assert out.shape == (20, 40, 3)
    assert (out[1:-1] == 120).all()


def test_jpeg_draft_decode_is_close_to_a_full_decode(tmp_path):
    rng = np.random.default_rng(1)
    coarse = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    big = Image.fromarray(coarse).resize((480, 480), Image.Resampling.BICUBIC)
    p = tmp_path / "big.jpg"
    big.save(p, quality=95)
    with Image.open(p) as im:
        im.draft("RGB", (60, 60))
        assert im.size == (60, 60)  # libjpeg decodes at 1/8 scale: the draft path is real for this file
    full = np.asarray(Image.open(p).convert("RGB").resize((60, 60), Image.Resampling.BILINEAR), dtype=int)
    assert np.abs(decode_image(p, (60, 60)).astype(int) - full).mean() < 3


def test_bad_files_name_the_file_and_the_reason(tmp_path):
    cases = {
        truncated_jpeg(tmp_path / "cut.jpg"): "truncated",
        tmp_path / "missing.jpg": "not found",
    }
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a picture")
    cases[text] = "not an image"
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    cases[empty] = "empty file"
    for path, reason in cases.items():
        with pytest.raises(BadImageError) as exc:
            decode_image(path, (8, 8))
        assert str(path) in str(exc.value) and reason in str(exc.value)
        assert isinstance(exc.value, TrainlabError) and exc.value.path == str(path)


def test_bad_size_and_policy_are_errors(tmp_path):
    p = solid(tmp_path / "a.png")
    with pytest.raises(TrainlabError, match="positive"):
        decode_image(p, (0, 4))
    with pytest.raises(TrainlabError, match="unknown resize policy 'crop'"):
        decode_image(p, (4, 4), "crop")


@pytest.mark.parametrize("fmt", ["png", "tiff", "pgm"])
def test_dark_16_bit_image_stays_dark(tmp_path, fmt):
    # Every value ≤ 255: still 16-bit data (the file says so), so 200 keeps its high byte, 0, not 200.
    p = tmp_path / f"dark.{fmt}"
    values = np.full((6, 6), 200, np.uint16)
    values[0, 0] = 255
    if fmt == "pgm":  # Pillow cannot write a 16-bit PGM: P5 with maxval 65535, big-endian samples
        p.write_bytes(b"P5 6 6 65535\n" + values.astype(">u2").tobytes())
    else:
        Image.fromarray(values).save(p)
    assert Image.open(p).mode.startswith("I")
    assert (decode_image(p, (3, 3)) == 0).all()
    bright = np.full((6, 6), 51400, np.uint16)  # 51400 >> 8 = 200
    Image.fromarray(bright).save(tmp_path / "bright.png")
    assert (decode_image(tmp_path / "bright.png", (3, 3)) == 200).all()


def test_dark_16_bit_rgb_png_stays_dark(tmp_path):
    p = png16_rgb(tmp_path / "dark_rgb16.png", (200, 100, 255))
    assert (decode_image(p, (2, 3)) == 0).all()
