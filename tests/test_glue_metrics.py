import math

import numpy as np
import pytest

from mtdnn_keras.features.example import Example
from mtdnn_keras.metrics.glue_metrics import mean_score, metric_scores
from mtdnn_keras.tasks import TaskRegistry

TASKS = TaskRegistry.builtin().tasks


def _examples(labels):
    return [Example("a", None, label, str(i), i) for i, label in enumerate(labels)]


def _scores(name, predictions, labels):
    """The task type's scores of `predictions` (class indices or scores) on gold labels."""
    task = TASKS[name]
    if task.num_outputs > 1:  # classification: one-hot probabilities
        predictions = list(np.eye(task.num_outputs)[np.asarray(predictions)])
    return task.kind.scores(task, list(predictions), _examples(labels))


def test_accuracy_and_f1_by_hand():
    labels = np.array([1, 1, 0, 0, 1, 0])
    predictions = np.array([1, 0, 0, 1, 1, 0])
    # tp = 2, fp = 1, fn = 1: precision = recall = 2/3, f1 = 2/3; 4 of 6 right
    result = _scores("mrpc", predictions, labels)
    assert result["accuracy"] == pytest.approx(400 / 6)
    assert result["f1"] == pytest.approx(200 / 3)


def test_matthews_correlation_by_hand():
    labels = np.array([1, 1, 1, 0, 0, 0, 1, 0])
    predictions = np.array([1, 1, 0, 0, 0, 1, 1, 0])
    tp, tn, fp, fn = 3, 3, 1, 1
    expected = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert _scores("cola", predictions, labels)["mcc"] == pytest.approx(100 * expected)
    assert _scores("cola", np.ones(8, int), labels)["mcc"] == 0.0  # majority class


def test_pearson_and_spearman_by_hand():
    labels = np.array([0.0, 1.0, 2.0, 3.0])
    predictions = np.array([0.0, 1.0, 4.0, 9.0])  # monotone, not linear
    x, y = predictions - predictions.mean(), labels - labels.mean()
    pearson = (x * y).sum() / math.sqrt((x * x).sum() * (y * y).sum())
    result = _scores("stsb", predictions, labels)
    assert result["pearson"] == pytest.approx(100 * pearson)
    assert result["spearman"] == pytest.approx(100.0)
    constant = _scores("stsb", np.full(4, 2.5), labels)
    assert constant == {"pearson": 0.0, "spearman": 0.0}


def test_ranking_relevance_above_half_is_the_positive_label():
    task = TASKS["qnli_ranking"]  # entailment (label 0) is the positive label
    records = task.kind.records(task, [0.9, 0.2], None)
    assert [r["label"] for r in records] == ["entailment", "not_entailment"]
    assert task.kind.scores(task, [0.9, 0.2], _examples([0, 0]))["accuracy"] == 50.0


def test_length_mismatch_and_mean_score():
    with pytest.raises(ValueError, match="3 predictions for 2 labels"):
        metric_scores("rte", ("accuracy",), np.zeros(3), np.zeros(2))
    assert mean_score({"a": {"x": 10.0, "y": 30.0}, "b": {"z": 50.0}}) == pytest.approx(35.0)
