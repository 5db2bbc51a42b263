"""The trainlab command line: one thin function per verb, no logic.

Each verb parses its arguments and calls one library function. Heavy imports (torch, timm,
sklearn) happen inside the verb, so ``trainlab --help`` answers at once.
A :class:`~trainlab.errors.TrainlabError` is printed as ``error: ...`` and exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from trainlab._version import __version__
from trainlab.errors import TrainlabError

DATASET_FORMATS = ("auto", "ip102", "fairface", "imagefolder", "csv")


def _dataset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", type=Path, help="dataset root folder (IP102, ImageFolder) or labels CSV (FairFace, generic CSV)")
    p.add_argument("--format", default="auto", choices=DATASET_FORMATS, help="dataset layout (default: detect)")
    p.add_argument("--target", default=None, help="FairFace/CSV: the column to classify (gender, race or age for FairFace)")
    p.add_argument("--val-fraction", type=float, default=0.1, help="share of train carved out as a stratified val split when the dataset has none (default 0.1)")
    p.add_argument("--test-fraction", type=float, default=0.1, help="share of train carved out as a stratified test split when the dataset has none (default 0.1; FairFace's val_labels.csv is its test split)")
    p.add_argument("--seed", type=int, default=0, help="seed of the carved splits (default 0)")
    p.add_argument("--on-bad-image", default="error", choices=("error", "skip"), help="stop at a bad image file (default) or skip it, counted and listed")
    p.add_argument("--accept-label", action="append", default=[], metavar="NAME", help="a rare label that is a real class, not a typo of a frequent one (repeatable; recipe: data.accept_labels)")
    p.add_argument("--duplicate-images", default="error", choices=("error", "warn"), help="byte-identical files in different splits of the dataset: stop (default) or warn and keep them (recipe: data.duplicate_images)")


def _size(text: str) -> tuple[int, int]:
    from trainlab.data.dataconfig import parse_hw

    try:
        return parse_hw(text, what="size")
    except TrainlabError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 0 or more")
    return value


def _run(text: str) -> Path:
    """A run argument: a path, ``latest``, or a unique prefix of a run's name (trainlab.runs)."""
    from trainlab.runs import resolve_run

    try:
        return resolve_run(text)
    except TrainlabError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _compare_run(text: str) -> Path:
    """A run argument of compare, or the word ``vs`` between two seed groups (kept as it is, never resolved)."""
    return Path(text) if text == "vs" else _run(text)


# ---- data --------------------------------------------------------------------------------
def cmd_data_inspect(args) -> int:
    from trainlab.data.inspect import inspect_dataset

    inspect_dataset(
        args.dataset, fmt=args.format, target=args.target, val_fraction=args.val_fraction, test_fraction=args.test_fraction,
        seed=args.seed, on_bad_image=args.on_bad_image, out=args.out, check_images=not args.no_image_check, workers=args.workers,
        accept_labels=args.accept_label, duplicate_images=args.duplicate_images, show=print,
    )
    return 0


def cmd_data_cache(args) -> int:
    from trainlab.data.cache import cache_dataset

    _, text = cache_dataset(
        args.dataset, fmt=args.format, target=args.target, val_fraction=args.val_fraction, test_fraction=args.test_fraction, seed=args.seed,
        on_bad_image=args.on_bad_image, size=args.size, policy=args.policy, cache_dir=args.cache_dir, workers=args.workers,
        accept_labels=args.accept_label, duplicate_images=args.duplicate_images,
    )
    print(text)
    return 0


def cmd_data_demo(args) -> int:
    from trainlab.data.demo import make_demo_datasets

    made = make_demo_datasets(args.out, kind=args.kind, seed=args.seed, disparity=not args.no_disparity, scale=args.scale,
                              image_size=args.image_size)
    for name, path in made.items():
        print(f"{name:9s} {path}")
    return 0


# ---- training ----------------------------------------------------------------------------
def cmd_train(args) -> int:
    from trainlab.training.run import train_from_recipe
    from trainlab.training.seeds import seed_list, train_seed_group

    recipe, overrides = args.recipe, list(args.overrides)
    if recipe is not None and "=" in recipe and not Path(recipe).exists():  # `train --resume RUN key=value`
        recipe, overrides = None, [recipe, *overrides]
    if args.resume is not None and args.seeds is not None:
        raise TrainlabError("--seeds starts a new seed group; --resume continues one run (resume each seed's run folder)")
    if args.budget is not None:
        from trainlab.training.budget import parse_duration

        if args.resume is not None:
            raise TrainlabError("--budget plans a new run; a resumed run keeps the plan it made")
        parse_duration(args.budget, what="--budget")
        overrides.append(f"train.budget={args.budget}")
    seeds = seed_list(recipe, overrides, args.seeds) if args.resume is None else []
    if seeds:
        print(f"seed group: {train_seed_group(recipe, overrides, seeds, out=args.out)}")
        return 0
    # a single run's train.budget counts from the command's start (main()), not from after the imports
    run = train_from_recipe(recipe, overrides=overrides, resume=args.resume, out=args.out, started=args.started)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, only the main process speaks
        _print_budget(run)
        print(f"run folder: {run}")
    return 0


def _print_budget(run: Path) -> None:
    """A budgeted run: its plan beside the time it took."""
    from trainlab.artifacts.budget_plan import BudgetPlan
    from trainlab.artifacts.run import RunRecord
    from trainlab.training.budget import describe_plan, format_duration

    if not BudgetPlan.exists_in(run):
        return
    plan, record = BudgetPlan.read(run), RunRecord.read(run)
    took = record.timings.get("total_s")
    print(describe_plan(plan) + (f"; took {format_duration(took)}" if took is not None else ""))


def cmd_lr_find(args) -> int:
    from trainlab.training.lr_find import lr_find, lr_find_folder

    result = lr_find(args.recipe, list(args.overrides), out=args.out, seeds=args.seeds, start_lr=args.start,
                     end_lr=args.end, steps=args.steps, rule=args.rule)
    each = ", ".join(f"{c.suggestion:.3g}" for c in result.curves)
    print(f"suggested train.lr={result.suggestion:.3g} (rule {result.rule}; per seed {each}; "
          f"spread x{result.spread:.2f}) in {result.seconds:.0f}s")
    folder = lr_find_folder(args.recipe, args.out)
    print(f"curve: {folder / 'lr_find.png'}  record: {folder / 'lr_find.json'}")
    return 0


def cmd_export(args) -> int:
    from trainlab.export import export_run

    print(export_run(args.run, fmt=args.format, out=args.out, checkpoint=args.checkpoint).summary())
    return 0


def cmd_card(args) -> int:
    from trainlab.card import build_card

    card = build_card(args.run)
    path = card.write(args.out)
    print(f"{card.summary()} -> {path}")
    return 0


def cmd_runs(args) -> int:
    from trainlab.runs import format_runs, list_runs

    if not args.folder.is_dir():
        raise TrainlabError(f"{args.folder}: no such folder; runs are written to ./runs unless output.runs says otherwise")
    rows = list_runs(args.folder)
    if not rows:
        print(f"no runs in {args.folder}/ (train one with: trainlab train <recipe> data.root=...)")
        return 0
    print(format_runs(rows))
    return 0


def cmd_predict(args) -> int:
    from trainlab.training.predict import default_out, predict

    table = predict(args.run, args.inputs, checkpoint=args.checkpoint, batch_size=args.batch_size,
                    device=args.device, on_bad_image=args.on_bad_image, tta=args.tta)
    target = table.write(args.out or default_out(args.run))
    print(f"{len(table)} predictions -> {target}")
    print(table.summary())
    return 0


# ---- judging -----------------------------------------------------------------------------
def cmd_evaluate(args) -> int:
    from trainlab.evaluation.evaluate import evaluate, output_folder

    result = evaluate(args.target, split=args.split, bootstrap=args.bootstrap, seed=args.seed)
    folder = output_folder(args.target, args.out)
    result.write(folder)
    print(result.summary(folder))
    return 0


def cmd_gallery(args) -> int:
    from trainlab.gallery.build import build_gallery, describe_gallery

    gallery, where = build_gallery(args.target, split=args.split, by=args.by, out=args.out, with_saliency=args.saliency,
                                   checkpoint=args.checkpoint, device=args.device, min_group_size=args.min_group_size)
    print(describe_gallery(gallery, where))
    return 0


def cmd_compare(args) -> int:
    from trainlab.evaluation.compare import compare, split_sides

    groups = split_sides(args.runs)
    result = compare([] if groups else args.runs, names=args.names, split=args.split, groups=groups,
                     labels=args.labels, replicates=args.bootstrap, seed=args.seed, by=args.by,
                     favorable=args.favorable, min_group_size=args.min_group_size)
    result.write(args.out)
    print(result.summary())
    print(f"\nwrote {args.out}: " + ", ".join(result.comparison.files.values()))
    return 0


def cmd_summary(args) -> int:
    import yaml

    from trainlab.models.summary import summarize_target

    options = {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise TrainlabError(f"--option '{item}' is not KEY=VALUE, e.g. --option mode=frozen")
        options[key.strip()] = yaml.safe_load(value)
    result = summarize_target(args.model, input_shape=args.input, num_classes=args.classes, out=args.out, options=options)
    print(result.to_text())
    return 0


def cmd_audit(args) -> int:
    from trainlab.fairness.audit import audit_run
    from trainlab.fairness.prose import summary_markdown

    result, out = audit_run(
        args.target, by=args.by, split=args.split, favorable=args.favorable, reference=args.reference,
        bootstrap=args.bootstrap, min_group_size=args.min_group_size, seed=args.seed, out=args.out,
    )
    print(summary_markdown(result))
    print(f"\naudit written to {out}/ (audit.json, groups.csv, disparities.csv, comparisons.csv, flags.csv, summary.md, plots)")
    return 0


def cmd_mitigate(args) -> int:
    from trainlab.fairness.mitigate import mitigate_run, mitigation_summary

    result = mitigate_run(
        args.run, by=args.by, constraint=args.constraint, favorable=args.favorable, out=args.out, seed=args.seed,
        tolerance=args.tolerance, min_group_size=args.min_group_size, bootstrap=args.bootstrap,
    )
    print(mitigation_summary(result))
    return 0


# ---- experiments, demo, report -----------------------------------------------------------
def _sine_options(args) -> dict:
    if args.out.exists() and not args.out.is_dir():
        raise TrainlabError(f"--out {args.out} is a file; give a folder (it is created if missing)")
    return dict(
        epochs=args.epochs, seeds=args.seeds, quick=args.quick, first_seed=args.seed,
        device=args.device, threads=args.threads, workers=args.jobs,
    )


def _write_fitting(result, out: Path) -> int:
    path = result.write(out)
    print(result.summary())
    print(f"Wrote {path} and the tables and figures beside it.")
    return 0


def cmd_sine(args) -> int:
    from trainlab.experiments.sine import sine

    options = _sine_options(args)
    return _write_fitting(sine(**options, windows=args.windows, windows_epochs=args.windows_epochs), args.out)


def cmd_fit_function(args) -> int:
    from trainlab.experiments.sine import fit_function

    options = _sine_options(args)
    return _write_fitting(fit_function(fn=args.fn, domain=args.domain, standardize=args.standardize, **options), args.out)


def cmd_demo(args) -> int:
    from trainlab.demo import run_demo

    print(run_demo(out=args.out, quick=args.quick, seed=args.seed, disparity=not args.no_disparity).summary())
    return 0


def cmd_report(args) -> int:
    from trainlab.reporting import make_report

    print(f"report: {make_report(args.runs, out=args.out, title=args.title)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trainlab",
        description="Train, compare, evaluate and audit deep-learning image classifiers, reproducibly and fast.",
        epilog="Run 'trainlab <verb> --help' for a verb's options. Start with 'trainlab demo'.",
    )
    parser.add_argument("--version", action="version", version=f"trainlab {__version__}")
    _output_flags(parser, default=0)
    verbs = parser.add_subparsers(dest="verb", metavar="<verb>")

    # data
    data = verbs.add_parser("data", help="inspect datasets, build image caches, generate demo datasets")
    data_verbs = data.add_subparsers(dest="data_verb", metavar="<data verb>")
    p = data_verbs.add_parser("inspect", help="counts, imbalance, attributes, image sizes, bad files; plots")
    _dataset_args(p)
    p.add_argument("--out", type=Path, default=None, help="folder for summary.json and the plots (default: ./inspect-<dataset name>)")
    p.add_argument("--no-image-check", action="store_true", help="skip opening every image (faster; no size summary, no bad-file scan; works on split lists without images)")
    p.add_argument("--workers", type=int, default=0, help="processes that check images (default: one per core)")
    p.set_defaults(func=cmd_data_inspect)
    p = data_verbs.add_parser("cache", help="decode and resize every image once into a memory-mapped cache")
    _dataset_args(p)
    p.add_argument("--size", type=_size, default=(100, 100), help="HxW of cached images (default 100x100)")
    p.add_argument("--policy", default="stretch", choices=("stretch", "shorter-side"), help="stretch to HxW (as Keras flow_from_dataframe does) or resize the shorter side and centre-crop")
    p.add_argument("--cache-dir", type=Path, default=None, help="where caches live (default: $TRAINLAB_CACHE or ~/.cache/trainlab)")
    p.add_argument("--workers", type=int, default=0, help="decode processes (default: one per core)")
    p.set_defaults(func=cmd_data_cache)
    p = data_verbs.add_parser("demo", help="generate the built-in demo datasets (no download)")
    p.add_argument("out", type=Path, help="folder to write them into")
    p.add_argument("--kind", default="all", choices=("all", "ip102", "fairface"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-disparity", action="store_true", help="FairFace-layout demo without the planted group disparity")
    p.add_argument("--scale", type=float, default=1.0, help="multiply the number of images (default 1.0)")
    p.add_argument("--image-size", type=int, default=64, help="side of the square images in pixels (default 64)")
    p.set_defaults(func=cmd_data_demo)

    # train / predict
    p = verbs.add_parser(
        "train", help="train a model from a YAML recipe; writes a run folder",
        description="Train a model from a YAML recipe (a file, or a built-in name: ip102-seed-cnn, ip102-efficientnet, "
        "fairface-gender, and the strong recipes face-attribute and small-data) and write a run folder: config.yaml, run.json, history.csv, plots/curves.png, "
        "checkpoints/{last,best}, predictions/{val,test}.csv. Several processes or GPUs: "
        "torchrun --nproc-per-node N -m trainlab train RECIPE ...",
        epilog="examples:  trainlab train recipes/ip102-seed-cnn.yaml data.root=/data/ip102 train.epochs=5\n"
        "           trainlab train --resume runs/ip102-seed-cnn-20250101-120000\n"
        "           trainlab train --resume runs/RUN train.epochs=40   (train an ended run longer)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("recipe", nargs="?", default=None, help="recipe YAML file or built-in recipe name (omit with --resume)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="override recipe values (YAML-typed), e.g. data.root=/data/ip102 train.epochs=5 train.amp=off")
    p.add_argument("--resume", type=_run, default=None, metavar="RUN", help="continue a stopped run from its last checkpoint (with its own config.yaml)")
    p.add_argument("--out", type=Path, default=None, help="runs folder (default: the recipe's output.runs, ./runs)")
    p.add_argument("--seeds", type=int, default=None, metavar="N", help="train N times (seeds train.seed, +1, ...) into one group folder "
                   "with a summary of each test metric (mean ± 95%% interval); a recipe may list train.seeds instead")
    p.add_argument("--budget", default=None, metavar="TIME", help="fit the run into this wall-clock time (90s, 15m, 1h30m): "
                   "the first steps are timed and the epochs set so the schedule ends inside it (train.epochs is the cap); "
                   "same as train.budget=TIME")
    p.set_defaults(func=cmd_train)
    p = verbs.add_parser(
        "lr-find", help="learning-rate range test: loss against an exponentially growing rate, a suggested train.lr",
        description="Train the recipe's model from its initial weights while the learning rate grows exponentially "
        "from --start to --end, plot the smoothed loss against the rate, and suggest a rate (rule min/10: a tenth of "
        "the rate at the lowest loss; steepest: where the loss falls fastest), once per seed, with the spread.",
        epilog="example:  trainlab lr-find fairface-gender data.root=../shared/data/fairface-8k --steps 300",
    )
    p.add_argument("recipe", help="recipe YAML file or built-in recipe name")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="override recipe values, e.g. data.root=/data/ip102")
    p.add_argument("--steps", type=int, default=200, help="optimizer steps (default 200)")
    p.add_argument("--start", type=float, default=1e-7, help="first learning rate (default 1e-7)")
    p.add_argument("--end", type=float, default=10.0, help="last learning rate (default 10)")
    p.add_argument("--seeds", type=int, default=3, help="repeat with this many seeds to show the suggestion's spread (default 3)")
    p.add_argument("--rule", default="min/10", choices=("min/10", "steepest"), help="how the suggestion is read off the curve")
    p.add_argument("--out", type=Path, default=None, help="folder for lr_find.json and lr_find.png (default ./lr-find-<recipe>)")
    p.set_defaults(func=cmd_lr_find)
    p = verbs.add_parser("export", help="the run's model as ONNX or TorchScript, preprocessing and class names inside")
    p.add_argument("run", type=_run, help="run folder, 'latest', or a unique prefix of a run's name")
    p.add_argument("--format", default="onnx", choices=("onnx", "torchscript"), help="default onnx")
    p.add_argument("--out", type=Path, default=None, help="file to write (default: <run>/export/model.onnx or model.pt)")
    p.add_argument("--checkpoint", default="best", choices=("best", "last"), help="which checkpoint (default best)")
    p.set_defaults(func=cmd_export)
    p = verbs.add_parser("card", help="a model card (README.md with YAML front matter) from the run's record, metrics and audit")
    p.add_argument("run", type=_run, help="run folder, 'latest', or a unique prefix of a run's name")
    p.add_argument("--out", type=Path, default=None, help="file to write (default: <run>/README.md)")
    p.set_defaults(func=cmd_card)
    p = verbs.add_parser("runs", help="list the runs in a folder: name, recipe, status, best metric, when")
    p.add_argument("folder", nargs="?", type=Path, default=Path("runs"), help="runs folder (default ./runs)")
    p.set_defaults(func=cmd_runs)
    p = verbs.add_parser("predict", help="predict new images with a trained run")
    p.add_argument("run", type=_run, help="run folder, 'latest', or a unique prefix of a run's name")
    p.add_argument("inputs", nargs="+", type=Path, help="image files, a folder of images, or a dataset")
    p.add_argument("--out", type=Path, default=None, help="predictions file to write (default: <run>/predictions/predict.csv)")
    p.add_argument("--checkpoint", default="best", choices=("best", "last"))
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--device", default="auto", help="auto, cuda, cuda:N, mps or cpu")
    p.add_argument("--on-bad-image", default="error", choices=("error", "skip"), help="stop at an unreadable image (default) or skip it with a warning")
    p.add_argument("--tta", default=None, choices=("off", "flip"), help="test-time augmentation: flip averages the "
                   "probabilities of each image and its mirror (default: the run's own train.tta)")
    p.set_defaults(func=cmd_predict)

    # evaluate / compare / summary
    p = verbs.add_parser(
        "evaluate", help="metrics, per-class table, confusion matrix and reliability diagram",
        description="Score one predictions table: accuracy, top-5, balanced accuracy, F1, ROC AUC, log loss, ECE; "
        "per_class.csv, top_confusions.csv, confusion matrices and a reliability diagram.",
    )
    p.add_argument("target", type=_run, help="run folder (reads predictions/<split>.csv; 'latest' or a name prefix also work) or predictions file")
    p.add_argument("--split", default="test", help="split to evaluate when given a run (default test)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: the run folder, or next to the file)")
    p.add_argument("--bootstrap", type=_nonnegative_int, default=1000,
                   help="item resamples for the 95%% intervals of accuracy, balanced accuracy, macro F1 and ROC AUC "
                        "(default 1000; 0: no intervals)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resamples (default 0)")
    p.set_defaults(func=cmd_evaluate)
    p = verbs.add_parser(
        "gallery", help="error galleries: top-loss items, most-confused pairs, worst vs best group; Grad-CAM on a run",
        description="Pictures of a model's errors, chosen from the predictions table: the highest-loss items, the "
        "most-confused class pairs (examples of each direction) and, per attribute column, the misclassified items "
        "of the worst group beside the best. Given a run with a checkpoint, the top-loss items also get a Grad-CAM "
        "overlay for the predicted class (needs the saliency extra).",
    )
    p.add_argument("target", type=_run, help="run folder ('latest' or a name prefix also work) or predictions file (its path column locates the images)")
    p.add_argument("--split", default="test", help="split whose predictions are shown when given a run (default test)")
    p.add_argument("--by", action="append", default=None, help="attribute column to compare groups on (repeatable; default: every attribute column with 2-50 values)")
    p.add_argument("--min-group-size", type=int, default=30, help="groups smaller than this are not ranked worst or best (default 30)")
    sal = p.add_mutually_exclusive_group()
    sal.add_argument("--saliency", dest="saliency", action="store_true", default=None, help="require the Grad-CAM overlays (default: when possible)")
    sal.add_argument("--no-saliency", dest="saliency", action="store_false", help="skip the Grad-CAM overlays")
    p.add_argument("--checkpoint", default="best", choices=("best", "last"), help="checkpoint for the overlays (default best)")
    p.add_argument("--device", default="auto", help="device for the overlays (default: CUDA, MPS or CPU)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default <run>/gallery, or gallery-<file> next to a predictions file)")
    p.set_defaults(func=cmd_gallery)
    p = verbs.add_parser(
        "compare", help="compare runs: metrics table, curves, McNemar's test, paired bootstrap intervals",
        description="Compare runs on the same test items: one metrics table, validation curves overlaid,\n"
        "McNemar's exact test for every pair (Holm-corrected when there are more than two runs), and the\n"
        "paired bootstrap 95% interval of the difference of accuracy, balanced accuracy, macro F1 and\n"
        "ROC AUC with a plain verdict.\n\n"
        "Seed groups (several runs per side, from repeated training): put 'vs' between the sides; a side\n"
        "may also be one folder holding the runs. Then the interval covers seeds and items together\n"
        "(two-level bootstrap) and the verdict says how often A beat B across the seeds.\n\n"
        "--by race: the change in each fairness gap of the audit (a's gap minus b's), with the paired bootstrap\n"
        "95% interval that resamples the same items for both runs.",
        epilog="examples:  trainlab compare runs/cnn runs/effnet\n"
        "           trainlab compare runs/cnn-s0 runs/cnn-s1 runs/cnn-s2 vs runs/eff-s0 runs/eff-s1 runs/eff-s2\n"
        "           trainlab compare runs/cnn-seeds vs runs/effnet-seeds     (folders of runs)\n"
        "           trainlab compare runs/cnn runs/effnet --by race          (fairness gaps, a − b)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("runs", nargs="+", type=_compare_run, metavar="RUN",
                   help="two or more run folders (or predictions files; 'latest' or name prefixes also work); "
                   "'A1 A2 ... vs B1 B2 ...' for seed groups")
    p.add_argument("--split", default="test", help="split whose predictions are compared (default test)")
    p.add_argument("--names", nargs="+", default=None, help="display names for the runs, in order (default: folder names)")
    p.add_argument("--labels", nargs=2, default=None, metavar=("A", "B"), help="names of the two seed groups (default: a group folder's name, else A and B)")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="bootstrap replicates for the intervals (default 1000; 0: no intervals)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap (default 0)")
    p.add_argument("--by", action="append", default=None, metavar="COLUMN",
                   help="also compare the runs' fairness gaps across this attribute column (or an intersection "
                   "race,gender; repeatable): each gap of the audit, a's minus b's, with its paired bootstrap 95%% interval")
    p.add_argument("--favorable", default=None, help="favorable class of the --by gaps (as trainlab audit; default: the "
                   "second class of a binary target, else the worst over classes)")
    p.add_argument("--min-group-size", type=int, default=30, help="with --by: rates on fewer rows are not compared (default 30)")
    p.add_argument("--out", type=Path, default=Path("compare"), help="output folder (default ./compare)")
    p.set_defaults(func=cmd_compare)
    p = verbs.add_parser(
        "summary", help="per-layer table with the formula behind every parameter count",
        description="Per-layer table (name, type, output shape, parameters, trainable) with the formula behind every "
                    "count, in PyTorch's and Keras's conventions (they differ for LSTM and BatchNorm), and totals.",
        epilog="examples: trainlab summary seed_cnn | trainlab summary sine_lstm | "
               "trainlab summary timm:efficientnet_b0 --classes 102 | trainlab summary runs/<run>",
    )
    p.add_argument("model", help="model name (seed_cnn, sine_mlp, sine_lstm, sine_gru, timm:<name>), run folder, or a weights .safetensors written by trainlab")
    p.add_argument("--input", default=None, help="input shape HxWxC for images (e.g. 100x100x3), TxF for recurrent models, F for an MLP (default: the model's or run's own)")
    p.add_argument("--classes", type=int, default=None, help="number of classes (default: the run's; 102 for seed_cnn; 1 for sine models; the pretrained head for timm)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="model option, e.g. --option mode=frozen (repeatable)")
    p.add_argument("--out", type=Path, default=None, help="also write summary.csv, summary.md and summary.json to this folder")
    p.set_defaults(func=cmd_summary)

    # fairness
    p = verbs.add_parser("audit", help="group fairness audit of predictions, with bootstrap confidence intervals",
                         description="Audit a classifier's predictions across attribute columns: per-group rates, disparities "
                                     "and flags with bootstrap 95% confidence intervals. Definitions: docs/fairness.md.")
    p.add_argument("target", type=_run, help="run folder ('latest' or a name prefix also work) or predictions file")
    p.add_argument("--by", action="append", required=True, help="attribute column to group by; 'race,gender' for their intersection; repeat for several audits")
    p.add_argument("--split", default="test", help="split to audit when given a run (default test)")
    p.add_argument("--favorable", default=None, help="the favorable (positive) class for selection-rate measures (default: the second class of a binary target; "
                   "multi-class: none, headline figures are the worst over classes)")
    p.add_argument("--reference", default=None, help="reference ('privileged') group for the group-vs-reference measures, e.g. White or 'White,Male' (default: each audit's largest group)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for confidence intervals (default 1000; 0 disables)")
    p.add_argument("--min-group-size", type=int, default=30, help="smaller groups are reported as too small and left out of gaps (default 30)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: <run>/audit, or next to a predictions file)")
    p.set_defaults(func=cmd_audit)
    p = verbs.add_parser("mitigate", help="fit per-group thresholds on val, apply to test, report before/after")
    p.add_argument("run", type=_run, help="run folder (needs predictions/val and predictions/test; 'latest' or a name prefix also work)")
    p.add_argument("--by", required=True, help="attribute column to equalise across ('race,gender' for their intersection)")
    p.add_argument("--constraint", default="demographic_parity", choices=("demographic_parity", "equalized_odds", "true_positive_rate_parity"),
                   help="the parity to reach (default demographic_parity)")
    p.add_argument("--favorable", default=None, help="favorable class: thresholds on its probability (default: the second class of a binary target; "
                   "multi-class targets without it get per-group score offsets)")
    p.add_argument("--tolerance", type=float, default=0.05, help="multi-class offset search: largest parity gap allowed on val (default 0.05)")
    p.add_argument("--min-group-size", type=int, default=30, help="groups smaller than this on val keep their predictions (multi-class) and are left out of the gaps (default 30)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the before/after confidence intervals (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seeds the thresholder's randomised decisions and the bootstrap (default 0)")
    p.add_argument("--out", type=Path, default=None, help="output folder, usable as a run folder by evaluate and audit (default: <run>/mitigated-<constraint>)")
    p.set_defaults(func=cmd_mitigate)

    # experiments
    def fitting_args(p: argparse.ArgumentParser, default_out: str) -> None:
        p.add_argument("--out", type=Path, default=Path(default_out), help=f"output folder (default ./{default_out})")
        p.add_argument("--epochs", type=int, default=None, help="epochs per model (default 100; --quick: 5)")
        p.add_argument("--seeds", type=int, default=None, help="repeat over this many seeds and report mean ± std (default 5; --quick: 2)")
        p.add_argument("--seed", type=int, default=0, help="first seed; the figures show this seed (default 0)")
        p.add_argument("--quick", action="store_true", help="a smoke run: 5 epochs, 2 seeds (explicit --epochs/--seeds win)")
        p.add_argument("--device", default="cpu", help="cpu (default: these models are too small for a GPU to help), auto, cuda, cuda:N or mps")
        p.add_argument("--threads", type=int, default=1, help="torch threads per training process (default 1: fastest for these small models)")
        p.add_argument("--jobs", type=int, default=1, help="train this many models at once in worker processes (default 1)")

    p = verbs.add_parser("sine", help="fit y = sin(x) with an MLP, an LSTM and a GRU (the coursework, done properly)",
                         description="Fit y = sin(x) on [-pi, pi] with the coursework's MLP, LSTM and GRU; test on points between "
                                     "the training points; extrapolate to [-2pi, 2pi]; a windowed next-value task; repeat over seeds.")
    fitting_args(p, "sine")
    p.add_argument("--windows", default="1,8,32", help="window lengths k of the next-value task (default 1,8,32; 'none' skips it)")
    p.add_argument("--windows-epochs", type=int, default=None, help="epochs per model in the next-value task (default 30; --quick: 3)")
    p.set_defaults(func=cmd_sine)
    p = verbs.add_parser("fit-function", help="fit any y = f(x) with an MLP, an LSTM and a GRU",
                         description="Fit y = f(x) for a numpy expression f with the coursework's MLP, LSTM and GRU recipes, "
                                     "test between the training points, extrapolate to an interval twice as wide, repeat over seeds.")
    p.add_argument("--fn", required=True, help="numpy expression in x, e.g. 'np.sin(x) * np.exp(-x**2 / 4)' "
                                               "(in scope: x, np, pi, e, tau; numpy ufuncs and np.where/clip/sinc/...)")
    p.add_argument("--domain", default="-pi,pi", help="training interval a,b (numbers or expressions such as -pi, 2*pi; default -pi,pi); "
                                                     "write --domain=-2,2 when it starts with a minus")
    p.add_argument("--standardize", action="store_true", help="train on standardised x and y (for functions far from unit scale)")
    fitting_args(p, "fit-function")
    p.set_defaults(func=cmd_fit_function)

    # demo / report
    p = verbs.add_parser("demo", help="the whole flow end to end on built-in data, ending in one HTML report")
    p.add_argument("--out", type=Path, default=Path("demo-output"))
    p.add_argument("--quick", action="store_true", help="smaller and shorter (for tests)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-disparity", action="store_true",
                   help="generate the FairFace-layout demo without its planted group disparity (the audit's control)")
    p.set_defaults(func=cmd_demo)
    p = verbs.add_parser("report", help="one self-contained HTML report of one or more runs")
    p.add_argument("runs", nargs="+", type=_run, help="run folders (and optionally compare/sine folders; 'latest' or name prefixes also work)")
    p.add_argument("--out", type=Path, default=None, help="HTML file (default: <first run>/report.html)")
    p.add_argument("--title", default=None)
    p.set_defaults(func=cmd_report)
    _output_flags_everywhere(parser)
    return parser


def _output_flags(p: argparse.ArgumentParser, default) -> None:
    p.add_argument("-v", "--verbose", action="count", default=default, help="more log output (debug messages)")
    p.add_argument("-q", "--quiet", action="count", default=default, help="only warnings and errors (no progress, no info lines)")


def _output_flags_everywhere(parser: argparse.ArgumentParser) -> None:
    """-v/-q after any verb too (``trainlab train -q ...``); there they only count when given."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in set(action.choices.values()):
                _output_flags(sub, default=argparse.SUPPRESS)
                _output_flags_everywhere(sub)


def _group_help(parser: argparse.ArgumentParser, verb: str) -> None:
    """A group verb given alone (``trainlab data``): its help, as for ``trainlab`` alone (exit 2)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and verb in action.choices:
            action.choices[verb].print_help()
            return
    parser.print_help()


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    parser = build_parser()
    args = parser.parse_args(argv)
    args.started = started
    if not getattr(args, "func", None):
        _group_help(parser, args.verb) if args.verb else parser.print_help()
        return 2
    from trainlab.utils.log import setup_logging

    setup_logging(args.verbose - args.quiet)
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # inside the try: a closed pipe raises here, not in the interpreter's exit
        return status
    except TrainlabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _closed_pipe()


def _closed_pipe() -> int:
    """The reader went away (``trainlab evaluate ... | head``): stop quietly, as ``cat`` would."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())  # Python's own flush at exit would raise again
        except (OSError, ValueError):
            pass
    return 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader closed the pipe


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
