"""A small two-class ImageFolder dataset (train/val/test), drawn here: a bright square in the class's channel."""

import numpy as np
from PIL import Image


def write_folder_dataset(root, *, train: int, other: int, size: int = 16):
    rng = np.random.default_rng(0)
    for split in ("train", "val", "test"):
        for label in range(2):
            (root / split / f"c{label}").mkdir(parents=True)
            for i in range(train if split == "train" else other):
                img = rng.integers(0, 60, (size, size, 3)).astype(np.uint8)
                img[4:12, 4:12, label] = 220
                Image.fromarray(img).save(root / split / f"c{label}" / f"{i}.png")
    return root
