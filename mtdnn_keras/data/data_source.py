"""Where a task's examples come from: its official files or tensorflow-datasets.

The choice is made here and nowhere else (`source_for`). Everything a command needs to
know before it starts (is the file there, is the dataset prepared or can it be downloaded)
is answered without importing TensorFlow, so a wrong path or a missing dataset is a one-line
error within a second.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

from mtdnn_keras.data.data_options import DataOptions
from mtdnn_keras.data.example_reader import DataError, ReadResult
from mtdnn_keras.data.file_source import FileSplit
from mtdnn_keras.data.split_source import SplitSource
from mtdnn_keras.data.tfds_source import TfdsSplit
from mtdnn_keras.tasks.task_definition import TaskDefinition


def source_for(task: TaskDefinition, split: str, options: DataOptions) -> SplitSource:
    """Where `task`'s `split` (`train`, `dev`, `test`) is read from, given `options`."""
    override = {"train": options.train_files, "dev": options.eval_files}.get(split, {})
    if task.name in override:
        return FileSplit(task, split, Path(override[task.name]))
    has_file = split in task.files
    has_dataset = task.tfds is not None and split in task.tfds.splits
    use_files = options.source == "files" or (
        options.source == "auto" and options.data_dir is not None and (has_file or not has_dataset)
    )
    flag = {"train": f"--train-file {task.name}=PATH", "dev": f"--eval-file {task.name}=PATH"}.get(
        split, "predict --input PATH"
    )
    if use_files:
        if not has_file:
            raise DataError(
                f"<task {task.name}>",
                None,
                f"files.{split}",
                f"task '{task.name}' defines no {split} file"
                + (" (it has a TFDS dataset: --data-source tfds)" if has_dataset else ""),
            )
        if options.data_dir is None:
            raise DataError(
                task.files[split],
                None,
                None,
                f"task '{task.name}': no --data-dir given and no {flag}",
            )
        return FileSplit(task, split, Path(options.data_dir) / task.files[split])
    if not has_dataset:
        raise DataError(
            f"<task {task.name}>",
            None,
            None,
            f"task '{task.name}' has no TFDS dataset for its {split} split: give --data-dir "
            f"with its files, or {flag}",
        )
    return TfdsSplit(task, split, task.tfds.splits[split], options)


def input_source(task: TaskDefinition, given: str | None, options: DataOptions) -> SplitSource:
    """What `predict` reads for `task`: the file `given`; `tfds:NAME`, that dataset's test
    split read with the task's features (`tfds:glue/ax`, GLUE's diagnostic set, for MNLI's
    head); or, with nothing given, the task's own test split from its source."""
    if given is None:
        return source_for(task, "test", options)
    if not given.startswith("tfds:"):
        return FileSplit(task, "test", Path(given))
    if task.tfds is None:
        raise DataError(
            given, None, None, f"task '{task.name}' names no TFDS features to read it with"
        )
    other = dataclasses.replace(task.tfds, name=given.removeprefix("tfds:"))
    return TfdsSplit(dataclasses.replace(task, tfds=other), "test", "test", options)


def extra_dev_sources(task: TaskDefinition, options: DataOptions) -> dict[str, SplitSource]:
    """The task's further labeled dev sets (MNLI's mismatched), from the source its dev set
    is read from; none where a dev file was given by hand."""
    if task.name in options.eval_files:
        return {}
    dev = source_for(task, "dev", options)
    if isinstance(dev, TfdsSplit):
        return {
            key: TfdsSplit(task, "dev", split, options)
            for key, split in task.tfds.extra_dev.items()
        }
    return {
        key: FileSplit(task, "dev", Path(options.data_dir) / relative)
        for key, relative in task.extra_dev.items()
    }


def check_sources(sources: dict[str, SplitSource]) -> None:
    """Raises one error naming every split that cannot be read, before any work starts:
    each missing file on a line of its own; the datasets that are neither prepared nor
    downloadable in one line with the two ways out."""
    datasets = [s for s in sources.values() if isinstance(s, TfdsSplit)]
    messages = TfdsSplit.problems(datasets)
    files = [
        f"{label}: {source.where}"
        for label, source in sources.items()
        if isinstance(source, FileSplit) and source.problem()
    ]
    if files:
        messages.append(
            "missing data files:\n  "
            + "\n  ".join(files)
            + "\n(check --data-dir, or point a task at its file with --train-file/--eval-file "
            "TASK=PATH)"
        )
    if messages:
        raise DataError("data", None, None, "\n".join(messages))


def sample(result: ReadResult, max_examples: int | None, seed: int) -> ReadResult:
    """`result` with a seeded random sample of `max_examples` examples (all if `None`)."""
    if max_examples is not None and max_examples < len(result.examples):
        result.examples = random.Random(seed).sample(result.examples, max_examples)
    return result
