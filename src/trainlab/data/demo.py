"""Built-in demo datasets: generated, no download, deterministic from the seed.

``make_demo_datasets(out)`` writes two datasets in the real layouts, so the real readers load them:

``ip102-demo/``   IP102 layout (``images/``, ``train.txt``/``val.txt``/``test.txt``, ``classes.txt``):
                  8 classes of "insects", each a shape with its own texture (dotted disc, striped
                  ellipse, plain triangle, checked square, star, striped cross, ring, dotted hexagon),
                  1–2 per image at random place, size and rotation, with distractor blobs, a
                  textured ground and noise. Colour hints at the class but overlaps between classes.
``fairface-demo/`` FairFace CSV layout (``train_labels.csv``, ``val_labels.csv``: ``file,age,gender,race,
                  service_test``; images in ``train/`` and ``val/``). Target ``gender`` (Male/Female),
                  cued by hair length; four synthetic ``race`` groups (face hues Amber, Cobalt, Jade,
                  Violet, deliberately not real groups) and FairFace's age bins.

**The planted disparity.** In group ``Jade`` the gender cue is made weaker on three counts (the
numbers are in :func:`fairface_params` and in ``demo_params.json``): the hair-length distributions of
the two genders overlap (``cue_separation`` 0.25 instead of 1), hair is blended towards the face
colour (``cue_contrast`` 0.35 instead of 1), and sensor noise is tripled. A classifier is therefore
measurably less accurate on Jade faces; a fairness audit should find the gap with a bootstrap
interval that excludes zero. ``disparity=False`` draws every group like the others: no gap.

Both datasets are drawn from the same primitives (:mod:`trainlab.data.demo_draw`), so a backbone
pretrained on one transfers to the other. Each image has its own random stream
(``default_rng([seed, dataset, index])``), so the output does not depend on generation order.
Generating the defaults (about 2,600 images at 64 px) takes a few seconds; a folder that already
holds the same generation (same ``demo_params.json``) is kept as it is, so image caches stay valid.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path

import numpy as np

from trainlab.data import demo_draw as draw
from trainlab.errors import TrainlabError
from trainlab.utils.io import atomic_write_text, write_json
from trainlab.utils.log import get_logger

log = get_logger("trainlab.data")

GENERATOR_VERSION = 1
KINDS = ("all", "ip102", "fairface")

INSECTS = [  # (name, shape, texture, hue)
    ("disc beetle", "disc", "dots", 0.00),
    ("striped moth", "ellipse", "stripes", 0.12),
    ("triangle weevil", "triangle", "plain", 0.25),
    ("checked bug", "square", "checks", 0.37),
    ("star mite", "star", "plain", 0.50),
    ("cross fly", "cross", "stripes", 0.62),
    ("ring borer", "ring", "plain", 0.75),
    ("hex aphid", "hexagon", "dots", 0.87),
]
IP102_PER_CLASS = 120  # the largest class at scale 1; class k has (1 - 0.06 k) of it (a mild long tail)
IP102_SPLIT = {"train": 0.6, "val": 0.15, "test": 0.25}

GROUPS = {"Amber": 0.08, "Cobalt": 0.60, "Jade": 0.36, "Violet": 0.80}  # race group → face hue
HARD_GROUP = "Jade"
NORMAL = {"cue_separation": 1.0, "cue_contrast": 1.0, "noise": 6.0}
HARD = {"cue_separation": 0.25, "cue_contrast": 0.35, "noise": 18.0}
AGE_BINS = {"0-2": 0.02, "3-9": 0.12, "10-19": 0.11, "20-29": 0.28, "30-39": 0.22, "40-49": 0.12,
            "50-59": 0.08, "60-69": 0.04, "more than 70": 0.01}
FAIRFACE_TRAIN_PER_GROUP = 300  # train_labels.csv (val is carved from it)
FAIRFACE_TEST_PER_GROUP = 160  # val_labels.csv (the test split: ≥150 per group for the audit)


def fairface_params(disparity: bool = True) -> dict:
    """The FairFace-demo generation parameters per group; ``hard_group`` names the planted disparity."""
    return {
        "groups": {g: {"face_hue": hue, **(HARD if (disparity and g == HARD_GROUP) else NORMAL)} for g, hue in GROUPS.items()},
        "hard_group": HARD_GROUP if disparity else None,
        "age_bins": AGE_BINS,
        "cue": "hair length: Male ~ 0.5 - 0.35*sep, Female ~ 0.5 + 0.35*sep, plus N(0, 0.08) jitter",
    }


def make_demo_datasets(out, kind: str = "all", seed: int = 0, disparity: bool = True, scale: float = 1.0,
                       image_size: int = 64) -> dict[str, Path]:
    """Write the demo datasets under ``out``; return ``{"ip102": path, "fairface": path}`` (those asked for)."""
    if kind not in KINDS:
        raise TrainlabError(f"unknown demo kind '{kind}'; allowed: {', '.join(KINDS)}")
    if not scale > 0:
        raise TrainlabError(f"scale must be positive; got {scale}")
    if image_size < 16:
        raise TrainlabError(f"image_size must be at least 16 pixels; got {image_size}")
    out = Path(out)
    made = {}
    if kind in ("all", "ip102"):
        params = {"generator": GENERATOR_VERSION, "kind": "ip102", "seed": seed, "scale": scale, "image_size": image_size,
                  "classes": [c[0] for c in INSECTS], "split": IP102_SPLIT}
        made["ip102"] = _generate(out / "ip102-demo", params, _write_ip102)
    if kind in ("all", "fairface"):
        params = {"generator": GENERATOR_VERSION, "kind": "fairface", "seed": seed, "scale": scale, "image_size": image_size,
                  "disparity": disparity, **fairface_params(disparity)}
        made["fairface"] = _generate(out / ("fairface-demo" if disparity else "fairface-demo-fair"), params, _write_fairface)
    return made


def _generate(folder: Path, params: dict, writer) -> Path:
    """Generate into a temporary folder and rename it into place; keep an identical existing one."""
    params_file = folder / "demo_params.json"
    if params_file.is_file():
        try:
            if json.loads(params_file.read_text()) == json.loads(json.dumps(params)):
                log.info("demo dataset %s is already generated with these parameters; kept", folder)
                return folder
        except ValueError:
            pass  # unreadable: regenerate
    elif folder.exists() and any(folder.iterdir()):
        raise TrainlabError(f"{folder} exists and is not a trainlab demo dataset; choose another --out folder")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    t0 = time.perf_counter()
    try:
        tmp.mkdir()
        n = writer(tmp, params)
        write_json(tmp / "demo_params.json", params)
        if folder.exists():
            shutil.rmtree(folder)
        os.rename(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("generated %s: %d images in %.1f s", folder, n, time.perf_counter() - t0)
    return folder


def _rng(seed: int, dataset: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, dataset, index])


def _save(img, path: Path) -> None:
    img.save(path, format="JPEG", quality=92)


# ---- IP102 layout --------------------------------------------------------------------------
def ip102_counts(scale: float) -> list[dict[str, int]]:
    """Images per class and split: class k has round(120 · scale · (1 − 0.06 k)), split 60/15/25."""
    out = []
    for k in range(len(INSECTS)):
        total = max(3, int(round(IP102_PER_CLASS * scale * (1 - 0.06 * k))))
        val, test = max(1, int(round(total * IP102_SPLIT["val"]))), max(1, int(round(total * IP102_SPLIT["test"])))
        out.append({"train": total - val - test, "val": val, "test": test})
    return out


def insect_image(rng: np.random.Generator, label: int, n: int):
    """One IP102-demo image of class ``label``."""
    _, shape, tex, hue = INSECTS[label]
    canvas = draw.colour_field(rng, n, draw.hsv(rng.uniform(0.15, 0.4), rng.uniform(0.2, 0.5), rng.uniform(0.35, 0.75)), 45)
    for _ in range(int(rng.integers(0, 2))):  # a distractor blob
        r = rng.uniform(0.06, 0.12) * n
        m = draw.shape_mask(n, "ellipse", rng.uniform(0, n), rng.uniform(0, n), r, rng.uniform(0, 6.3), rng.uniform(0.5, 1))
        draw.paint(canvas, m, draw.hsv(rng.uniform(), rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.9)))
    for _ in range(int(rng.integers(1, 3))):
        r = rng.uniform(0.2, 0.3) * n
        cx, cy = rng.uniform(r, n - r), rng.uniform(r, n - r)
        main = draw.hsv(hue + rng.normal(0, 0.035), rng.uniform(0.6, 0.95), rng.uniform(0.6, 0.95))
        second = draw.hsv(hue + 0.5 + rng.normal(0, 0.1), rng.uniform(0.3, 0.9), rng.uniform(0.1, 0.45))
        fill = draw.texture(rng, n, tex, main, second, scale=r / n * 3)
        m = draw.shape_mask(n, shape, cx, cy, r, rng.uniform(0, 6.3), rng.uniform(0.45, 0.7) if shape == "ellipse" else 1.0)
        draw.paint(canvas, m, fill)
    return draw.finish(rng, canvas, noise=rng.uniform(4, 12), contrast=rng.uniform(0.8, 1.15))


def _write_ip102(folder: Path, params: dict) -> int:
    n, seed = params["image_size"], params["seed"]
    (folder / "images").mkdir()
    lines = {s: [] for s in IP102_SPLIT}
    index = 0
    for label, per_split in enumerate(ip102_counts(params["scale"])):
        for split, count in per_split.items():
            for _ in range(count):
                name = f"{index:05d}.jpg"
                _save(insect_image(_rng(seed, 1, index), label, n), folder / "images" / name)
                lines[split].append(f"{name} {label}\n")
                index += 1
    for split, rows in lines.items():
        atomic_write_text(folder / f"{split}.txt", "".join(rows))
    # classes.txt as the official release writes it: "<n>  <name>", trailing tabs, CRLF line ends
    atomic_write_text(folder / "classes.txt", "".join(f"{k + 1}  {c[0]}\t\t\r\n" for k, c in enumerate(INSECTS)))
    return index


# ---- FairFace layout -----------------------------------------------------------------------
def face_image(rng: np.random.Generator, *, gender: str, group: dict, age: str, n: int):
    """One FairFace-demo face. Gender shows in hair length; ``group`` sets face hue, cue strength and noise."""
    canvas = draw.colour_field(rng, n, draw.hsv(rng.uniform(), rng.uniform(0.1, 0.5), rng.uniform(0.45, 0.9)), 40)
    size = {"0-2": 0.72, "3-9": 0.82, "10-19": 0.93}.get(age, 1.0) * rng.uniform(0.92, 1.08)
    rx = 0.2 * n * size
    ry = rx * rng.uniform(1.2, 1.35)
    cx, cy = n / 2 + rng.normal(0, 0.04 * n), 0.45 * n + rng.normal(0, 0.04 * n)
    # torso: a textured garment (a distractor drawn from the shared primitives)
    torso = draw.shape_mask(n, "ellipse", cx, n * 1.02, 0.42 * n, 0.0, 0.45)
    draw.paint(canvas, torso, draw.texture(rng, n, str(rng.choice(["plain", "stripes", "checks"])),
                                           draw.hsv(rng.uniform(), rng.uniform(0.3, 0.9), rng.uniform(0.3, 0.9)),
                                           draw.hsv(rng.uniform(), rng.uniform(0.3, 0.9), rng.uniform(0.1, 0.6))))
    face = draw.hsv(group["face_hue"] + rng.normal(0, 0.02), rng.uniform(0.35, 0.5), rng.uniform(0.72, 0.9))
    hair = draw.hsv(rng.choice([0.05, 0.08, 0.11]), rng.uniform(0.4, 0.8), rng.uniform(0.1, 0.45))
    hair = face + group["cue_contrast"] * (hair - face)
    sep = group["cue_separation"]
    length = 0.5 + (0.35 if gender == "Female" else -0.35) * sep + rng.normal(0, 0.08)
    length = float(np.clip(length, 0.0, 1.0))
    hair_mask = np.maximum(
        draw.shape_mask(n, "ellipse", cx, cy - 0.1 * ry, 1.15 * rx, 0.0, 1.1 * ry / rx / 1.15),
        _rect(n, cx - 1.15 * rx, cy - 0.2 * ry, cx + 1.15 * rx, cy + ry * (-0.1 + 1.9 * length)),
    )
    draw.paint(canvas, hair_mask, draw.texture(rng, n, str(rng.choice(["plain", "stripes"])), hair, hair * 0.8 + face * 0.2))
    draw.paint(canvas, draw.shape_mask(n, "ellipse", cx, cy + 0.08 * ry, rx, 0.0, ry / rx), face)
    eye_dy, eye_dx = cy - 0.05 * ry, 0.4 * rx
    for sx in (-1, 1):
        draw.paint(canvas, draw.shape_mask(n, "disc", cx + sx * eye_dx, eye_dy, 0.13 * rx, 0.0), np.array([30.0, 25, 25]))
    draw.paint(canvas, draw.shape_mask(n, "ellipse", cx, cy + 0.55 * ry, 0.35 * rx, 0.0, 0.3), np.array([150.0, 50, 60]))
    return draw.finish(rng, canvas, noise=group["noise"] * rng.uniform(0.8, 1.2))


def _rect(n: int, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """A soft-edged rectangle mask."""
    xs = np.arange(n, dtype=np.float32) + 0.5
    fx = np.clip(np.minimum(xs - x0, x1 - xs) + 0.5, 0, 1)
    fy = np.clip(np.minimum(xs - y0, y1 - xs) + 0.5, 0, 1)
    return fy[:, None] * fx[None, :]


def fairface_counts(scale: float) -> dict[str, int]:
    return {"train": max(4, int(round(FAIRFACE_TRAIN_PER_GROUP * scale))),
            "test": max(2, int(round(FAIRFACE_TEST_PER_GROUP * scale)))}


def _write_fairface(folder: Path, params: dict) -> int:
    import pandas as pd

    n, seed = params["image_size"], params["seed"]
    counts = fairface_counts(params["scale"])
    ages, probs = list(AGE_BINS), np.array(list(AGE_BINS.values()))
    total = 0
    for split, csv_name, stream in (("train", "train_labels.csv", 2), ("val", "val_labels.csv", 3)):
        (folder / split).mkdir()
        rows = []
        per_group = counts["train" if split == "train" else "test"]
        order = [(g, i) for i in range(per_group) for g in GROUPS]  # groups interleaved, like a shuffled dataset
        for k, (group, i) in enumerate(order, 1):
            rng = _rng(seed, stream, k)
            gender = "Female" if i % 2 == 0 else "Male"  # balanced within each group
            age = str(rng.choice(ages, p=probs / probs.sum()))
            img = face_image(rng, gender=gender, group=params["groups"][group], age=age, n=n)
            _save(img, folder / split / f"{k}.jpg")
            rows.append({"file": f"{split}/{k}.jpg", "age": age, "gender": gender, "race": group,
                         "service_test": bool(rng.random() < 0.5)})
        frame = pd.DataFrame(rows)
        atomic_write_text(folder / csv_name, frame.to_csv(index=False))
        total += len(rows)
    return total
