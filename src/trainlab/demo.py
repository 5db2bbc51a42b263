"""``trainlab demo``: the whole flow end to end on built-in data (no download), ending in one HTML report.

Stages (each a call into the stage's own module; this file only chooses sizes and passes folders on):

1. **datasets**: the built-in IP102-layout and FairFace-layout demos (:func:`trainlab.data.demo.make_demo_datasets`);
   the FairFace-layout one has a planted disparity: one group is harder to classify.
2. **seed CNN**: the coursework CNN trained on the IP102-layout demo.
3. **face model**: a small timm network trained on the FairFace-layout demo, target ``gender``.
4. **transfer**: the same architecture, its backbone loaded from stage 3's saved weights file
   (``checkpoints/best/model.safetensors``), fine-tuned *staged* (head first, then everything) on the
   IP102-layout demo: a real transfer from one task to another, since no model hub is reachable.
5. **compare**: seed CNN against transfer model on the same test items (metrics table, curves, McNemar).
6. **audit**: the face model's test predictions by the group attribute, with bootstrap CIs.
7. **mitigate**: per-group thresholds fitted on val, applied to test, before/after.
8. **sine**: the function-fitting experiment (reduced: fewer epochs and seeds than ``trainlab sine``).
9. **report**: one self-contained HTML file, ``<out>/report.html``.

A stage whose input is missing (an earlier stage was skipped) is skipped with a message that says so, and
the report says so too; any other failure stops the demo with its error. ``<out>/demo.json`` records what
ran, the settings, each stage's wall time and the key figures. The demo's image caches stay in
``<out>/cache`` (``data.cache_dir`` in the recipes it writes). ``run_demo`` returns the :class:`Demo`; the
command line prints its ``summary()``.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from trainlab._version import __version__
from trainlab.artifacts.metrics import Metrics
from trainlab.errors import TrainlabError
from trainlab.utils.io import write_json
from trainlab.utils.log import get_logger

log = get_logger("trainlab.demo")

GROUP_ATTRIBUTE = "race"  # the FairFace-layout demo's group column (FairFace's own name for it)
TARGET = "gender"


@dataclass(frozen=True)
class Settings:
    """Sizes and lengths of every stage; ``FULL`` meets 5 minutes on a 2-core CPU, ``QUICK`` is for tests."""

    scale: float  # multiplies the demo datasets' image counts
    image_size: int  # both datasets are trained at image_size x image_size
    cnn_epochs: int
    face_epochs: int
    transfer_epochs: int
    stage_epochs: int  # transfer: epochs with the backbone frozen (head only) before everything trains
    batch_size: int
    backbone: str  # the timm architecture of the face model and of the transfer model
    bootstrap: int
    sine_epochs: int
    sine_seeds: int
    sine_windows: tuple[int, ...] | None
    sine_windows_epochs: int


FULL = Settings(scale=1.0, image_size=32, cnn_epochs=8, face_epochs=6, transfer_epochs=8, stage_epochs=1,
                batch_size=64, backbone="timm:test_resnet", bootstrap=1000, sine_epochs=100, sine_seeds=1,
                sine_windows=(1, 8, 32), sine_windows_epochs=10)
QUICK = Settings(scale=0.15, image_size=24, cnn_epochs=2, face_epochs=2, transfer_epochs=2, stage_epochs=1,
                 batch_size=32, backbone="timm:test_resnet", bootstrap=200, sine_epochs=3, sine_seeds=1,
                 sine_windows=None, sine_windows_epochs=1)


@dataclass
class Stage:
    key: str
    title: str
    status: str = "pending"  # done, skipped
    seconds: float | None = None
    message: str | None = None


@dataclass
class Demo:
    out: Path
    settings: Settings
    seed: int
    quick: bool
    stages: list[Stage] = field(default_factory=list)
    disparity: bool = True  # False: the FairFace-layout demo draws every group alike (a control for the audit)
    paths: dict[str, str] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    report: Path | None = None  # the HTML report, once written
    elapsed: float = 0.0

    def stage(self, key: str) -> Stage:
        return next(s for s in self.stages if s.key == key)

    @contextlib.contextmanager
    def run(self, key: str) -> Iterator[Stage]:
        """Log the stage's name and number, time it, and turn a missing input into a plain 'skipped'."""
        stage = self.stage(key)
        number = self.stages.index(stage) + 1
        log.info("[%d/%d] %s", number, len(self.stages), stage.title)
        t0 = time.perf_counter()
        try:
            yield stage
        except _Missing as exc:
            stage.status, stage.message = "skipped", str(exc)
            log.warning("[%d/%d] %s: skipped: %s", number, len(self.stages), stage.title, exc)
            return
        finally:
            stage.seconds = round(time.perf_counter() - t0, 2)
        if stage.status == "pending":
            stage.status = "done"
        log.info("[%d/%d] %s: %s in %.1f s", number, len(self.stages), stage.title, stage.status, stage.seconds)

    def summary(self) -> str:
        """The stage table and the report's path, as ``trainlab demo`` prints them."""
        width = max(len(s.title) for s in self.stages)
        lines = ["", "trainlab demo: stages"]
        for stage in self.stages:
            seconds = "" if stage.seconds is None else f"{stage.seconds:6.1f} s"
            status = stage.status + (f" ({stage.message})" if stage.message else "")
            lines.append(f"  {stage.title:<{width}} {seconds:>8}  {status}")
        lines.append(f"  {'total':<{width}} {self.elapsed:6.1f} s")
        if self.report is not None:
            lines.append(f"\nreport: {self.report.resolve()}")
        return "\n".join(lines)

    def record(self) -> dict:
        return {
            "trainlab_version": __version__, "quick": self.quick, "seed": self.seed, "disparity": self.disparity, "settings": asdict(self.settings),
            "stages": [asdict(s) for s in self.stages], "paths": self.paths, "figures": self.figures,
            "total_s": round(sum(s.seconds or 0 for s in self.stages), 2),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        }


class _Missing(Exception):
    """A stage cannot run because an earlier one it needs did not."""


STAGES = (
    ("datasets", "Generate the built-in datasets (IP102 layout, FairFace layout with a planted disparity)"),
    ("seed_cnn", "Train the seed CNN on the IP102-layout demo"),
    ("face", "Train the face model on the FairFace-layout demo (target: gender)"),
    ("transfer", "Transfer: fine-tune the face model's backbone (staged) on the IP102-layout demo"),
    ("compare", "Compare seed CNN and transfer model (McNemar)"),
    ("audit", "Audit the face model by group, with bootstrap confidence intervals"),
    ("mitigate", "Mitigate: per-group thresholds fitted on val, applied to test"),
    ("sine", "Fit y = sin(x) with an MLP, an LSTM and a GRU"),
    ("report", "Write the HTML report"),
)


def run_demo(out: str | Path = "demo-output", quick: bool = False, seed: int = 0, disparity: bool = True) -> Demo:
    """Run every stage into ``out``; return the :class:`Demo` (stages, paths, figures, ``report``, ``summary()``).

    ``disparity=False`` generates the FairFace-layout demo without its planted group disparity: the
    control run, in which the audit should flag nothing.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise TrainlabError(f"--out {out} is a file; give a folder for the demo's outputs")
    out.mkdir(parents=True, exist_ok=True)
    settings = QUICK if quick else FULL
    stages = [Stage(k, t if disparity or k != "datasets" else t.replace("with a planted disparity", "without a planted disparity"))
              for k, t in STAGES]
    demo = Demo(out=out, settings=settings, seed=seed, quick=quick, stages=stages, disparity=disparity)
    t_start = time.perf_counter()

    with demo.run("datasets"):
        _datasets(demo)
    with demo.run("seed_cnn"):
        _train(demo, "seed_cnn", "seed-cnn", _cnn_recipe(demo))
    with demo.run("face"):
        _train(demo, "face", "face-gender", _face_recipe(demo))
    with demo.run("transfer"):
        _train(demo, "transfer", "transfer", _transfer_recipe(demo))
    with demo.run("compare"):
        _compare(demo)
    with demo.run("audit"):
        _audit(demo)
    with demo.run("mitigate"):
        _mitigate(demo)
    with demo.run("sine"):
        _sine(demo)
    with demo.run("report"):
        demo.report = _report(demo, time.perf_counter() - t_start)
    write_json(out / "demo.json", demo.record())
    demo.elapsed = time.perf_counter() - t_start
    return demo


# ---- stages -------------------------------------------------------------------------------------
def _need(demo: Demo, *keys: str) -> None:
    for key in keys:
        if key not in demo.paths:
            raise _Missing(f"needs the '{demo.stage(key).title}' stage, which did not run"
                           if key in {k for k, _ in STAGES} else f"needs {key}, which is not there")


def _datasets(demo: Demo) -> None:
    from trainlab.data.demo import make_demo_datasets

    root = demo.out / "data"
    made = make_demo_datasets(root, kind="all", seed=demo.seed, disparity=demo.disparity, scale=demo.settings.scale)
    paths = _dataset_paths(made, root)
    demo.paths.update(paths)


def _dataset_paths(made: Any, root: Path) -> dict[str, str]:
    """The two datasets' roots, from what make_demo_datasets returned (a dict of paths) or its folder layout."""
    found: dict[str, str] = {}
    if isinstance(made, dict):
        for key, value in made.items():
            name = str(key).lower()
            if "ip102" in name:
                found["ip102_data"] = str(value)
            elif "fairface" in name or "face" in name:
                found["fairface_data"] = str(value)
    for key, name in (("ip102_data", "ip102"), ("fairface_data", "fairface")):
        if key not in found and (root / name).exists():
            found[key] = str(root / name)
    if set(found) != {"ip102_data", "fairface_data"}:
        raise TrainlabError(f"the demo datasets were not found under {root} (got {made!r})")
    return found


def _base_train(demo: Demo, epochs: int) -> dict:
    s = demo.settings
    return {"epochs": epochs, "batch_size": s.batch_size, "seed": demo.seed, "monitor": "val_acc", "device": "auto"}


def _cnn_recipe(demo: Demo) -> dict:
    _need(demo, "ip102_data")
    s = demo.settings
    return {
        "data": {"root": demo.paths["ip102_data"], "format": "ip102", "image_size": [s.image_size, s.image_size],
                 "resize": "stretch"},
        "model": {"name": "seed_cnn", "options": {}},
        "train": {**_base_train(demo, s.cnn_epochs), "optimizer": "adam", "lr": 1e-3},
    }


def _face_recipe(demo: Demo) -> dict:
    _need(demo, "fairface_data")
    s = demo.settings
    return {
        "data": {"root": demo.paths["fairface_data"], "format": "fairface", "target": TARGET,
                 "image_size": [s.image_size, s.image_size], "resize": "stretch"},
        "model": {"name": s.backbone, "options": {"mode": "finetune"}},
        "train": {**_base_train(demo, s.face_epochs), "optimizer": "adamw", "lr": 3e-3, "backbone_lr_scale": 1.0,
                  "weight_decay": 0.01, "schedule": "cosine"},
    }


def _transfer_recipe(demo: Demo) -> dict:
    _need(demo, "ip102_data", "face")
    s = demo.settings
    weights = Path(demo.paths["face"]) / "checkpoints" / "best" / "model.safetensors"
    if not weights.is_file():
        raise _Missing(f"the face model's weights file {weights} is not there")
    return {
        "data": {"root": demo.paths["ip102_data"], "format": "ip102", "image_size": [s.image_size, s.image_size],
                 "resize": "stretch"},
        "model": {"name": s.backbone, "options": {"mode": "staged", "weights": str(weights)}},
        "train": {**_base_train(demo, s.transfer_epochs), "optimizer": "adamw", "lr": 1e-2, "backbone_lr_scale": 0.5,
                  "weight_decay": 0.01, "schedule": "cosine", "stage_epochs": s.stage_epochs},
    }


def _train(demo: Demo, key: str, name: str, recipe: dict) -> Path:
    """Write the recipe to ``<out>/recipes/<name>.yaml`` (so a stage can be redone by hand) and train it."""
    import shutil

    import yaml

    from trainlab.training.run import train_from_recipe

    recipe = {**recipe, "output": {"runs": str(demo.out / "runs"), "name": name},
              "data": {**recipe["data"], "cache_dir": str((demo.out / "cache").resolve())}}  # the demo's caches stay in its folder
    path = demo.out / "recipes" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# trainlab demo stage: trainlab train {path}\n" + yaml.safe_dump(recipe, sort_keys=False))
    run = demo.out / "runs" / name
    if run.exists():  # a rerun of the demo into the same folder starts its runs afresh
        shutil.rmtree(run)
    run = Path(train_from_recipe(path, overrides=[]))
    demo.paths[key] = str(run)
    if Metrics.exists_in(run):
        m = Metrics.read(run)
        demo.figures[key] = {"accuracy": m.accuracy, "balanced_accuracy": m.balanced_accuracy,
                             "classes": m.n_classes, "test_items": m.n}
    return run


def _compare(demo: Demo) -> None:
    _need(demo, "seed_cnn", "transfer")
    from trainlab.evaluation.compare import compare

    folder = demo.out / "compare"
    result = compare([demo.paths["seed_cnn"], demo.paths["transfer"]], names=["seed CNN", "transfer"])
    result.write(folder)
    demo.paths["compare"] = str(folder)
    pair = result.comparison.mcnemar[0]
    demo.figures["compare"] = {k: getattr(pair, k) for k in ("accuracy_a", "accuracy_b", "a_only", "b_only", "p_value", "verdict")}


def _audit(demo: Demo) -> None:
    _need(demo, "face")
    from trainlab.artifacts.audit import Disparity
    from trainlab.fairness.audit import audit
    from trainlab.artifacts.predictions import Predictions
    from trainlab.fairness.folder import write_audit

    run = Path(demo.paths["face"])
    result = audit(Predictions.read(run, "test"), by=[GROUP_ATTRIBUTE], bootstrap=demo.settings.bootstrap, seed=demo.seed)
    write_audit(result, run / "audit")
    demo.paths["audit"] = str(run / "audit")
    grouping = result.audits[0]
    none = Disparity(value=None)
    gap = grouping.disparities.get("accuracy_gap") or none
    worst = grouping.disparities.get("worst_group_accuracy") or none
    demo.figures["audit"] = {
        "by": GROUP_ATTRIBUTE, "accuracy_gap": gap.value, "accuracy_gap_ci": gap.ci,
        "lowest": gap.lowest, "highest": gap.highest, "worst_group": worst.group,
        "worst_group_accuracy": worst.value, "flags": len(result.flags),
    }
    log.info("audit by %s: accuracy gap %s (95%% CI %s), lowest for %s; %d flag(s)", GROUP_ATTRIBUTE,
             _num(gap.value), _interval(gap.ci), gap.lowest, len(result.flags))


def _mitigate(demo: Demo) -> None:
    _need(demo, "face")
    from trainlab.fairness.mitigate import mitigate_run

    run = Path(demo.paths["face"])
    result = mitigate_run(run, by=GROUP_ATTRIBUTE, constraint="equalized_odds", seed=demo.seed,
                          bootstrap=demo.settings.bootstrap)  # its before/after table is in the report
    record = result["record"]
    demo.paths["mitigation"] = str(result["out"])
    rows = {(r["split"], r["measure"]): r for r in record["before_after"]}
    demo.figures["mitigation"] = {
        "constraint": record["constraint"], "changed_test_rows": record["changed_rows"]["test"],
        **{f"{m}_{when}": (rows.get(("test", m)) or {}).get(when)
           for m in ("accuracy", "equalized_odds_difference", "accuracy_gap") for when in ("before", "after")},
    }


def _num(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _interval(ci) -> str:
    return "n/a" if not ci else f"[{_num(ci[0])}, {_num(ci[1])}]"


def _sine(demo: Demo) -> None:
    from trainlab.experiments.sine import run_experiment

    s = demo.settings
    folder = demo.out / "sine"
    workers = max(1, min(2, os.cpu_count() or 1))  # the fits are independent jobs: one process per core
    windows = (f"the windowed task for k = {', '.join(map(str, s.sine_windows))} with {s.sine_windows_epochs} epochs"
               if s.sine_windows else "no windowed task")
    epochs = "the coursework's 100 epochs" if s.sine_epochs == 100 else f"{s.sine_epochs} epochs instead of the coursework's 100"
    reduced = (f"Reduced for the demo's time budget: {epochs}, {s.sine_seeds} seed(s) instead of 5, {windows}. "
               "'trainlab sine' runs the full experiment.")
    result = run_experiment(epochs=s.sine_epochs, seeds=s.sine_seeds, first_seed=demo.seed, ks=s.sine_windows,
                            windows_epochs=s.sine_windows_epochs, threads=1, workers=workers, quick=demo.quick, reduced=reduced)
    result.write(folder)
    demo.paths["sine"] = str(folder)
    demo.figures["sine_test_mse"] = {k: m.runs[0]["test_mse"] for k, m in result.results.models.items()}


def _report(demo: Demo, elapsed: float) -> Path:
    from trainlab.reporting import make_report

    inputs = [demo.paths[k] for k in ("seed_cnn", "transfer", "face", "compare", "sine") if k in demo.paths]
    if not inputs:
        raise TrainlabError("no stage produced anything to report on; see the messages above")
    return make_report(inputs, out=demo.out / "report.html", title="trainlab demo", intro=_intro(demo, elapsed))


def _intro(demo: Demo, elapsed: float) -> str:
    """The report's opening: what the demo did, its key results in numbers, and the time of each stage."""
    s, f = demo.settings, demo.figures
    lines = [
        "Everything below was made by `trainlab demo" + (" --quick`" if demo.quick else "`") +
        f" from built-in data generated with seed {demo.seed}, with no download: the datasets, three trainings, "
        "the evaluation and comparison, the fairness audit and its mitigation, and the function-fitting experiment."
        + (" This is the quick version, for tests: too small to judge any result." if demo.quick else ""),
        "",
        "## Key results",
        "",
    ]
    cnn, tr, face = f.get("seed_cnn"), f.get("transfer"), f.get("face")
    if cnn and cnn.get("accuracy") is not None:
        chance = 1 / cnn["classes"] if cnn.get("classes") else None
        lines.append(f"- **Seed CNN** (the coursework's CNN, from scratch, {s.image_size}×{s.image_size} px, {s.cnn_epochs} epochs) "
                     f"on the IP102-layout demo: test accuracy **{_pct(cnn['accuracy'])}** on {cnn['test_items']} items"
                     + (f" ({cnn['classes']} classes: chance is {_pct(chance)})." if chance else "."))
    if face and face.get("accuracy") is not None:
        lines.append(f"- **Face model** (`{s.backbone}`, {s.face_epochs} epochs) classifying `{TARGET}` on the FairFace-layout "
                     f"demo: test accuracy **{_pct(face['accuracy'])}**.")
    if tr and tr.get("accuracy") is not None:
        lines.append(f"- **Transfer**: the face model's backbone, loaded from its weights file and fine-tuned staged "
                     f"({s.stage_epochs} epoch(s) head only, then all layers; {s.transfer_epochs} epochs) on the IP102-layout demo: "
                     f"test accuracy **{_pct(tr['accuracy'])}**.")
    cmp = f.get("compare")
    if cmp:
        lines.append(f"- **Comparison** on the same test items (McNemar's exact test): {cmp['verdict']} "
                     f"(p = {cmp['p_value']:.3g}; {cmp['a_only']} items only the seed CNN gets right, "
                     f"{cmp['b_only']} only the transfer model).")
    aud = f.get("audit")
    if aud and aud.get("accuracy_gap") is not None:
        hard = _hard_group(demo)
        found = bool(aud.get("lowest") == hard and aud["accuracy_gap_ci"] and aud["accuracy_gap_ci"][0] > 0)
        if hard:
            verdict = (f"The planted disparity is in group {hard}: the audit "
                       + ("finds it, with an interval that excludes zero." if found else
                          "does not single it out in this run (see the fairness section)."))
        else:
            verdict = ("This demo was generated without a planted disparity (--no-disparity): "
                       + ("no flag, as it should be." if not aud["flags"] else "any flag here is a false alarm at the 95% level."))
        lines.append(f"- **Audit** of the face model by `{aud['by']}`: accuracy gap **{_num(aud['accuracy_gap'])}** "
                     f"(95% CI {_interval(aud['accuracy_gap_ci'])}) between {aud['lowest']} (lowest) and {aud['highest']}; "
                     f"{aud['flags']} flag(s). " + verdict)
    mit = f.get("mitigation")
    if mit and mit.get("accuracy_before") is not None:
        lines.append(f"- **Mitigation** ({mit['constraint'].replace('_', ' ')}, per-group thresholds fitted on val): "
                     f"accuracy gap {_num(mit['accuracy_gap_before'])} → {_num(mit['accuracy_gap_after'])}, equalized-odds "
                     f"difference {_num(mit['equalized_odds_difference_before'])} → {_num(mit['equalized_odds_difference_after'])}, "
                     f"at a cost in accuracy: {_pct(mit['accuracy_before'])} → {_pct(mit['accuracy_after'])} "
                     f"({mit['changed_test_rows']} test predictions changed). Post-processing can only move decisions; "
                     "it cannot make the hard group's images easier.")
    sine = f.get("sine_test_mse")
    if sine:
        lines.append(f"- **Function fitting** y = sin x on [−π, π] ({s.sine_epochs} epochs, one seed): test MSE " +
                     ", ".join(f"{k.replace('_', ' ')} {v:.1e}" for k, v in sine.items()) + ".")
    skipped = [st for st in demo.stages if st.status == "skipped"]
    if skipped:
        lines += ["", "**Not run:** " + "; ".join(f"{st.title} ({st.message})" for st in skipped) + "."]
    lines += ["", "## Stages", "", "| stage | status | time |", "|---|---|--:|"]
    for stage in demo.stages:
        if stage.key == "report":
            continue
        status = stage.status if stage.status != "skipped" else f"skipped: {stage.message}"
        lines.append(f"| {stage.title} | {status} | {'' if stage.seconds is None else f'{stage.seconds:.1f} s'} |")
    lines += ["", f"{elapsed:.0f} s before the report, on {os.cpu_count()} CPU core(s). Each stage's recipe is in "
              f"`{demo.out / 'recipes'}`; `trainlab train <recipe>` redoes it."]
    return "\n".join(lines)


def _hard_group(demo: Demo) -> str | None:
    """The group the data generator made harder (its demo_params.json says which)."""
    root = demo.paths.get("fairface_data")
    if not root:
        return None
    try:
        return json.loads((Path(root) / "demo_params.json").read_text()).get("hard_group")
    except (OSError, ValueError):
        return None


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"
