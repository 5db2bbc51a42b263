"""The trainlab command line: one thin function per verb, no logic.

Each verb parses its arguments and calls one library function. Heavy imports (torch, timm,
sklearn) happen inside the verb, so ``trainlab --help`` answers at once.
A :class:`~trainlab.errors.TrainlabError` is printed as ``error: ...`` and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from trainlab import __version__
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


def _size(text: str) -> tuple[int, int]:
    try:
        parts = [int(v) for v in text.lower().replace("×", "x").split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"size '{text}' is not HxW, e.g. 100x100") from None
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or min(parts) <= 0:
        raise argparse.ArgumentTypeError(f"size '{text}' is not HxW with positive numbers, e.g. 100x100")
    return parts[0], parts[1]


# ---- data --------------------------------------------------------------------------------
def cmd_data_inspect(args) -> int:
    from trainlab.data.inspect import inspect_dataset

    inspect_dataset(
        args.dataset, fmt=args.format, target=args.target, val_fraction=args.val_fraction, test_fraction=args.test_fraction,
        seed=args.seed, on_bad_image=args.on_bad_image, out=args.out, check_images=not args.no_image_check, workers=args.workers,
    )
    return 0


def cmd_data_cache(args) -> int:
    from trainlab.data.cache import build_cache_cli

    build_cache_cli(
        args.dataset, fmt=args.format, target=args.target, val_fraction=args.val_fraction, test_fraction=args.test_fraction, seed=args.seed,
        on_bad_image=args.on_bad_image, size=args.size, policy=args.policy, cache_dir=args.cache_dir, workers=args.workers,
    )
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
    from trainlab.train.run import train_from_recipe

    train_from_recipe(args.recipe, overrides=args.overrides, resume=args.resume, out=args.out)
    return 0


def cmd_predict(args) -> int:
    from trainlab.train.predict import predict_cli

    predict_cli(args.run, args.inputs, out=args.out, checkpoint=args.checkpoint, batch_size=args.batch_size, device=args.device)
    return 0


# ---- judging -----------------------------------------------------------------------------
def cmd_evaluate(args) -> int:
    from trainlab.evaluate.evaluate import evaluate_cli

    evaluate_cli(args.target, split=args.split, out=args.out)
    return 0


def cmd_compare(args) -> int:
    from trainlab.evaluate.compare import compare_cli

    compare_cli(args.runs, split=args.split, out=args.out, names=args.names)
    return 0


def cmd_summary(args) -> int:
    from trainlab.models.summary import summary_cli

    summary_cli(args.model, input_shape=args.input, num_classes=args.classes, out=args.out)
    return 0


def cmd_audit(args) -> int:
    from trainlab.fairness.audit import audit_cli

    audit_cli(
        args.target, by=args.by, split=args.split, favorable=args.favorable, reference=args.reference,
        bootstrap=args.bootstrap, min_group_size=args.min_group_size, seed=args.seed, out=args.out,
    )
    return 0


def cmd_mitigate(args) -> int:
    from trainlab.fairness.mitigate import mitigate_cli

    mitigate_cli(args.run, by=args.by, constraint=args.constraint, favorable=args.favorable, out=args.out, seed=args.seed)
    return 0


# ---- experiments, demo, report -----------------------------------------------------------
def cmd_sine(args) -> int:
    from trainlab.experiments.sine import sine_cli

    sine_cli(out=args.out, epochs=args.epochs, seeds=args.seeds, quick=args.quick)
    return 0


def cmd_fit_function(args) -> int:
    from trainlab.experiments.sine import fit_function_cli

    fit_function_cli(fn=args.fn, domain=args.domain, out=args.out, epochs=args.epochs, seeds=args.seeds, quick=args.quick)
    return 0


def cmd_demo(args) -> int:
    from trainlab.demo import run_demo

    run_demo(out=args.out, quick=args.quick, seed=args.seed)
    return 0


def cmd_report(args) -> int:
    from trainlab.report.html import report_cli

    report_cli(args.runs, out=args.out, title=args.title)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trainlab",
        description="Train, compare, evaluate and audit deep-learning image classifiers, reproducibly and fast.",
        epilog="Run 'trainlab <verb> --help' for a verb's options. Start with 'trainlab demo'.",
    )
    parser.add_argument("--version", action="version", version=f"trainlab {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
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
    p.add_argument("--policy", default="stretch", choices=("stretch", "shorter-side"), help="stretch to HxW (as the coursework) or resize the shorter side and centre-crop")
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
    p = verbs.add_parser("train", help="train a model from a YAML recipe; writes a run folder")
    p.add_argument("recipe", type=Path, help="recipe YAML (see recipes/)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="override recipe values, e.g. data.root=/data/ip102 train.epochs=5")
    p.add_argument("--resume", type=Path, default=None, metavar="RUN", help="continue an interrupted run from its last checkpoint")
    p.add_argument("--out", type=Path, default=None, help="runs folder (default: ./runs)")
    p.set_defaults(func=cmd_train)
    p = verbs.add_parser("predict", help="predict new images with a trained run")
    p.add_argument("run", type=Path, help="run folder")
    p.add_argument("inputs", nargs="+", type=Path, help="image files, a folder of images, or a dataset")
    p.add_argument("--out", type=Path, default=None, help="predictions file to write (default: <run>/predictions/predict.csv)")
    p.add_argument("--checkpoint", default="best", choices=("best", "last"))
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--device", default="auto", help="auto, cuda, cuda:N, mps or cpu")
    p.set_defaults(func=cmd_predict)

    # evaluate / compare / summary
    p = verbs.add_parser("evaluate", help="metrics, per-class table, confusion matrix and reliability diagram")
    p.add_argument("target", type=Path, help="run folder or predictions file")
    p.add_argument("--split", default="test", help="split to evaluate when given a run (default test)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: the run folder, or next to the file)")
    p.set_defaults(func=cmd_evaluate)
    p = verbs.add_parser("compare", help="compare runs: metrics table, curves, McNemar's paired test")
    p.add_argument("runs", nargs="+", type=Path, help="two or more run folders")
    p.add_argument("--split", default="test")
    p.add_argument("--names", nargs="*", default=None, help="display names for the runs (default: folder names)")
    p.add_argument("--out", type=Path, default=Path("compare"), help="output folder (default ./compare)")
    p.set_defaults(func=cmd_compare)
    p = verbs.add_parser("summary", help="per-layer table with the formula behind every parameter count")
    p.add_argument("model", help="model name (seed_cnn, sine_mlp, sine_lstm, sine_gru, timm:<name>) or run folder")
    p.add_argument("--input", default=None, help="input shape HxWxC, e.g. 100x100x3 (default: the model's own)")
    p.add_argument("--classes", type=int, default=None, help="number of classes (default: 102 for seed_cnn, or the run's)")
    p.add_argument("--out", type=Path, default=None, help="also write the table as CSV/markdown to this folder")
    p.set_defaults(func=cmd_summary)

    # fairness
    p = verbs.add_parser("audit", help="group fairness audit of predictions, with bootstrap confidence intervals")
    p.add_argument("target", type=Path, help="run folder or predictions file")
    p.add_argument("--by", action="append", required=True, help="attribute column(s) to group by; 'race,gender' for intersections; repeat for several")
    p.add_argument("--split", default="test")
    p.add_argument("--favorable", default=None, help="the favorable (positive) class for selection-rate measures")
    p.add_argument("--reference", default=None, help="reference group for ratios (default: the group with the highest selection rate)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for confidence intervals (default 1000; 0 disables)")
    p.add_argument("--min-group-size", type=int, default=30, help="groups smaller than this are reported as too small (default 30)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="output folder (default: <run>/audit)")
    p.set_defaults(func=cmd_audit)
    p = verbs.add_parser("mitigate", help="fit per-group thresholds on val, apply to test, report before/after")
    p.add_argument("run", type=Path, help="run folder (needs predictions/val and predictions/test)")
    p.add_argument("--by", required=True, help="attribute column to equalise across")
    p.add_argument("--constraint", default="demographic_parity", choices=("demographic_parity", "equalized_odds", "true_positive_rate_parity"))
    p.add_argument("--favorable", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="output folder (default: <run>/mitigated-<constraint>)")
    p.set_defaults(func=cmd_mitigate)

    # experiments
    p = verbs.add_parser("sine", help="fit y = sin(x) with an MLP, an LSTM and a GRU (the coursework, done properly)")
    p.add_argument("--out", type=Path, default=Path("sine"), help="output folder (default ./sine)")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--seeds", type=int, default=5, help="repeat over this many seeds and report mean ± std")
    p.add_argument("--quick", action="store_true", help="fewer epochs and seeds, for a smoke run")
    p.set_defaults(func=cmd_sine)
    p = verbs.add_parser("fit-function", help="fit any y = f(x) with an MLP, an LSTM and a GRU")
    p.add_argument("--fn", required=True, help="numpy expression in x, e.g. 'np.sin(x) * np.exp(-x**2 / 4)'")
    p.add_argument("--domain", default="-pi,pi", help="training interval a,b (numbers or pi multiples; default -pi,pi)")
    p.add_argument("--out", type=Path, default=Path("fit-function"))
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--quick", action="store_true")
    p.set_defaults(func=cmd_fit_function)

    # demo / report
    p = verbs.add_parser("demo", help="the whole flow end to end on built-in data, ending in one HTML report")
    p.add_argument("--out", type=Path, default=Path("demo-output"))
    p.add_argument("--quick", action="store_true", help="smaller and shorter (for tests)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_demo)
    p = verbs.add_parser("report", help="one self-contained HTML report of one or more runs")
    p.add_argument("runs", nargs="+", type=Path, help="run folders (and optionally compare/sine folders)")
    p.add_argument("--out", type=Path, default=None, help="HTML file (default: <first run>/report.html)")
    p.add_argument("--title", default=None)
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        sub = {"data": "data"}.get(args.verb)
        if sub:
            parser.parse_args([sub, "--help"])
        parser.print_help()
        return 2
    from trainlab.utils.log import setup_logging

    setup_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except TrainlabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
