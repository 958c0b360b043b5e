"""Task types: one class per kind of task, registered here by name.

Adding a type: a `TaskType` subclass in a new module of this folder, and its line below.
"""

from mtdnn_keras.task_types.classification import Classification
from mtdnn_keras.task_types.multiple_choice import MultipleChoice
from mtdnn_keras.task_types.ranking import Ranking
from mtdnn_keras.task_types.regression import Regression
from mtdnn_keras.task_types.sequence_labeling import SequenceLabeling
from mtdnn_keras.task_types.span_extraction import SpanExtraction
from mtdnn_keras.task_types.task_type import LabelField, PreparedInputs, TaskType

TASK_TYPES: dict[str, TaskType] = {
    task_type.name: task_type
    for task_type in (
        Classification(),
        Regression(),
        Ranking(),
        SpanExtraction(),
        MultipleChoice(),
        SequenceLabeling(),
    )
}

__all__ = ["TASK_TYPES", "LabelField", "PreparedInputs", "TaskType"]
