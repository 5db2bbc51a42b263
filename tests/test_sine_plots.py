"""The sine figures read at a glance: one residual panel per model, and no min-max bars over a single seed."""

import numpy as np

from trainlab.experiments import sine_plots
from trainlab.experiments.sine_plots import KINDS


def _fits_inputs():
    x = np.linspace(-3, 3, 50)
    wide = np.linspace(-6, 6, 80)
    scale = {"mlp": 1e-4, "lstm": 1e-1, "gru": 1e-2}
    pred = {k: {"test": np.sin(x) + scale[k] * np.cos(3 * x), "wide": np.sin(wide) + scale[k]} for k in KINDS}
    arrays = {"grids": {"x_test": x, "y_test": np.sin(x), "x_wide": wide, "y_wide": np.sin(wide)}, "pred": pred,
              "domain": (-3.0, 3.0), "fn": "np.sin(x)"}
    runs = {k: {"runs": [{"test_mse": scale[k] ** 2 / 2, "test_max_abs_error": scale[k], "extrapolation_mse": 0.5}]}
            for k in KINDS}
    results = {"seeds": [0], "models": runs, "target_mse": 1e-3,
               "data": {"extrapolation_domain": [-6, 6], "extrapolation_constant_mse": 0.5, "test_points": 50}}
    return arrays, results


def test_fits_figure_shows_each_models_residual_on_its_own_panel():
    arrays, results = _fits_inputs()
    fig = sine_plots.fits_figure(arrays, results)
    top = fig.axes[:3]
    for ax, kind in zip(top, KINDS):
        (line,) = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 50]
        expected = arrays["pred"][kind]["test"] - arrays["grids"]["y_test"]
        assert np.allclose(line.get_ydata(), expected)  # the residual, not the curve over the truth
        low, high = ax.get_ylim()
        assert high - low < 30 * np.abs(expected).max()  # each on its own scale: the small one is not flat
    assert fig.axes[-1].get_yscale() == "log"


def _windows_inputs(seeds):
    ks = [1, 8]
    stats = {"mean": 0.01, "min": 0.005, "max": 0.02, "n": len(seeds)}
    t = np.arange(20.0)
    results = {"seeds": seeds, "windows": {"ks": ks, "models": {k: {str(w): {"test_mse": stats} for w in ks} for k in KINDS},
                                           "baselines": {"persistence": 0.005, "k1_bound": 0.004}}}
    arrays = {"windows": {"t": t, "y": np.sin(t), "pred": {("lstm", w): np.sin(t) + 0.01 for w in ks}}}
    return arrays, results


def test_windows_figure_draws_min_max_bars_only_over_several_seeds():
    def bars(seeds):
        fig = sine_plots.windows_figure(*_windows_inputs(seeds))
        ax = fig.axes[0]
        return [c.has_yerr for c in ax.containers], ax.get_title()

    one, title = bars([0])
    assert one == [False] * 3 and "one seed" in title and "min to max" not in title
    several, title = bars([0, 1, 2])
    assert several == [True] * 3 and "min to max" in title
