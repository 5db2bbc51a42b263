"""Run folders by name: ``latest``, a unique prefix, the ``runs/latest`` link, and the list of runs.

Every verb that takes a run folder resolves its argument here (``trainlab evaluate latest``,
``trainlab audit runs/fairface`` when one run's name starts so), so the README never needs a shell glob
that breaks once a second run exists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from trainlab.errors import TrainlabError

#: the runs folder a bare name is looked up in (the recipes' default output.runs)
DEFAULT_RUNS = Path("runs")
LATEST = "latest"


def is_run(folder: Path) -> bool:
    return (folder / "run.json").is_file() or (folder / "config.yaml").is_file()


def runs_in(folder: Path) -> list[Path]:
    """The run folders directly under ``folder``, oldest first (by creation time in run.json, else mtime)."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and not p.is_symlink() and is_run(p)]
    return sorted(found, key=lambda p: (_created(p), p.name))


def resolve_run(text: str | Path) -> Path:
    """``text`` as a path when it exists; else ``[folder/]latest`` or ``[folder/]<unique prefix>``.

    A name that matches nothing is returned unchanged, so the verb's own "no such run" message applies.
    """
    path = Path(text)
    if path.exists():
        return path
    folder = path.parent if str(path.parent) != "." else DEFAULT_RUNS
    runs = runs_in(folder)
    if path.name == LATEST:
        if not runs:
            raise TrainlabError(f"'{text}': no run folders in {folder}/ yet; train one with trainlab train <recipe>")
        return runs[-1]
    matches = [p for p in runs if p.name.startswith(path.name)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        shown = ", ".join(p.name for p in matches[-5:])
        raise TrainlabError(
            f"'{text}' matches {len(matches)} runs in {folder}/ ({shown}); give more of the name, or '{folder / LATEST}' "
            "for the newest (trainlab runs lists them)"
        )
    return path


def mark_latest(run_dir: Path) -> None:
    """Point ``<runs>/latest`` at ``run_dir`` (a relative symbolic link, replaced atomically)."""
    link = run_dir.parent / LATEST
    tmp = run_dir.parent / f".{LATEST}.{os.getpid()}"
    try:
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(run_dir.name, target_is_directory=True)
        os.replace(tmp, link)
    except OSError:  # a file system without links (some Windows set-ups): `latest` still resolves by name
        if tmp.is_symlink():
            tmp.unlink()


@dataclass(frozen=True)
class RunRow:
    name: str
    recipe: str
    status: str
    best: str
    epochs: str
    created: str


def list_runs(folder: Path) -> list[RunRow]:
    rows = []
    for run in runs_in(folder):
        record = _record(run)
        if record is None:
            rows.append(RunRow(name=run.name, recipe="", status="?", best="", epochs="", created=""))
            continue
        value = record.best_metric
        best = f"{record.monitor or ''} {value:.4f}" if value is not None else ""
        done, total = record.epochs_done, record.epochs
        rows.append(RunRow(
            name=run.name, recipe=Path(record.recipe or "").name.removesuffix(".yaml"),
            status=record.status.value, best=best,
            epochs=f"{done}/{total}" if done is not None and total is not None else "",
            created=(record.created or "")[:19].replace("T", " "),
        ))
    return rows


def format_runs(rows: list[RunRow]) -> str:
    header = RunRow("run", "recipe", "status", "best", "epochs", "created")
    table = [header, *rows]
    widths = [max(len(getattr(r, f)) for r in table) for f in RunRow.__dataclass_fields__]
    return "\n".join("  ".join(getattr(r, f).ljust(w) for f, w in zip(RunRow.__dataclass_fields__, widths)).rstrip()
                     for r in table)


def _record(run: Path):
    """The run's RunRecord (None: no run.json, or one that cannot be read)."""
    from trainlab.artifacts import ArtifactError
    from trainlab.artifacts.run import RunRecord

    if not RunRecord.exists_in(run):
        return None
    try:
        return RunRecord.read(run)
    except ArtifactError:
        return None


def _created(run: Path) -> str:
    record = _record(run)
    if record is not None and record.created:
        return record.created
    from datetime import datetime, timezone

    return datetime.fromtimestamp(run.stat().st_mtime, timezone.utc).astimezone().isoformat(timespec="seconds")
