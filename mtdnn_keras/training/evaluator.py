"""Dev-set evaluation of a multi-task model with each task's official metrics."""

from __future__ import annotations

import dataclasses

from mtdnn_keras.features.example import Example
from mtdnn_keras.inference.prediction_engine import PredictionEngine
from mtdnn_keras.tasks.task_definition import TaskDefinition


@dataclasses.dataclass
class EvalSet:
    """One labeled evaluation file; `name` is the task's name or `<task>-<key>` for extra dev sets."""

    name: str
    task: TaskDefinition
    examples: list[Example]


class Evaluator:
    """Predicts every evaluation set and scores it once over the whole set, by its task
    type's metrics.

    Task fields a type tunes on a dev set (a span task's `null_score_threshold`) are in
    `tuned_fields` after each evaluation, by set name.

    Args:
        eval_sets: list of `EvalSet`.
        tokenizer: the encoder's tokenizer.
        batch_size: int. Prediction batch size.
    """

    def __init__(self, eval_sets: list[EvalSet], tokenizer, batch_size: int = 64):
        self.eval_sets = eval_sets
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.tuned_fields: dict[str, dict] = {}
        self._engines = {}
        self._prepared = {}  # each set's model inputs (a span task's windows...), made once

    @property
    def primary_metrics(self) -> dict[str, tuple[str, ...]]:
        """Set name to the metrics its task declares (those that select the best epoch)."""
        return {eval_set.name: eval_set.task.metrics for eval_set in self.eval_sets}

    def evaluate(self, model) -> dict[str, dict[str, float]]:
        """`{set name: {metric: value}}`, values on the 0-100 scale."""
        if id(model) not in self._engines:
            self._engines = {id(model): PredictionEngine(model, self.tokenizer, self.batch_size)}
        engine = self._engines[id(model)]
        results = {}
        for eval_set in self.eval_sets:
            task = eval_set.task
            if eval_set.name not in self._prepared:
                self._prepared[eval_set.name] = engine.prepare(task, eval_set.examples)
            prepared = self._prepared[eval_set.name]
            results[eval_set.name] = engine.scores(task, eval_set.examples, prepared)
            tuned = task.kind.tuned_fields(results[eval_set.name])
            if tuned:
                self.tuned_fields[eval_set.name] = tuned
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
