"""Regression: one real-valued score per example (STS-B)."""

from __future__ import annotations

import math

import numpy as np

from mtdnn_keras.features.example import LabelError
from mtdnn_keras.task_types.task_type import TaskType


class Regression(TaskType):
    """One score per example, mean squared error; metrics `pearson` and `spearman`. A
    `score_range` in the task file bounds the scores a file may hold."""

    name = "regression"
    metrics = ("pearson", "spearman")
    default_metrics = ("pearson", "spearman")
    has_labels = False
    own_fields = ("score_range",)
    supports_smart = True
    ensemble_averages = True

    def describe(self, task) -> str:
        return "score"

    def parse_label(self, task, value):
        try:
            score = float(value)
        except ValueError:
            raise LabelError("non-numeric score", f"expected a number, got {value!r}") from None
        if math.isnan(score) or math.isinf(score):
            raise LabelError("non-numeric score", f"expected a finite number, got {value!r}")
        if task.score_range and not task.score_range[0] <= score <= task.score_range[1]:
            low, high = task.score_range
            raise LabelError("score out of range", f"score {score} outside [{low}, {high}]")
        return score

    def head_output(self, task, dropout, head, encoded, inputs):
        from keras import ops

        return ops.squeeze(super().head_output(task, dropout, head, encoded, inputs), -1)

    def loss(self, task, output, y):
        from keras import ops

        return ops.sum(ops.square(output - y["label"]))

    def smart_divergence(self, task, clean, perturbed):
        from keras import ops

        return ops.sum(ops.square(clean - perturbed))

    def soft_target_width(self, task) -> int:
        return 1

    def soft_target(self, task, record):
        return [float(record["score"])]

    def soft_target_loss(self, task, output, soft):
        from keras import ops

        return ops.sum(ops.square(output - soft[:, 0]))

    def decode(self, task, outputs, examples, prepared):
        return [float(score) for score in np.concatenate(outputs)]

    def records(self, task, predictions, examples):
        return [{"score": score} for score in predictions]

    def submission_value(self, task, record) -> str:
        return f"{record['score']:.3f}"

    def scores(self, task, predictions, examples):
        from mtdnn_keras.metrics.glue_metrics import metric_scores

        gold = np.array([example.label for example in examples], np.float64)
        return metric_scores(task.name, task.metrics, np.array(predictions), gold)
