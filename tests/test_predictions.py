import numpy as np
import pandas as pd
import pytest

from trainlab.errors import TrainlabError
from trainlab.artifacts.predictions import Predictions


def _frame(n=6):
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(3), size=n)
    y_true = rng.integers(0, 3, size=n)
    attrs = pd.DataFrame({"race": ["A", "B"] * (n // 2)})
    return Predictions.build(classes=["cat", "dog", "eel"], y_true=y_true, proba=proba, split="test", attributes=attrs).frame, proba, y_true


def test_round_trip(tmp_path):
    frame, proba, y_true = _frame()
    path = Predictions.from_frame(frame).write(tmp_path / "p" / "test.csv")
    pred = Predictions.read(path)
    assert pred.classes == ["cat", "dog", "eel"]
    assert pred.attributes == ["race"]
    np.testing.assert_array_equal(pred.y_true, y_true)
    np.testing.assert_array_equal(pred.y_pred, proba.argmax(1))
    np.testing.assert_allclose(pred.proba, proba, rtol=1e-12)


def test_run_folder_resolves_to_split(tmp_path):
    frame, *_ = _frame()
    Predictions.from_frame(frame).write(tmp_path / "run" / "predictions" / "val.csv")
    assert len(Predictions.read(tmp_path / "run", split="val")) == 6
    with pytest.raises(TrainlabError, match="no predictions for split 'test'.*val.csv"):
        Predictions.read(tmp_path / "run", split="test")


def test_missing_column_is_named(tmp_path):
    frame, *_ = _frame()
    frame.drop(columns=["y_pred"]).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(TrainlabError, match=r"missing column\(s\) \['y_pred'\]"):
        Predictions.read(tmp_path / "t.csv")


def test_probabilities_not_summing_to_one_names_the_line(tmp_path):
    frame, *_ = _frame()
    frame.loc[3, ["p_cat", "p_dog", "p_eel"]] = [0.5, 0.3, 0.1]  # each valid, but sums to 0.9
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(TrainlabError, match=r"t.csv: line 5: probabilities sum to 0.900000, not 1"):
        Predictions.read(tmp_path / "t.csv")


def test_unknown_label_names_row_and_column(tmp_path):
    frame, *_ = _frame()
    frame.loc[2, "y_true"] = "wolf"
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(TrainlabError, match=r"line 4, column 'y_true': label 'wolf'"):
        Predictions.read(tmp_path / "t.csv")


def test_external_table_without_id_path_split(tmp_path):
    pd.DataFrame({"y_true": ["0", "1"], "y_pred": ["0", "0"], "p_0": [0.9, 0.6], "p_1": [0.1, 0.4]}).to_csv(tmp_path / "ext.csv", index=False)
    pred = Predictions.read(tmp_path / "ext.csv")
    assert pred.classes == ["0", "1"]
    assert list(pred.frame["split"]) == ["ext", "ext"]
    np.testing.assert_array_equal(pred.y_true, [0, 1])


def test_probability_out_of_range_names_cell(tmp_path):
    frame, *_ = _frame()
    frame.loc[1, "p_dog"] = 1.7
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(TrainlabError, match=r"line 3, column 'p_dog': probability '1.7' is not a number in \[0, 1\]"):
        Predictions.read(tmp_path / "t.csv")


@pytest.mark.parametrize("cell, shown", [("abc", "abc"), ("", "nan")], ids=["text column", "numeric column"])
def test_text_or_empty_probability_names_cell(tmp_path, cell, shown):
    """A column with text is coerced cell by cell; a column the reader parsed as numbers is taken as it is
    (the fast path): both name the bad cell."""
    frame, *_ = _frame()
    frame = frame.astype({"p_eel": object})
    frame.loc[2, "p_eel"] = cell
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(TrainlabError, match=rf"line 4, column 'p_eel': probability '{shown}' is not a number in \[0, 1\]"):
        Predictions.read(tmp_path / "t.csv")


def test_unlabelled_table_is_valid_and_round_trips(tmp_path):
    proba = np.random.default_rng(1).dirichlet(np.ones(3), size=4)
    table = Predictions.build(classes=["cat", "dog", "eel"], proba=proba, split="predict")
    path = table.write(tmp_path / "new.csv")
    assert pd.read_csv(path)["y_true"].isna().all()  # an empty cell in the file
    back = Predictions.read(path)
    assert not back.labelled_rows.any() and not back.is_labelled
    np.testing.assert_array_equal(back.y_pred, proba.argmax(1))
    with pytest.raises(TrainlabError, match="this predictions table has no true labels; evaluate needs y_true"):
        back.require_labels("evaluate")
    pd.read_csv(path).drop(columns=["y_true"]).to_csv(tmp_path / "no_column.csv", index=False)  # another tool's table
    assert not Predictions.read(tmp_path / "no_column.csv").labelled_rows.any()


def test_partly_labelled_table_names_the_first_unlabelled_line(tmp_path):
    proba = np.random.default_rng(2).dirichlet(np.ones(3), size=5)
    table = Predictions.build(classes=["cat", "dog", "eel"], proba=proba, y_true=[0, 1, -1, 2, -1])
    back = Predictions.read(table.write(tmp_path / "p.csv"))
    assert back.labelled_rows.tolist() == [True, True, False, True, False]
    with pytest.raises(TrainlabError, match=r"line 4, column 'y_true' is empty \(2 of 5 rows.*audit needs y_true on every row"):
        back.require_labels("audit")
    np.testing.assert_array_equal(back.subset(back.labelled_rows).y_true, [0, 1, 2])
