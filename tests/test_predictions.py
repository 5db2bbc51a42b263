import numpy as np
import pandas as pd
import pytest

from trainlab.errors import TrainlabError
from trainlab.predictions import make_frame, read_predictions, write_predictions


def _frame(n=6):
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(3), size=n)
    y_true = rng.integers(0, 3, size=n)
    attrs = pd.DataFrame({"race": ["A", "B"] * (n // 2)})
    return make_frame(classes=["cat", "dog", "eel"], y_true=y_true, proba=proba, split="test", attributes=attrs), proba, y_true


def test_round_trip(tmp_path):
    frame, proba, y_true = _frame()
    path = write_predictions(frame, tmp_path / "p" / "test.csv")
    pred = read_predictions(path)
    assert pred.classes == ["cat", "dog", "eel"]
    assert pred.attributes == ["race"]
    np.testing.assert_array_equal(pred.y_true, y_true)
    np.testing.assert_array_equal(pred.y_pred, proba.argmax(1))
    np.testing.assert_allclose(pred.proba, proba, rtol=1e-12)


def test_run_folder_resolves_to_split(tmp_path):
    frame, *_ = _frame()
    write_predictions(frame, tmp_path / "run" / "predictions" / "val.csv")
    assert len(read_predictions(tmp_path / "run", split="val")) == 6
    with pytest.raises(TrainlabError, match="no predictions for split 'test'.*val.csv"):
        read_predictions(tmp_path / "run", split="test")


def test_missing_column_is_named(tmp_path):
    frame, *_ = _frame()
    frame.drop(columns=["y_pred"]).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(TrainlabError, match=r"missing column\(s\) \['y_pred'\]"):
        read_predictions(tmp_path / "t.csv")


def test_probabilities_not_summing_to_one_names_the_line(tmp_path):
    frame, *_ = _frame()
    frame.loc[3, ["p_cat", "p_dog", "p_eel"]] = [0.5, 0.3, 0.1]  # each valid, but sums to 0.9
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(TrainlabError, match=r"t.csv: line 5: probabilities sum to 0.900000, not 1"):
        read_predictions(tmp_path / "t.csv")


def test_unknown_label_names_row_and_column(tmp_path):
    frame, *_ = _frame()
    frame.loc[2, "y_true"] = "wolf"
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(TrainlabError, match=r"line 4, column 'y_true': label 'wolf'"):
        read_predictions(tmp_path / "t.csv")


def test_external_table_without_id_path_split(tmp_path):
    pd.DataFrame({"y_true": ["0", "1"], "y_pred": ["0", "0"], "p_0": [0.9, 0.6], "p_1": [0.1, 0.4]}).to_csv(tmp_path / "ext.csv", index=False)
    pred = read_predictions(tmp_path / "ext.csv")
    assert pred.classes == ["0", "1"]
    assert list(pred.frame["split"]) == ["ext", "ext"]
    np.testing.assert_array_equal(pred.y_true, [0, 1])


def test_probability_out_of_range_names_cell(tmp_path):
    frame, *_ = _frame()
    frame.loc[1, "p_dog"] = 1.7
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(TrainlabError, match=r"line 3, column 'p_dog': probability '1.7' is not a number in \[0, 1\]"):
        read_predictions(tmp_path / "t.csv")
