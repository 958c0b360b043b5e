"""Property-based tests: malformed data files get a `DataError` naming file, line and field,
or, with `skip_bad_rows`, a count per reason; never another exception."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_task_registry import USER_FILE  # the user task file those tests start from

from mtdnn_keras.data.example_reader import DataError, ExampleReader
from mtdnn_keras.tasks import TaskRegistry

TASKS = {
    task.name: task for task in TaskRegistry.builtin().resolve("rte,stsb,snli,scitail,squad2,swag")
}
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

WORDS = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1
).filter(lambda text: text.strip() and "\t" not in text)

# a bad row's kind -> (the reader's reason, the field it names)
FAULTS = {
    "extra column": ("wrong column count", None),
    "missing column": ("wrong column count", None),
    "unknown label": ("unknown label", "label"),
    "empty text": ("empty text", "sentence1"),
    "invalid UTF-8": ("invalid UTF-8", None),
    "duplicate id": ("duplicate id", "index"),
}


@st.composite
def rte_rows(draw):
    """RTE-format rows: (kind, line bytes), kind "ok" or a key of FAULTS."""
    rows = []
    for number in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["ok", "ok", *FAULTS]))
        a, b = draw(WORDS), draw(WORDS)
        label = draw(st.sampled_from(TASKS["rte"].labels))
        cells = [str(number), a, b, label]
        accepted = [i for i, (k, _) in enumerate(rows) if k == "ok"]
        if kind == "extra column":
            cells.append("x")
        elif kind == "missing column":
            cells.pop()
        elif kind == "unknown label":
            cells[3] = "maybe"
        elif kind == "empty text":
            cells[1] = " "
        elif kind == "duplicate id":
            if not accepted:
                kind = "ok"
            else:
                cells[0] = str(accepted[0])
        line = "\t".join(cells).encode("utf-8")
        if kind == "invalid UTF-8":
            line = line.replace(b"\t", b"\t\xff\xfe", 1)
        rows.append((kind, line))
    return rows


@SETTINGS
@given(rows=rte_rows(), bom=st.booleans(), crlf=st.booleans())
def test_rte_files_fail_at_the_first_bad_row_or_skip_and_count_it(tmp_path, rows, bom, crlf):
    ending = b"\r\n" if crlf else b"\n"
    header = ("\ufeff" if bom else "") + "index\tsentence1\tsentence2\tlabel"
    lines = [header.encode("utf-8"), *(line for _, line in rows)]
    path = tmp_path / "train.tsv"
    path.write_bytes(ending.join(lines) + ending)
    bad = [(number, kind) for number, (kind, _) in enumerate(rows, start=2) if kind != "ok"]
    good = [kind for kind, _ in rows if kind == "ok"]

    reader = ExampleReader(TASKS["rte"])
    if bad:
        with pytest.raises(DataError) as error:
            reader.read(path)
        line, kind = bad[0]
        assert (error.value.path, error.value.line) == (str(path), line)
        assert error.value.field == FAULTS[kind][1]
        assert str(error.value).startswith(f"{path}, line {line}")
    elif good:
        assert len(reader.read(path).examples) == len(good)

    if not good:
        with pytest.raises(DataError, match="no usable examples"):
            ExampleReader(TASKS["rte"], skip_bad_rows=True).read(path)
        return
    result = ExampleReader(TASKS["rte"], skip_bad_rows=True).read(path)
    assert len(result.examples) == len(good)
    expected = {}
    for _, kind in bad:
        expected[FAULTS[kind][0]] = expected.get(FAULTS[kind][0], 0) + 1
    assert dict(result.skipped) == expected


def _samples():
    """One small valid file per reader format: (task, file name, bytes)."""
    squad = {
        "version": "v2.0",
        "data": [
            {
                "title": "T",
                "paragraphs": [
                    {
                        "context": "The Normans lived in Normandy.",
                        "qas": [
                            {
                                "id": "q1",
                                "question": "Where did the Normans live?",
                                "answers": [{"text": "Normandy", "answer_start": 21}],
                                "is_impossible": False,
                            },
                            {"id": "q2", "question": "Why?", "answers": [], "is_impossible": True},
                        ],
                    }
                ],
            }
        ],
    }
    snli = [
        {
            "sentence1": "A man sleeps.",
            "sentence2": "A man rests.",
            "gold_label": "entailment",
            "pairID": "p1",
        },
        {
            "sentence1": "A dog runs.",
            "sentence2": "A cat sits.",
            "gold_label": "contradiction",
            "pairID": "p2",
        },
    ]
    return [
        (
            "rte",
            "rte.tsv",
            b"index\tsentence1\tsentence2\tlabel\n0\tA b.\tC d.\tentailment\n1\tE.\tF.\tnot_entailment\n",
        ),
        (
            "stsb",
            "stsb.tsv",
            b"index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
            b"0\tg\tf\t2012\t0\ts\ts\tA plane.\tA jet.\t4.2\n1\tg\tf\t2012\t1\ts\ts\tA cat.\tA dog.\t0.5\n",
        ),
        ("snli", "snli.jsonl", "\n".join(json.dumps(row) for row in snli).encode() + b"\n"),
        (
            "scitail",
            "scitail.tsv",
            b"A cell divides.\tCells divide.\tentails\nA dog.\tThe sun.\tneutral\n",
        ),
        ("squad2", "squad.json", json.dumps(squad).encode()),
        (
            "swag",
            "swag.csv",
            b",video-id,fold-ind,startphrase,sent1,sent2,gold-source,ending0,ending1,ending2,ending3,label\n"
            b"0,v,1,A man sits. He,A man sits.,He,gold,plays.,eats.,runs.,sleeps.,0\n",
        ),
    ]


@pytest.mark.parametrize(
    "task, name, valid", _samples(), ids=lambda v: v if isinstance(v, str) else None
)
@SETTINGS
@given(data=st.data())
def test_mutated_files_of_every_format_raise_only_data_errors(tmp_path, task, name, valid, data):
    ExampleReader(TASKS[task]).read(_write(tmp_path, name, valid))  # the sample itself reads
    mutated = bytearray(valid)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        how = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]), label="how")
        at = data.draw(st.integers(0, max(len(mutated) - 1, 0)), label="at")
        byte = data.draw(st.sampled_from(b'\t\n\r,"{}[]:\xff\xef\xbb\xbf0- a'), label="byte")
        if how == "flip" and mutated:
            mutated[at] = byte
        elif how == "insert":
            mutated.insert(at, byte)
        elif how == "delete" and mutated:
            del mutated[at]
        else:
            del mutated[at:]
    path = _write(tmp_path, name, bytes(mutated))
    for skip in (False, True):
        try:
            result = ExampleReader(TASKS[task], skip_bad_rows=skip).read(path)
        except DataError as error:
            assert str(error).startswith(str(path))
        else:
            assert result.examples and all(e.text_a.strip() for e in result.examples)


def _write(folder, name, content: bytes):
    path = folder / name
    path.write_bytes(content)
    return path


SCORES = st.one_of(
    st.floats(0, 5).map(lambda x: ("ok", f"{x:.3f}")),
    st.sampled_from(["abc", "", "4,5", "nan", "inf", "-inf"]).map(
        lambda x: ("non-numeric score", x)
    ),
    st.sampled_from(["5.01", "-0.5", "17", "1e9"]).map(lambda x: ("score out of range", x)),
)


@SETTINGS
@given(scores=st.lists(SCORES, max_size=8))
def test_stsb_scores_must_be_numbers_in_range(tmp_path, scores):
    header = (
        "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore"
    )
    rows = [
        f"{i}\tg\tf\t2012\t{i}\ts\ts\tA cat.\tA dog.\t{value}"
        for i, (_, value) in enumerate(scores)
    ]
    path = _write(tmp_path, "train.tsv", "\n".join([header, *rows]).encode() + b"\n")
    bad = [(line, kind) for line, (kind, _) in enumerate(scores, start=2) if kind != "ok"]
    good = [value for kind, value in scores if kind == "ok"]
    if bad:
        with pytest.raises(DataError) as error:
            ExampleReader(TASKS["stsb"]).read(path)
        assert (error.value.line, error.value.field) == (bad[0][0], "score")
    if good:
        result = ExampleReader(TASKS["stsb"], skip_bad_rows=True).read(path)
        assert [e.label for e in result.examples] == [float(v) for v in good]
        assert sum(result.skipped.values()) == len(bad)
        assert set(result.skipped) == {kind for _, kind in bad}


YAML_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-3, 3),
        st.floats(allow_nan=False),
        st.text(max_size=6),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=2)
    ),
    max_leaves=5,
)


@SETTINGS
@given(field=st.sampled_from(["type", "labels", "metrics", "reader", "files"]), value=YAML_VALUES)
def test_task_files_with_any_value_in_a_field_load_or_name_it(tmp_path, field, value):
    from mtdnn_keras.tasks.task_definition import TaskDefinitionError
    from mtdnn_keras.tasks.task_registry import TaskRegistry

    lines = USER_FILE.splitlines()
    number = next(
        i for i, line in enumerate(lines, start=1) if line.strip().startswith(f"{field}:")
    )
    lines[number - 1] = f"    {field}: {json.dumps(value)}"
    path = _write(tmp_path, "tasks.yaml", ("\n".join(lines) + "\n").encode())
    try:
        TaskRegistry.builtin().with_file(path)
    except TaskDefinitionError as error:  # this field, or another one it now contradicts
        message = str(error)
        assert message.startswith(f"{path}, line ") and "task 'sentiment', field '" in message
        if f"field '{field}" in message:
            assert message.startswith(f"{path}, line {number}:")


@SETTINGS
@given(data=st.data())
def test_mutated_task_files_raise_only_task_definition_errors(tmp_path, data):
    from mtdnn_keras.tasks.task_definition import TaskDefinitionError
    from mtdnn_keras.tasks.task_registry import TaskRegistry

    text = bytearray(USER_FILE.encode())
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text) - 1)) if text else 0
        byte = data.draw(st.sampled_from(b":-[]{}, \n'\"#&*!|>\t\xffax0"))
        if data.draw(st.booleans()) and text:
            text[at] = byte
        else:
            text.insert(at, byte)
    path = _write(tmp_path, "tasks.yaml", bytes(text))
    try:
        TaskRegistry.builtin().with_file(path)
    except TaskDefinitionError as error:
        assert str(error).startswith(str(path))


@pytest.mark.parametrize(
    "task, name, valid", _samples(), ids=lambda v: v if isinstance(v, str) else None
)
@pytest.mark.parametrize(
    "content", [b"", b"\n \r\n\t\n", b"\xef\xbb\xbf"], ids=["empty", "blank", "bom"]
)
def test_empty_files_of_every_format_say_so(tmp_path, task, name, valid, content):
    path = _write(tmp_path, name, content)
    with pytest.raises(DataError, match="the file is empty|no usable examples"):
        ExampleReader(TASKS[task]).read(path)


CONTEXT = "The Normans lived in Normandy, a region of France, from the tenth century."


@SETTINGS
@given(
    answers=st.lists(
        st.tuples(st.integers(0, len(CONTEXT) - 1), st.integers(1, 12), st.integers(-3, 3)),
        min_size=1,
        max_size=6,
    )
)
def test_squad_answers_must_be_where_they_say(tmp_path, answers):
    """(start, length, shift): the answer is CONTEXT[start:start+length], said to start at
    start + shift; only shift 0 is right (or a shift that lands on the same text)."""
    qas, right = [], []
    for i, (start, length, shift) in enumerate(answers):
        text = CONTEXT[start : start + length]
        if not text.strip():
            text, start = "Normans", 4
        said = start + shift
        right.append(CONTEXT[said : said + len(text)] == text if said >= 0 else False)
        qas.append(
            {"id": f"q{i}", "question": "Who?", "answers": [{"text": text, "answer_start": said}]}
        )
    squad = {"data": [{"title": "T", "paragraphs": [{"context": CONTEXT, "qas": qas}]}]}
    content = json.dumps(squad, indent=1)
    path = _write(tmp_path, "train.json", content.encode())
    id_lines = [content[: content.index(f'"q{i}"')].count("\n") + 1 for i in range(len(qas))]
    wrong = [i for i, ok in enumerate(right) if not ok]
    if wrong:
        with pytest.raises(DataError) as error:
            ExampleReader(TASKS["squad2"]).read(path)
        first = wrong[0]
        assert error.value.line == id_lines[first]
        assert error.value.field == f"data[0].paragraphs[0].qas[{first}].answers[0]"
    if len(wrong) < len(qas):
        result = ExampleReader(TASKS["squad2"], skip_bad_rows=True).read(path)
        assert [e.id for e in result.examples] == [f"q{i}" for i, ok in enumerate(right) if ok]
        assert dict(result.skipped) == ({"answer not in context": len(wrong)} if wrong else {})


@SETTINGS
@given(
    labels=st.lists(st.sampled_from(["0", "1", "2", "3", "4", "-1", "x", "", "1.0"]), max_size=6)
)
def test_swag_labels_must_name_one_of_the_four_endings(tmp_path, labels):
    header = ",video-id,fold-ind,startphrase,sent1,sent2,gold-source,ending0,ending1,ending2,ending3,label"
    rows = [
        f"{i},v,{i},A man. He,A man.,He,gold,sits.,runs.,eats.,naps.,{label}"
        for i, label in enumerate(labels)
    ]
    path = _write(tmp_path, "train.csv", "\n".join([header, *rows]).encode() + b"\n")
    wrong = [line for line, label in enumerate(labels, start=2) if label not in "0123" or not label]
    if wrong:
        with pytest.raises(DataError) as error:
            ExampleReader(TASKS["swag"]).read(path)
        assert (error.value.line, error.value.field) == (wrong[0], "label")
    elif labels:
        assert [e.label for e in ExampleReader(TASKS["swag"]).read(path).examples] == [
            int(label) for label in labels
        ]
