"""The declarative record that describes one task: what it predicts and how to read it."""

from __future__ import annotations

import dataclasses
from typing import Any

TASK_TYPES = ("classification", "regression", "ranking")
HEADS = ("linear", "san")
READER_FORMATS = ("tsv", "jsonl")
METRICS_BY_TYPE = {
    "classification": ("accuracy", "f1", "mcc"),
    "regression": ("pearson", "spearman"),
    "ranking": ("accuracy", "f1"),
}
SPLITS = ("train", "dev", "test")


class TaskDefinitionError(ValueError):
    """A task definition is invalid; the message names the source, task and field."""


@dataclasses.dataclass(frozen=True)
class ReaderSpec:
    """Where a task's fields are in its files.

    Args:
        format: `"tsv"` (tab-separated, no quote handling, UTF-8 with an optional BOM) or
            `"jsonl"` (one JSON object a line).
        header: TSV only. Whether the first line names the columns.
        text_a: column name (header or JSON key) or 0-based column index of the first text.
        text_b: the same for the second text of a pair; `None` for single-sentence tasks.
        label: the same for the label; `None` for unlabeled files (test sets).
        id: the same for an example id; `None` numbers examples by their line.
        skip_labels: label values that mark rows to drop (SNLI's `-`, no annotator consensus).
    """

    format: str = "tsv"
    header: bool = True
    text_a: str | int = 0
    text_b: str | int | None = None
    label: str | int | None = None
    id: str | int | None = None
    skip_labels: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class TaskDefinition:
    """One task of the multi-task model.

    Args:
        name: str. The task's name, also the name of its model output.
        type: str. `"classification"` (softmax over `labels`, cross-entropy), `"regression"`
            (one real value, mean squared error) or `"ranking"` (the paper's pairwise ranking:
            softmax over a group of candidates holding one positive).
        labels: tuple of str. Label values as they appear in the files; label `i` is output
            index `i`. Classification and ranking only.
        metrics: tuple of str. Among `accuracy`, `f1`, `mcc` (classification, ranking) and
            `pearson`, `spearman` (regression). Reported on the 0-100 scale.
        head: str. `"linear"` (a dense layer on the pooled `[CLS]` vector) or `"san"` (the
            stochastic answer network, pairwise classification only).
        dropout: float. Dropout before the head (paper: 0.1; MNLI 0.3; CoLA 0.05).
        max_seq_length: int. Pairs are truncated to this many tokens, specials included.
        reader: ReaderSpec. How to read the train and dev files.
        test_reader: ReaderSpec. How to read the (unlabeled) test file; defaults to `reader`.
        files: dict. Split name (`train`, `dev`, `test`) to a path relative to the data dir.
        extra_dev: dict. Further labeled evaluation files, reported as `<name>-<key>`
            (MNLI's mismatched dev set is `mnli-mm`).
        score_range: (low, high). Regression only: the valid range of scores.
        positive_label: str. Ranking only: the label of a relevant candidate.
        group_size: int. Ranking only: candidates per query in a training group.
        ranking_gamma: float. Ranking only: the paper's smoothing factor gamma.
        glue_name: str. The file name stem of this task's GLUE submission file.
    """

    name: str
    type: str
    labels: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    head: str = "linear"
    dropout: float = 0.1
    max_seq_length: int = 128
    reader: ReaderSpec = dataclasses.field(default_factory=ReaderSpec)
    test_reader: ReaderSpec | None = None
    files: dict[str, str] = dataclasses.field(default_factory=dict)
    extra_dev: dict[str, str] = dataclasses.field(default_factory=dict)
    score_range: tuple[float, float] | None = None
    positive_label: str | None = None
    group_size: int = 2
    ranking_gamma: float = 1.0
    glue_name: str | None = None

    @property
    def num_outputs(self) -> int:
        """Width of the head's output: the number of classes, or 1 for a score."""
        return len(self.labels) if self.type == "classification" else 1

    @property
    def is_pair_task(self) -> bool:
        return self.reader.text_b is not None

    def reader_for(self, split: str) -> ReaderSpec:
        if split == "test" and self.test_reader is not None:
            return self.test_reader
        return self.reader

    def to_dict(self) -> dict[str, Any]:
        """A plain dict that `from_dict` reads back (used in saved model configs)."""
        defaults = TaskDefinition(name=self.name, type=self.type)
        return {
            field.name: _plain(getattr(self, field.name))
            for field in dataclasses.fields(self)
            if field.name == "type"
            or (field.name != "name" and getattr(self, field.name) != getattr(defaults, field.name))
        }

    @classmethod
    def from_dict(
        cls, name: str, data: dict[str, Any], source: str = "<dict>", lines: dict | None = None
    ) -> TaskDefinition:
        """Builds and validates a task from a YAML-style mapping.

        Errors name `source`, the line (where `lines` maps field names to line numbers), the
        task and the field.
        """
        return _TaskParser(name, data, source, lines or {}).parse()


def _plain(value: Any) -> Any:
    """Dataclasses and tuples as the dicts and lists of a YAML or JSON file."""
    if dataclasses.is_dataclass(value):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class _TaskParser:
    def __init__(self, name: str, data: dict[str, Any], source: str, lines: dict):
        self.name = name
        self.data = data
        self.source = source
        self.lines = lines

    def fail(self, field: str, message: str) -> TaskDefinitionError:
        line = self.lines.get(field, self.lines.get(None))
        where = f"{self.source}, line {line}" if line else self.source
        return TaskDefinitionError(f"{where}: task '{self.name}', field '{field}': {message}")

    def parse(self) -> TaskDefinition:
        if not isinstance(self.data, dict):
            raise self.fail("(task)", f"expected a mapping of fields, got {self.data!r}")
        known = {f.name for f in dataclasses.fields(TaskDefinition)} - {"name"}
        for key in self.data:
            if key not in known:
                raise self.fail(
                    str(key), f"unknown field; known fields: {', '.join(sorted(known))}"
                )
        if not self.name or not str(self.name).replace("_", "").replace("-", "").isalnum():
            raise self.fail("name", "a task name is letters, digits, '_' and '-' only")
        task_type = self.data.get("type")
        if task_type not in TASK_TYPES:
            raise self.fail("type", f"expected one of {', '.join(TASK_TYPES)}, got {task_type!r}")
        labels = self._labels(task_type)
        metrics = self._metrics(task_type)
        head = self.data.get("head", "linear")
        if head not in HEADS:
            raise self.fail("head", f"expected one of {', '.join(HEADS)}, got {head!r}")
        reader = self._reader("reader", self.data.get("reader"), base=None)
        if head == "san" and (task_type != "classification" or reader.text_b is None):
            raise self.fail("head", "the SAN head is for pairwise classification tasks only")
        test_reader = None
        if "test_reader" in self.data:
            test_reader = self._reader("test_reader", self.data["test_reader"], base=reader)
        files = self._paths("files", allowed=SPLITS)
        extra_dev = self._paths("extra_dev", allowed=None)
        dropout = self._number("dropout", 0.1)
        if not 0.0 <= dropout < 1.0:
            raise self.fail("dropout", f"expected a rate in [0, 1), got {dropout}")
        max_seq_length = self.data.get("max_seq_length", 128)
        if not isinstance(max_seq_length, int) or not 8 <= max_seq_length <= 512:
            raise self.fail(
                "max_seq_length", f"expected an integer in [8, 512], got {max_seq_length!r}"
            )
        score_range = self._score_range(task_type)
        positive_label, group_size, gamma = self._ranking(task_type, labels)
        glue_name = self.data.get("glue_name")
        if glue_name is not None and not isinstance(glue_name, str):
            raise self.fail("glue_name", f"expected a string, got {glue_name!r}")
        return TaskDefinition(
            name=str(self.name),
            type=task_type,
            labels=labels,
            metrics=metrics,
            head=head,
            dropout=dropout,
            max_seq_length=max_seq_length,
            reader=reader,
            test_reader=test_reader,
            files=files,
            extra_dev=extra_dev,
            score_range=score_range,
            positive_label=positive_label,
            group_size=group_size,
            ranking_gamma=gamma,
            glue_name=glue_name,
        )

    def _labels(self, task_type: str) -> tuple[str, ...]:
        labels = self.data.get("labels")
        if task_type == "regression":
            if labels:
                raise self.fail("labels", "a regression task has no labels")
            return ()
        if not isinstance(labels, (list, tuple)) or len(labels) < 2:
            raise self.fail("labels", f"expected a list of at least 2 label values, got {labels!r}")
        labels = tuple(str(label) for label in labels)
        if len(set(labels)) != len(labels):
            raise self.fail("labels", f"labels must be distinct, got {list(labels)}")
        return labels

    def _metrics(self, task_type: str) -> tuple[str, ...]:
        metrics = self.data.get("metrics")
        allowed = METRICS_BY_TYPE[task_type]
        if metrics is None:
            return allowed[:1] if task_type != "regression" else allowed
        if not isinstance(metrics, (list, tuple)) or not metrics:
            raise self.fail("metrics", f"expected a non-empty list, got {metrics!r}")
        for metric in metrics:
            if (
                metric == "f1"
                and task_type == "classification"
                and len(self.data.get("labels") or []) != 2
            ):
                raise self.fail(
                    "metrics", "f1 is the positive class's F1: binary tasks (2 labels) only"
                )
            if metric not in allowed:
                raise self.fail(
                    "metrics", f"{metric!r} is not a {task_type} metric; use {', '.join(allowed)}"
                )
        return tuple(metrics)

    def _number(self, field: str, default: float) -> float:
        value = self.data.get(field, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(field, f"expected a number, got {value!r}")
        return float(value)

    def _reader(self, field: str, value: Any, base: ReaderSpec | None) -> ReaderSpec:
        if not isinstance(value, dict):
            raise self.fail(
                field, f"expected a mapping (format, header, text_a, ...), got {value!r}"
            )
        known = {f.name for f in dataclasses.fields(ReaderSpec)}
        for key in value:
            if key not in known:
                raise self.fail(
                    f"{field}.{key}", f"unknown field; known: {', '.join(sorted(known))}"
                )
        merged = dataclasses.asdict(base) if base else {}
        merged.update(value)
        if base is not None and "label" not in value:
            merged["label"] = None  # a test reader reads unlabeled files unless told otherwise
        fmt = merged.get("format", "tsv")
        if fmt not in READER_FORMATS:
            raise self.fail(
                f"{field}.format", f"expected one of {', '.join(READER_FORMATS)}, got {fmt!r}"
            )
        if "text_a" not in merged:
            raise self.fail(f"{field}.text_a", "required: the column of the first text")
        for key in ("text_a", "text_b", "label", "id"):
            column = merged.get(key)
            if column is None:
                continue
            if isinstance(column, bool) or not isinstance(column, (str, int)):
                raise self.fail(
                    f"{field}.{key}", f"expected a column name or index, got {column!r}"
                )
            if fmt == "jsonl" and isinstance(column, int):
                raise self.fail(f"{field}.{key}", "a jsonl reader names fields by key, not index")
            if fmt == "tsv" and not merged.get("header", True) and not isinstance(column, int):
                raise self.fail(f"{field}.{key}", "a file without header needs column indices")
            if fmt == "tsv" and merged.get("header", True) and isinstance(column, int):
                raise self.fail(
                    f"{field}.{key}", "a file with a header names its columns; use its names"
                )
        skip = merged.get("skip_labels", ())
        if not isinstance(skip, (list, tuple)):
            raise self.fail(f"{field}.skip_labels", f"expected a list, got {skip!r}")
        merged["skip_labels"] = tuple(str(s) for s in skip)
        merged["header"] = bool(merged.get("header", True))
        return ReaderSpec(**merged)

    def _paths(self, field: str, allowed: tuple[str, ...] | None) -> dict[str, str]:
        value = self.data.get(field, {})
        if not isinstance(value, dict):
            raise self.fail(field, f"expected a mapping of split to path, got {value!r}")
        for key, path in value.items():
            if allowed is not None and key not in allowed:
                raise self.fail(
                    f"{field}.{key}", f"unknown split; expected one of {', '.join(allowed)}"
                )
            if not isinstance(path, str) or not path:
                raise self.fail(f"{field}.{key}", f"expected a file path, got {path!r}")
        return {str(k): v for k, v in value.items()}

    def _score_range(self, task_type: str) -> tuple[float, float] | None:
        value = self.data.get("score_range")
        if value is None:
            return None
        if task_type != "regression":
            raise self.fail("score_range", "only regression tasks have a score range")
        if (
            not isinstance(value, (list, tuple))
            or len(value) != 2
            or not all(isinstance(v, (int, float)) for v in value)
            or value[0] >= value[1]
        ):
            raise self.fail("score_range", f"expected [low, high] with low < high, got {value!r}")
        return (float(value[0]), float(value[1]))

    def _ranking(self, task_type: str, labels: tuple[str, ...]) -> tuple[str | None, int, float]:
        fields = ("positive_label", "group_size", "ranking_gamma")
        if task_type != "ranking":
            for field in fields:
                if field in self.data:
                    raise self.fail(field, "only ranking tasks take this field")
            return None, 2, 1.0
        positive = self.data.get("positive_label")
        if positive is None or str(positive) not in labels:
            raise self.fail(
                "positive_label", f"expected one of the labels {list(labels)}, got {positive!r}"
            )
        group_size = self.data.get("group_size", 2)
        if not isinstance(group_size, int) or group_size < 2:
            raise self.fail("group_size", f"expected an integer >= 2, got {group_size!r}")
        gamma = self._number("ranking_gamma", 1.0)
        if gamma <= 0:
            raise self.fail("ranking_gamma", f"expected a positive number, got {gamma}")
        return str(positive), group_size, gamma
