"""A run's checkpoint files, read without TensorFlow (a command checks `--resume` before it
starts TensorFlow); `training_checkpoint` writes and loads them."""

from __future__ import annotations

import json
from pathlib import Path

CHECKPOINT_DIR = "checkpoint"
STEP_FILE = "step.json"  # names the step and its model file: the commit point of a checkpoint


class CheckpointError(ValueError):
    """A run's checkpoint is missing or does not hold together."""


def checkpoint_dir(output_dir: str | Path) -> Path:
    """The checkpoint folder of the run in `output_dir`."""
    return Path(output_dir) / CHECKPOINT_DIR


def checkpoint_files(output_dir: str | Path) -> list[Path]:
    """The model files in the checkpoint folder (one, but for a crash between two writes)."""
    folder = checkpoint_dir(output_dir)
    return sorted(folder.glob("model-*.keras")) if folder.is_dir() else []


def has_checkpoint(output_dir: str | Path) -> bool:
    """Whether the run in `output_dir` left a checkpoint (it was stopped after one)."""
    return (checkpoint_dir(output_dir) / STEP_FILE).is_file()


def checkpoint_seconds(output_dir: str | Path) -> float:
    """The run's wall time up to its checkpoint (0 for a checkpoint that did not record it);
    call after `checkpoint_step`, which checks the record."""
    record = json.loads((checkpoint_dir(output_dir) / STEP_FILE).read_text(encoding="utf-8"))
    seconds = record.get("seconds", 0.0)
    return float(seconds) if isinstance(seconds, int | float) and seconds >= 0 else 0.0


def checkpoint_step(output_dir: str | Path) -> int:
    """The step the checkpoint of the run in `output_dir` was saved after, checked: its
    `step.json` names a model file that is there and was written for that step."""
    folder = checkpoint_dir(output_dir)
    path = folder / STEP_FILE
    if not has_checkpoint(output_dir):
        raise CheckpointError(
            f"--resume: no checkpoint in {folder} (a run writes one every --checkpoint-every "
            "steps and at each epoch's end, and removes it when it finishes)"
        )
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        step, name = int(record["step"]), str(record["model"])
    except (ValueError, KeyError, TypeError):
        raise CheckpointError(
            f"--resume: {path} does not name a step and its model file (a checkpoint of "
            "another release, or damaged); start the run again with --overwrite"
        ) from None
    if name != f"model-{step}.keras" or not (folder / name).is_file():
        raise CheckpointError(
            f"--resume: {path} names step {step} and {name}, which do not match the files "
            f"in {folder}; the checkpoint is out of step, so resuming would not continue the "
            "same run. Start it again with --overwrite"
        )
    return step
