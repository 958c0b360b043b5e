"""Task metrics over a whole evaluation set, on the 0-100 scale of the GLUE leaderboard."""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn import metrics as sk

from mtdnn_keras.tasks.task_definition import TaskDefinition


def predicted_labels(task: TaskDefinition, outputs: np.ndarray) -> np.ndarray:
    """Label indices (classification, ranking) or scores (regression) from a head's outputs.

    A ranking head's relevance is a probability: above 0.5 is the positive label.
    """
    outputs = np.asarray(outputs)
    if task.type in ("classification", "multiple_choice"):  # choices: (examples, choices)
        return outputs.argmax(axis=-1)
    if task.type == "ranking":
        positive = task.labels.index(task.positive_label)
        negative = next(i for i in range(len(task.labels)) if i != positive)
        return np.where(outputs > 0.5, positive, negative)
    return outputs.astype(np.float64)


def compute_metrics(
    task: TaskDefinition, predictions: np.ndarray, labels: np.ndarray
) -> dict[str, float]:
    """The task's metrics for `predictions` (from `predicted_labels`) against gold `labels`.

    F1 is that of the positive class: label 1 (`"1"` for MRPC and QQP), or a ranking task's
    positive label.
    """
    predictions = np.asarray(predictions)
    labels = np.asarray(labels)
    if predictions.shape != labels.shape:
        raise ValueError(
            f"{task.name}: {predictions.shape[0]} predictions for {labels.shape[0]} labels"
        )
    results = {}
    for metric in task.metrics:
        if metric == "accuracy":
            value = sk.accuracy_score(labels.astype(int), predictions.astype(int))
        elif metric == "f1":
            positive = task.labels.index(task.positive_label) if task.type == "ranking" else 1
            value = sk.f1_score(
                labels.astype(int), predictions.astype(int), pos_label=positive, zero_division=0.0
            )
        elif metric == "mcc":
            value = sk.matthews_corrcoef(labels.astype(int), predictions.astype(int))
        elif metric == "pearson":
            value = _correlation(stats.pearsonr, predictions, labels)
        elif metric == "spearman":
            value = _correlation(stats.spearmanr, predictions, labels)
        else:
            raise ValueError(f"{task.name}: unknown metric {metric!r}")
        results[metric] = float(100.0 * value)
    return results


def _correlation(function, predictions, labels) -> float:
    if np.all(predictions == predictions[0]) or np.all(labels == labels[0]):
        return 0.0  # undefined for a constant; report no correlation rather than NaN
    return function(predictions, labels)[0]


def mean_score(
    results: dict[str, dict[str, float]], metrics: dict[str, tuple[str, ...]] | None = None
) -> float:
    """Mean over sets of each set's mean metric: the model-selection score. With `metrics`
    (set name to metric names), only those count (SQuAD's breakdowns and tuned scores do not)."""
    return float(
        np.mean(
            [
                np.mean(
                    [
                        value
                        for name, value in values.items()
                        if metrics is None or name in metrics[set_name]
                    ]
                )
                for set_name, values in results.items()
            ]
        )
    )
