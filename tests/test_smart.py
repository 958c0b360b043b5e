"""SMART adversarial training: the perturbation, its normalisation, the term, the step."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_backbone

from mtdnn_keras.encoders.backbone_stages import embedding_output, encode_embeddings
from mtdnn_keras.models.mtdnn_model import MTDNNModel
from mtdnn_keras.optimizers.skip_zero_gradient import make_optimizer
from mtdnn_keras.regularizers.smart_perturbation import SmartPerturbation
from mtdnn_keras.tasks import TaskRegistry

VOCAB = 60
TASKS = "rte,stsb,qnli_ranking,squad2"  # classification, regression, ranking; span: none


def inputs(batch=4, length=12, seed=0):
    rng = np.random.default_rng(seed)
    segments = np.zeros((batch, length), "int32")
    segments[:, length // 2 :] = 1
    mask = np.ones((batch, length), bool)
    mask[0, -3:] = False
    return {
        "token_ids": tf.constant(rng.integers(1, VOCAB, (batch, length)), tf.int32),
        "segment_ids": tf.constant(segments),
        "padding_mask": tf.constant(mask),
    }


def labels(task_index, values):
    rows = len(values)
    return {
        "task_id": np.full(rows, task_index, "int32"),
        "label": np.asarray(values, "float32"),
        "span": np.zeros((rows, 2), "int32"),
    }


def new_model(seed=0, dropout=0.0):
    """A tiny model without dropout (unless asked): the clean and perturbed passes differ
    only by the perturbation."""
    backbone = tiny_backbone(VOCAB, seed=seed)
    if dropout == 0.0:
        backbone = type(backbone).from_config({**backbone.get_config(), "dropout": 0.0})
    tasks = [
        dataclasses.replace(task, dropout=dropout) for task in TaskRegistry.builtin().resolve(TASKS)
    ]
    keras.utils.set_random_seed(seed)
    model = MTDNNModel(backbone, tasks)
    model.compile(optimizer=make_optimizer("adamax", 1e-3))
    model.optimizer.build(model.trainable_variables)
    return model


@pytest.fixture(scope="module")
def model():
    return new_model()


def test_two_stage_encoder_is_the_backbone_itself(model):
    x = inputs()
    whole = model.backbone(x)
    staged = encode_embeddings(
        model.backbone,
        embedding_output(model.backbone, x["token_ids"], x["segment_ids"]),
        x["padding_mask"],
    )
    for name in ("sequence_output", "pooled_output"):
        np.testing.assert_array_equal(np.asarray(staged[name]), np.asarray(whole[name]))
    unperturbed = model.perturbed_outputs(x, tf.zeros((4, 12, 16)))
    clean = model(x)
    for name in model.task_names:
        np.testing.assert_array_equal(np.asarray(unperturbed[name]), np.asarray(clean[name]))


def test_normalisation_is_per_token_l_infinity():
    smart = SmartPerturbation(epsilon=1e-6)
    delta = tf.constant(np.random.default_rng(0).normal(size=(2, 5, 8)), tf.float32)
    delta = delta * tf.constant([1e-3, 1.0, 1e3, 7.0, 0.5])[None, :, None]  # tokens of any size
    normalised = np.asarray(smart.normalise(delta))
    peaks = np.abs(np.asarray(delta)).max(-1, keepdims=True)
    np.testing.assert_allclose(np.abs(normalised).max(-1), (peaks / (peaks + 1e-6))[..., 0])
    np.testing.assert_allclose(normalised * (peaks + 1e-6), np.asarray(delta), rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(smart.normalise(tf.zeros((1, 2, 3)))), 0.0)


def _divergence(model, x, task_id, delta):
    clean = model(x)
    perturbed = model.perturbed_outputs(x, delta)
    return float(SmartPerturbation.divergence(model, tf.constant(task_id), clean, perturbed))


@pytest.mark.parametrize("task_id", [0, 1, 2])  # classification, regression, ranking
def test_the_ascent_direction_raises_the_divergence_above_random_ones(model, task_id):
    # a step large against the noise: the gradient sets the direction. The gradient at the
    # noise is about the divergence's curvature times the noise, so the step must be large
    # against 1 / curvature (here ~1e-7 for ranking); with the reference's step of 1e-5 the
    # normalised perturbation is almost the random draw itself
    smart = SmartPerturbation(step_size=1e9, noise_var=1e-4, seed=1)
    x = inputs()
    clean = model(x)
    noise = smart.initial_noise(model, x)
    ascent = smart.adversarial_noise(model, x, clean, tf.constant(task_id), noise)
    scale = 0.05  # both directions at the same per-token size, in the smooth regime
    adversarial = _divergence(model, x, task_id, scale * ascent)
    randoms = [
        _divergence(
            model,
            x,
            task_id,
            scale * smart.normalise(tf.random.stateless_normal(ascent.shape, seed=(seed, 0))),
        )
        for seed in range(5)
    ]
    assert adversarial > max(randoms) > 0


def test_the_term_is_zero_without_noise_or_step_and_the_step_is_then_a_plain_one():
    plain, smart = new_model(), new_model()
    smart.adversarial = SmartPerturbation(noise_var=0.0, step_size=0.0)
    x = inputs()
    term = smart.adversarial.term(smart, x, smart(x), tf.constant(0))
    assert float(term) == 0.0
    for task_id, values in ((0, [0, 1, 1, 0]), (1, [0.5, 2.0, 4.5, 3.0]), (2, [1, 0, 0, 1])):
        for m in (plain, smart):
            m.train_on_batch(x, labels(task_id, values))
    for a, b in zip(plain.weights, smart.weights, strict=True):
        # the term and its gradient are zero; float rounding of the summed gradient only
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=0, atol=1e-6)


def test_the_term_trains_the_active_task_only_where_its_type_has_one():
    m = new_model()
    m.adversarial = SmartPerturbation(noise_var=1e-2, step_size=1.0, alpha=1.0)
    x = inputs()
    clean = m(x)
    terms = [float(m.adversarial.term(m, x, clean, tf.constant(i))) for i in range(4)]
    assert all(term > 0 for term in terms[:3]) and terms[3] == 0.0  # squad2: no SMART
    doubled = dataclasses.replace(m.adversarial, alpha=2.0)
    np.testing.assert_allclose(float(doubled.term(m, x, clean, tf.constant(0))), 2 * terms[0])


def test_a_smart_step_adds_the_mean_term_to_the_loss():
    plain, smart = new_model(), new_model()
    smart.adversarial = SmartPerturbation(noise_var=1e-2, step_size=1.0)
    x, y = inputs(), labels(1, [0.5, 2.0, 4.5, 3.0])
    term = float(smart.adversarial.term(smart, x, smart(x), tf.constant(1)))  # step 0's noise
    plain_loss = plain.train_on_batch(x, y, return_dict=True)["loss"]
    smart_loss = smart.train_on_batch(x, y, return_dict=True)["loss"]
    assert term > 0
    np.testing.assert_allclose(smart_loss, plain_loss + term / 4, rtol=1e-5)


def test_a_smart_step_trains_in_mixed_bfloat16():
    backbone = tiny_backbone(VOCAB)
    mixed = type(backbone).from_config({**backbone.get_config(), "dtype": "mixed_bfloat16"})
    model = MTDNNModel(mixed, TaskRegistry.builtin().resolve(TASKS))
    model.compile(optimizer=make_optimizer("adamax", 1e-3))
    model.adversarial = SmartPerturbation(noise_var=1e-2, step_size=1.0)
    x = inputs()
    assert model.perturbed_outputs(x, tf.zeros((4, 12, 16)))["rte"].dtype == "float32"
    before = [np.asarray(w).copy() for w in model.backbone.weights]
    logs = model.train_on_batch(x, labels(2, [1, 0, 0, 1]), return_dict=True)
    assert np.isfinite(logs["loss"])
    assert any(not np.array_equal(a, np.asarray(b)) for a, b in zip(before, model.backbone.weights))


def test_the_ascent_moves_the_noise_in_mixed_float16_too():
    """A tiny noise's ascent gradient, taken through float16 layers, does not vanish: with a
    large step the perturbation turns away from the random draw, as in float32."""
    backbone = tiny_backbone(VOCAB)
    config = {**backbone.get_config(), "dropout": 0.0}
    turned = {}
    for dtype in ("float32", "mixed_float16"):
        model = MTDNNModel(
            type(backbone).from_config({**config, "dtype": dtype}),
            TaskRegistry.builtin().resolve("rte"),
        )
        model.set_weights(new_model_weights(backbone, model))
        model.compile(optimizer=make_optimizer("adamax", 1e-3))
        model.optimizer.build(model.trainable_variables)
        smart = SmartPerturbation(step_size=1e12, noise_var=1e-7, seed=1)
        x = inputs()
        noise = smart.initial_noise(model, x)
        delta = smart.adversarial_noise(model, x, model(x), tf.constant(0), noise)
        a, b = np.ravel(delta), np.ravel(smart.normalise(noise))
        turned[dtype] = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    assert turned["float32"] < 0.9 and turned["mixed_float16"] < 0.9, turned


def new_model_weights(backbone, model):
    """`model`'s weights with the encoder's taken from `backbone` (same layout)."""
    weights = model.get_weights()
    weights[: len(backbone.weights)] = backbone.get_weights()
    return weights
