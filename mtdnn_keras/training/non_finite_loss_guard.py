"""Stops training at the first step whose loss is NaN or infinite."""

from __future__ import annotations

import math
from pathlib import Path

import keras

from mtdnn_keras.models.model_directory import MODEL_FILE


class NonFiniteLossError(RuntimeError):
    """A training step's loss was NaN or infinite; nothing was saved after it."""


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Raises `NonFiniteLossError` naming the task and the step at the end of the first step
    whose loss is not finite, before any later callback can evaluate or save the model.
    `MTDNNModel.train_step` reports a step whose update left a weight non-finite as a
    non-finite loss, so a run stops at the step that broke its weights.

    The running means that `MTDNNModel` logs turn NaN (or infinite) at the first bad step
    and stay so, so the task is the one whose mean turned; the model file on disk is the
    last one saved before it.

    Args:
        task_names: the model's tasks, in order (their `<task>_loss` means are logged).
        output_dir: the run's folder, to say which saved model is still there.
        first_step: the steps taken before this pass (by the run a resumed one continues).
    """

    def __init__(self, task_names: list[str], output_dir: str | Path, first_step: int = 0):
        super().__init__()
        self.first_step = first_step
        self.task_names = list(task_names)
        self.output_dir = Path(output_dir)

    def on_train_batch_end(self, batch, logs=None):
        loss = float((logs or {}).get("loss", 0.0))
        if math.isfinite(loss):
            return
        bad = [
            name
            for name in self.task_names
            if not math.isfinite(float(logs.get(f"{name}_loss", 0.0)))
        ]
        step = self.first_step + batch + 1
        saved = self.output_dir / MODEL_FILE  # this run's: `--overwrite` removed any other
        kept = (
            f"{saved} is the last model saved before it"
            if saved.exists()
            else "no model had been saved yet"
        )
        raise NonFiniteLossError(
            f"training stopped at step {step}: the loss of task {', '.join(bad) or '?'}, or "
            f"the weights its update left, were not finite (loss {loss}); {kept}. Check that "
            "task's labels, or lower --learning-rate."
        )
