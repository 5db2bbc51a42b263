"""Readers → Manifest: every layout, its quirks, carved splits, and every cheap check with its message."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from test_data_helpers import fairface, ip102, solid

from trainlab.data.formats import detect_format, load_manifest
from trainlab.data.splits import carve_splits
from trainlab.errors import TrainlabError


@pytest.fixture
def info_log(caplog):
    caplog.set_level(logging.INFO, logger="trainlab")
    logging.getLogger("trainlab").propagate = True  # let caplog see the trainlab logger
    yield caplog
    logging.getLogger("trainlab").propagate = False


# ---- IP102 -----------------------------------------------------------------------------
def test_ip102_official_layout_with_crlf_and_tab_classes(tmp_path, info_log):
    root = ip102(tmp_path / "ip", "official")
    m = load_manifest(root)
    assert m.source["format"] == "ip102" and m.source["layout"] == "official"
    assert "official release: images/<file>" in info_log.text
    assert m.classes == ["rice leaf roller", "paddy stem maggot", "Cicadellidae"]  # CRLF and tabs stripped
    assert m.frame["split"].value_counts().to_dict() == {"train": 9, "val": 3, "test": 3}
    first = m.frame.iloc[0]
    assert first["id"] == "images/00000.jpg" and first["path"] == str(root / "images" / "00000.jpg")
    assert first["label"] == 0 and m.origin(0) == "train.txt:1"
    assert list(m.labels("val")) == [0, 1, 2]
    assert m.attributes == []  # the _origin column is internal


def test_ip102_coursework_layout(tmp_path, info_log):
    root = ip102(tmp_path / "ip", "coursework")
    m = load_manifest(root, fmt="ip102")
    assert m.source["layout"] == "coursework"
    assert "classification/<split>/<label>/<file>" in info_log.text
    row = m.frame[m.frame["split"] == "test"].iloc[2]
    assert row["id"] == "classification/test/2/00014.jpg" and row["label"] == 2


def test_ip102_without_classes_txt_uses_label_numbers(tmp_path):
    m = load_manifest(ip102(tmp_path / "ip", classes_txt=False))
    assert m.classes == ["0", "1", "2"]


def test_ip102_label_outside_classes_txt_names_file_and_line(tmp_path):
    root = ip102(tmp_path / "ip")
    (root / "train.txt").write_text("00000.jpg 0\n00001.jpg 3\n")
    with pytest.raises(TrainlabError) as exc:
        load_manifest(root)
    assert f"{root / 'train.txt'}:2" in str(exc.value) and "label 3 is outside classes.txt" in str(exc.value)


def test_ip102_malformed_lines(tmp_path):
    root = ip102(tmp_path / "ip")
    (root / "val.txt").write_text("00009.jpg 0\n\n00010.jpg one\n")
    with pytest.raises(TrainlabError, match=r"val\.txt:3: label 'one' is not an integer"):
        load_manifest(root)
    (root / "val.txt").write_text("lonely\n")
    with pytest.raises(TrainlabError, match=r"val\.txt:1: expected '<file> <label>'"):
        load_manifest(root)


def test_ip102_classes_txt_out_of_sequence(tmp_path):
    root = ip102(tmp_path / "ip")
    (root / "classes.txt").write_text("1  a\n3  c\n")
    with pytest.raises(TrainlabError, match=r"classes\.txt:2: class number 3 out of sequence"):
        load_manifest(root)


def test_ip102_empty_split_file(tmp_path):
    root = ip102(tmp_path / "ip")
    (root / "val.txt").write_text("\r\n")
    with pytest.raises(TrainlabError, match=r"split 'val' \(.*val\.txt\) is empty"):
        load_manifest(root)


def test_missing_and_empty_files_name_file_and_line(tmp_path):
    root = ip102(tmp_path / "ip")
    (root / "images" / "00004.jpg").unlink()  # train.txt line 5
    (root / "images" / "00010.jpg").write_bytes(b"")  # val.txt line 2 (val starts at 00009)
    with pytest.raises(TrainlabError) as exc:
        load_manifest(root)
    msg = str(exc.value)
    assert "2 listed image file(s) are missing or empty" in msg
    assert f"{root / 'images' / '00004.jpg'} (train.txt:5): file not found" in msg
    assert f"{root / 'images' / '00010.jpg'} (val.txt:2): empty file (0 bytes)" in msg
    assert "--on-bad-image skip" in msg


def test_missing_files_skipped_counted_and_listed(tmp_path):
    root = ip102(tmp_path / "ip")
    (root / "images" / "00004.jpg").unlink()
    m = load_manifest(root, on_bad_image="skip")
    assert len(m) == 14
    assert m.source["skipped"] == [{"path": str(root / "images" / "00004.jpg"), "reason": "file not found", "origin": "train.txt:5"}]


def test_split_emptied_by_skips_is_an_error(tmp_path):
    root = ip102(tmp_path / "ip")
    for name in ("00009.jpg", "00010.jpg", "00011.jpg"):  # every val image
        (root / "images" / name).unlink()
    with pytest.raises(TrainlabError, match=r"split 'val' \(val\.txt\) is empty after skipping 3 bad file"):
        load_manifest(root, on_bad_image="skip")


def test_duplicate_rows_name_both_lines(tmp_path):
    root = ip102(tmp_path / "ip")
    with open(root / "test.txt", "a") as fh:
        fh.write("00000.jpg 0\n")  # a training image listed again in test: line 4
    with pytest.raises(TrainlabError) as exc:
        load_manifest(root)
    assert "listed more than once" in str(exc.value)
    assert "train.txt:1 [train], test.txt:4 [test]" in str(exc.value)


def test_class_in_test_absent_from_train(tmp_path):
    root = ip102(tmp_path / "ip")
    lines = (root / "train.txt").read_text().splitlines()
    (root / "train.txt").write_text("\n".join(line for line in lines if not line.endswith(" 2")) + "\n")
    with pytest.raises(TrainlabError) as exc:
        load_manifest(root)
    msg = str(exc.value)
    assert "class 'Cicadellidae' (label 2)" in msg and "first at val.txt:3 [val]" in msg


def test_ip102_split_lists_without_images(tmp_path):
    root = tmp_path / "splits"
    root.mkdir()
    (root / "train.txt").write_text("a.jpg 0\r\nb.jpg 1\r\n")
    (root / "test.txt").write_text("c.jpg 1\r\n")
    with pytest.raises(TrainlabError, match="no images"):
        load_manifest(root)
    m = load_manifest(root, check_files=False, val_fraction=0)
    assert len(m) == 3 and m.classes == ["0", "1"]


# ---- FairFace ---------------------------------------------------------------------------
def test_fairface_mapping_val_labels_become_test_and_val_is_carved(tmp_path, info_log):
    root = fairface(tmp_path / "ff", per_group=10)
    m = load_manifest(root, target="gender", val_fraction=0.2)
    assert m.source["format"] == "fairface" and m.target == "gender"
    assert m.classes == ["Female", "Male"]
    assert m.attributes == ["age", "race", "service_test"]
    splits = m.frame["split"].value_counts().to_dict()
    assert splits == {"train": 24, "val": 6, "test": 6}  # 30 train rows, 20% carved; 6 val_labels rows → test
    assert set(m.frame.loc[m.frame["split"] == "test", "id"]) == {f"val/{k}.jpg" for k in range(1, 7)}
    assert [r["split"] for r in m.source["carved"]] == ["val"]
    assert m.source["carved"][0]["stratified_by"] == ["label", "race"]
    assert "val_labels.csv" in m.source["split_mapping"]["test"]
    assert m.origin(0) == "train_labels.csv:2"


def test_fairface_only_train_labels_carves_val_and_test(tmp_path):
    root = fairface(tmp_path / "ff", val=False, per_group=10)
    m = load_manifest(root / "train_labels.csv", target="race", val_fraction=0.2, test_fraction=0.2)
    assert m.classes == ["Black", "East Asian", "White"]
    assert m.attributes == ["age", "gender", "service_test"]
    assert {r["split"]: r["rows"] for r in m.source["carved"]} == {"test": 6, "val": 6}
    assert (m.counts()[["val", "test"]] == 2).all().all()  # 10 per race: 2 each, exactly stratified


def test_fairface_damaged_age_bins_repaired_with_a_count(tmp_path, info_log):
    root = fairface(tmp_path / "ff", damaged_ages=5)
    assert "03-Sep" in (root / "train_labels.csv").read_text() and "Oct-19" in (root / "train_labels.csv").read_text()
    m = load_manifest(root, target="age")
    assert "repaired 5 row(s)" in info_log.text
    assert "'03-Sep' → '3-9'" in info_log.text and "'Oct-19' → '10-19'" in info_log.text
    assert m.classes == ["3-9", "10-19", "20-29", "30-39"]  # natural order, no date-shaped bins left
    assert m.source["repairs"][0]["rows"] == 5


def test_fairface_unknown_target_lists_columns(tmp_path):
    root = fairface(tmp_path / "ff")
    with pytest.raises(TrainlabError, match=r"no column 'skin' to use as the target; choose one of \['age', 'gender', 'race', 'service_test'\]"):
        load_manifest(root, target="skin")


def test_fairface_empty_target_value_names_the_line(tmp_path):
    root = fairface(tmp_path / "ff")
    text = (root / "train_labels.csv").read_text().splitlines()
    text[3] = text[3].replace(",Male,", ",,").replace(",Female,", ",,")
    (root / "train_labels.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(TrainlabError, match=r"no value in the target column 'gender' \(line\(s\) 4\)"):
        load_manifest(root)


# ---- generic CSV, ImageFolder ---------------------------------------------------------------
def test_generic_csv_with_split_and_extra_columns(tmp_path):
    root = tmp_path / "csvdata"
    for i in range(6):
        solid(root / "img" / f"{i}.png")
    (root / "labels.csv").write_text(
        "path,label,split,camera,weather\n"
        "img/0.png,cat,train,a,sun\nimg/1.png,dog,train,b,rain\nimg/2.png,cat,train,a,sun\n"
        "img/3.png,dog,valid,b,sun\nimg/4.png,cat,test,a,rain\nimg/5.png,dog,test,b,sun\n"
    )
    m = load_manifest(root / "labels.csv")
    assert m.source["format"] == "csv" and m.classes == ["cat", "dog"]
    assert m.attributes == ["camera", "weather"]
    assert list(m.frame["split"]) == ["train", "train", "train", "val", "test", "test"]
    assert m.frame["path"].iloc[0] == str(root / "img" / "0.png")
    assert "carved" not in m.source


def test_generic_csv_target_column_and_reserved_names(tmp_path):
    root = tmp_path / "c"
    for i in range(4):
        solid(root / f"{i}.png")
    (root / "data.csv").write_text("file,label,kind\n0.png,x,a\n1.png,y,b\n2.png,x,a\n3.png,y,b\n")
    m = load_manifest(root / "data.csv", target="kind", val_fraction=0, test_fraction=0)
    assert m.target == "kind" and m.classes == ["a", "b"] and m.attributes == ["label_column"]


def test_generic_csv_bad_split_value(tmp_path):
    root = tmp_path / "c"
    solid(root / "0.png")
    (root / "d.csv").write_text("path,label,split\n0.png,x,train\n0.png,x,holdout\n")
    with pytest.raises(TrainlabError, match=r"d\.csv:3 \(column 'split'\): unknown split 'holdout'"):
        load_manifest(root / "d.csv")


def test_csv_ragged_row(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("path,label\na.png,x\nb.png,y,extra\n")
    with pytest.raises(TrainlabError, match=r"d\.csv:3: 3 field\(s\) where the header has 2"):
        load_manifest(p, fmt="csv")


def test_imagefolder_with_splits(tmp_path):
    root = tmp_path / "folder"
    for split, n in (("train", 3), ("val", 1), ("test", 1)):
        for cls in ("ants", "bees"):
            for i in range(n):
                solid(root / split / cls / f"{i}.jpg")
    (root / "train" / "ants" / "notes.txt").write_text("not an image")
    m = load_manifest(root)
    assert m.source["format"] == "imagefolder" and m.classes == ["ants", "bees"]
    assert m.frame["split"].value_counts().to_dict() == {"train": 6, "val": 2, "test": 2}
    assert "train/ants/notes.txt" not in set(m.frame["id"]) and m.source["ignored_files"] == 1


def test_imagefolder_without_splits_carves_val_and_test_reproducibly(tmp_path):
    root = tmp_path / "flat"
    for cls, n in (("a", 20), ("b", 10)):
        for i in range(n):
            solid(root / cls / f"{i}.png")
    m1 = load_manifest(root, seed=3)
    m2 = load_manifest(root, seed=3)
    m3 = load_manifest(root, seed=4)
    assert m1.frame["split"].tolist() == m2.frame["split"].tolist()
    assert m1.frame["split"].tolist() != m3.frame["split"].tolist()
    counts = m1.counts()
    assert counts.loc["a", "val"] == 2 and counts.loc["b", "val"] == 1  # 10% of each class
    assert counts.loc["a", "test"] == 2 and counts.loc["b", "test"] == 1


def test_empty_imagefolder_split_is_an_error(tmp_path):
    root = tmp_path / "folder"
    solid(root / "train" / "a" / "0.png")
    (root / "val" / "a").mkdir(parents=True)
    with pytest.raises(TrainlabError, match=r"split 'val' \(val/\) is empty"):
        load_manifest(root)


# ---- detection -----------------------------------------------------------------------------
def test_detect_every_layout_and_refuse_the_unknown(tmp_path):
    assert detect_format(ip102(tmp_path / "ip")) == "ip102"
    assert detect_format(fairface(tmp_path / "ff")) == "fairface"
    assert detect_format(tmp_path / "ff" / "train_labels.csv") == "fairface"
    solid(tmp_path / "if" / "train" / "a" / "0.png")
    assert detect_format(tmp_path / "if") == "imagefolder"
    (tmp_path / "c.csv").write_text("path,label\nx.png,a\n")
    assert detect_format(tmp_path / "c.csv") == "csv"
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "readme.md").write_text("hi")
    with pytest.raises(TrainlabError, match="cannot tell the layout"):
        detect_format(tmp_path / "odd")
    with pytest.raises(TrainlabError, match="does not exist"):
        load_manifest(tmp_path / "nowhere")


# ---- carved splits ---------------------------------------------------------------------------
def test_carve_is_exact_stratified_and_keeps_rare_classes_in_train():
    labels = np.repeat([0, 1, 2, 3], [50, 30, 7, 1])
    frame = pd.DataFrame({"label": labels, "split": "train"})
    out, records = carve_splits(frame, fractions={"val": 0.2}, stratify=["label"], seed=0)
    val = out[out["split"] == "val"]
    assert len(val) == round(88 * 0.2) == records[0]["rows"]
    per_class = val["label"].value_counts().reindex(range(4), fill_value=0)
    for k, n in zip(range(4), (50, 30, 7, 1)):
        assert abs(per_class[k] - n * 0.2) < 1  # within one row of its proportional share
    assert (out.loc[out["label"] == 3, "split"] == "train").all()


def test_carve_never_takes_a_whole_class():
    frame = pd.DataFrame({"label": [0] * 40 + [1, 1], "split": "train"})
    for seed in range(20):
        out, _ = carve_splits(frame, fractions={"test": 0.3, "val": 0.3}, stratify=["label"], seed=seed)
        assert (out.loc[out["label"] == 1, "split"] == "train").any()


def test_carve_rejects_fractions_that_leave_nothing():
    frame = pd.DataFrame({"label": [0, 1], "split": "train"})
    with pytest.raises(TrainlabError, match="must leave rows for training"):
        carve_splits(frame, fractions={"val": 0.5, "test": 0.5}, stratify=["label"])


def test_fairface_folder_with_only_val_labels_is_recognised(tmp_path):
    root = fairface(tmp_path / "ff", per_group=10)
    (root / "train_labels.csv").unlink()  # left: val_labels.csv and val/ (which looks like an ImageFolder split)
    assert detect_format(root) == "fairface"
    m = load_manifest(root, val_fraction=0.2, test_fraction=0.2)
    assert m.source["format"] == "fairface" and m.source["files"] == {"train": "val_labels.csv"}
    assert len(m) == 6 and set(m.frame["id"]) == {f"val/{k}.jpg" for k in range(1, 7)}
    assert m.origin(0) == "val_labels.csv:2"


def test_fairface_folder_with_several_labels_csvs_but_no_train_asks_which(tmp_path):
    root = fairface(tmp_path / "ff")
    (root / "train_labels.csv").rename(root / "extra_labels.csv")
    with pytest.raises(TrainlabError, match=r"no train_labels.csv .* but 2 labels CSVs \(extra_labels.csv, val_labels.csv\)"):
        load_manifest(root)


# ---- leaks and typos ------------------------------------------------------------------------
def test_a_symlink_to_a_training_image_listed_in_test_is_a_duplicate(tmp_path):
    root = ip102(tmp_path / "ip")
    (root / "images" / "link.jpg").symlink_to(root / "images" / "00000.jpg")
    with open(root / "test.txt", "a") as fh:
        fh.write("link.jpg 0\n")
    with pytest.raises(TrainlabError) as exc:
        load_manifest(root)
    msg = str(exc.value)
    assert "listed more than once" in msg and "train.txt:1 [train], test.txt:4 [test]" in msg
    assert f"through link(s) {root / 'images' / 'link.jpg'}" in msg


def test_a_byte_identical_copy_in_another_split_is_an_error_unless_accepted(tmp_path):
    import shutil

    root = ip102(tmp_path / "ip")
    shutil.copy(root / "images" / "00001.jpg", root / "images" / "copy.jpg")
    with open(root / "test.txt", "a") as fh:
        fh.write("copy.jpg 0\n")
    with pytest.raises(TrainlabError) as exc:
        load_manifest(root)
    msg = str(exc.value)
    assert "byte-identical" in msg and "(train.txt:2) [train]" in msg and "(test.txt:4) [test]" in msg
    assert "data.duplicate_images=warn" in msg and "--duplicate-images warn" in msg
    m = load_manifest(root, duplicate_images="warn")
    assert m.source["identical_across_splits"][0]["splits"] == ["train", "test"]


def test_carving_keeps_byte_identical_files_in_one_split(tmp_path):
    import shutil

    root = tmp_path / "if"
    for cls in ("cats", "dogs"):
        for i in range(20):
            solid(root / cls / f"{i}.png")
    for k in range(4):  # four copies of one cat: carving val and test would scatter them
        shutil.copy(root / "cats" / "0.png", root / "cats" / f"copy{k}.png")
    for seed in range(4):
        m = load_manifest(root, val_fraction=0.2, test_fraction=0.2, seed=seed)
        copies = m.frame["id"].str.match(r"cats/(0|copy\d)\.png$")
        assert copies.sum() == 5 and m.frame.loc[copies, "split"].nunique() == 1, seed
        assert {r["split"]: r["rows"] for r in m.source["carved"]} == m.frame["split"].value_counts().drop("train").to_dict()


def test_a_label_typo_names_its_rows_and_how_to_accept_it(tmp_path):
    root = fairface(tmp_path / "ff", per_group=10)
    lines = (root / "train_labels.csv").read_text().splitlines()
    n = next(i for i, line in enumerate(lines) if ",Female," in line)
    lines[n] = lines[n].replace(",Female,", ",Femael,")
    (root / "train_labels.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(TrainlabError) as exc:
        load_manifest(root)
    msg = str(exc.value)
    assert f"'Femael' (1 row(s): train_labels.csv:{n + 1}) looks like a typo of 'Female'" in msg
    assert "data.accept_labels=[Femael]" in msg and "--accept-label Femael" in msg
    m = load_manifest(root, accept_labels=["Femael"])
    assert m.classes == ["Femael", "Female", "Male"] and m.source["accepted_labels"] == ["Femael"]


def test_numbered_bins_and_short_names_are_not_typos():
    from trainlab.data.validate import check_label_typos, looks_like_typo

    assert looks_like_typo("Femael", "Female") and looks_like_typo("female", "Female") and looks_like_typo("Mael", "Male")
    assert not looks_like_typo("Male", "Female") and not looks_like_typo("30-39", "20-29") and not looks_like_typo("cat", "car")
    frame = pd.DataFrame({"label": ["20-29"] * 30 + ["30-39"], "path": [f"{i}.jpg" for i in range(31)]})
    check_label_typos(frame)  # no error
