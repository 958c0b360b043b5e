"""The files of a model's folder, named in one place that imports no TensorFlow, so that a
command can check a folder before it starts TensorFlow."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from mtdnn_keras.tasks.task_definition import TaskDefinition
from mtdnn_keras.tasks.task_registry import saved_task

MODEL_FILE = "model.keras"
TOKENIZER_DIR = "tokenizer"
CONFIG_FILE = "training_config.json"
HISTORY_FILE = "eval_history.json"


def kept_entry(history: list[dict]) -> dict:
    """The entry of a run's `eval_history.json` that its best-epoch selection keeps: the
    best mean score, the first of equals (as `EvaluationCallback` chooses)."""
    return max(history, key=lambda entry: entry["mean"])  # max keeps the first of equals


class ModelFileError(ValueError):
    """A model file that cannot be used: missing, unreadable, of another kind, or holding
    weights that are not finite."""


def check_model_folder(directory: str | Path) -> Path:
    """`directory`, refused unless it is a folder written by `fit` (it holds a model)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelFileError(f"{directory}: no such folder (expected the output folder of 'fit')")
    if not (directory / MODEL_FILE).is_file():
        raise ModelFileError(
            f"{directory / MODEL_FILE}: no model file (expected the output folder of 'fit')"
        )
    return directory


def saved_tasks(directory: str | Path) -> list[TaskDefinition]:
    """The task definitions of the model in `directory`, read from its `.keras` file's
    config without loading the model (or TensorFlow)."""
    path = check_model_folder(directory) / MODEL_FILE
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
        return [saved_task(task, str(path)) for task in config["config"]["tasks"]]
    except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile) as error:
        raise ModelFileError(
            f"{path}: not a model written by mtdnn-keras ({type(error).__name__}: {error})"
        ) from None
