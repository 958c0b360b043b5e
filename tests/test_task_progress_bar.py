"""The progress bar shows a task's loss from its first batch on, and changes no logs."""

import keras
import numpy as np
import tensorflow as tf
from conftest import tiny_backbone

from mtdnn_keras.models.mtdnn_model import MTDNNModel
from mtdnn_keras.optimizers.skip_zero_gradient import make_optimizer
from mtdnn_keras.tasks import TaskRegistry
from mtdnn_keras.training.task_progress_bar import TaskProgressBar

VOCAB = 60


def batch(task_id, labels, length=8):
    rng = np.random.default_rng(task_id)
    x = {
        "token_ids": rng.integers(1, VOCAB, (len(labels), length)).astype("int32"),
        "segment_ids": np.zeros((len(labels), length), "int32"),
        "padding_mask": np.ones((len(labels), length), bool),
    }
    y = {"task_id": np.full(len(labels), task_id, "int32"), "label": np.float32(labels)}
    return tf.data.Dataset.from_tensors((x, y))


class RecordingBar(TaskProgressBar):
    def __init__(self):
        super().__init__()
        self.shown_keys = []

    def shown(self, logs):
        shown = super().shown(logs)
        self.shown_keys.append(set(shown))
        return shown


class LogKeys(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(dict(logs))


def test_a_task_loss_shows_once_the_task_had_a_batch_and_the_logs_keep_it(capsys):
    model = MTDNNModel(tiny_backbone(VOCAB), TaskRegistry.builtin().resolve("rte,stsb"))
    model.compile(optimizer=make_optimizer("adamax", 1e-3))
    rte, stsb = batch(0, [0, 1, 1, 0]), batch(1, [0.5, 4.5, 2.0, 3.0])
    bar, logged = RecordingBar(), LogKeys()
    # epoch 1: rte, then stsb; epoch 2 (the model's metrics start again): stsb, stsb
    history = model.fit(
        rte.concatenate(stsb).concatenate(stsb).concatenate(stsb),
        epochs=2,
        steps_per_epoch=2,
        callbacks=[bar, logged],
        verbose=1,
    )
    both, rte_only, stsb_only = (
        {"loss", "rte_loss", "stsb_loss"},
        {"loss", "rte_loss"},
        {"loss", "stsb_loss"},
    )
    # batch, batch, epoch end; twice
    assert bar.shown_keys == [rte_only, both, both, stsb_only, stsb_only, stsb_only]
    out = capsys.readouterr().out
    assert "stsb_loss: 0.0000e+00" not in out and "rte_loss" in out
    # what the other callbacks and the history get is untouched: every task, empty means 0
    assert all(set(logs) == both for logs in logged.batches)
    assert logged.batches[0]["stsb_loss"] == 0.0 and logged.batches[2]["rte_loss"] == 0.0
    assert set(history.history) == both and history.history["rte_loss"][1] == 0.0
