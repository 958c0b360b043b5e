import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_backbone

from mtdnn_keras.models.mtdnn_model import MTDNNModel
from mtdnn_keras.optimizers.linear_warmup_decay import LinearWarmupDecay
from mtdnn_keras.optimizers.skip_zero_gradient import make_optimizer
from mtdnn_keras.tasks import TaskRegistry

VOCAB = 60
TASK_NAMES = "rte,stsb,mnli,qnli_ranking,cola"


def inputs(batch=4, length=10, seed=0):
    rng = np.random.default_rng(seed)
    segments = np.zeros((batch, length), "int32")
    segments[:, length // 2 :] = 1
    mask = np.ones((batch, length), bool)
    mask[0, -2:] = False
    return {
        "token_ids": rng.integers(1, VOCAB, (batch, length)).astype("int32"),
        "segment_ids": segments,
        "padding_mask": mask,
    }


def batch(task_index, labels, seed=0):
    x = inputs(len(labels), seed=seed)
    y = {
        "task_id": np.full(len(labels), task_index, "int32"),
        "label": np.asarray(labels, "float32"),
    }
    return x, y


def new_model(optimizer="adamax"):
    model = MTDNNModel(tiny_backbone(VOCAB), TaskRegistry.builtin().resolve(TASK_NAMES))
    model.compile(optimizer=make_optimizer(optimizer, LinearWarmupDecay(1e-2, 100, 10)))
    return model


@pytest.fixture(scope="module")
def model():
    return new_model()


def head_weights(model, name):
    return [w.numpy().copy() for w in model.get_layer(f"{name}_head").weights]


def test_outputs_are_named_per_task_with_their_shapes(model):
    out = model.predict(inputs(), verbose=0)
    assert set(out) == {"rte", "stsb", "mnli", "qnli_ranking", "cola"}
    assert (
        out["rte"].shape == (4, 2) and out["mnli"].shape == (4, 3) and out["cola"].shape == (4, 2)
    )
    assert out["stsb"].shape == (4,) and out["qnli_ranking"].shape == (4,)
    assert ((out["qnli_ranking"] > 0) & (out["qnli_ranking"] < 1)).all()  # Rel = sigmoid(w x)
    np.testing.assert_allclose(
        np.exp(out["mnli"]).sum(-1), 1.0, rtol=1e-5
    )  # SAN: log-probabilities
    sub = model.task_submodel("stsb").predict(inputs(), verbose=0)
    np.testing.assert_allclose(sub, out["stsb"], atol=1e-6)


@pytest.mark.parametrize("optimizer", ["adamax", "adamw"])
def test_inactive_heads_stay_bit_identical(optimizer):
    model = new_model(optimizer)
    names = model.task_names
    before = {name: head_weights(model, name) for name in names}
    encoder_before = model.backbone.get_layer("token_embedding").weights[0].numpy().copy()
    x, y = batch(names.index("stsb"), [0.5, 4.5, 2.0, 3.0])
    model.fit(tf.data.Dataset.from_tensors((x, y)).repeat(3), verbose=0)
    assert not np.array_equal(
        model.backbone.get_layer("token_embedding").weights[0].numpy(), encoder_before
    )
    for name in names:
        after = head_weights(model, name)
        same = all(np.array_equal(a, b) for a, b in zip(before[name], after))
        assert same == (name != "stsb"), name
    # a second task's step moves its own head and leaves the others alone, stsb included,
    # whose optimizer momentum is non-zero by now
    before["stsb"] = head_weights(model, "stsb")
    x, y = batch(names.index("mnli"), [0, 1, 2, 1])
    model.fit(tf.data.Dataset.from_tensors((x, y)), verbose=0)
    assert not all(
        np.array_equal(a, b) for a, b in zip(before["mnli"], head_weights(model, "mnli"))
    )
    for name in ("rte", "cola", "qnli_ranking", "stsb"):
        assert all(np.array_equal(a, b) for a, b in zip(before[name], head_weights(model, name))), (
            name
        )


def test_each_batch_gets_only_its_tasks_loss(model):
    names = model.task_names
    x, y = batch(names.index("rte"), [0, 1, 1, 0])
    logs = model.evaluate(tf.data.Dataset.from_tensors((x, y)), return_dict=True, verbose=0)
    logits = model.predict(x, verbose=0)["rte"]
    expected = keras.losses.sparse_categorical_crossentropy(
        y["label"].astype(int), logits, from_logits=True
    )
    assert logs["rte_loss"] == pytest.approx(float(np.mean(expected)), rel=1e-4)
    assert logs["stsb_loss"] == 0.0 and logs["loss"] == pytest.approx(logs["rte_loss"])
    # STS-B scores of 0-5 never reach a softmax: the regression loss is the squared error
    x, y = batch(names.index("stsb"), [5.0, 0.0, 3.2, 4.8])
    logs = model.evaluate(tf.data.Dataset.from_tensors((x, y)), return_dict=True, verbose=0)
    scores = model.predict(x, verbose=0)["stsb"]
    assert logs["stsb_loss"] == pytest.approx(float(np.mean((scores - y["label"]) ** 2)), rel=1e-4)


def test_save_and_load_round_trip_with_optimizer_state(model, tmp_path):
    x, y = batch(model.task_names.index("rte"), [0, 1, 1, 0])
    model.fit(tf.data.Dataset.from_tensors((x, y)).repeat(2), verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, MTDNNModel) and loaded.task_names == model.task_names
    assert [t.to_dict() for t in loaded.tasks] == [t.to_dict() for t in model.tasks]
    for name, out in model.predict(inputs(seed=3), verbose=0).items():
        np.testing.assert_allclose(loaded.predict(inputs(seed=3), verbose=0)[name], out, atol=1e-6)
    assert type(loaded.optimizer) is type(model.optimizer)
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) > 0
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables)
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # the learning-rate schedule comes back and stands at the same step
    assert (
        loaded.optimizer.get_config()["learning_rate"]
        == model.optimizer.get_config()["learning_rate"]
    )
    assert float(loaded.optimizer.learning_rate) == pytest.approx(
        float(model.optimizer.learning_rate)
    )


def test_linear_warmup_then_decay():
    schedule = LinearWarmupDecay(1.0, total_steps=110, warmup_steps=10)
    values = [float(schedule(step)) for step in (0, 5, 10, 60, 110, 200)]
    assert values == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.0, 0.0])
    assert (
        LinearWarmupDecay.from_config(schedule.get_config()).get_config() == schedule.get_config()
    )


def test_mean_pooling_ignores_padding_and_round_trips():
    model = MTDNNModel(
        tiny_backbone(VOCAB), TaskRegistry.builtin().resolve("rte,stsb"), pooling="mean"
    )
    x = inputs()
    changed = {k: v.copy() for k, v in x.items()}
    changed["token_ids"][0, -2:] = 7  # row 0's padded positions
    out, out_changed = model.predict(x, verbose=0), model.predict(changed, verbose=0)
    np.testing.assert_allclose(out_changed["rte"], out["rte"], atol=1e-6)
    clone = MTDNNModel.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    assert clone.pooling == "mean"
    np.testing.assert_allclose(clone.predict(x, verbose=0)["stsb"], out["stsb"], atol=1e-6)
    with pytest.raises(ValueError, match="unknown pooling"):
        MTDNNModel(tiny_backbone(VOCAB), TaskRegistry.builtin().resolve("rte"), pooling="max")


@pytest.mark.parametrize(
    "name, reference", [("adamax", keras.optimizers.Adamax), ("adamw", keras.optimizers.AdamW)]
)
def test_per_variable_steps_match_keras_on_a_variable_updated_every_step(name, reference):
    """With a gradient at every step the per-variable count equals Keras' global step."""
    ours = make_optimizer(name, 1e-2, weight_decay=0.01, clipnorm=None)
    theirs = reference(learning_rate=1e-2, weight_decay=0.01)
    a, b = (
        keras.Variable(np.ones(3, "float32"), name="kernel"),
        keras.Variable(np.ones(3, "float32"), name="kernel"),
    )
    for step in range(4):
        gradient = np.array([0.5, -1.0, 2.0], "float32") * (step + 1)
        ours.apply([gradient], [a])
        theirs.apply([gradient], [b])
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5)


def test_a_head_first_updated_late_gets_a_first_step_bias_correction():
    optimizer = make_optimizer("adamax", 1e-2, weight_decay=0.0, clipnorm=None)
    shared, head = keras.Variable(np.ones(2, "float32")), keras.Variable(np.ones(2, "float32"))
    zero, gradient = np.zeros(2, "float32"), np.array([1.0, -1.0], "float32")
    for _ in range(50):
        optimizer.apply([gradient, zero], [shared, head])
    np.testing.assert_array_equal(head.numpy(), [1.0, 1.0])  # untouched while inactive
    optimizer.apply([gradient, gradient], [shared, head])
    # Adamax's first step moves each weight by exactly the learning rate (m / (1 - b1) = g)
    np.testing.assert_allclose(head.numpy(), [1.0 - 1e-2, 1.0 + 1e-2], rtol=1e-5)
