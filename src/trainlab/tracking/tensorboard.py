"""TensorBoard: event files in ``<run>/tensorboard/`` (``tensorboard --logdir runs`` shows every run)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

from trainlab.tracking.base import Tracker


class TensorBoardTracker(Tracker):
    name = "tensorboard"

    def __init__(self, *, run_dir: Path, params: Mapping[str, str]):
        from torch.utils.tensorboard import SummaryWriter

        self.folder = run_dir / "tensorboard"
        self.writer = SummaryWriter(log_dir=str(self.folder))
        self.writer.add_text("recipe", "\n".join(f"    {k}: {v}" for k, v in params.items()), 0)

    def epoch(self, step: int, metrics: Mapping[str, float]) -> None:
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, step)
        self.writer.flush()

    def finish(self, *, status: str, metrics: Mapping[str, float], files: Iterable[Path]) -> None:
        for key, value in metrics.items():
            self.writer.add_scalar(f"test/{key}", value, 0)
        self.writer.add_text("status", status, 0)
        self.writer.close()
