"""Dev-set evaluation of a multi-task model with each task's official metrics."""

from __future__ import annotations

import dataclasses

import numpy as np

from mtdnn_keras.data.example_reader import Example
from mtdnn_keras.data.multitask_data import eval_dataset
from mtdnn_keras.metrics.glue_metrics import compute_metrics, predicted_labels
from mtdnn_keras.tasks.task_definition import TaskDefinition


@dataclasses.dataclass
class EvalSet:
    """One labeled evaluation file; `name` is the task's name or `<task>-<key>` for extra dev sets."""

    name: str
    task: TaskDefinition
    examples: list[Example]


class Evaluator:
    """Predicts every evaluation set and scores it once over the whole set.

    Args:
        eval_sets: list of `EvalSet`.
        tokenizer: the encoder's tokenizer.
        batch_size: int. Prediction batch size.
    """

    def __init__(self, eval_sets: list[EvalSet], tokenizer, batch_size: int = 64):
        self.eval_sets = eval_sets
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self._submodels = {}

    def predict(self, model, task: TaskDefinition, examples: list[Example]) -> np.ndarray:
        """The raw outputs of `task`'s head for `examples`, in order."""
        key = (id(model), task.name)
        if key not in self._submodels:
            self._submodels[key] = model.task_submodel(task.name)
        dataset = eval_dataset(examples, task, self.tokenizer, self.batch_size)
        return np.asarray(self._submodels[key].predict(dataset, verbose=0))

    def evaluate(self, model) -> dict[str, dict[str, float]]:
        """`{set name: {metric: value}}`, values on the 0-100 scale."""
        results = {}
        for eval_set in self.eval_sets:
            outputs = self.predict(model, eval_set.task, eval_set.examples)
            labels = np.array([example.label for example in eval_set.examples])
            predictions = predicted_labels(eval_set.task, outputs)
            results[eval_set.name] = compute_metrics(eval_set.task, predictions, labels)
        return results


def format_table(results: dict[str, dict[str, float]]) -> str:
    """A plain-text table: one row per task, one column per metric."""
    metrics = sorted({metric for task in results.values() for metric in task})
    header = ["task", *metrics]
    rows = [
        [name, *(f"{values[m]:.2f}" if m in values else "" for m in metrics)]
        for name, values in results.items()
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
