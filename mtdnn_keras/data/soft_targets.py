"""Soft-target files: an ensemble's predictions on training sets, for distillation.

A soft-target folder (written by `mtdnn-keras distill-targets`) holds:

- `manifest.json`: `{"format": 1, "tasks": {task: {"type", "labels", "file", "examples",
  "models", "sample"}}}`: each task's type, labels (in order), file, number of examples,
  teachers (their folders) and the sampling of its training set (`{"seed", "max_examples"}`);
- `<task>.jsonl`: one line per training example, keyed by the example's id as the task's
  reader gives it (a GLUE file's index column, else its line), with the ensemble's
  prediction in the form `predict` writes: `{"id": "17", "label": "entailment",
  "probabilities": {"entailment": 0.81, "not_entailment": 0.19}}` (classification, the mean
  of the members' probabilities) or `{"id": "17", "score": 3.42}` (regression, their mean
  score).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mtdnn_keras.data.example_reader import DataError
from mtdnn_keras.storage.atomic_writes import atomic_file, write_json_atomically

MANIFEST = "manifest.json"
FORMAT = 1


class SoftTargets:
    """The soft targets of a folder, checked against the tasks that train on them.

    Args:
        folder: a folder written by `distill-targets`.
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        manifest = self.folder / MANIFEST
        if not manifest.is_file():
            raise DataError(
                self.folder, None, None, f"no {MANIFEST}: not a folder written by distill-targets"
            )
        try:
            self.manifest = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise DataError(manifest, None, None, f"cannot be read: {error}") from None
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != FORMAT:
            raise DataError(manifest, None, "format", f"expected soft-target format {FORMAT}")
        tasks = self.manifest.get("tasks")
        if not isinstance(tasks, dict):
            raise DataError(manifest, None, "tasks", "expected a mapping of task names")
        self.tasks = tasks

    def written(self) -> dict:
        """The manifest's tasks whose file is here (a task is entered before its file is
        written, so an interrupted writer leaves an entry without a file)."""
        return {
            name: entry
            for name, entry in self.tasks.items()
            if isinstance(entry, dict) and (self.folder / str(entry.get("file", ""))).is_file()
        }

    def covered(self, tasks) -> list:
        """The tasks of `tasks` that have soft targets here, after checking that each one's
        type takes them and that its labels are those the targets were written with."""
        covered = []
        for task in tasks:
            entry = self.tasks.get(task.name)
            if entry is None:
                continue
            if task.kind.soft_target_width(task) is None:
                raise DataError(
                    self.folder / MANIFEST,
                    None,
                    f"tasks.{task.name}",
                    f"{task.name} is a {task.kind.name} task, which takes no soft targets "
                    "(classification and regression tasks do)",
                )
            if task.kind.has_labels and entry.get("labels") != list(task.labels):
                raise DataError(
                    self.folder / MANIFEST,
                    None,
                    f"tasks.{task.name}.labels",
                    f"written for labels {entry.get('labels')}, but {task.name} has "
                    f"{list(task.labels)}",
                )
            if not (self.folder / str(entry.get("file", ""))).is_file():
                raise DataError(
                    self.folder / MANIFEST, None, f"tasks.{task.name}.file", "no such file here"
                )
            covered.append(task)
        return covered

    def for_examples(self, task, examples, width: int) -> np.ndarray:
        """`(len(examples), width)` float32: each example's soft target (padded with zeros
        to `width`), found by its id; a `DataError` names the file, line and field of a bad
        line, or an example without one."""
        path = self.folder / self.tasks[task.name]["file"]
        targets = {}
        with open(path, encoding="utf-8") as handle:
            for line_number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as error:
                    raise DataError(path, line_number, None, f"not JSON: {error}") from None
                if not isinstance(record, dict) or "id" not in record:
                    raise DataError(path, line_number, "id", "expected an object with an id")
                key = str(record["id"])
                if key in targets:
                    raise DataError(path, line_number, "id", f"id {key!r} appears twice")
                try:
                    target = task.kind.soft_target(task, record)
                except (KeyError, TypeError, ValueError) as error:
                    raise DataError(
                        path, line_number, None, f"no soft target for {task.name}: {error!r}"
                    ) from None
                if not all(np.isfinite(target)):
                    raise DataError(path, line_number, None, f"not finite: {target}")
                targets[key] = target
        missing = [example.id for example in examples if example.id not in targets]
        if missing:
            raise DataError(
                path,
                None,
                "id",
                f"{len(missing)} of {len(examples)} training examples of {task.name} have no "
                f"soft target here (first: id {missing[0]!r}); write them from the same "
                "training file",
            )
        soft = np.zeros((len(examples), width), np.float32)
        for row, example in enumerate(examples):
            target = targets[example.id]
            soft[row, : len(target)] = target
        return soft


def check_unique_ids(where: str, examples) -> None:
    """Soft targets are keyed by example id: a training set whose ids repeat cannot have
    them (a `DataError` naming the first repeated id)."""
    seen = set()
    for example in examples:
        if example.id in seen:
            raise DataError(
                where,
                example.line,
                "id",
                f"id {example.id!r} appears twice: soft targets are keyed by example id",
            )
        seen.add(example.id)


def write_soft_targets(
    folder: str | Path,
    task,
    examples,
    records: list[dict],
    models: list[str],
    sample: dict,
) -> Path:
    """Writes one task's soft targets (`records`, the ensemble of `models`' predictions of
    `examples`, sampled as `sample` says), entering the task in the folder's manifest first,
    then writing its file atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{task.name}.jsonl"
    manifest_path = folder / MANIFEST
    manifest = {"format": FORMAT, "tasks": {}}
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["tasks"][task.name] = {
        "type": task.kind.name,
        "labels": list(task.labels) if task.kind.has_labels else None,
        "file": path.name,
        "examples": len(examples),
        "models": [str(model) for model in models],
        "sample": sample,
    }
    write_json_atomically(manifest, manifest_path)
    with atomic_file(path) as temporary, open(temporary, "w", encoding="utf-8") as handle:
        for example, record in zip(examples, records):
            handle.write(json.dumps({"id": example.id, **record}) + "\n")
    return path
