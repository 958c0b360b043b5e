"""Training options of issue 8 on one device: mixed precision and gradient accumulation."""

import dataclasses
import json

import keras
import keras_hub
import numpy as np
import pytest

from mtdnn_keras.models.mtdnn_model import MTDNNModel
from mtdnn_keras.optimizers.skip_zero_gradient import make_optimizer
from mtdnn_keras.tasks import TaskRegistry


def _model(accumulation):
    keras.utils.set_random_seed(1)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=60,
        num_layers=1,
        num_heads=2,
        hidden_dim=8,
        intermediate_dim=16,
        dropout=0.0,
    )
    tasks = [
        dataclasses.replace(t, dropout=0.0) for t in TaskRegistry.builtin().resolve("rte,stsb")
    ]
    model = MTDNNModel(backbone, tasks)
    model.compile(
        optimizer=make_optimizer("adamax", 1e-2, gradient_accumulation_steps=accumulation)
    )
    return model


def _batch(rows, seed):
    rng = np.random.default_rng(seed)
    x = {
        "token_ids": rng.integers(1, 60, (rows, 9)).astype("int32"),
        "segment_ids": np.zeros((rows, 9), "int32"),
        "padding_mask": np.ones((rows, 9), bool),
    }
    y = {"task_id": np.zeros(rows, "int32"), "label": rng.integers(0, 2, rows).astype("float32")}
    return x, y


def _weights(model):
    return [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]


def test_two_accumulated_batches_make_one_update_with_their_mean_gradient():
    first, second = _batch(4, seed=0), _batch(4, seed=1)
    both = tuple({k: np.concatenate([a[k], b[k]]) for k in a} for a, b in zip(first, second))
    accumulating, reference = _model(2), _model(1)
    before = _weights(accumulating)
    accumulating.train_on_batch(*first)
    for held, start in zip(_weights(accumulating), before):  # the first batch only accumulates
        np.testing.assert_array_equal(held, start)
    accumulating.train_on_batch(*second)
    reference.train_on_batch(*both)  # one batch of all 8 rows: the mean of the two means
    moved = 0.0
    # equal but for float rounding, which Adamax's g / max|g| step magnifies where a gradient
    # is near zero: 1.6e-5 at most here, against steps of 1e-2 (the learning rate)
    for got, want, start in zip(_weights(accumulating), _weights(reference), before):
        np.testing.assert_allclose(got, want, atol=1e-4)
        moved = max(moved, float(np.abs(want - start).max()))
    assert moved > 1e-3
    assert int(accumulating.optimizer.iterations) == 1  # updates, not batches


def _fit_small(tiny_encoder_dir, small_glue, output, **options):
    """`fit` on the small GLUE files and the tiny encoder; returns the result and the saved
    model."""
    from mtdnn_keras.models.model_directory import load_model_directory
    from mtdnn_keras.training.multitask_trainer import fit
    from mtdnn_keras.training.training_config import TrainingConfig

    config = TrainingConfig(
        output_dir=str(output),
        data_dir=str(small_glue),
        encoder=str(tiny_encoder_dir),
        batch_size=8,
        max_seq_length=32,
        verbose=0,
        **options,
    )
    result = fit(config)
    return result, load_model_directory(output)[0]


def test_fit_with_mixed_bfloat16_and_accumulation(tiny_encoder_dir, small_glue, tmp_path):
    result, model = _fit_small(
        tiny_encoder_dir,
        small_glue,
        tmp_path / "run",
        tasks="rte,stsb",
        epochs=1,
        learning_rate=1e-3,
        precision="mixed_bfloat16",
        gradient_accumulation_steps=2,
    )
    run = json.loads((tmp_path / "run" / "training_config.json").read_text())
    assert result.steps == run["total_steps"] == run["steps_per_epoch"]  # batches, not updates
    history = json.loads((tmp_path / "run" / "eval_history.json").read_text())
    assert [entry["step"] for entry in history] == [result.steps]
    assert model.backbone.dtype_policy.name == "mixed_bfloat16"
    assert all(head.dtype_policy.name == "float32" for head in model.task_heads.values())
    assert all(w.dtype == "float32" for w in model.weights if "seed" not in w.path)
    assert int(model.optimizer.iterations) == result.steps // 2  # updates
    outputs = model.predict(
        {
            "token_ids": np.array([[101, 2023, 102]], "int32"),
            "segment_ids": np.zeros((1, 3), "int32"),
            "padding_mask": np.ones((1, 3), bool),
        },
        verbose=0,
    )
    assert outputs["rte"].dtype == np.float32 and np.isfinite(outputs["rte"]).all()


def test_fit_with_mixed_float16_scales_the_loss(tiny_encoder_dir, small_glue, tmp_path):
    _, model = _fit_small(
        tiny_encoder_dir,
        small_glue,
        tmp_path / "run",
        tasks="rte",
        max_steps=3,
        precision="mixed_float16",
        selection="last",
    )
    assert model.backbone.dtype_policy.name == "mixed_float16"
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert all(np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in model.trainable_weights)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("precision", "float16", "--precision: expected one of float32, "),
        ("strategy", "parameter-server", "--strategy: expected one of auto, "),
        ("xla", "yes", "--xla: expected one of auto, on, off, got 'yes'"),
        ("gradient_accumulation_steps", 0, r"--gradient-accumulation-steps: expected a whole"),
    ],
)
def test_bad_options_are_refused(field, value, message):
    from mtdnn_keras.training.training_config import TrainingConfig

    with pytest.raises(ValueError, match=message):
        TrainingConfig(tasks="rte", output_dir="out", **{field: value})
