import keras
import numpy as np
import pytest

from mtdnn_keras.layers.san_answer_module import SANAnswerModule

SEGMENTS = np.array([[0, 0, 0, 0, 1, 1, 0, 0], [0, 0, 0, 1, 1, 1, 1, 1]], dtype="int32")
PADDING = np.array([[1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1]], dtype=bool)


@pytest.fixture(scope="module")
def san():
    keras.utils.set_random_seed(1)
    layer = SANAnswerModule(num_classes=3, hidden_dim=8, seed=3)
    layer(np.zeros((2, 8, 8), "float32"), SEGMENTS, PADDING)
    return layer


def sequence(seed=0):
    return np.random.default_rng(seed).normal(size=(2, 8, 8)).astype("float32")


def test_memory_masks_split_segments_and_exclude_padding():
    premise, hypothesis = (np.asarray(m) for m in SANAnswerModule.memory_masks(SEGMENTS, PADDING))
    assert premise[0].tolist() == [1, 1, 1, 1, 0, 0, 0, 0]  # padded segment-0 positions excluded
    assert hypothesis[0].tolist() == [0, 0, 0, 0, 1, 1, 0, 0]
    assert hypothesis[1].tolist() == [0, 0, 0, 1, 1, 1, 1, 1]
    # a pair whose second segment was truncated away falls back to all real tokens
    _, fallback = SANAnswerModule.memory_masks(
        np.zeros((1, 4), "int32"), np.array([[1, 1, 1, 0]], bool)
    )
    assert np.asarray(fallback).tolist() == [[1, 1, 1, 0]]


def test_padding_does_not_change_the_answer(san):
    base = sequence()
    changed = base.copy()
    changed[0, 6:] += 100.0  # padded positions of row 0
    out = np.asarray(san(base, SEGMENTS, PADDING))
    np.testing.assert_allclose(np.asarray(san(changed, SEGMENTS, PADDING)), out, atol=1e-6)


def test_premise_and_hypothesis_memories_both_matter(san):
    base = sequence()
    out = np.asarray(san(base, SEGMENTS, PADDING))
    for positions in (slice(0, 4), slice(4, 6)):  # premise, hypothesis of row 0
        changed = base.copy()
        changed[0, positions] += 1.0
        moved = np.asarray(san(changed, SEGMENTS, PADDING))
        assert not np.allclose(moved[0], out[0])
        np.testing.assert_allclose(moved[1], out[1], atol=1e-6)  # other rows untouched
    swapped = np.asarray(san(base, 1 - SEGMENTS, PADDING))
    assert not np.allclose(swapped[0], out[0])


def test_outputs_are_log_probabilities_and_inference_is_deterministic(san):
    out = np.asarray(san(sequence(), SEGMENTS, PADDING))
    np.testing.assert_allclose(np.exp(out).sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(san(sequence(), SEGMENTS, PADDING)), out)


def test_stochastic_prediction_dropout_keeps_at_least_one_step():
    layer = SANAnswerModule(num_classes=2, hidden_dim=8, step_dropout=0.99, dropout=0.0, seed=0)
    base = sequence()
    outs = [np.asarray(layer(base, SEGMENTS, PADDING, training=True)) for _ in range(5)]
    for out in outs:
        assert np.isfinite(out).all()
        np.testing.assert_allclose(np.exp(out).sum(-1), 1.0, rtol=1e-5)
    assert any(not np.allclose(outs[0], o) for o in outs[1:])  # different steps dropped


def test_serialisation_round_trip(san):
    config = san.get_config()
    clone = SANAnswerModule.from_config(config)
    clone(np.zeros((2, 8, 8), "float32"), SEGMENTS, PADDING)
    clone.set_weights(san.get_weights())
    assert clone.get_config() == config
    np.testing.assert_allclose(
        np.asarray(clone(sequence(), SEGMENTS, PADDING)),
        np.asarray(san(sequence(), SEGMENTS, PADDING)),
        atol=1e-6,
    )
