"""Reads a task's examples from its official file format (GLUE TSV, JSON lines, CSV, SQuAD,
CoNLL), or from rows another source gives in the same shapes (`ExampleReader.read_rows`)."""

from __future__ import annotations

import collections
import csv
import dataclasses
import io
import json
import re
from pathlib import Path

from mtdnn_keras.features.example import Answer, Example, LabelError
from mtdnn_keras.features.words import joined_words
from mtdnn_keras.tasks.task_definition import ReaderSpec, TaskDefinition
from mtdnn_keras.user_values import is_scalar, show

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONLL_SEPARATOR = re.compile("[ \t]+")
_LIST_ITEM = re.compile(r"(.+)\[(\d+)\]")  # `endings[2]`: item 2 of a JSON list
MAX_JSON_DEPTH = 100  # where a file too deep to parse is reported: where it passes this depth


class DataError(ValueError):
    """A data file cannot be used; the message names the file, line and field."""

    def __init__(
        self,
        path: str | Path,
        line: int | None,
        field: str | None,
        message: str,
        unit: str = "line",
    ):
        where = str(path)
        if line is not None:
            where += f", {unit} {line}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line
        self.field = field


@dataclasses.dataclass
class ReadResult:
    """The examples of one file and, when bad rows are skipped, how many for each reason."""

    path: str
    examples: list[Example]
    skipped: collections.Counter

    def summary(self) -> str:
        if not self.skipped:
            return f"{self.path}: {len(self.examples)} examples"
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(self.skipped.items()))
        return f"{self.path}: {len(self.examples)} examples, skipped {reasons}"


class ExampleReader:
    """Reads a task's files into `Example`s, checking every row.

    TSV files are read the GLUE way: split on tabs with no quote handling (GLUE text holds
    stray `"`), UTF-8 with an optional byte-order mark (MRPC). A row that cannot be read (wrong
    column count, unknown label, non-numeric or out-of-range score, empty text, invalid UTF-8,
    invalid JSON, duplicate id) raises `DataError` naming file, line and field, or with
    `skip_bad_rows=True` is skipped and counted by reason in `ReadResult.skipped`. Rows whose
    label is one of the task's `skip_labels` (SNLI's `-`) are dropped by definition and counted.

    Args:
        task: TaskDefinition. The task whose format and labels to read.
        skip_bad_rows: bool. Skip and count bad rows instead of raising.

    Examples:
    ```python
    reader = ExampleReader(TaskRegistry.builtin().tasks["rte"])
    result = reader.read("glue/RTE/train.tsv", split="train")
    result.examples[0].label  # 1: "not_entailment" is label 1 of ["entailment", "not_entailment"]
    ```
    """

    def __init__(self, task: TaskDefinition, skip_bad_rows: bool = False):
        self.task = task
        self.skip_bad_rows = skip_bad_rows

    def read(
        self, path: str | Path, split: str = "train", labeled: bool | None = None
    ) -> ReadResult:
        """Reads one file. `labeled` defaults to whether the split's reader names a label."""
        path = Path(path)
        spec = self.task.reader_for(split)
        if labeled is None:
            labeled = spec.label is not None or (spec.format == "squad" and split != "test")
        if labeled and spec.label is None and spec.format != "squad":
            raise DataError(
                path,
                None,
                None,
                f"task '{self.task.name}' names no label column for split '{split}'",
            )
        if not path.is_file():
            raise DataError(
                path, None, None, f"file not found (task '{self.task.name}', split '{split}')"
            )
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise DataError(path, None, None, f"cannot read: {error.strerror}") from None
        if not raw.removeprefix(b"\xef\xbb\xbf").strip():  # nothing, or only a BOM
            raise DataError(path, None, None, "the file is empty")
        rows = {
            "tsv": _TsvRows,
            "jsonl": _JsonRows,
            "csv": _CsvRows,
            "squad": _SquadRows,
            "conll": _ConllRows,
        }[spec.format](path, raw, spec)
        return self.read_rows(rows, str(path), spec, labeled)

    def read_rows(
        self, rows, where: str, spec: ReaderSpec, labeled: bool, unit: str = "line"
    ) -> ReadResult:
        """Checks and converts `(line, fields)` rows shaped as `spec.format`'s (a dict of
        fields; SQuAD's question records; CoNLL's `{"words", "tags", "lines"}`), wherever
        they come from. Errors name `where` and the row's `unit` (`line`, `example`)."""
        result = ReadResult(where, [], collections.Counter())
        seen_ids: dict[str, int] = {}
        for line, fields in rows:
            try:
                example = self._example(line, fields, spec, labeled)
                if example is None:
                    result.skipped[f"rows with label in skip_labels {list(spec.skip_labels)}"] += 1
                    continue
                if (spec.id is not None or spec.format == "squad") and example.id in seen_ids:
                    raise _RowError(
                        spec.id or "id",
                        "duplicate id",
                        f"id {example.id!r} also on line {seen_ids[example.id]}",
                    )
                seen_ids[example.id] = line
                result.examples.append(example)
            except _RowError as error:
                if not self.skip_bad_rows:
                    raise DataError(
                        where, error.line or line, error.field, error.message, unit
                    ) from None
                result.skipped[error.reason] += 1
        if not result.examples:
            raise DataError(where, None, None, f"no usable examples ({result.summary()})")
        return result

    def _example(self, line, fields, spec: ReaderSpec, labeled: bool) -> Example | None:
        if isinstance(fields, _RowError):
            raise fields
        if spec.format == "squad":
            return _squad_example(fields, line, labeled, self.task.allow_no_answer)
        if spec.format == "conll":
            return self._conll_example(fields, line, spec, labeled)
        text_a = _text(fields, spec.text_a, "text_a")
        text_b = _text(fields, spec.text_b, "text_b") if spec.text_b is not None else None
        if spec.id is not None and spec.id not in fields:
            raise _RowError(spec.id, "missing field", "missing id")
        if spec.id is not None and not is_scalar(fields[spec.id]):
            raise _RowError(
                spec.id,
                "bad id",
                f"expected an id (text or a number), got {show(fields[spec.id])}",
            )
        example_id = str(fields.get(spec.id, "")).strip() if spec.id is not None else str(line)
        label = None
        if labeled:
            if spec.label not in fields:
                raise _RowError(spec.label, "missing field", "missing label")
            value = _label_text(fields[spec.label], spec.label)
            if value in spec.skip_labels:
                return None
            label = self._label(spec.label_map.get(value, value), spec.label)
        choices = None
        if spec.choices:
            choices = tuple(_text(fields, c, f"choice {i}") for i, c in enumerate(spec.choices))
        return Example(text_a, text_b, label, example_id, line, choices=choices)

    def _label(self, value: str, field) -> int | float:
        try:
            return self.task.kind.parse_label(self.task, value)
        except LabelError as error:
            raise _RowError(field, error.reason, error.message) from None

    def _conll_example(self, fields, line, spec: ReaderSpec, labeled: bool) -> Example:
        text, words = joined_words(fields["words"])
        label = None
        if labeled:
            try:
                label = self.task.kind.parse_label(self.task, fields["tags"])
            except LabelError as error:
                raise _RowError(
                    spec.label, error.reason, error.message, fields["lines"][error.position]
                ) from None
        return Example(text, None, label, str(line), line, words=words)


class _RowError(Exception):
    """A row that cannot be read; `line` where the fault is on another line than the row's
    first (a sentence's word)."""

    def __init__(self, field, reason: str, message: str, line: int | None = None):
        super().__init__(message)
        self.field = str(field) if field is not None else None
        self.reason = reason
        self.message = message
        self.line = line


def _label_text(value, field) -> str:
    """A label as written in a file; JSON's 1 and 1.0 both read as "1"."""
    if not is_scalar(value) and not isinstance(value, bool):
        raise _RowError(
            field, "bad label", f"expected a label value (text or a number), got {show(value)}"
        )
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _text(fields: dict, column, name: str) -> str:
    value = _field(fields, column)
    if value is _MISSING:
        raise _RowError(column, "missing field", f"missing {name}")
    if not isinstance(value, str):
        raise _RowError(column, "text not a string", f"expected text, got {show(value)}")
    if not value.strip():
        raise _RowError(column, "empty text", f"empty {name}")
    _check_unicode(value, column)
    return value.strip()


_MISSING = object()


def _field(fields: dict, column):
    """A row's value of `column`; `name[i]` is item i of a list field (HellaSwag's
    `endings`)."""
    if column in fields:
        return fields[column]
    item = _LIST_ITEM.fullmatch(column) if isinstance(column, str) else None
    if item and isinstance(fields.get(item[1]), list) and int(item[2]) < len(fields[item[1]]):
        return fields[item[1]][int(item[2])]
    return _MISSING


def _check_unicode(value: str, field) -> None:
    """JSON's `\\ud800` escapes can write half a character, which no tokenizer takes."""
    surrogate = _SURROGATE.search(value)
    if surrogate:
        raise _RowError(
            field,
            "invalid text",
            f"an unpaired surrogate (\\u{ord(surrogate.group()):04x}) at character "
            f"{surrogate.start()}: not a Unicode character",
        )


class _TsvRows:
    """Yields (line number, {column: value}) for each data row, or a `_RowError`."""

    def __init__(self, path: Path, raw: bytes, spec: ReaderSpec):
        self.path = path
        self.raw = raw
        self.spec = spec

    def __iter__(self):
        lines = self.raw.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()  # the file's final newline
        columns: list[str] | None = None
        needed = [
            c
            for c in (self.spec.text_a, self.spec.text_b, self.spec.label, self.spec.id)
            if c is not None
        ]
        for number, raw_line in enumerate(lines, start=1):
            try:
                text = raw_line.decode("utf-8")
            except UnicodeDecodeError as error:
                if number == 1 and self.spec.header:
                    raise DataError(
                        self.path, 1, None, f"header is not UTF-8 ({error.reason})"
                    ) from None
                yield (
                    number,
                    _RowError(None, "invalid UTF-8", f"not UTF-8 text at byte {error.start}"),
                )
                continue
            if number == 1:
                text = text.removeprefix("\ufeff")
            cells = text.rstrip("\r").split("\t")
            if number == 1 and self.spec.header:
                columns = cells
                missing = [c for c in needed if isinstance(c, str) and c not in columns]
                if missing:
                    raise DataError(
                        self.path, 1, missing[0], f"column {missing[0]!r} not in header {columns}"
                    )
                continue
            if columns is not None:
                if len(cells) != len(columns):
                    yield (
                        number,
                        _RowError(
                            None,
                            "wrong column count",
                            f"expected {len(columns)} tab-separated columns, got {len(cells)}",
                        ),
                    )
                    continue
                yield number, dict(zip(columns, cells))
            else:
                width = max(c for c in needed if isinstance(c, int)) + 1
                if len(cells) < width:
                    yield (
                        number,
                        _RowError(
                            None,
                            "wrong column count",
                            f"expected at least {width} tab-separated columns, got {len(cells)}",
                        ),
                    )
                    continue
                yield number, dict(enumerate(cells))


def _squad_example(fields: dict, line: int, labeled: bool, allow_no_answer: bool) -> Example:
    try:
        return _squad_fields(fields, line, labeled, allow_no_answer)
    except _RowError as error:  # name the question's place in the file's tree
        error.field = f"{fields['_where']}.{error.field}"
        raise


def _squad_fields(fields: dict, line: int, labeled: bool, allow_no_answer: bool) -> Example:
    question = _text(fields, "question", "question")
    context = fields["context"]
    impossible = fields.get("is_impossible", False)
    if not isinstance(impossible, bool):
        raise _RowError(
            "is_impossible", "bad answer", f"expected true or false, got {show(impossible)}"
        )
    answers = None
    if labeled:
        raw = fields.get("answers", [])
        if not isinstance(raw, list):
            raise _RowError("answers", "bad answer", f"expected a list, got {show(raw)}")
        if impossible and not allow_no_answer:
            raise _RowError(
                "is_impossible", "bad answer", "unanswerable question in a task without no-answer"
            )
        if impossible and raw:
            raise _RowError("answers", "bad answer", "an unanswerable question lists answers")
        if not impossible and not raw:
            raise _RowError("answers", "bad answer", "no answers, and is_impossible is not true")
        parsed = []
        for i, answer in enumerate(raw):
            field = f"answers[{i}]"
            if not isinstance(answer, dict) or not isinstance(answer.get("text"), str):
                raise _RowError(
                    field, "bad answer", f"expected {{text, answer_start}}, got {show(answer)}"
                )
            start = answer.get("answer_start")
            text = answer["text"]
            if isinstance(start, bool) or not isinstance(start, int) or not text.strip():
                raise _RowError(
                    field,
                    "bad answer",
                    f"expected a text and an integer answer_start, got {show(answer)}",
                )
            if start < 0:  # a slice from a negative start would count from the end
                raise _RowError(
                    field,
                    "answer not in context",
                    f"answer_start {start} is negative: expected a character index of the context",
                )
            if context[start : start + len(text)] != text:
                raise _RowError(
                    field,
                    "answer not in context",
                    f"answer {show(text)} is not at character {start} of the context "
                    f"(found {show(context[start : start + len(text)])})",
                )
            parsed.append(Answer(text, start))
        answers = tuple(parsed)
    return Example(question, context, None, str(fields["id"]), line, answers=answers)


def _decode_whole(path: Path, raw: bytes) -> str:
    """A whole file's text (UTF-8, optional BOM) for formats parsed as one document."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise DataError(path, line, None, f"not UTF-8 text ({error.reason})") from None


class _SquadRows:
    """Yields (line, question record with its `context`) for each question of a SQuAD JSON
    file (`{"data": [{"title", "paragraphs": [{"context", "qas": [...]}]}]}`). Lines are
    those of the question's `"id"` in the file."""

    def __init__(self, path: Path, raw: bytes, spec: ReaderSpec):
        self.path = path
        self.raw = raw

    def __iter__(self):
        text = _decode_whole(self.path, self.raw)
        root = _load_json_document(self.path, text)
        articles = root.get("data") if isinstance(root, dict) else None
        if not isinstance(articles, list):
            raise DataError(self.path, 1, "data", 'not a SQuAD file: expected {"data": [articles]}')
        line_of = _IdLines(text)
        for a, article in enumerate(articles):
            paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
            if not isinstance(paragraphs, list):
                raise DataError(
                    self.path, None, f"data[{a}].paragraphs", "expected a list of paragraphs"
                )
            for p, paragraph in enumerate(paragraphs):
                where = f"data[{a}].paragraphs[{p}]"
                if not isinstance(paragraph, dict) or not isinstance(paragraph.get("qas"), list):
                    raise DataError(self.path, None, f"{where}.qas", "expected a list of questions")
                context = paragraph.get("context")
                for q, qa in enumerate(paragraph["qas"]):
                    if not isinstance(qa, dict) or not isinstance(qa.get("id"), str):
                        yield (
                            None,
                            _RowError(
                                f"{where}.qas[{q}].id", "missing field", "a question without an id"
                            ),
                        )
                        continue
                    line = line_of(qa["id"])
                    if not isinstance(context, str) or not context.strip():
                        yield (
                            line,
                            _RowError(
                                f"{where}.context",
                                "empty text",
                                f"expected the paragraph's text, got {show(context)}",
                            ),
                        )
                        continue
                    try:
                        _check_unicode(context, f"{where}.context")
                    except _RowError as error:
                        yield line, error
                        continue
                    yield line, {**qa, "context": context, "_where": f"{where}.qas[{q}]"}


def _load_json_document(path: Path, text: str):
    """A whole JSON file's value; `DataError` with the line for any text json cannot read
    (invalid, nested too deeply for the parser, a number of too many digits)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(path, error.lineno, None, f"invalid JSON: {error.msg}") from None
    except RecursionError:
        line = _deep_json_line(text)
        raise DataError(path, line, None, _TOO_DEEP) from None
    except ValueError:  # int(): more digits than Python converts
        line = _long_number_line(text)
        raise DataError(path, line, None, _TOO_LONG) from None


_TOO_DEEP = f"JSON nested too deeply to read (more than {MAX_JSON_DEPTH} levels)"
_TOO_LONG = "invalid JSON: a number with too many digits to read"


def _deep_json_line(text: str) -> int | None:
    """The line where a JSON text's nesting passes MAX_JSON_DEPTH (strings skipped)."""
    depth = 0
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]', text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return text.count("\n", 0, match.start()) + 1
        elif token in "]}":
            depth -= 1
    return None


def _long_number_line(text: str) -> int | None:
    match = re.search(r"\d{4000,}", text)
    return text.count("\n", 0, match.start()) + 1 if match else None


class _IdLines:
    """The line of each question id's `"id": "..."` in a JSON text, found in one pass; an id
    written twice gives its lines in order."""

    def __init__(self, text: str):
        self.lines: dict[str, list[int]] = {}
        for match in re.finditer(r'"id"\s*:\s*"((?:[^"\\]|\\.)*)"', text):
            line = text.count("\n", 0, match.start()) + 1
            self.lines.setdefault(match.group(1), []).append(line)

    def __call__(self, question_id: str) -> int | None:
        lines = self.lines.get(question_id)
        if not lines:
            return None
        return lines.pop(0) if len(lines) > 1 else lines[0]


class _CsvRows:
    """Yields (line number, {column: value}) for each row of a CSV file with a header."""

    def __init__(self, path: Path, raw: bytes, spec: ReaderSpec):
        self.path = path
        self.raw = raw
        self.spec = spec

    def __iter__(self):
        text = _decode_whole(self.path, self.raw)
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            columns = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise DataError(self.path, 1, None, f"unreadable CSV header: {error}") from None
        needed = [
            c
            for c in (
                self.spec.text_a,
                self.spec.text_b,
                self.spec.label,
                self.spec.id,
                *self.spec.choices,
            )
            if c is not None
        ]
        missing = [c for c in needed if c not in columns]
        if missing:
            raise DataError(
                self.path, 1, missing[0], f"column {missing[0]!r} not in header {columns}"
            )
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise DataError(
                    self.path, reader.line_num, None, f"unreadable CSV: {error}"
                ) from None
            if not cells:
                continue
            if len(cells) != len(columns):
                yield (
                    line,
                    _RowError(
                        None,
                        "wrong column count",
                        f"expected {len(columns)} comma-separated columns, got {len(cells)}",
                    ),
                )
                continue
            yield line, dict(zip(columns, cells))


class _JsonRows:
    def __init__(self, path: Path, raw: bytes, spec: ReaderSpec):
        self.path = path
        self.raw = raw

    def __iter__(self):
        for number, raw_line in enumerate(self.raw.split(b"\n"), start=1):
            if not raw_line.strip():
                continue
            try:
                record = json.loads(raw_line.decode("utf-8-sig" if number == 1 else "utf-8"))
            except UnicodeDecodeError as error:
                yield (
                    number,
                    _RowError(None, "invalid UTF-8", f"not UTF-8 text at byte {error.start}"),
                )
                continue
            except json.JSONDecodeError as error:
                yield (
                    number,
                    _RowError(
                        None, "invalid JSON", f"invalid JSON: {error.msg} at column {error.colno}"
                    ),
                )
                continue
            except RecursionError:
                yield number, _RowError(None, "invalid JSON", _TOO_DEEP)
                continue
            except ValueError:  # int(): more digits than Python converts
                yield number, _RowError(None, "invalid JSON", _TOO_LONG)
                continue
            if not isinstance(record, dict):
                yield number, _RowError(None, "invalid JSON", "expected a JSON object")
                continue
            yield number, record


class _ConllRows:
    """Yields (line of its first word, `{"words", "tags", "lines"}`) for each sentence of a
    CoNLL file: one word a line, space-separated columns, a blank line between sentences;
    `-DOCSTART-` lines (document breaks) are skipped."""

    def __init__(self, path: Path, raw: bytes, spec: ReaderSpec):
        self.path = path
        self.raw = raw
        self.word_column = spec.text_a
        self.tag_column = spec.label

    def __iter__(self):
        needed = max(c for c in (self.word_column, self.tag_column) if c is not None) + 1
        words, tags, lines, error = [], [], [], None
        for number, raw_line in enumerate(self.raw.split(b"\n"), start=1):
            try:
                text = raw_line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as decode_error:
                lines.append(number)  # the sentence it is in is reported, not dropped
                error = error or _RowError(
                    None, "invalid UTF-8", f"not UTF-8 text at byte {decode_error.start}", number
                )
                continue
            # columns are separated by spaces (or tabs) only: a word may hold other spaces
            columns = [column for column in _CONLL_SEPARATOR.split(text.strip(" \t\r")) if column]
            if not columns or columns[0] == "-DOCSTART-":
                if lines:
                    yield lines[0], error or {"words": words, "tags": tags, "lines": lines}
                words, tags, lines, error = [], [], [], None
                continue
            lines.append(number)
            if len(columns) < needed:
                error = error or _RowError(
                    None,
                    "wrong column count",
                    f"expected at least {needed} space-separated columns, got {len(columns)}",
                    number,
                )
                continue
            words.append(columns[self.word_column])
            if self.tag_column is not None:
                tags.append(columns[self.tag_column])
        if lines:
            yield lines[0], error or {"words": words, "tags": tags, "lines": lines}
