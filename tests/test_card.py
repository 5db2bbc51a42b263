"""`trainlab card`: a Hugging Face-style model card built from a real run's artifacts."""

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from trainlab.artifacts.audit import AuditResult
from trainlab.artifacts.metrics import Metrics
from trainlab.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A seed-CNN run on a generic CSV dataset with a 'site' attribute (one epoch, tiny images)."""
    root = tmp_path_factory.mktemp("cardset")
    rng = np.random.default_rng(7)
    rows = []
    for i in range(96):
        label = ["cat", "dog"][i % 2]
        img = rng.integers(0, 80, (14, 14, 3)).astype(np.uint8) + np.uint8(110 * (i % 2))
        Image.fromarray(img).save(root / f"{i}.png")
        split = "train" if i < 48 else ("val" if i < 64 else "test")
        rows.append({"path": f"{i}.png", "label": label, "split": split, "site": "north" if i % 4 < 2 else "south"})
    pd.DataFrame(rows).to_csv(root / "labels.csv", index=False)
    runs = tmp_path_factory.mktemp("runs")
    assert main(["train", "ip102-seed-cnn", f"data.root={root / 'labels.csv'}", "data.format=csv", "data.image_size=14",
                 "train.epochs=1", "train.batch_size=8", f"output.runs={runs}", "output.name=c"]) == 0
    return runs / "c"


def front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_card_without_an_audit_says_so(run, capsys):
    assert main(["card", str(run)]) == 0
    text = (run / "README.md").read_text()
    meta = front_matter(text)
    metrics = Metrics.read(run)
    assert meta["library_name"] == "trainlab" and meta["pipeline_tag"] == "image-classification"
    values = {m["type"]: m["value"] for m in meta["model-index"][0]["results"][0]["metrics"]}
    assert values["accuracy"] == pytest.approx(metrics.accuracy, abs=1e-6)
    assert "**Not audited.**" in text and f"trainlab audit {run} --by <attribute>" in text
    assert "## Training" in text and "1 of 1 (finished)" in text
    assert "no fairness audit" in capsys.readouterr().out


def test_card_bias_section_comes_from_the_audit(run, capsys):
    assert main(["audit", str(run), "--by", "site", "--bootstrap", "50", "--min-group-size", "5"]) == 0
    capsys.readouterr()
    assert main(["card", str(run), "--out", str(run / "card.md")]) == 0
    text = (run / "card.md").read_text()
    result = AuditResult.read(run / "audit")
    grouping = result.get("site")
    assert "### By site" in text and "Not audited" not in text
    for group in grouping.groups:  # every group with its size and accuracy, as audit.json has them
        assert f"| {group.group}" in text and f"| {group.count:,} |" in text
        assert f"{group.accuracy.value:.3f}" in text
    gap = grouping.disparities["accuracy_gap"]
    assert f"{gap.value:.3f}" in text
    assert ("**Flagged" in text) == bool(grouping.flags)


def test_card_of_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["card", str(tmp_path)]) == 2
    assert "not a trainlab run folder" in capsys.readouterr().err
