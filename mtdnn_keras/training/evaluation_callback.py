"""Evaluates where each epoch ends, logs per-task scores and keeps the best model."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import keras
import tensorflow as tf

from mtdnn_keras.metrics.glue_metrics import mean_score
from mtdnn_keras.models.model_directory import save_model_atomically
from mtdnn_keras.models.model_files import HISTORY_FILE, MODEL_FILE
from mtdnn_keras.storage.atomic_writes import write_json_atomically
from mtdnn_keras.training.evaluator import Evaluator, format_table


class EvaluationCallback(keras.callbacks.Callback):
    """At each of `eval_steps`: scores every dev set, writes them to TensorBoard (one run per
    task under `log_dir`), and when the mean score (over `select_by`, or all sets) is the best
    so far saves the model to `output_dir/model.keras` and the scores to
    `output_dir/metrics.json`, both atomically.

    Args:
        evaluator: `Evaluator`.
        output_dir: the run's output folder.
        log_dir: TensorBoard folder; `None` for no logs.
        select_by: names of the dev sets whose mean picks the best epoch (`None`: all).
        save_model: save the best epoch's model (else only its scores). A span task's
            null-score threshold tuned on its dev set is stored in the saved model.
        eval_steps: the steps (batches) after which to evaluate (where epochs end; training
            runs as one Keras pass, since epochs may differ in length).
        first_step: the steps taken before this pass (by the run a resumed one continues).
    """

    def __init__(
        self,
        evaluator: Evaluator,
        output_dir: str,
        log_dir: str | None = None,
        select_by: list[str] | None = None,
        save_model: bool = True,
        eval_steps: list[int] = (),
        first_step: int = 0,
    ):
        super().__init__()
        self.first_step = first_step
        self.step = first_step
        self.eval_steps = set(eval_steps)
        self.evaluator = evaluator
        self.output_dir = Path(output_dir)
        self.log_dir = log_dir
        self.select_by = select_by
        self.save_model = save_model
        self.best_score = None
        self.best_results = None
        self.history = []
        self._writers = {}

    def restore(self, step: int) -> None:
        """Takes up the history and the best scores that a run killed after `step` wrote
        (evaluations after `step` are dropped: they will be made again)."""
        path = self.output_dir / HISTORY_FILE
        history = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
        self.history = [entry for entry in history if entry["step"] <= step]
        for entry in self.history:
            if self.best_score is None or entry["mean"] > self.best_score:
                self.best_score = entry["mean"]
                self.best_results = entry["metrics"]

    def on_train_batch_end(self, batch, logs=None):
        # counted here, not by the optimizer: with gradient accumulation or a float16 loss
        # scale its `iterations` counts updates, not batches
        self.step = self.first_step + batch + 1
        if self.step in self.eval_steps:
            self.evaluate(len(self.history))

    def evaluate(self, epoch: int) -> None:
        """Scores the dev sets; keeps the model and scores if they are the best so far."""
        results = self.evaluator.evaluate(self.model)
        chosen = {n: r for n, r in results.items() if self.select_by is None or n in self.select_by}
        score = mean_score(chosen, self.evaluator.primary_metrics)
        if math.isnan(score):
            score = -math.inf  # a diverged epoch never counts as the best
        step = self.step
        self.history.append({"epoch": epoch + 1, "step": step, "mean": score, "metrics": results})
        self._log(results, step)
        print(
            f"\nepoch {epoch + 1}, step {step}: dev scores (mean {score:.2f})\n{format_table(results)}"
        )
        if self.best_score is None or score > self.best_score:
            self.best_score = score
            self.best_results = results
            if self.save_model:
                self._store_tuned_fields()
                save_model_atomically(self.model, self.output_dir / MODEL_FILE)
            write_json_atomically(results, self.output_dir / "metrics.json")
        write_json_atomically(self.history, self.output_dir / HISTORY_FILE)

    def _store_tuned_fields(self):
        tuned = self.evaluator.tuned_fields
        for index, task in enumerate(self.model.tasks):
            if task.name in tuned:
                self.model.tasks[index] = dataclasses.replace(task, **tuned[task.name])

    def _log(self, results, step):
        if self.log_dir is None:
            return
        for name, metrics in results.items():
            if name not in self._writers:
                self._writers[name] = tf.summary.create_file_writer(
                    str(Path(self.log_dir) / "eval" / name)
                )
            with self._writers[name].as_default():
                for metric, value in metrics.items():
                    tf.summary.scalar(metric, value, step=step)
            self._writers[name].flush()
