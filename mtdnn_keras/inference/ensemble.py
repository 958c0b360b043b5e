"""An averaged ensemble of trained multi-task models: the teachers of distillation."""

from __future__ import annotations

import numpy as np

from mtdnn_keras.features.example import Example
from mtdnn_keras.inference.prediction_engine import PredictionEngine
from mtdnn_keras.models.model_directory import load_model_directory
from mtdnn_keras.tasks.task_definition import TaskDefinition


class Ensemble:
    """Predictions of several models averaged: each member predicts a task's examples with
    its own tokenizer and head, and the ensemble's prediction of an example is the mean of
    the members' decoded predictions (class probabilities, a score, a relevance, choice
    probabilities: the task types whose `ensemble_averages`). The records and scores are
    the task type's, from those means, as for one model.

    The members must define each task they share alike (type and labels); a task is the
    ensemble's when every member has it.

    Args:
        engines: list of `PredictionEngine`, one per member.

    Examples:
    ```python
    ensemble = Ensemble.load(["runs/teacher0", "runs/teacher1", "runs/teacher2"])
    ensemble.records(ensemble.tasks["rte"], examples)  # mean probabilities, their label
    ```
    """

    def __init__(self, engines: list[PredictionEngine]):
        if not engines:
            raise ValueError("an ensemble needs at least one model")
        self.engines = engines
        shared = [
            task
            for task in engines[0].model.tasks
            if all(task.name in engine.model.task_names for engine in engines)
        ]
        self.tasks = {}
        for task in shared:
            for engine in engines[1:]:
                other = _member_task(engine, task.name)
                if other.kind is not task.kind or other.labels != task.labels:
                    raise ValueError(
                        f"the models define {task.name} differently ({task.kind.name} "
                        f"{list(task.labels)} against {other.kind.name} {list(other.labels)}): "
                        "an ensemble averages the same task"
                    )
            self.tasks[task.name] = task

    @classmethod
    def load(cls, model_dirs: list[str], batch_size: int = 64) -> Ensemble:
        """The ensemble of the models that `fit` wrote to `model_dirs`."""
        return cls([PredictionEngine(*load_model_directory(d), batch_size) for d in model_dirs])

    def member_predictions(self, task: TaskDefinition, examples: list[Example]) -> list[list]:
        """Each member's decoded predictions of `examples` (with its own definition of the
        task: its lengths)."""
        self._check(task)
        return [
            engine.predictions(_member_task(engine, task.name), examples) for engine in self.engines
        ]

    def predictions(self, task: TaskDefinition, examples: list[Example], members=None) -> list:
        """The mean of the members' predictions, one per example (`members`: those of
        `member_predictions`, if already made)."""
        members = members if members is not None else self.member_predictions(task, examples)
        if not examples:
            return []
        mean = np.mean([np.asarray(predictions, np.float64) for predictions in members], axis=0)
        return [value.item() if np.ndim(value) == 0 else value for value in mean]

    def records(self, task: TaskDefinition, examples: list[Example]) -> list[dict]:
        """What `predict` writes for the ensemble: the type's records of the means."""
        return task.kind.records(task, self.predictions(task, examples), examples)

    def scores(self, task: TaskDefinition, examples: list[Example]) -> dict:
        """`{"ensemble": scores, "members": [scores of each member]}` over labeled
        `examples`, 0-100: the members' come from the same predictions."""
        members = self.member_predictions(task, examples)
        return {
            "ensemble": task.kind.scores(task, self.predictions(task, examples, members), examples),
            "members": [task.kind.scores(task, predictions, examples) for predictions in members],
        }

    def _check(self, task: TaskDefinition) -> None:
        if task.name not in self.tasks:
            raise KeyError(
                f"no task {task.name!r} in every model of the ensemble; they share "
                f"{sorted(self.tasks)}"
            )
        if not task.kind.ensemble_averages:
            raise ValueError(
                f"{task.name} is a {task.kind.name} task, whose predictions an ensemble does "
                "not average (classification, regression, ranking and multiple-choice ones)"
            )


def _member_task(engine: PredictionEngine, name: str) -> TaskDefinition:
    return next(task for task in engine.model.tasks if task.name == name)
