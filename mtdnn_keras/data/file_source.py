"""A task's split read from its official file (`--data-dir`, `--train-file`, `--eval-file`)."""

from __future__ import annotations

from pathlib import Path

from mtdnn_keras.data.example_reader import ExampleReader, ReadResult
from mtdnn_keras.data.split_source import SplitSource
from mtdnn_keras.tasks.task_definition import TaskDefinition


class FileSplit(SplitSource):
    """One split of `task` in the file `path`, read with the task's reader for `split`."""

    def __init__(self, task: TaskDefinition, split: str, path: Path):
        self.task = task
        self.split = split
        self.path = Path(path)
        self.where = str(path)

    def problem(self) -> str | None:
        return None if self.path.is_file() else f"{self.path}: file not found"

    def read(self, skip_bad_rows: bool = False) -> ReadResult:
        return ExampleReader(self.task, skip_bad_rows=skip_bad_rows).read(self.path, self.split)
