import json
import re

import pytest
import torch
from torch import nn

from trainlab.cli import main
from trainlab.errors import TrainlabError
from trainlab.models.factory import create_model
from trainlab.models.summary import summarize


def _rows(summary):
    return summary.rows.set_index("name")


def test_seed_cnn_totals_shapes_and_formulas():
    # 896 + 9,248 + 18,496 + 36,928 + 17,334,784 + 52,326 (see test_models_cnn for the derivation);
    # convolutions and dense layers count the same in Keras
    s = summarize(create_model("seed_cnn", 102))
    assert (s.total, s.trainable, s.total_keras, s.trainable_keras) == (17_452_678,) * 4
    rows = _rows(s)
    assert rows.loc["conv1", "formula"] == "k·k·c_in·c_out + c_out = 3·3·3·32 + 32 = 896"
    assert rows.loc["fc1", "formula"] == "i·o + o = 33856·512 + 512 = 17,334,784"
    assert rows.loc["conv2", "output_shape"] == "(N, 32, 98, 98)"
    assert rows.loc["flatten", "output_shape"] == "(N, 33856)"  # 23·23·64
    assert rows.loc["pool1", "params"] == 0
    assert s.input_shape == (3, 100, 100)


def test_sine_mlp_counts_agree():
    # (1·16 + 16) + (16·32 + 32) + (32·1 + 1) = 32 + 544 + 33 = 609 in both libraries
    s = summarize(create_model("sine_mlp", 1))
    assert (s.total, s.total_keras) == (609, 609)
    assert list(s.rows.query("params > 0")["params"]) == [32, 544, 33]


def test_sine_lstm_pytorch_and_keras_conventions():
    # PyTorch 4·(i·u + u² + 2u): 4·(16 + 256 + 32) = 1,216 and 4·(512 + 1,024 + 64) = 6,400; + 33 -> 7,649
    # Keras   4·(i·u + u² + u):  4·(16 + 256 + 16) = 1,152 and 4·(512 + 1,024 + 32) = 6,272; + 33 -> 7,457
    s = summarize(create_model("sine_lstm", 1))
    rows = _rows(s)
    assert (rows.loc["rnn1", "params"], rows.loc["rnn1", "params_keras"]) == (1_216, 1_152)
    assert (rows.loc["rnn2", "params"], rows.loc["rnn2", "params_keras"]) == (6_400, 6_272)
    assert (s.total, s.total_keras, s.trainable_keras) == (7_649, 7_457, 7_457)  # the coursework printed 7,457
    assert rows.loc["rnn1", "formula_keras"] == "4·(i·u + u² + u) = 4·(1·16 + 16² + 16) = 1,152"
    assert any("two bias vectors per gate" in n for n in s.notes)


def test_sine_gru_counts_agree_and_the_one_bias_formula_is_flagged():
    # 3·(i·u + u² + 2u): 3·(16 + 256 + 32) = 912 and 3·(512 + 1,024 + 64) = 4,800; + 33 -> 5,745 in both
    # (Keras's GRU defaults to reset_after=True: two bias vectors, as PyTorch). The coursework's written
    # formula 3·((i+1)·u + u²) = 3·(32 + 256) = 864 for the first layer.
    s = summarize(create_model("sine_gru", 1))
    rows = _rows(s)
    assert list(rows.loc[["rnn1", "rnn2"], "params"]) == [912, 4_800]
    assert (s.total, s.total_keras) == (5_745, 5_745)
    assert any("gives 864, not 912" in n for n in s.notes)


def test_batchnorm_counts_moving_statistics_in_keras_convention():
    # conv 3·3·3·8 = 216 (no bias); BN γ, β = 2·8 = 16 in PyTorch; Keras adds moving mean and variance: 4·8 = 32
    model = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU())
    s = summarize(model, (3, 10, 10))
    assert (s.total, s.total_keras) == (232, 248)
    assert (s.trainable, s.trainable_keras) == (232, 232)  # Keras: the 16 moving statistics are non-trainable
    assert model.training  # mode restored after the hooked forward pass


def test_multilayer_bidirectional_lstm_formula():
    # layer 0: 2·4·(3·5 + 25 + 10) = 400; layer 1 input 2·5 = 10: 2·4·(10·5 + 25 + 10) = 680 -> 1,080 (PyTorch)
    # Keras convention (one bias): 2·4·(15 + 25 + 5) = 360; 2·4·(50 + 25 + 5) = 640 -> 1,000
    model = nn.Sequential(nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True))
    s = summarize(model, (4, 3))
    assert (s.total, s.total_keras) == (1_080, 1_000)


def test_frozen_backbone_counts_as_not_trainable():
    model = create_model("timm:test_resnet", 3, mode="frozen", input_size=32)
    s = summarize(model)
    head = 96 * 3 + 3  # test_resnet has 96 features
    assert s.trainable == head and s.total == sum(p.numel() for p in model.parameters())


def test_every_formula_ends_in_its_count():
    s = summarize(create_model("timm:test_efficientnet", 5, input_size=32))
    for row in s.rows.itertuples():
        if row.params:
            assert int(re.sub(r"\D", "", row.formula.rsplit("=", 1)[1])) == row.params, row
            assert int(re.sub(r"\D", "", row.formula_keras.rsplit("=", 1)[1])) == row.params_keras, row
    assert s.total == sum(p.numel() for p in create_model("timm:test_efficientnet", 5).parameters())


def test_summarize_needs_an_input_shape_for_a_plain_module():
    with pytest.raises(TrainlabError, match="give input_shape"):
        summarize(nn.Linear(2, 3))
    with pytest.raises(TrainlabError, match="does not accept input 5"):
        summarize(nn.Linear(2, 3), (5,))


def test_cli_summary_of_a_model_name_writes_tables(tmp_path, capsys):
    # 64x48x1 as in test_models_cnn: 320 + 9,248 + 18,496 + 36,928 + 4,588,032 + 2,565 = 4,655,589
    assert main(["summary", "seed_cnn", "--input", "64x48x1", "--classes", "5", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Total params: 4,655,589" in out and "(C, H, W) = (1, 64, 48)" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.csv", "summary.json", "summary.md"]
    assert json.loads((tmp_path / "summary.json").read_text())["total"] == 4_655_589
    assert "| `fc1` | Linear | (N, 512) | 4,588,032 |" in (tmp_path / "summary.md").read_text()


def test_cli_summary_of_a_run_folder(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({
        "model": "timm:test_resnet", "model_options": {"mode": "frozen", "weights": "/gone/file.safetensors"},
        "num_classes": 4, "data_config": {"input_size": [3, 40, 40]},
    }))
    assert main(["summary", str(run)]) == 0
    out = capsys.readouterr().out
    assert "(C, H, W) = (3, 40, 40)" in out and "head.fc" in out
    assert f"Trainable params: {96 * 4 + 4:,}" in out  # frozen: only the head trains


@pytest.mark.parametrize("argv, message", [
    (["summary", "seed_cnnn"], "unknown model 'seed_cnnn'"),
    (["summary", "timm:efficentnet_b0"], "did you mean: efficientnet_b0"),
    (["summary", "seed_cnn", "--input", "big"], "--input 'big' is not a shape"),
    (["summary", "sine_lstm", "--input", "4x1x1"], "is TxF"),
    (["summary", "seed_cnn", "--option", "nokey"], "is not KEY=VALUE"),
    (["summary", "./no/such/run"], "does not exist"),
])
def test_cli_summary_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_cli_summary_folder_without_run_json(tmp_path, capsys):
    assert main(["summary", str(tmp_path)]) == 2
    assert "without run.json" in capsys.readouterr().err


def test_cli_summary_of_a_trainlab_weights_file(tmp_path, capsys):
    from trainlab.models.weights import save_weights

    path = save_weights(create_model("sine_gru", 1, hidden=[4, 8]), tmp_path / "model.safetensors")
    assert main(["summary", str(path)]) == 0
    # 3·(1·4 + 16 + 8) = 84; 3·(4·8 + 64 + 16) = 336; 8·1 + 1 = 9 -> 429
    assert "Total params: 429 (PyTorch)" in capsys.readouterr().out
