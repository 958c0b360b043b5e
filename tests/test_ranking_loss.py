import math

import numpy as np
import pytest

from mtdnn_keras.losses.ranking_loss import listwise_ranking_loss


def test_ranking_loss_on_a_known_example():
    relevance = np.array([0.9, 0.1, 0.2, 0.7, 0.4, 0.3], dtype="float32")
    labels = np.array([1, 0, 0, 1, 0, 0], dtype="float32")  # positive first, then second
    expected_first = -math.log(math.exp(0.9) / (math.exp(0.9) + math.exp(0.1)))
    expected_second = -math.log(math.exp(0.7) / (math.exp(0.2) + math.exp(0.7)))
    loss = listwise_ranking_loss(relevance[:4], labels[:4], group_size=2)
    assert float(loss) == pytest.approx((expected_first + expected_second) / 2, rel=1e-6)
    # groups of three (positives 0.9 and 0.7), gamma = 2
    gamma_loss = listwise_ranking_loss(relevance, labels, group_size=3, gamma=2.0)
    group_one = -math.log(math.exp(1.8) / (math.exp(1.8) + math.exp(0.2) + math.exp(0.4)))
    group_two = -math.log(math.exp(1.4) / (math.exp(1.4) + math.exp(0.8) + math.exp(0.6)))
    assert float(gamma_loss) == pytest.approx((group_one + group_two) / 2, rel=1e-6)


def test_ranking_loss_falls_as_the_positive_rises():
    labels = np.array([0, 1], dtype="float32")
    low = listwise_ranking_loss(np.array([0.5, 0.2], "float32"), labels, 2)
    high = listwise_ranking_loss(np.array([0.5, 0.9], "float32"), labels, 2)
    assert float(high) < math.log(2) < float(low)
