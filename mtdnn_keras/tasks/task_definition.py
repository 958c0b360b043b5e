"""The declarative record that describes one task: what it predicts and how to read it."""

from __future__ import annotations

import dataclasses
from typing import Any

from mtdnn_keras.task_types import TASK_TYPES, TaskType
from mtdnn_keras.user_values import is_finite_number, is_scalar, show

HEADS = ("linear", "san")
READER_FORMATS = ("tsv", "jsonl", "csv", "squad", "conll")
SPLITS = ("train", "dev", "test")
MAX_SEQ_LENGTHS = (8, 512)  # the bounds of a task's max_seq_length (and --max-seq-length)


class TaskDefinitionError(ValueError):
    """A task definition is invalid; the message names the source, task and field."""


@dataclasses.dataclass(frozen=True)
class ReaderSpec:
    """Where a task's fields are in its files.

    Args:
        format: `"tsv"` (tab-separated, no quote handling, UTF-8 with an optional BOM),
            `"jsonl"` (one JSON object a line), `"csv"` (comma-separated with quoting and a
            header, as SWAG's official files), `"squad"` (the official SQuAD JSON, whose
            layout is fixed: a squad reader names no columns) or `"conll"` (CoNLL-2003's: one
            word a line, space-separated columns named by index, a blank line between
            sentences, `-DOCSTART-` lines skipped; `text_a` the word's column, `label` the
            tag's).
        header: TSV only. Whether the first line names the columns.
        text_a: column name (header or JSON key) or 0-based column index of the first text.
        text_b: the same for the second text of a pair; `None` for single-sentence tasks.
        label: the same for the label; `None` for unlabeled files (test sets).
        id: the same for an example id; `None` numbers examples by their line.
        skip_labels: label values that mark rows to drop (SNLI's `-`, no annotator consensus).
        choices: multiple choice only. The columns of the candidate endings, in label order;
            the label column holds the correct one's index (0-based).
        label_map: how the files write labels that the task names by meaning: `{"0":
            "unacceptable", "1": "acceptable"}` (CoLA). A value not in the map is read as
            the label itself; a prediction file writes a label back as the map writes it.
    """

    format: str = "tsv"
    header: bool = True
    text_a: str | int | None = 0
    text_b: str | int | None = None
    label: str | int | None = None
    id: str | int | None = None
    skip_labels: tuple[str, ...] = ()
    choices: tuple[str | int, ...] = ()
    label_map: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class TfdsSpec:
    """Where a task's examples are in a tensorflow-datasets dataset.

    Args:
        name: the dataset and its config as `tfds.load` names them (`"glue/rte"`, `"snli"`,
            `"squad/v2.0"`).
        splits: our split (`train`, `dev`, `test`) to the dataset's (`validation`, ...).
        extra_dev: further labeled splits, as the task's `extra_dev` (MNLI's `mm`).
        text_a, text_b, label, id: the features that hold them (`label` and `id` may be
            `None`); `choices` the candidates' features (multiple choice), where
            `"endings[2]"` is item 2 of a list feature. A span task's dataset has SQuAD's
            features (`id`, `question`, `context`, `answers`, `is_impossible`) and names
            none; a sequence-labelling task's `text_a` is the words' feature and `label`
            the tags'.
        label_map: the dataset's label names (a `ClassLabel`'s) to the task's labels, where
            they differ; a name not in the map must be a label of the task. Labels are
            matched by name, never by index: each dataset orders them its own way.
        skip_labels: label values of rows to drop: TFDS writes `-1` for "no label" (test
            splits, SNLI pairs without a consensus).
    """

    name: str
    splits: dict[str, str] = dataclasses.field(default_factory=dict)
    extra_dev: dict[str, str] = dataclasses.field(default_factory=dict)
    text_a: str | None = None
    text_b: str | None = None
    label: str | None = None
    id: str | None = None
    choices: tuple[str, ...] = ()
    label_map: dict[str, str] = dataclasses.field(default_factory=dict)
    skip_labels: tuple[str, ...] = ("-1",)


@dataclasses.dataclass(frozen=True)
class TaskDefinition:
    """One task of the multi-task model.

    Args:
        name: str. The task's name, also the name of its model output.
        type: str. `"classification"` (softmax over `labels`, cross-entropy), `"regression"`
            (one real value, mean squared error), `"ranking"` (the paper's pairwise ranking:
            softmax over a group of candidates holding one positive), `"span"` (extractive
            question answering: start and end logits per token, SQuAD), `"multiple_choice"`
            (a score per `[CLS] context [SEP] ending [SEP]`, softmax over the choices, SWAG)
            or `"sequence_labeling"` (a tag per word: NER, POS, chunking). Each type is a
            class in `mtdnn_keras.task_types`; `kind` is this task's.
        labels: tuple of str. Label values as they appear in the files; label `i` is output
            index `i`. Classification, ranking and sequence labelling (its tags) only.
        metrics: tuple of str. Among `accuracy`, `f1`, `mcc` (classification, ranking),
            `pearson`, `spearman` (regression), `exact`, `f1` (span: SQuAD's exact match and
            token F1), `accuracy` (multiple choice), `f1`, `precision`, `recall` (sequence
            labelling: by entity) and `accuracy` (by token). Reported on the 0-100 scale.
        head: str. `"linear"` (a dense layer on the pooled `[CLS]` vector) or `"san"` (the
            stochastic answer network, pairwise classification only).
        dropout: float. Dropout before the head (paper: 0.1; MNLI 0.3; CoLA 0.05).
        max_seq_length: int. Pairs are truncated to this many tokens, specials included.
        reader: ReaderSpec. How to read the train and dev files.
        test_reader: ReaderSpec. How to read the (unlabeled) test file; defaults to `reader`.
        dev_reader: ReaderSpec. How to read the dev files (`dev`, `extra_dev`, `--eval-file`)
            when they are written otherwise than the training file (a training sample in one
            format, an official dev set in another); defaults to `reader`. Its fields not
            given are `reader`'s.
        files: dict. Split name (`train`, `dev`, `test`) to a path relative to the data dir.
        tfds: TfdsSpec. Where the task's splits are in tensorflow-datasets; `None` for a task
            read from files only. Which of the two a command reads is chosen by
            `mtdnn_keras.data.data_source.source_for`.
        extra_dev: dict. Further labeled evaluation files, reported as `<name>-<key>`
            (MNLI's mismatched dev set is `mnli-mm`).
        score_range: (low, high). Regression only: the valid range of scores.
        positive_label: str. Ranking only: the label of a relevant candidate.
        group_size: int. Ranking only: candidates per query in a training group.
        ranking_gamma: float. Ranking only: the paper's smoothing factor gamma.
        glue_name: str. The file name stem of this task's GLUE submission file.
        doc_stride: int. Span only: tokens between the starts of a context's windows.
        max_query_length: int. Span only: questions are cut to this many tokens.
        max_answer_length: int. Span only: the longest answer predicted, in tokens.
        n_best_size: int. Span only: start and end candidates per window in decoding.
        allow_no_answer: bool. Span only: whether a question may have no answer (SQuAD 2.0);
            the `[CLS]` position stands for "no answer".
        null_score_threshold: float. Span only: predict no answer when the null score beats
            the best span's score by more than this. `fit` stores the value tuned on the dev
            set in the saved model.
        tag_scheme: str. Sequence labelling only: `"iob2"` or `"iob1"` (entity tags; IOB1
            files are converted to IOB2 as they are read), or `None` for plain tags (POS).
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
    dev_reader: ReaderSpec | None = None
    files: dict[str, str] = dataclasses.field(default_factory=dict)
    extra_dev: dict[str, str] = dataclasses.field(default_factory=dict)
    tfds: TfdsSpec | None = None
    score_range: tuple[float, float] | None = None
    positive_label: str | None = None
    group_size: int = 2
    ranking_gamma: float = 1.0
    glue_name: str | None = None
    doc_stride: int = 128
    max_query_length: int = 64
    max_answer_length: int = 30
    n_best_size: int = 20
    allow_no_answer: bool = True
    null_score_threshold: float = 0.0
    tag_scheme: str | None = None

    @property
    def kind(self) -> TaskType:
        """The task's type: what is particular to its kind of task."""
        return TASK_TYPES[self.type]

    @property
    def num_outputs(self) -> int:
        """Width of the head's output: the number of classes (tags), 2 (start, end) for a
        span task, or 1 for a score."""
        return self.kind.num_outputs(self)

    @property
    def num_choices(self) -> int:
        """Multiple choice only: the number of candidate endings."""
        return len(self.reader.choices)

    @property
    def rows_per_example(self) -> int:
        """Encoder rows one training example takes: a ranking query's group of candidates,
        a multiple-choice question's choices, else 1. A batch is split between them only."""
        return self.kind.rows_per_example(self)

    @property
    def is_pair_task(self) -> bool:
        return self.kind.is_pair(self)

    def reader_for(self, split: str) -> ReaderSpec:
        if split == "test" and self.test_reader is not None:
            return self.test_reader
        if split == "dev" and self.dev_reader is not None:
            return self.dev_reader
        return self.reader

    def file_label(self, label: str) -> str:
        """How the task's files write `label` (its reader's `label_map` read backwards)."""
        for written, meaning in self.reader.label_map.items():
            if meaning == label:
                return written
        return label

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
        # the field's own line; for a missing nested field, its parent's (`reader`)
        key = field
        while key not in self.lines and "." in key:
            key = key.rsplit(".", 1)[0]
        line = self.lines.get(key, self.lines.get(None))
        where = f"{self.source}, line {line}" if line else self.source
        return TaskDefinitionError(f"{where}: task '{self.name}', field '{field}': {message}")

    def parse(self) -> TaskDefinition:
        if not isinstance(self.data, dict):
            raise self.fail("(task)", f"expected a mapping of fields, got {show(self.data)}")
        known = {f.name for f in dataclasses.fields(TaskDefinition)} - {"name"}
        for key in self.data:
            if key not in known:
                raise self.fail(
                    str(key), f"unknown field; known fields: {', '.join(sorted(known))}"
                )
        if not self.name or not str(self.name).replace("_", "").replace("-", "").isalnum():
            raise self.fail("name", "a task name is letters, digits, '_' and '-' only")
        task_type = self.data.get("type")
        if not isinstance(task_type, str) or task_type not in TASK_TYPES:
            raise self.fail(
                "type", f"expected one of {', '.join(TASK_TYPES)}, got {show(task_type)}"
            )
        kind = TASK_TYPES[task_type]
        for field in self.data:
            owners = [t.name for t in TASK_TYPES.values() if field in t.own_fields]
            if owners and task_type not in owners:
                raise self.fail(field, f"only {' and '.join(owners)} tasks take this field")
        labels = self._labels(kind)
        metrics = self._metrics(kind)
        head = self.data.get("head", "linear")
        if head not in HEADS:
            raise self.fail("head", f"expected one of {', '.join(HEADS)}, got {show(head)}")
        if "reader" not in self.data and isinstance(self.data.get("tfds"), dict):
            reader = self._reader("tfds", self._files_like_dataset(kind), base=None)
        else:
            reader = self._reader("reader", self.data.get("reader"), base=None)
        test_reader = dev_reader = None
        if "test_reader" in self.data:
            test_reader = self._reader("test_reader", self.data["test_reader"], base=reader)
        if "dev_reader" in self.data:
            dev_reader = self._reader("dev_reader", self.data["dev_reader"], base=reader)
        readers = (("reader", reader), ("test_reader", test_reader), ("dev_reader", dev_reader))
        for field, spec in readers:
            if spec is not None and spec.format not in kind.reader_formats:
                formats = " or ".join(repr(f) for f in kind.reader_formats)
                raise self.fail(
                    f"{field}.format", f"a {task_type} task reads {formats}, not {spec.format!r}"
                )
        files = self._paths("files", allowed=SPLITS)
        extra_dev = self._paths("extra_dev", allowed=None)
        tfds = self._tfds(reader.format)
        for field, spec in (*readers, ("tfds", tfds)):
            for written, meaning in (spec.label_map if spec else {}).items():
                if meaning not in labels:
                    raise self.fail(
                        f"{field}.label_map",
                        f"maps {written!r} to {meaning!r}, which is not one of the labels "
                        f"{list(labels)}",
                    )
        dropout = self._number("dropout", 0.1)
        if not 0.0 <= dropout < 1.0:
            raise self.fail("dropout", f"expected a rate in [0, 1), got {dropout}")
        max_seq_length = self.data.get("max_seq_length", 128)
        low, high = MAX_SEQ_LENGTHS
        if (
            isinstance(max_seq_length, bool)
            or not isinstance(max_seq_length, int)
            or not low <= max_seq_length <= high
        ):
            raise self.fail(
                "max_seq_length",
                f"expected an integer in [{low}, {high}], got {show(max_seq_length)}",
            )
        glue_name = self.data.get("glue_name")
        if glue_name is not None and not isinstance(glue_name, str):
            raise self.fail("glue_name", f"expected a string, got {show(glue_name)}")
        tag_scheme = self.data.get("tag_scheme")
        if tag_scheme is not None and not isinstance(tag_scheme, str):
            raise self.fail("tag_scheme", f"expected a name, got {show(tag_scheme)}")
        task = TaskDefinition(
            name=str(self.name),
            type=task_type,
            labels=labels,
            metrics=metrics,
            head=head,
            dropout=dropout,
            max_seq_length=max_seq_length,
            reader=reader,
            test_reader=test_reader,
            dev_reader=dev_reader,
            files=files,
            extra_dev=extra_dev,
            tfds=tfds,
            score_range=self._score_range(),
            glue_name=glue_name,
            tag_scheme=tag_scheme,
            **self._ranking(),
            **self._span(),
        )
        kind.check(task, self.fail)
        return task

    def _labels(self, kind: TaskType) -> tuple[str, ...]:
        labels = self.data.get("labels")
        if not kind.has_labels:
            if labels:
                raise self.fail("labels", f"a {kind.name} task has no labels")
            return ()
        if not isinstance(labels, (list, tuple)) or len(labels) < 2:
            raise self.fail(
                "labels", f"expected a list of at least 2 label values, got {show(labels)}"
            )
        for label in labels:
            if not is_scalar(label):
                raise self.fail(
                    "labels",
                    f"expected label values (text or numbers), got {show(label)}; quote "
                    "values that YAML reads otherwise (yes, no, true, false, null, ~)",
                )
        labels = tuple(str(label) for label in labels)
        if len(set(labels)) != len(labels):
            raise self.fail("labels", f"labels must be distinct, got {list(labels)}")
        return labels

    def _metrics(self, kind: TaskType) -> tuple[str, ...]:
        metrics = self.data.get("metrics")
        if metrics is None:
            return kind.metric_defaults(self.data)
        if not isinstance(metrics, (list, tuple)) or not metrics:
            raise self.fail("metrics", f"expected a non-empty list, got {show(metrics)}")
        for metric in metrics:
            if metric not in kind.metrics:
                raise self.fail(
                    "metrics",
                    f"{show(metric)} is not a {kind.name} metric; use {', '.join(kind.metrics)}",
                )
        return tuple(metrics)

    def _span(self) -> dict[str, Any]:
        """The span fields the task file gives, each checked."""
        values = {}
        for field, low in (
            ("doc_stride", 1),
            ("max_query_length", 1),
            ("max_answer_length", 1),
            ("n_best_size", 1),
        ):
            if field not in self.data:
                continue
            value = self.data[field]
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise self.fail(field, f"expected an integer >= {low}, got {show(value)}")
            values[field] = value
        if "allow_no_answer" in self.data:
            allow = self.data["allow_no_answer"]
            if not isinstance(allow, bool):
                raise self.fail("allow_no_answer", f"expected true or false, got {show(allow)}")
            values["allow_no_answer"] = allow
        if "null_score_threshold" in self.data:
            values["null_score_threshold"] = self._number("null_score_threshold", 0.0)
        return values

    def _number(self, field: str, default: float) -> float:
        value = self.data.get(field, default)
        if not is_finite_number(value):
            raise self.fail(field, f"expected a finite number, got {show(value)}")
        return float(value)

    def _reader(self, field: str, value: Any, base: ReaderSpec | None) -> ReaderSpec:
        if not isinstance(value, dict):
            raise self.fail(
                field, f"expected a mapping (format, header, text_a, ...), got {show(value)}"
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
                f"{field}.format",
                f"expected one of {', '.join(READER_FORMATS)}, got {show(fmt)}",
            )
        if not isinstance(merged.get("header", True), bool):
            raise self.fail(
                f"{field}.header", f"expected true or false, got {show(merged['header'])}"
            )
        if fmt == "squad":
            named = [k for k in ("text_a", "text_b", "label", "id", "choices") if value.get(k)]
            if named:
                raise self.fail(
                    f"{field}.{named[0]}",
                    "a squad reader reads SQuAD's fixed layout: name no columns",
                )
            merged.update(text_a=None, text_b=None, label=None, id=None, choices=())
        elif merged.get("text_a") is None:
            raise self.fail(f"{field}.text_a", "required: the column of the first text")
        choices = merged.get("choices", ())
        if not isinstance(choices, (list, tuple)):
            raise self.fail(f"{field}.choices", f"expected a list of columns, got {show(choices)}")
        merged["choices"] = tuple(choices)
        for key, column in [
            *((k, merged.get(k)) for k in ("text_a", "text_b", "label", "id")),
            *((f"choices[{i}]", c) for i, c in enumerate(merged["choices"])),
        ]:
            if column is None:
                continue
            if isinstance(column, bool) or not isinstance(column, (str, int)):
                raise self.fail(
                    f"{field}.{key}", f"expected a column name or index, got {show(column)}"
                )
            if fmt == "conll" and (
                key not in ("text_a", "label") or isinstance(column, str) or column < 0
            ):
                raise self.fail(
                    f"{field}.{key}",
                    "a conll reader takes the word's column (text_a) and the tag's (label), "
                    "by index",
                )
            if fmt in ("jsonl", "csv") and isinstance(column, int):
                raise self.fail(f"{field}.{key}", f"a {fmt} reader names fields by key, not index")
            if fmt == "tsv" and not merged.get("header", True) and not isinstance(column, int):
                raise self.fail(f"{field}.{key}", "a file without header needs column indices")
            if fmt == "tsv" and merged.get("header", True) and isinstance(column, int):
                raise self.fail(
                    f"{field}.{key}", "a file with a header names its columns; use its names"
                )
        skip = merged.get("skip_labels", ())
        if not isinstance(skip, (list, tuple)):
            raise self.fail(f"{field}.skip_labels", f"expected a list, got {show(skip)}")
        for label in skip:
            if not is_scalar(label):
                raise self.fail(f"{field}.skip_labels", f"expected label values, got {show(label)}")
        merged["skip_labels"] = tuple(str(s) for s in skip)
        merged["label_map"] = self._label_map(f"{field}.label_map", merged.get("label_map", {}))
        return ReaderSpec(**merged)

    def _files_like_dataset(self, kind: TaskType) -> dict[str, Any]:
        """The reader of a task defined by its TFDS dataset alone: its files, if it is
        given any, are JSON lines with the dataset's feature names (or the type's own
        format: SQuAD JSON, CoNLL columns word and tag)."""
        spec = self.data["tfds"]
        fmt = "jsonl" if "jsonl" in kind.reader_formats else kind.reader_formats[0]
        if fmt == "squad":
            return {"format": fmt}
        if fmt == "conll":
            return {"format": fmt, "text_a": 0, "label": 1 if spec.get("label") else None}
        keys = ("text_a", "text_b", "label", "id", "choices")
        return {"format": fmt, **{k: spec[k] for k in keys if spec.get(k) is not None}}

    def _label_map(self, field: str, value: Any) -> dict[str, str]:
        if not isinstance(value, dict) or not all(
            is_scalar(k) and is_scalar(v) for k, v in value.items()
        ):
            raise self.fail(
                field, f"expected a mapping of label values to labels, got {show(value)}"
            )
        return {str(k): str(v) for k, v in value.items()}

    def _tfds(self, reader_format: str) -> TfdsSpec | None:
        value = self.data.get("tfds")
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(
                "tfds", f"expected a mapping (name, splits, text_a, ...), got {show(value)}"
            )
        known = {f.name for f in dataclasses.fields(TfdsSpec)}
        for key in value:
            if key not in known:
                raise self.fail(f"tfds.{key}", f"unknown field; known: {', '.join(sorted(known))}")
        name = value.get("name")
        if not isinstance(name, str) or not name.strip("/") or " " in name:
            raise self.fail(
                "tfds.name", f"expected a dataset name such as glue/rte, got {show(name)}"
            )
        fields = {"name": name}
        for key, allowed in (("splits", SPLITS), ("extra_dev", None)):
            splits = value.get(key, {})
            if not isinstance(splits, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and v for k, v in splits.items()
            ):
                raise self.fail(
                    f"tfds.{key}", f"expected a mapping of names to TFDS splits, got {show(splits)}"
                )
            unknown = [k for k in splits if allowed is not None and k not in allowed]
            if unknown:
                raise self.fail(
                    f"tfds.{key}.{unknown[0]}",
                    f"unknown split; expected one of {', '.join(allowed)}",
                )
            fields[key] = dict(splits)
        for key in ("text_a", "text_b", "label", "id"):
            feature = value.get(key)
            if feature is not None and not isinstance(feature, str):
                raise self.fail(f"tfds.{key}", f"expected a feature name, got {show(feature)}")
            fields[key] = feature
        choices = value.get("choices", ())
        if not isinstance(choices, (list, tuple)) or not all(isinstance(c, str) for c in choices):
            raise self.fail(
                "tfds.choices", f"expected a list of feature names, got {show(choices)}"
            )
        fields["choices"] = tuple(choices)
        if reader_format == "squad":
            named = [k for k in ("text_a", "text_b", "label", "id") if fields[k]]
            if named or choices:
                raise self.fail(
                    f"tfds.{named[0] if named else 'choices'}",
                    "a span task's dataset has SQuAD's features: name none",
                )
        elif fields["text_a"] is None:
            raise self.fail("tfds.text_a", "required: the feature of the first text")
        fields["label_map"] = self._label_map("tfds.label_map", value.get("label_map", {}))
        skip = value.get("skip_labels", ["-1"])
        if not isinstance(skip, (list, tuple)) or not all(is_scalar(s) for s in skip):
            raise self.fail(
                "tfds.skip_labels", f"expected a list of label values, got {show(skip)}"
            )
        fields["skip_labels"] = tuple(str(s) for s in skip)
        return TfdsSpec(**fields)

    def _paths(self, field: str, allowed: tuple[str, ...] | None) -> dict[str, str]:
        value = self.data.get(field, {})
        if not isinstance(value, dict):
            raise self.fail(field, f"expected a mapping of split to path, got {show(value)}")
        for key, path in value.items():
            if not isinstance(key, str) or not key:
                raise self.fail(f"{field}.{key}", f"expected a name as the key, got {show(key)}")
            if allowed is not None and key not in allowed:
                raise self.fail(
                    f"{field}.{key}", f"unknown split; expected one of {', '.join(allowed)}"
                )
            if not isinstance(path, str) or not path:
                raise self.fail(f"{field}.{key}", f"expected a file path, got {show(path)}")
        return {str(k): v for k, v in value.items()}

    def _score_range(self) -> tuple[float, float] | None:
        value = self.data.get("score_range")
        if value is None:
            return None
        if (
            not isinstance(value, (list, tuple))
            or len(value) != 2
            or not all(is_finite_number(v) for v in value)
            or value[0] >= value[1]
        ):
            raise self.fail(
                "score_range", f"expected [low, high] with low < high, got {show(value)}"
            )
        return (float(value[0]), float(value[1]))

    def _ranking(self) -> dict[str, Any]:
        """The ranking fields the task file gives, each checked."""
        values = {}
        if "positive_label" in self.data:
            positive = self.data["positive_label"]
            if not is_scalar(positive):
                raise self.fail("positive_label", f"expected a label, got {show(positive)}")
            values["positive_label"] = str(positive)
        if "group_size" in self.data:
            group_size = self.data["group_size"]
            if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 2:
                raise self.fail("group_size", f"expected an integer >= 2, got {show(group_size)}")
            values["group_size"] = group_size
        if "ranking_gamma" in self.data:
            gamma = self._number("ranking_gamma", 1.0)
            if gamma <= 0:
                raise self.fail("ranking_gamma", f"expected a positive number, got {gamma}")
            values["ranking_gamma"] = gamma
        return values
