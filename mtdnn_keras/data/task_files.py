"""Locates and reads a task's split files."""

from __future__ import annotations

import random
from pathlib import Path

from mtdnn_keras.data.example_reader import DataError, ExampleReader, ReadResult
from mtdnn_keras.tasks.task_definition import TaskDefinition


def split_path(
    task: TaskDefinition, split: str, data_dir: str | None, override: str | None = None
) -> Path:
    """The file of `task`'s `split`: `override` if given, else `data_dir / task.files[split]`."""
    if override:
        return Path(override)
    if split not in task.files:
        raise DataError(
            f"<task {task.name}>",
            None,
            f"files.{split}",
            f"task '{task.name}' defines no {split} file",
        )
    if data_dir is None:
        raise DataError(
            task.files[split],
            None,
            None,
            f"task '{task.name}': no --data-dir given and no --{split.replace('dev', 'eval')}-file {task.name}=PATH",
        )
    return Path(data_dir) / task.files[split]


def check_files_exist(paths: dict[str, Path]) -> None:
    """Raises one error naming every missing file, before any work starts."""
    missing = [f"{label}: {path}" for label, path in paths.items() if not path.is_file()]
    if missing:
        raise DataError(
            "data",
            None,
            None,
            "missing data files:\n  "
            + "\n  ".join(missing)
            + "\n(check --data-dir, or point a task at its file with --train-file/--eval-file TASK=PATH)",
        )


def read_split(
    task: TaskDefinition,
    path: Path,
    split: str,
    skip_bad_rows: bool = False,
    max_examples: int | None = None,
    seed: int = 0,
) -> ReadResult:
    """Reads one split; with `max_examples`, keeps a seeded random sample of that many."""
    result = ExampleReader(task, skip_bad_rows=skip_bad_rows).read(path, split)
    if max_examples is not None and max_examples < len(result.examples):
        result.examples = random.Random(seed).sample(result.examples, max_examples)
    return result
