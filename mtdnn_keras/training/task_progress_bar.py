"""Keras' progress bar, without the losses of tasks that have had no batch yet."""

from __future__ import annotations

import keras


class TaskProgressBar(keras.callbacks.ProgbarLogger):
    """`keras.callbacks.ProgbarLogger` that leaves out `<task>_loss` while that task's loss
    tracker (`MTDNNModel.task_loss_trackers`) has counted no batch in the epoch, instead of
    showing its empty mean as `0.0000e+00`. A task's loss appears from its first batch on.

    Only what the bar shows changes: the logs that `fit` hands to the other callbacks
    (TensorBoard, the history, `NonFiniteLossGuard`) keep every key, and the values are the
    same. Pass it in `fit`'s `callbacks` with `fit`'s `verbose` (1 or 2): Keras then adds no bar
    of its own, and gives this one its `verbose`. A model without task loss trackers gets
    Keras' bar unchanged.
    """

    def __init__(self):
        super().__init__()
        self._started = set()  # trackers that have counted a batch this epoch

    def on_epoch_begin(self, epoch, logs=None):
        self._started = set()  # `fit` resets the model's metrics before each epoch
        super().on_epoch_begin(epoch, logs)

    def shown(self, logs: dict | None) -> dict:
        """`logs` without the loss of a task whose tracker has counted nothing (a copy)."""
        logs = dict(logs or {})
        for tracker in getattr(self.model, "task_loss_trackers", ()):
            if tracker.name in self._started:
                continue
            if float(keras.ops.convert_to_numpy(tracker.count)) > 0:
                self._started.add(tracker.name)  # counts only grow within an epoch
            else:
                logs.pop(tracker.name, None)
        return logs

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, self.shown(logs) if self.verbose == 1 else logs)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, self.shown(logs))
