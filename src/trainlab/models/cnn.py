"""The coursework's CNN (``seed_cnn``), layer for layer.

Keras original (input 100×100×3, 102 classes, 17,452,678 parameters)::

    Conv2D(32, 3×3, 'same', relu, kernel_regularizer=l1_l2(1e-5, 1e-5))
    Conv2D(32, 3×3, 'valid', relu)   MaxPooling2D(2)   Dropout(0.25)
    Conv2D(64, 3×3, 'same', relu)
    Conv2D(64, 3×3, 'valid', relu)   MaxPooling2D(2)   Dropout(0.25)
    Flatten   Dense(512, relu)   Dropout(0.5)   Dense(num_classes, softmax)

Differences that do not change what the network computes or counts:

- the model returns logits; the softmax lives in the loss (cross-entropy on logits is the numerically
  stable form of Keras's softmax + categorical cross-entropy) and in the predicted probabilities;
- PyTorch flattens (C, H, W) where Keras flattens (H, W, C): the same weights in another order;
- the L1+L2 kernel penalty is not hidden in the layer: :meth:`SeedCNN.regularization_loss` returns it
  and the trainer adds it to the loss, as Keras adds ``model.losses``;
- the dropout layers are :class:`~trainlab.models.keyed_layers.KeyedDropout`: in training each sample's
  mask is drawn from its own key (seed, epoch, sample index), so one process and N processes drop the
  same units; in eval mode they are the identity, as Keras's.

Keras's 'same' (stride 1, odd kernel) is ``padding=1``; 'valid' is ``padding=0``; MaxPooling2D(2)
floors odd sizes as ``nn.MaxPool2d(2)`` does. Weights start as in Keras: Glorot-uniform kernels and
zero biases.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from trainlab.data.dataconfig import parse_hw
from trainlab.errors import TrainlabError
from trainlab.models.keyed_layers import KeyedDropout
from trainlab.models.registry import register_model

MIN_SIZE = 10  # the smallest H or W for which the last pooling still leaves a 1×1 map


def _out_size(n: int) -> int:
    """Spatial size after the two conv blocks: same, valid (-2), pool (//2), twice."""
    for _ in range(2):
        n = (n - 2) // 2
    return n


def _keras_init(layer: nn.Module) -> nn.Module:
    nn.init.xavier_uniform_(layer.weight)  # Keras glorot_uniform: fan_in = k·k·c_in, fan_out = k·k·c_out
    nn.init.zeros_(layer.bias)
    return layer


class SeedCNN(nn.Sequential):
    """The coursework CNN; ``forward`` maps (N, C, H, W) floats to (N, num_classes) logits."""

    def __init__(self, num_classes: int, input_size: tuple[int, int] = (100, 100), in_chans: int = 3,
                 kernel_l1: float = 1e-5, kernel_l2: float = 1e-5):
        h, w = input_size
        flat = 64 * _out_size(h) * _out_size(w)
        super().__init__(OrderedDict([
            ("conv1", _keras_init(nn.Conv2d(in_chans, 32, 3, padding=1))),   # 'same'
            ("relu1", nn.ReLU()),
            ("conv2", _keras_init(nn.Conv2d(32, 32, 3))),                    # 'valid'
            ("relu2", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("drop1", KeyedDropout(0.25, stream=1)),
            ("conv3", _keras_init(nn.Conv2d(32, 64, 3, padding=1))),         # 'same'
            ("relu3", nn.ReLU()),
            ("conv4", _keras_init(nn.Conv2d(64, 64, 3))),                    # 'valid'
            ("relu4", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),
            ("drop2", KeyedDropout(0.25, stream=2)),
            ("flatten", nn.Flatten()),
            ("fc1", _keras_init(nn.Linear(flat, 512))),
            ("relu5", nn.ReLU()),
            ("drop3", KeyedDropout(0.5, stream=3)),
            ("fc2", _keras_init(nn.Linear(512, num_classes))),
        ]))
        self.kernel_l1 = float(kernel_l1)
        self.kernel_l2 = float(kernel_l2)

    def regularization_loss(self) -> torch.Tensor:
        """Keras's ``l1_l2(l1, l2)`` on the first kernel W: ``l1·Σ|W| + l2·ΣW²`` (no ½ on the L2 term)."""
        w = self.conv1.weight
        return self.kernel_l1 * w.abs().sum() + self.kernel_l2 * w.square().sum()


@register_model("seed_cnn")
def seed_cnn(num_classes: int = 102, input_size: tuple[int, int] | int = (100, 100), in_chans: int = 3,
             kernel_l1: float = 1e-5, kernel_l2: float = 1e-5) -> SeedCNN:
    """The coursework CNN for ``input_size`` (H, W) images with ``in_chans`` channels in [0, 1]."""
    h, w = parse_hw(input_size, what="seed_cnn option 'input_size'", minimum=MIN_SIZE,
                    why="two same/valid conv + pool blocks need it; the seed CNN was designed for 100x100")
    if int(in_chans) < 1:
        raise TrainlabError(f"seed_cnn option 'in_chans' must be at least 1; got {in_chans}")
    model = SeedCNN(num_classes, (h, w), int(in_chans), kernel_l1, kernel_l2)
    # The coursework fed pixels through ImageDataGenerator(rescale=1/255) and nothing else: [0, 1] inputs,
    # so mean 0 and std 1. Keras's flow_from_dataframe resized with 'nearest'; we resize with 'bilinear',
    # which does not alias when shrinking (the data layer reads this key).
    model.data_config = {
        "input_size": (int(in_chans), h, w),
        "interpolation": "bilinear",
        "mean": (0.0,) * int(in_chans),
        "std": (1.0,) * int(in_chans),
        "crop_pct": 1.0,
        "crop_mode": "center",
    }
    return model
