"""Metrics over a whole evaluation set, on the 0-100 scale of the GLUE leaderboard."""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn import metrics as sk


def metric_scores(
    task_name: str,
    metrics: tuple[str, ...],
    predictions: np.ndarray,
    labels: np.ndarray,
    positive: int = 1,
) -> dict[str, float]:
    """`metrics` of `predictions` (label indices, or scores for `pearson` and `spearman`)
    against gold `labels`, 0-100. F1 is that of the `positive` label index."""
    predictions = np.asarray(predictions)
    labels = np.asarray(labels)
    if predictions.shape != labels.shape:
        raise ValueError(
            f"{task_name}: {predictions.shape[0]} predictions for {labels.shape[0]} labels"
        )
    results = {}
    for metric in metrics:
        if metric == "accuracy":
            value = sk.accuracy_score(labels.astype(int), predictions.astype(int))
        elif metric == "f1":
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
            raise ValueError(f"{task_name}: unknown metric {metric!r}")
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
