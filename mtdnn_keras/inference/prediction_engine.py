"""Runs a multi-task model on a task's examples: what evaluation and prediction share."""

from __future__ import annotations

import numpy as np

from mtdnn_keras.features.example import Example
from mtdnn_keras.task_types import PreparedInputs
from mtdnn_keras.tasks.task_definition import TaskDefinition


class PredictionEngine:
    """Predictions of any task of a model for a list of examples.

    The task's type prepares the model's inputs (text pairs, a span task's windows, a
    sentence's word pieces), the engine runs the task's head on them batch by batch, and the
    type decodes the outputs into one prediction per example, its records (`records`) or its
    scores (`scores`). Nothing is kept between calls but each task's model; a caller that
    predicts the same examples again (the evaluator, every epoch) keeps their `prepare`d
    inputs and passes them back.

    Args:
        model: `MTDNNModel`.
        tokenizer: its keras-hub tokenizer.
        batch_size: int. Prediction batch size.
    """

    def __init__(self, model, tokenizer, batch_size: int = 64):
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self._submodels = {}

    def prepare(self, task: TaskDefinition, examples: list[Example]) -> PreparedInputs:
        """The model's inputs for `examples`, as the task's type lays them out."""
        return task.kind.prediction_inputs(task, examples, self.tokenizer, self.batch_size)

    def predictions(self, task: TaskDefinition, examples: list[Example], prepared=None) -> list:
        """One decoded prediction per example (the type's: probabilities, a score, an
        answer span, a tag for each word...)."""
        if not examples:
            return []
        if task.name not in self._submodels:
            self._submodels[task.name] = self.model.task_submodel(task.name)
        submodel = self._submodels[task.name]
        prepared = prepared or self.prepare(task, examples)
        outputs = [np.asarray(submodel.predict_on_batch(batch)) for batch in prepared.inputs]
        return task.kind.decode(task, outputs, examples, prepared)

    def records(self, task: TaskDefinition, examples: list[Example]) -> list[dict]:
        """What `Predictor` returns and `predict` writes: one dict per example."""
        return task.kind.records(task, self.predictions(task, examples), examples)

    def scores(self, task: TaskDefinition, examples: list[Example], prepared=None) -> dict:
        """The task's metrics over labeled `examples`, 0-100."""
        return task.kind.scores(task, self.predictions(task, examples, prepared), examples)
