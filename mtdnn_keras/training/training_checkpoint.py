"""Checkpoints of a training run, so that a killed run resumes where it stopped."""

from __future__ import annotations

import json
from pathlib import Path

import keras

from mtdnn_keras.models.model_directory import (
    MODEL_FILE,
    save_model_atomically,
    write_json_atomically,
)

CHECKPOINT_DIR = "checkpoint"


def checkpoint_path(output_dir: str | Path) -> Path:
    """The checkpoint of the run in `output_dir`: the whole model with its optimizer state."""
    return Path(output_dir) / CHECKPOINT_DIR / MODEL_FILE


class TrainingCheckpoint(keras.callbacks.Callback):
    """Saves the model with its optimizer state (step, moments, learning-rate schedule and the
    dropout seed generators' state) to `output_dir/checkpoint/model.keras` every `every`
    steps and at each of `epoch_ends`, atomically; `checkpoint/step.json` then names the
    step. Put it after the callbacks that evaluate and save at epoch ends, so that a
    checkpoint never precedes what they wrote for its step.

    Args:
        output_dir: the run's folder.
        every: steps between checkpoints; `None` or 0 for epoch ends only.
        epoch_ends: the steps at which epochs end.
        first_step: the steps taken before this pass (by the run a resumed one continues).
    """

    def __init__(
        self, output_dir: str | Path, every: int | None, epoch_ends: list[int], first_step=0
    ):
        super().__init__()
        self.first_step = first_step
        self.path = checkpoint_path(output_dir)
        self.every = every or None
        self.epoch_ends = set(epoch_ends)

    def on_train_batch_end(self, batch, logs=None):
        step = self.first_step + batch + 1  # batches (see EvaluationCallback)
        if step in self.epoch_ends or (self.every and step % self.every == 0):
            save_model_atomically(self.model, self.path)
            write_json_atomically({"step": step}, self.path.with_name("step.json"))


def checkpoint_step(output_dir: str | Path) -> int:
    """The step the checkpoint of the run in `output_dir` was saved after."""
    path = checkpoint_path(output_dir).with_name("step.json")
    return int(json.loads(path.read_text(encoding="utf-8"))["step"])
