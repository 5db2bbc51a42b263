"""The function-fitting experiment: models, parameter counts, the training loop, metrics, the CLI."""

import json
import math

import numpy as np
import pytest
import torch

from trainlab.cli import main
from trainlab.experiments.fitting import FitRecipe, fit, mse, parameter_counts
from trainlab.experiments.sine import Problem, fit_metrics
from trainlab.models.factory import create_model


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _sine_data(n=1000):
    x = torch.linspace(-math.pi, math.pi, n)[:, None]
    return x, torch.sin(x)


def test_models_shapes_and_parameter_counts_in_both_conventions():
    # MLP, Dense = Linear in both libraries: (1*16 + 16) + (16*32 + 32) + (32*1 + 1) = 32 + 544 + 33 = 609.
    # LSTM, 4 gates. PyTorch keeps bias_ih and bias_hh: 4*(i*h + h*h + 2h):
    #   4*(1*16 + 256 + 32) = 1216, 4*(16*32 + 1024 + 64) = 6400, head 33 -> 7,649.
    # Keras keeps one bias per gate: 4*((i + 1)*h + h*h): 4*(2*16 + 256) = 1152, 4*(17*32 + 1024) = 6272,
    #   head 33 -> 7,457 (the coursework's model.summary()).
    # GRU, 3 gates, Keras's reset_after=True keeps two biases as PyTorch: 3*(i*h + h*h + 2h):
    #   3*(16 + 256 + 32) = 912, 3*(512 + 1024 + 64) = 4800, head 33 -> 5,745 in both.
    expected = {"sine_mlp": (609, 609), "sine_lstm": (7649, 7457), "sine_gru": (5745, 5745)}
    for name, (pytorch, keras) in expected.items():
        model = create_model(name, 1)
        shape = (1,) if name == "sine_mlp" else (1, 1)
        assert parameter_counts(model, shape) == {"pytorch": pytorch, "keras": keras}, name
    mlp, lstm, gru = (create_model(n, 1) for n in expected)
    assert mlp(torch.zeros(7, 1)).shape == (7, 1)
    assert lstm(torch.zeros(7, 1, 1)).shape == (7, 1)  # (batch, one timestep, one feature), as the coursework
    assert gru(torch.zeros(7, 32, 1)).shape == (7, 1)  # a window of 32 timesteps
    assert create_model("sine_mlp", 1, in_features=8)(torch.zeros(7, 8)).shape == (7, 1)


def test_fit_walks_a_fresh_permutation_in_keras_sized_batches():
    seen = []

    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            seen.append(x[:, 0].clone())
            return x * self.w

    x = torch.arange(100, dtype=torch.float32)[:, None]
    result = fit(Recorder(), x, x.clone(), recipe=FitRecipe(lr=0.01, epochs=2, batch_size=32), seed=3)
    assert [len(b) for b in seen] == [32, 32, 32, 4] * 2  # ceil(100/32) = 4 steps per epoch, the last one short
    assert result.steps == 8 and len(result.train_loss) == 2
    epoch1, epoch2 = torch.cat(seen[:4]), torch.cat(seen[4:])
    assert sorted(epoch1.tolist()) == list(range(100)) == sorted(epoch2.tolist())  # every point once per epoch
    assert not torch.equal(epoch1, epoch2) and not torch.equal(epoch1, x[:, 0])  # shuffled, differently each epoch


def test_short_fit_lowers_the_mse_by_a_large_factor():
    x, y = _sine_data()
    torch.manual_seed(0)
    mlp = create_model("sine_mlp", 1)
    before = mse(mlp, x, y).item()
    result = fit(mlp, x, y, recipe=FitRecipe(lr=0.01, epochs=5), seed=0)  # the coursework's MLP recipe
    after = mse(mlp, x, y).item()
    assert before / after > 50
    assert result.train_loss[-1] < result.train_loss[0] / 10
    for name in ("sine_lstm", "sine_gru"):
        torch.manual_seed(0)
        rnn = create_model(name, 1)
        xr = x[:, None]  # one timestep of one feature
        before = mse(rnn, xr, y).item()
        fit(rnn, xr, y, recipe=FitRecipe(lr=0.01, epochs=5), seed=0)
        assert before / mse(rnn, xr, y).item() > 10, name


def test_fit_is_reproducible_for_a_seed():
    x, y = _sine_data(200)
    losses = []
    for _ in range(2):
        torch.manual_seed(5)
        losses.append(fit(create_model("sine_gru", 1), x[:, None], y, recipe=FitRecipe(lr=0.01, epochs=2), seed=5).train_loss)
    assert losses[0] == losses[1]


def test_test_grid_interleaves_the_training_points():
    g = Problem().grids()
    assert len(g["x_train"]) == 1000 and len(g["x_test"]) == 1998
    assert g["x_train"][0] == -math.pi and g["x_train"][-1] == math.pi
    # every test point lies strictly between two neighbouring training points, two per gap
    gap = np.searchsorted(g["x_train"], g["x_test"])
    assert np.all(np.bincount(gap, minlength=1000)[1:] == 2)
    assert np.min(np.abs(g["x_test"][:, None] - g["x_train"][None, :])) > 0.3 * (2 * math.pi / 999) * 0.99
    np.testing.assert_allclose(g["y_test"], np.sin(g["x_test"]))
    assert g["x_wide"][0] == pytest.approx(-2 * math.pi) and g["x_wide"][-1] == pytest.approx(2 * math.pi)


def test_metrics_skip_points_where_f_is_undefined_beyond_the_domain():
    problem = Problem(fn="np.log(x)", domain=(1.0, 3.0), n_train=50, n_wide=401)
    g = problem.grids()  # wide grid [0, 4]: log is -inf at 0
    assert np.isnan(g["y_wide"][0]) and np.isfinite(g["y_wide"][1:]).all()
    pred = {"train": g["y_train"] + 0.1, "test": g["y_test"] - 0.2, "wide": np.nan_to_num(g["y_wide"]) + 0.5}
    m = fit_metrics(g, pred, problem.domain)
    assert m["train_mse"] == pytest.approx(0.01)
    assert m["test_mse"] == pytest.approx(0.04) and m["test_max_abs_error"] == pytest.approx(0.2)
    assert m["extrapolation_mse"] == pytest.approx(0.25) and m["extrapolation_max_abs_error"] == pytest.approx(0.5)


RESULT_KEYS = {"kind", "schema_version", "experiment", "function", "domain", "data", "seeds", "target_mse", "all_below_target",
               "models", "windows", "notes", "environment", "timings_s", "quick", "reduced", "files"}
MODEL_KEYS = {"label", "registry_name", "architecture", "coursework", "params", "recipe", "runs", "summary", "below_target"}
RUN_KEYS = {"seed", "test_mse", "test_nmse", "test_max_abs_error", "train_mse", "extrapolation_mse", "extrapolation_max_abs_error",
            "wall_s", "final_train_loss"}


def test_cli_sine_quick_writes_results_with_documented_keys(tmp_path, capsys):
    out = tmp_path / "sine"
    rc = main(["sine", "--quick", "--out", str(out), "--seeds", "2", "--epochs", "2", "--windows", "1,4", "--windows-epochs", "1"])
    assert rc == 0
    res = json.loads((out / "results.json").read_text())
    assert set(res) == RESULT_KEYS
    assert set(res["models"]) == {"mlp", "lstm", "gru", "mlp_cosine"}
    for kind, m in res["models"].items():
        assert set(m) == MODEL_KEYS
        assert [r["seed"] for r in m["runs"]] == [0, 1]
        assert set(m["runs"][0]) == RUN_KEYS
        assert set(m["summary"]["test_mse"]) == {"mean", "std", "min", "max", "n"}
    assert res["models"]["lstm"]["params"] == {"pytorch": 7649, "keras": 7457}
    assert res["target_mse"] == 1e-3 and isinstance(res["all_below_target"], bool)
    assert res["models"]["mlp"]["recipe"]["lr"] == 0.01 and res["models"]["gru"]["recipe"]["lr"] == 0.001
    assert set(res["data"]) == {"train_points", "train_grid", "test_points", "test_grid", "extrapolation_domain",
                                "extrapolation_points", "extrapolation_outside_points", "extrapolation_constant_mse",
                                "standardize"}
    assert res["data"]["test_points"] == 1998 and res["quick"] is True
    # outside [-pi, pi] on [-2pi, 2pi] predicting mean(sin) = 0 scores mean(sin^2) over whole periods = 1/2
    assert res["data"]["extrapolation_constant_mse"] == pytest.approx(0.5, abs=2e-3)
    w = res["windows"]
    assert w["ks"] == [1, 4] and set(w["models"]) == {"mlp", "lstm", "gru"}
    assert set(w["models"]["gru"]["4"]) == {"runs", "test_mse", "wall_s"}
    assert set(w["baselines"]) == {"persistence", "linear_ar", "k1_bound"}
    for name in res["files"].values():
        assert (out / name).stat().st_size > 0
    printed = capsys.readouterr().out
    assert "| LSTM | 7,649 / 7,457 |" in printed and "too short to judge" in printed


def test_cli_fit_function_quick_run_and_bad_inputs(tmp_path, capsys):
    out = tmp_path / "f"
    rc = main(["fit-function", "--fn", "np.abs(x) - 1", "--domain", "-2, 2", "--quick", "--seeds", "1", "--epochs", "1",
               "--out", str(out)])
    assert rc == 0
    res = json.loads((out / "results.json").read_text())
    assert res["function"] == "np.abs(x) - 1" and res["domain"] == [-2.0, 2.0] and res["windows"] is None
    assert res["data"]["extrapolation_domain"] == [-4.0, 4.0]
    assert res["target_mse"] is None and res["all_below_target"] is None  # no absolute bar for an arbitrary f
    run = res["models"]["mlp"]["runs"][0]
    # NMSE = MSE / Var(f on the test grid); Var(|x| - 1) for x uniform on [-2, 2] is 4/3 - 1 = 1/3
    assert run["test_nmse"] == pytest.approx(run["test_mse"] * 3, rel=1e-2)
    assert "Normalised test MSE" in capsys.readouterr().out
    capsys.readouterr()
    bad = tmp_path / "bad"
    assert main(["fit-function", "--fn", "__import__('os').system('true')", "--out", str(bad)]) == 2
    assert "error: expression '__import__('os').system('true')'" in capsys.readouterr().err
    assert main(["fit-function", "--fn", "np.log(x)", "--out", str(bad)]) == 2  # log of negative x on [-pi, pi]
    assert "is not finite" in capsys.readouterr().err
    assert main(["fit-function", "--fn", "np.sin(x)", "--domain", "3,1", "--out", str(bad)]) == 2
    assert "domain '3,1'" in capsys.readouterr().err
    assert main(["sine", "--windows", "1,x", "--out", str(bad)]) == 2
    assert "--windows '1,x'" in capsys.readouterr().err
    assert not bad.exists()  # nothing is written before the inputs are known to be good
