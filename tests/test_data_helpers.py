"""Small datasets the data-layer tests write for themselves (no test functions here)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def solid(path: Path, colour=None, size=(12, 10), fmt=None) -> Path:
    """A small solid-colour image (size = (W, H)); format from the suffix unless given.

    The default colour is derived from the path, so two files are not byte-identical copies (which
    the dataset checks report when they sit in different splits).
    """
    if colour is None:
        code = zlib.crc32(str(path).encode())
        colour = (code & 255, (code >> 8) & 255, (code >> 16) & 255)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, format=fmt)
    return path


def pattern(path: Path, seed: int, size=(40, 30)) -> Path:
    """A small random image with structure (smooth noise), as PNG: lossless, so pixels are exact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    Image.fromarray(coarse).resize(size, Image.Resampling.BILINEAR).save(path)
    return path


def truncated_jpeg(path: Path) -> Path:
    """A JPEG cut in half: the header reads, the pixel data does not."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)).save(path, format="JPEG", quality=90)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def png16_rgb(path: Path, rgb16: tuple[int, int, int], size=(6, 4)) -> Path:
    """A 16-bit-per-channel RGB PNG written by hand (Pillow cannot write one)."""
    w, h = size
    row = b"\x00" + struct.pack(">HHH", *rgb16) * w
    raw = row * h

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return path


def ip102(root: Path, layout: str = "official", *, classes_txt: bool = True, per_split=None) -> Path:
    """An IP102-layout dataset: 3 classes; train 3 images per class, val and test 1 per class.

    classes.txt is written as the official release writes it: CRLF line ends and trailing tabs.
    """
    per_split = per_split or {"train": 3, "val": 1, "test": 1}
    root.mkdir(parents=True, exist_ok=True)
    index = 0
    for split, n in per_split.items():
        lines = []
        for label in range(3):
            for _ in range(n):
                name = f"{index:05d}.jpg"
                where = root / "images" / name if layout == "official" else root / "classification" / split / str(label) / name
                solid(where, colour=(60 * label + 40, 100 + index % 150, 200 - 50 * label))  # distinct files
                lines.append(f"{name} {label}\n")
                index += 1
        (root / f"{split}.txt").write_text("".join(lines))
    if classes_txt:
        (root / "classes.txt").write_bytes(b"1  rice leaf roller \t\t\t\r\n2  paddy stem maggot\t\t\r\n3  Cicadellidae\t\t\t\t\t\r\n")
    return root


def fairface(root: Path, *, val: bool = True, damaged_ages: int = 0, per_group: int = 6) -> Path:
    """A FairFace-layout dataset: train_labels.csv (+ val_labels.csv), 3 race groups, balanced gender."""
    root.mkdir(parents=True, exist_ok=True)
    ages = ["3-9", "10-19", "20-29", "30-39"]
    for split, csv_name in (("train", "train_labels.csv"), ("val", "val_labels.csv")):
        if split == "val" and not val:
            continue
        rows = ["file,age,gender,race,service_test"]
        k = 0
        for race in ("Black", "East Asian", "White"):
            for i in range(per_group if split == "train" else 2):
                k += 1
                gender = "Male" if i % 2 else "Female"
                age = ages[k % len(ages)]
                rows.append(f"{split}/{k}.jpg,{age},{gender},{race},{'True' if k % 3 else 'False'}")
                solid(root / split / f"{k}.jpg", colour=(20 * k % 255, 90 if split == "train" else 140, 150))  # distinct files
        if split == "train" and damaged_ages:
            damaged = {"3-9": "03-Sep", "10-19": "Oct-19"}
            n = 0
            for j, line in enumerate(rows[1:], 1):
                age = line.split(",")[1]
                if age in damaged and n < damaged_ages:
                    rows[j] = line.replace(f",{age},", f",{damaged[age]},", 1)
                    n += 1
        (root / csv_name).write_text("\n".join(rows) + "\n")
    return root
