"""What a command was told about where its data is."""

from __future__ import annotations

import dataclasses

DATA_SOURCES = ("auto", "files", "tfds")


@dataclasses.dataclass(frozen=True)
class DataOptions:
    """What a command was told about where its data is.

    Args:
        data_dir: the root of the tasks' official files (`--data-dir`).
        source: `"files"`, `"tfds"`, or `"auto"`: for each split of each task, the file given
            for it (`train_files`, `eval_files`), else its file under `data_dir` where that
            is given, else the task's TFDS dataset.
        tfds_data_dir: where prepared TFDS datasets live (`--tfds-data-dir`); default
            TFDS's own (`TFDS_DATA_DIR`, else `~/tensorflow_datasets`).
        train_files: task name to its training file, read whatever the source.
        eval_files: task name to its labeled dev file.
    """

    data_dir: str | None = None
    source: str = "auto"
    tfds_data_dir: str | None = None
    train_files: dict[str, str] = dataclasses.field(default_factory=dict)
    eval_files: dict[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.source not in DATA_SOURCES:
            raise ValueError(
                f"--data-source: expected one of {', '.join(DATA_SOURCES)}, got {self.source!r}"
            )
        if self.source == "files" and self.tfds_data_dir:
            raise ValueError("--tfds-data-dir is for --data-source tfds or auto, not files")
