import pytest
import torch

from trainlab.errors import TrainlabError
from trainlab.models.factory import create_model


def _count(model):
    return sum(p.numel() for p in model.parameters())


def test_sine_models_shapes_and_pytorch_counts():
    # Hand-derived (PyTorch keeps bias_ih and bias_hh, so an LSTM layer has 4*(i*h + h*h + 2h)):
    # MLP: (1*16+16) + (16*32+32) + (32*1+1) = 609
    # LSTM: 4*(1*16+16*16+2*16) + 4*(16*32+32*32+2*32) + 33 = 1216 + 6400 + 33 = 7649
    # GRU:  3*(1*16+16*16+2*16) + 3*(16*32+32*32+2*32) + 33 =  912 + 4800 + 33 = 5745
    mlp, lstm, gru = (create_model(n, 1) for n in ("sine_mlp", "sine_lstm", "sine_gru"))
    assert (_count(mlp), _count(lstm), _count(gru)) == (609, 7649, 5745)
    assert mlp(torch.zeros(5, 1)).shape == (5, 1)
    assert lstm(torch.zeros(5, 8, 1)).shape == (5, 1)
    assert gru(torch.zeros(5, 1)).shape == (5, 1)  # (batch, timesteps) gets a feature axis


def test_lstm_forget_bias_is_one_as_in_keras():
    lstm = create_model("sine_lstm", 1)
    h = lstm.rnn1.hidden_size
    assert torch.all(lstm.rnn1.bias_ih_l0[h:2 * h] == 1) and torch.all(lstm.rnn1.bias_hh_l0 == 0)


def test_unknown_model_and_option_are_named():
    with pytest.raises(TrainlabError, match="unknown model 'resnet'.*sine_mlp"):
        create_model("resnet", 3)
    with pytest.raises(TrainlabError, match=r"no option\(s\) \['depth'\]; allowed: \['in_features', 'hidden'\]"):
        create_model("sine_gru", 1, depth=3)
