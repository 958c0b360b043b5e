"""Reliability: faults during training stop it clearly and never replace a good saved model."""

import hashlib
import math

import pytest


def _examples(task: str, count: int, label):
    from mtdnn_keras.data.example_reader import Example

    words = ["a cat sat", "the dog ran home", "birds sing at dawn", "rain fell all day long"]
    return [
        Example(words[i % 4], words[(i + 1) % 4], label(i), f"{task}-{i}", i + 1)
        for i in range(count)
    ]


def _train(tiny_encoder_dir, output_dir, stsb_label):
    from mtdnn_keras.tasks import TaskRegistry
    from mtdnn_keras.training.evaluator import EvalSet
    from mtdnn_keras.training.multitask_trainer import train
    from mtdnn_keras.training.starting_point import StartingPoint
    from mtdnn_keras.training.training_config import TrainingConfig

    config = TrainingConfig(
        tasks="rte,stsb",
        output_dir=str(output_dir),
        encoder=str(tiny_encoder_dir),
        epochs=1,
        batch_size=4,
        max_seq_length=16,
        verbose=0,
    )
    tasks = TaskRegistry.builtin().resolve("rte,stsb")
    train_examples = {
        "rte": _examples("rte", 16, lambda i: i % 2),
        "stsb": _examples("stsb", 16, stsb_label),
    }
    eval_sets = [EvalSet("rte", tasks[0], _examples("rte", 8, lambda i: i % 2))]
    return train(
        config, StartingPoint.from_encoder(str(tiny_encoder_dir)), tasks, train_examples, eval_sets
    )


def test_a_nan_loss_stops_training_naming_task_and_step_and_keeps_the_saved_model(
    tiny_encoder_dir, tmp_path
):
    from mtdnn_keras.training.non_finite_loss_guard import NonFiniteLossError

    run = tmp_path / "run"
    result = _train(tiny_encoder_dir, run, lambda i: float(i % 5))
    saved = (run / "model.keras").read_bytes()
    assert result.steps == 8

    # every STS-B batch is NaN (the readers refuse NaN scores: this stands for a divergence)
    with pytest.raises(NonFiniteLossError) as stopped:
        _train(tiny_encoder_dir, run, lambda i: math.nan)
    message = str(stopped.value)
    assert "the loss of task stsb was nan at step " in message
    step = int(message.split(" at step ")[1].split(";")[0])
    assert 1 <= step <= 8
    assert f"{run / 'model.keras'} is the last model saved before it" in message
    assert (
        hashlib.sha256((run / "model.keras").read_bytes()).digest()
        == hashlib.sha256(saved).digest()
    )
