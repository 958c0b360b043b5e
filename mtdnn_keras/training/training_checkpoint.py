"""Checkpoints of a training run, so that a killed run resumes where it stopped."""

from __future__ import annotations

import time
from pathlib import Path

import keras

from mtdnn_keras.models.model_directory import load_model_file, save_model_atomically
from mtdnn_keras.storage.atomic_writes import write_json_atomically
from mtdnn_keras.training.checkpoint_files import (  # noqa: F401 (re-exported)
    CHECKPOINT_DIR,
    STEP_FILE,
    CheckpointError,
    checkpoint_dir,
    checkpoint_files,
    checkpoint_seconds,
    checkpoint_step,
    has_checkpoint,
)


class TrainingCheckpoint(keras.callbacks.Callback):
    """Saves the model with its optimizer state (step, moments, learning-rate schedule and the
    dropout seed generators' state) every `every` steps and at each of `epoch_ends`.

    A checkpoint is committed in one step: the model goes to a new file,
    `output_dir/checkpoint/model-<step>.keras` (written atomically), then
    `checkpoint/step.json`, naming the step and that file, replaces the old one atomically,
    and only then is the previous model file removed. A crash between any two of these
    writes leaves `step.json` naming a complete model of its own step. Put it after the
    callbacks that evaluate and save at epoch ends, so that a checkpoint never precedes what
    they wrote for its step.

    Args:
        output_dir: the run's folder.
        every: steps between checkpoints; `None` or 0 for epoch ends only.
        epoch_ends: the steps at which epochs end.
        first_step: the steps taken before this pass (by the run a resumed one continues).
        started, earlier_seconds: when this pass started (`time.time()`) and the wall time
            of the passes before it; each checkpoint records the run's time so far, so that
            a resumed run reports the time of all its passes.
    """

    def __init__(
        self,
        output_dir: str | Path,
        every: int | None,
        epoch_ends: list[int],
        first_step=0,
        started: float | None = None,
        earlier_seconds: float = 0.0,
    ):
        super().__init__()
        self.first_step = first_step
        self.started = time.time() if started is None else started
        self.earlier_seconds = earlier_seconds
        self.output_dir = Path(output_dir)
        self.every = every or None
        self.epoch_ends = set(epoch_ends)

    def on_train_batch_end(self, batch, logs=None):
        step = self.first_step + batch + 1  # batches (see EvaluationCallback)
        if step in self.epoch_ends or (self.every and step % self.every == 0):
            seconds = self.earlier_seconds + time.time() - self.started
            save_checkpoint(self.model, self.output_dir, step, seconds)


def save_checkpoint(
    model: keras.Model, output_dir: str | Path, step: int, seconds: float = 0.0
) -> None:
    """Commits `model` as the checkpoint after `step`, `seconds` into the run (see
    `TrainingCheckpoint`)."""
    folder = checkpoint_dir(output_dir)
    name = f"model-{step}.keras"
    save_model_atomically(model, folder / name)
    record = {"step": step, "model": name, "seconds": round(seconds, 1)}
    write_json_atomically(record, folder / STEP_FILE)
    for old in checkpoint_files(output_dir):
        if old.name != name:
            old.unlink()


def load_checkpoint(output_dir: str | Path):
    """`(model, step)`: the checkpointed model of the run in `output_dir`, with its optimizer
    state, and the step it was saved after."""
    step = checkpoint_step(output_dir)
    return load_model_file(checkpoint_dir(output_dir) / f"model-{step}.keras"), step
