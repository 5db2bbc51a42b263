"""The Keras peer's own environment: ``bench/.keras-venv`` with TensorFlow from the package index.

    python bench/keras_peer/venv.py            # create it (once; a large download), print its python

``keras_python()`` returns the interpreter, creating the environment first when it is missing or has no
TensorFlow. ``TRAINLAB_KERAS_PYTHON`` points at another interpreter that has TensorFlow (on a machine where
``tensorflow`` rather than ``tensorflow-cpu`` is the package that installs, for example).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE.parent / ".keras-venv"
REQUIREMENTS = HERE / "requirements.txt"


def _python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _has_tensorflow(python: Path) -> bool:
    probe = "import tensorflow as tf; tf.keras.preprocessing.image.ImageDataGenerator"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return python.exists() and subprocess.run([str(python), "-c", probe], capture_output=True, env=env).returncode == 0


def keras_python(folder: Path = VENV) -> str:
    """An interpreter with TensorFlow and the ImageDataGenerator dependencies (created on first use)."""
    given = os.environ.get("TRAINLAB_KERAS_PYTHON")
    if given:
        return given
    python = _python(folder)
    if not _has_tensorflow(python):
        print(f"creating the Keras peer's environment in {folder} (TensorFlow from the package index; minutes)",
              file=sys.stderr, flush=True)
        if not python.exists():
            venv.create(folder, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], check=True)
        if not _has_tensorflow(python):
            raise RuntimeError(f"{python}: TensorFlow still does not import after installing {REQUIREMENTS}")
    return str(python)


if __name__ == "__main__":
    print(keras_python())
