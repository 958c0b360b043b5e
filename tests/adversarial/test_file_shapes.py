"""Adversarial data files: JSON nested 100000 deep, numbers JSON cannot hold, values of the
wrong shape (a list where an object is expected, a number for a text). Each gives one
`DataError` naming the file and the line (JSON lines) or the field path (SQuAD), or is read
correctly; never another exception."""

import json
import time

import pytest
from conftest import write_lines

from mtdnn_keras.data.example_reader import DataError, ExampleReader
from mtdnn_keras.data.squad_articles import split_articles
from mtdnn_keras.tasks import TaskDefinition, TaskRegistry

TASKS = {task.name: task for task in TaskRegistry.builtin().resolve("snli,squad,squad2")}
SCORES = TaskDefinition.from_dict(
    "scores",
    {"type": "regression", "reader": {"format": "jsonl", "text_a": "a", "label": "score"}},
)
GOOD = {"sentence1": "A man sleeps.", "sentence2": "A man rests.", "gold_label": "entailment",
        "pairID": "p1"}  # fmt: skip
DEEP = "[" * 100_000 + "]" * 100_000


def row(**fields) -> str:
    return json.dumps({**GOOD, "pairID": "p2", **fields})


def raw_row(field: str, value_json: str) -> str:
    """A row whose `field` holds `value_json` as written (which json.dumps could not write)."""
    return row(**{field: "@@"}).replace('"@@"', value_json)


# (case id, second line of an SNLI JSON-lines file, field named or None, message fragment)
JSONL_ERRORS = [
    ("row nested 100000 deep", DEEP, None, "nested too deeply"),
    ("object nested 100000 deep", '{"sentence1": ' + DEEP + "}", None, "nested too deeply"),
    ("text nested 100000 deep", raw_row("sentence1", DEEP), None, "nested too deeply"),
    ("integer of 5000 digits", raw_row("gold_label", "1" * 5000), None, "invalid JSON"),
    ("unpaired surrogate in text", raw_row("sentence1", '"a \\ud800 b"'), "sentence1",
     "unpaired surrogate"),
    ("label nested 500 deep", raw_row("gold_label", "[" * 500 + "]" * 500), "gold_label",
     "expected a label value"),
    ("id nested 500 deep", raw_row("pairID", "[" * 500 + "]" * 500), "pairID",
     "expected an id"),
    ("id is a mapping", raw_row("pairID", '{"a": 1}'), "pairID", "expected an id"),
    ("label is a mapping", raw_row("gold_label", '{"a": 1}'), "gold_label",
     "expected a label value"),
    ("label is a list", raw_row("gold_label", '["entailment"]'), "gold_label",
     "expected a label value"),
    ("label is null", raw_row("gold_label", "null"), "gold_label", "expected a label value"),
    ("row is a list", '["A man sleeps.", "A man rests.", "entailment"]', None,
     "expected a JSON object"),
    ("row is a number", "5", None, "expected a JSON object"),
    ("row is a string", '"entailment"', None, "expected a JSON object"),
    ("row is null", "null", None, "expected a JSON object"),
    ("text is a number", raw_row("sentence1", "5"), "sentence1", "expected text"),
    ("text is a list", raw_row("sentence1", '["a"]'), "sentence1", "expected text"),
    ("text is a mapping", raw_row("sentence2", '{"a": "b"}'), "sentence2", "expected text"),
    ("text is null", raw_row("sentence1", "null"), "sentence1", "expected text"),
    ("text is NaN", raw_row("sentence1", "NaN"), "sentence1", "expected text"),
    ("text is blank", raw_row("sentence1", '"   "'), "sentence1", "empty"),
    ("label is a number", raw_row("gold_label", "1"), "gold_label", "unknown label"),
    ("bad escape", raw_row("sentence1", '"\\x41"'), None, "invalid JSON"),
    ("truncated row", row()[:-5], None, "invalid JSON"),
    ("two objects on one line", row() + " " + row(), None, "invalid JSON"),
]  # fmt: skip


@pytest.mark.parametrize(
    "second, field, fragment",
    [case[1:] for case in JSONL_ERRORS],
    ids=[case[0] for case in JSONL_ERRORS],
)
def test_jsonl_rows_of_the_wrong_shape_name_file_line_and_field(tmp_path, second, field, fragment):
    path = write_lines(tmp_path / "snli.jsonl", [json.dumps(GOOD), second])
    started = time.monotonic()
    with pytest.raises(DataError) as error:
        ExampleReader(TASKS["snli"]).read(path)
    assert time.monotonic() - started < 10
    message = str(error.value)
    assert (error.value.path, error.value.line, error.value.field) == (str(path), 2, field)
    assert message.startswith(f"{path}, line 2"), message
    assert fragment in message, message
    assert len(message) < 500 and "\n" not in message

    result = ExampleReader(TASKS["snli"], skip_bad_rows=True).read(path)
    assert [e.id for e in result.examples] == ["p1"] and sum(result.skipped.values()) == 1


@pytest.mark.parametrize(
    "second, fragment",
    [
        ('{"a": "x", "score": 1' + "0" * 400 + "}", "expected a finite number"),  # 1e400
        ('{"a": "x", "score": Infinity}', "expected a finite number"),
        ('{"a": "x", "score": NaN}', "expected a finite number"),
        ('{"a": "x", "score": true}', "expected a number"),
        ('{"a": "x", "score": "high"}', "expected a number"),
        ('{"a": "x", "score": [1.5]}', "expected a label value"),
        ('{"a": "x", "score": {"value": 1.5}}', "expected a label value"),
    ],
    ids=["1e400", "Infinity", "NaN", "true", "text", "list", "mapping"],
)
def test_regression_scores_json_cannot_hold(tmp_path, second, fragment):
    path = write_lines(tmp_path / "scores.jsonl", ['{"a": "y", "score": 0.5}', second])
    with pytest.raises(DataError) as error:
        ExampleReader(SCORES).read(path)
    assert (error.value.line, error.value.field) == (2, "score")
    assert str(error.value).startswith(f"{path}, line 2, field 'score': {fragment}"), error.value


def test_odd_but_valid_jsonl_rows_are_read_correctly(tmp_path):
    path = tmp_path / "snli.jsonl"
    rows = [
        "\ufeff" + json.dumps(GOOD),  # a byte-order mark
        json.dumps({**GOOD, "pairID": 7, "extra": {"deep": [[["ignored"]]]}}),  # id a number
        json.dumps({**GOOD, "pairID": "p3", "sentence1": "Ünïcödé 😀 text"}, ensure_ascii=True),
        json.dumps({**GOOD, "pairID": "p4", "gold_label": " neutral "}) + "\r",  # CRLF
        "",  # a blank line
        json.dumps({**GOOD, "pairID": "p5", "gold_label": "-"}),  # skip_labels
        json.dumps({**GOOD, "pairID": "p6", "sentence1": "a \ud83d\ude00 pair"}),  # a pair
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = ExampleReader(TASKS["snli"]).read(path)
    assert [e.id for e in result.examples] == ["p1", "7", "p3", "p4", "p6"]
    assert result.examples[2].text_a == "Ünïcödé 😀 text"
    assert result.examples[3].label == TASKS["snli"].labels.index("neutral")
    assert result.examples[4].text_a == "a 😀 pair"
    assert sum(result.skipped.values()) == 1


def squad(**question) -> dict:
    qa = {"id": "q1", "question": "Where did the Normans live?",
          "answers": [{"text": "Normandy", "answer_start": 21}], "is_impossible": False}  # fmt: skip
    return {
        "version": "v2.0",
        "data": [
            {
                "title": "T",
                "paragraphs": [
                    {"context": "The Normans lived in Normandy.", "qas": [{**qa, **question}]}
                ],
            }
        ],
    }


def squad_text(value_json: str | None = None, **question) -> str:
    """A SQuAD file, one key a line, with the JSON string `"@@"` replaced by `value_json`."""
    text = json.dumps(squad(**question), indent=1)
    return text if value_json is None else text.replace('"@@"', value_json)


def line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.split("\n"), 1) if fragment in line)


Q = "data[0].paragraphs[0].qas[0]"


def squad_cases():
    """(case id, file text, line or None, field or None, message fragment); a question's line
    is its id's."""
    deep_title = json.dumps(squad(), indent=1).replace('"T"', DEEP)
    huge = squad_text("1" * 5000, question="@@")
    truncated = squad_text()[:-40]
    cases = [
        ("file nested 100000 deep", DEEP, 1, None, "nested too deeply"),
        (
            "title nested 100000 deep",
            deep_title,
            line_of(deep_title, '"title"'),
            None,
            "nested too deeply",
        ),
        ("integer of 5000 digits", huge, line_of(huge, "1" * 5000), None, "invalid JSON"),
        ("truncated file", truncated, truncated.count("\n") + 1, None, "invalid JSON"),
        ("root is a list", json.dumps([squad()]), 1, "data", "not a SQuAD file"),
        ("data is a mapping", json.dumps({"data": {"a": 1}}), 1, "data", "not a SQuAD file"),
        (
            "article is a list",
            json.dumps({"data": [[1]]}),
            None,
            "data[0].paragraphs",
            "expected a list of paragraphs",
        ),
        (
            "paragraph is a string",
            json.dumps({"data": [{"paragraphs": ["x"]}]}),
            None,
            "data[0].paragraphs[0].qas",
            "expected a list of questions",
        ),
        ("id is a number", squad_text("5", id="@@"), None, f"{Q}.id", "without an id"),
    ]
    for name, field, value, where, fragment in [
        ("question is a number", "question", "5", "question", "expected text"),
        (
            "question nested 500 deep",
            "question",
            "[" * 500 + "]" * 500,
            "question",
            "expected text",
        ),
        (
            "question has an unpaired surrogate",
            "question",
            '"a \\udc00"',
            "question",
            "unpaired surrogate",
        ),
        ("answers is a mapping", "answers", '{"text": "Normandy"}', "answers", "expected a list"),
        (
            "answer is a list",
            "answers",
            '[["Normandy", 21]]',
            "answers[0]",
            "expected {text, answer_start}",
        ),
        (
            "answer nested 500 deep",
            "answers",
            "[" * 500 + "]" * 500,
            "answers[0]",
            "expected {text, answer_start}",
        ),
        (
            "answer_start is text",
            "answers",
            '[{"text": "Normandy", "answer_start": "21"}]',
            "answers[0]",
            "integer answer_start",
        ),
        (
            "answer_start is negative",
            "answers",
            '[{"text": "The", "answer_start": -30}]',
            "answers[0]",
            "answer_start",
        ),
        ("is_impossible is text", "is_impossible", '"no"', "is_impossible", "true or false"),
    ]:
        text = squad_text(value, **{field: "@@"})
        cases.append((name, text, line_of(text, '"id"'), f"{Q}.{where}", fragment))
    return cases


SQUAD_ERRORS = squad_cases()


@pytest.mark.parametrize(
    "text, line, field, fragment",
    [case[1:] for case in SQUAD_ERRORS],
    ids=[case[0] for case in SQUAD_ERRORS],
)
def test_squad_files_of_the_wrong_shape_name_file_and_place(tmp_path, text, line, field, fragment):
    path = tmp_path / "squad.json"
    path.write_text(text, encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(DataError) as error:
        ExampleReader(TASKS["squad2"]).read(path)
    assert time.monotonic() - started < 10
    message = str(error.value)
    assert (error.value.path, error.value.line, error.value.field) == (str(path), line, field)
    assert message.startswith(str(path)) and (line is not None or field is not None)
    assert fragment in message, message
    assert len(message) < 500 and "\n" not in message


def test_odd_but_valid_squad_files_are_read_correctly(tmp_path):
    data = squad(extra={"deep": [[[["ignored"]]]]})
    data["data"][0]["paragraphs"][0]["qas"].append(
        {"id": "q2", "question": "Wer? 😀", "answers": [], "is_impossible": True, "x": None}
    )
    data["data"].append({"title": 5, "paragraphs": []})  # an article without paragraphs
    path = tmp_path / "squad.json"
    path.write_text("\ufeff" + json.dumps(data, ensure_ascii=True), encoding="utf-8")
    first, second = ExampleReader(TASKS["squad2"]).read(path).examples
    assert first.answers[0].text == "Normandy" and first.answers[0].start == 21
    assert second.text_a == "Wer? 😀" and second.answers == ()


@pytest.mark.parametrize(
    "text, fragment",
    [(DEEP, "nested too deeply"), ('{"data": [' + "1" * 5000 + "]}", "too many digits"),
     ('{"data": [{"title": ' + "[" * 600 + "]" * 600 + "}, {}]}", None)],
    ids=["nested 100000 deep", "integer of 5000 digits", "nested 600 deep, then split"],
)  # fmt: skip
def test_split_articles_reads_odd_files_or_names_them(tmp_path, text, fragment):
    path = tmp_path / "squad.json"
    path.write_text(text, encoding="utf-8")
    if fragment is None:
        train, dev = split_articles(path, 1, tmp_path / "out")
        assert json.loads(dev.read_text())["data"] == [{}]
        return
    with pytest.raises(DataError) as error:
        split_articles(path, 1, tmp_path / "out")
    assert str(error.value).startswith(str(path)) and fragment in str(error.value)
