import math

import numpy as np
import pytest

from mtdnn_keras.metrics.glue_metrics import compute_metrics, mean_score, predicted_labels
from mtdnn_keras.tasks import TaskRegistry

TASKS = TaskRegistry.builtin().tasks


def test_accuracy_and_f1_by_hand():
    labels = np.array([1, 1, 0, 0, 1, 0])
    predictions = np.array([1, 0, 0, 1, 1, 0])
    # tp = 2, fp = 1, fn = 1: precision = recall = 2/3, f1 = 2/3; 4 of 6 right
    result = compute_metrics(TASKS["mrpc"], predictions, labels)
    assert result["accuracy"] == pytest.approx(400 / 6)
    assert result["f1"] == pytest.approx(200 / 3)


def test_matthews_correlation_by_hand():
    labels = np.array([1, 1, 1, 0, 0, 0, 1, 0])
    predictions = np.array([1, 1, 0, 0, 0, 1, 1, 0])
    tp, tn, fp, fn = 3, 3, 1, 1
    expected = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert compute_metrics(TASKS["cola"], predictions, labels)["mcc"] == pytest.approx(
        100 * expected
    )
    assert compute_metrics(TASKS["cola"], np.ones(8, int), labels)["mcc"] == 0.0  # majority class


def test_pearson_and_spearman_by_hand():
    labels = np.array([0.0, 1.0, 2.0, 3.0])
    predictions = np.array([0.0, 1.0, 4.0, 9.0])  # monotone, not linear
    x, y = predictions - predictions.mean(), labels - labels.mean()
    pearson = (x * y).sum() / math.sqrt((x * x).sum() * (y * y).sum())
    result = compute_metrics(TASKS["stsb"], predictions, labels)
    assert result["pearson"] == pytest.approx(100 * pearson)
    assert result["spearman"] == pytest.approx(100.0)
    constant = compute_metrics(TASKS["stsb"], np.full(4, 2.5), labels)
    assert constant == {"pearson": 0.0, "spearman": 0.0}


def test_predicted_labels_per_task_type():
    assert predicted_labels(TASKS["rte"], np.array([[2.0, 1.0], [0.0, 3.0]])).tolist() == [0, 1]
    assert predicted_labels(TASKS["stsb"], np.array([1.5, 4.0])).tolist() == [1.5, 4.0]
    # ranking relevance above 0.5 is the positive label (entailment = 0)
    assert predicted_labels(TASKS["qnli_ranking"], np.array([0.9, 0.2])).tolist() == [0, 1]


def test_length_mismatch_and_mean_score():
    with pytest.raises(ValueError, match="3 predictions for 2 labels"):
        compute_metrics(TASKS["rte"], np.zeros(3), np.zeros(2))
    assert mean_score({"a": {"x": 10.0, "y": 30.0}, "b": {"z": 50.0}}) == pytest.approx(35.0)
