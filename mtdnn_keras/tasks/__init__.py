from mtdnn_keras.tasks.task_definition import ReaderSpec, TaskDefinition, TaskDefinitionError
from mtdnn_keras.tasks.task_registry import TaskRegistry

__all__ = ["ReaderSpec", "TaskDefinition", "TaskDefinitionError", "TaskRegistry"]
