"""The coursework's function-fitting models: an MLP, a 2-layer LSTM and a 2-layer GRU.

Shapes follow Keras: the MLP maps (batch, 1) -> (batch, 1); the recurrent models map
(batch, timesteps, features) -> (batch, 1), the first layer returning the whole sequence
(``return_sequences=True``) and the second only its last step. Initialisation follows Keras's
defaults (Glorot-uniform input kernels, orthogonal recurrent kernels, zero biases, LSTM forget-gate
bias 1), so the coursework's training recipe behaves as it did there.

Parameter counts differ between the libraries only for the LSTM: PyTorch keeps two bias vectors per
gate (``bias_ih`` and ``bias_hh``), Keras's LSTM one; both GRUs (Keras's default ``reset_after=True``)
keep two. :mod:`trainlab.models.summary` gives both counts with their formulas.
"""

from __future__ import annotations

import torch
from torch import nn

from trainlab.errors import TrainlabError
from trainlab.models.registry import register_model


def _glorot_dense(layer: nn.Linear) -> nn.Linear:
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class SineMLP(nn.Sequential):
    """Dense(h1, relu) -> Dense(h2, relu) -> Dense(out)."""

    def __init__(self, in_features: int = 1, hidden: tuple[int, int] = (16, 32), out_features: int = 1):
        super().__init__(
            _glorot_dense(nn.Linear(in_features, hidden[0])), nn.ReLU(),
            _glorot_dense(nn.Linear(hidden[0], hidden[1])), nn.ReLU(),
            _glorot_dense(nn.Linear(hidden[1], out_features)),
        )


class RecurrentRegressor(nn.Module):
    """RNN(h1, return_sequences) -> RNN(h2) -> Dense(out), for cell 'lstm' or 'gru'."""

    def __init__(self, cell: str = "lstm", in_features: int = 1, hidden: tuple[int, int] = (16, 32), out_features: int = 1):
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.cell = cell
        self.rnn1 = rnn(in_features, hidden[0], batch_first=True)
        self.rnn2 = rnn(hidden[0], hidden[1], batch_first=True)
        self.head = _glorot_dense(nn.Linear(hidden[1], out_features))
        for layer in (self.rnn1, self.rnn2):
            _keras_init(layer, gates=4 if cell == "lstm" else 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:  # (batch, timesteps) with one feature
            x = x.unsqueeze(-1)
        seq, _ = self.rnn1(x)
        out, _ = self.rnn2(seq)
        return self.head(out[:, -1])


def _keras_init(layer: nn.LSTM | nn.GRU, gates: int) -> None:
    hidden = layer.hidden_size
    with torch.no_grad():
        for name, param in layer.named_parameters():
            if name.startswith("weight_ih"):
                # Keras initialises the whole (input, gates*units) kernel at once.
                nn.init.xavier_uniform_(param)
            elif name.startswith("weight_hh"):
                for g in range(gates):  # Keras: orthogonal (units, gates*units); per-gate blocks are orthogonal too
                    nn.init.orthogonal_(param[g * hidden:(g + 1) * hidden])
            elif name.startswith("bias"):
                nn.init.zeros_(param)
        if gates == 4:  # unit_forget_bias: PyTorch gate order is (input, forget, cell, output)
            layer.bias_ih_l0[hidden:2 * hidden].fill_(1.0)


def _with_data_config(model: nn.Module, input_size: tuple[int, ...]) -> nn.Module:
    """Sequence models take raw numbers: no scaling, no resizing. ``input_size`` is (F,) or (T, F)."""
    model.data_config = {
        "input_size": input_size, "interpolation": None, "mean": (0.0,), "std": (1.0,), "crop_pct": None, "crop_mode": None,
    }
    return model


def _hidden(value) -> tuple[int, int]:
    try:
        h1, h2 = (int(v) for v in value)
    except (TypeError, ValueError):
        raise TrainlabError(f"option 'hidden' must be two layer widths, e.g. [16, 32]; got {value!r}") from None
    if min(h1, h2) < 1:
        raise TrainlabError(f"option 'hidden' must be two positive layer widths; got {value!r}")
    return h1, h2


@register_model("sine_mlp")
def sine_mlp(num_classes: int = 1, in_features: int = 1, hidden: tuple[int, int] = (16, 32)) -> SineMLP:
    return _with_data_config(SineMLP(in_features, _hidden(hidden), num_classes), (in_features,))


@register_model("sine_lstm")
def sine_lstm(num_classes: int = 1, in_features: int = 1, hidden: tuple[int, int] = (16, 32)) -> RecurrentRegressor:
    # The coursework fed one timestep per sample: input (N, 1, 1).
    return _with_data_config(RecurrentRegressor("lstm", in_features, _hidden(hidden), num_classes), (1, in_features))


@register_model("sine_gru")
def sine_gru(num_classes: int = 1, in_features: int = 1, hidden: tuple[int, int] = (16, 32)) -> RecurrentRegressor:
    return _with_data_config(RecurrentRegressor("gru", in_features, _hidden(hidden), num_classes), (1, in_features))
