"""Adversarial task files: keys that are mappings or lists at every level, task and group names
that are not text, odd scalars, alias bombs and very deep nesting each end in one
`TaskDefinitionError` naming the file and the line, never in another exception."""

import time

import pytest
from mtdnn_keras.cli.main import main

from mtdnn_keras.tasks import TaskDefinitionError, TaskRegistry

TASK = "{type: classification, labels: [a, b], reader: {format: tsv, text_a: s, label: l}}"


def task_file(tmp_path, text):
    path = tmp_path / "tasks.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path) -> str:
    with pytest.raises(TaskDefinitionError) as error:
        TaskRegistry.builtin().with_file(path)
    return str(error.value)


def block_task(*fields: str) -> str:
    """A task `t` in block style, each field on its own line from line 3, and a valid reader
    last unless one is given (so that a mistake is the only one)."""
    if not any(field.startswith("reader") for field in fields):
        fields = (*fields, "reader: {format: tsv, text_a: s, label: l}")
    return "tasks:\n  t:\n" + "".join(f"    {field}\n" for field in fields)


# (case id, file text, line of the mistake, a fragment of the expected message)
COLLECTION_KEYS = [
    ("top-level mapping key", "{a: 1}: x\ntasks: {}\n", 1, "not a mapping"),
    ("top-level list key", "tasks: {}\n? [a, b]\n: x\n", 2, "not a list"),
    ("task name is a mapping", f"tasks:\n  {{a: 1}}: {TASK}\n", 2, "not a mapping"),
    ("task name is a list", f"tasks:\n  ? [a, b]\n  : {TASK}\n", 2, "not a list"),
    (
        "field key is a list",
        block_task("type: classification", "? [a, b]", ": 1"),
        4,
        "not a list",
    ),
    ("field key is a mapping (flow)", "tasks:\n  t: {{x: 1}: 2, type: regression}\n", 2,
     "not a mapping"),
    (
        "reader key is a mapping",
        block_task("type: classification", "reader:", "  format: tsv", "  ? {a: 1}", "  : 1"),
        6,
        "not a mapping",
    ),
    ("files key is a list", block_task("type: regression", "files: {[train]: x.tsv}"), 4,
     "not a list"),
    ("key inside a list item", block_task("type: classification", "labels: [{[a]: 1}, b]"), 4,
     "not a list"),
    ("group name is a mapping", "groups:\n  {a: 1}: [rte]\n", 2, "not a mapping"),
    ("group name is a list", "groups:\n  ? [g]\n  : [rte]\n", 2, "not a list"),
]  # fmt: skip

NAMES_NOT_TEXT = [
    ("task name is an int", f"tasks:\n  1: {TASK}\n", 2, "read as a number"),
    ("task name is a float", f"tasks:\n  1.5: {TASK}\n", 2, "read as a number"),
    ("task name is null", f"tasks:\n  null: {TASK}\n", 2, "read as null"),
    ("task name is ~", f"tasks:\n  ~: {TASK}\n", 2, "read as null"),
    ("task name is empty", f"tasks:\n  ? \n  : {TASK}\n", 2, "read as null"),
    ("task name is true", f"tasks:\n  true: {TASK}\n", 2, "read as true/false"),
    ("task name is yes", f"tasks:\n  x: {TASK}\n  yes: {TASK}\n", 3, "read as true/false"),
    ("task name is a date", f"tasks:\n  2001-01-01: {TASK}\n", 2, "read as a date"),
    ("task name is a merge key", f"tasks:\n  <<: {TASK}\n", 2, "read as a merge key"),
    ("group name is an int", "groups:\n  7: [rte]\n", 2, "read as a number"),
    ("group member is an int", "groups:\n  g: [rte, 1]\n", 2, "expected a task name"),
    ("group member is null", "groups:\n  g: [rte, ~]\n", 2, "expected a task name"),
    ("group member is a mapping", "groups:\n  g: [rte, {a: 1}]\n", 2, "expected a task name"),
    ("group member is a list", "groups:\n  g: [rte, [mrpc]]\n", 2, "expected a task name"),
    ("group member on its own line", "groups:\n  g:\n    - rte\n    - {a: 1}\n", 4,
     "expected a task name"),
    ("group is not a list", "groups:\n  g: rte\n", 2, "expected a list of task names"),
    ("groups is a list", "groups: [rte]\n", 1, "'groups' must map names"),
    ("group defined twice", "groups:\n  g: [rte]\n  g: [mrpc]\n", 3, "twice"),
    ("top-level key twice", "tasks: {}\ngroups: {}\ntasks: {}\n", 3, "twice"),
    ("task field twice", block_task("type: regression", "dropout: 0.1", "dropout: 0.2"), 5,
     "twice"),
]  # fmt: skip

ODD_SCALARS = [
    ("int of 5000 digits", block_task("type: regression", "max_seq_length: 1" + "0" * 5000), 4,
     "cannot read the value"),
    ("impossible date", block_task("type: regression", "dropout: 2001-13-45"), 4,
     "cannot read the value"),
    ("!!int of text", block_task("type: regression", "glue_name: !!int abc"), 4,
     "cannot read the value"),
    ("!!float of text", block_task("type: regression", "dropout: !!float abc"), 4,
     "cannot read the value"),
    ("!!binary not base64", block_task("type: regression", 'glue_name: !!binary "@@@"'), 4,
     "expected a string"),
    ("!!binary of a non-ASCII text", block_task("type: regression", 'glue_name: !!binary "é"'), 4,
     "not valid YAML"),
    ("python object tag", block_task("type: regression", "glue_name: !!python/object:os.system x"),
     4, "not valid YAML"),
    ("unknown local tag", block_task("type: classification", "labels: !mine [a, b]"), 4,
     "not valid YAML"),
    ("NaN ranking gamma", block_task(
        "type: ranking", "labels: [n, p]", "positive_label: p", "ranking_gamma: .nan"), 6,
     "finite number"),
    ("infinite ranking gamma", block_task(
        "type: ranking", "labels: [n, p]", "positive_label: p", "ranking_gamma: .inf"), 6,
     "finite number"),
    ("NaN dropout", block_task("type: regression", "dropout: .nan"), 4, "finite number"),
    ("dropout too large for a float", block_task("type: regression", "dropout: 1" + "0" * 400),
     4, "finite number"),
    ("score range too large for a float", block_task(
        "type: regression", "score_range: [0, 1" + "0" * 400 + "]"), 4, "low < high"),
    ("NaN in score range", block_task("type: regression", "score_range: [0, .nan]"), 4,
     "low < high"),
    ("label is a mapping", block_task("type: classification", "labels: [{a: 1}, b]"), 4,
     "expected label values"),
    ("label is null", block_task("type: classification", "labels: [a, ~]"), 4,
     "expected label values"),
    ("label is a boolean", block_task("type: classification", "labels: [yes, no]"), 4,
     "expected label values"),
    ("skip label is a list", block_task(
        "type: classification", "labels: [a, b]",
        "reader: {format: tsv, text_a: s, label: l, skip_labels: [[x]]}"), 5,
     "reader.skip_labels"),
    ("header is text", block_task(
        "type: classification", "labels: [a, b]",
        "reader: {format: tsv, header: 'maybe', text_a: s, label: l}"), 5, "reader.header"),
    ("extra_dev key is null", block_task("type: regression", "extra_dev: {~: x.tsv}"), 4,
     "extra_dev"),
]  # fmt: skip

LOLS = "[" + ", ".join(["lol"] * 9) + "]"
BOMB = block_task(
    "type: classification",
    "metrics: [accuracy]",
    "labels: [&a " + LOLS + ", "
    + ", ".join(f"&{b} [" + ", ".join([f"*{a}"] * 9) + "]" for a, b in zip("abcdefgh", "bcdefghi"))
    + "]",
)  # fmt: skip

ALIASES_AND_DEPTH = [
    ("billion laughs in labels", BOMB, 5, "aliases"),
    ("recursive alias", block_task("type: classification", "labels: &x [a, *x]"), 4, "itself"),
    ("recursive alias in a mapping", block_task("type: regression", "files: &f {train: *f}"), 4,
     "itself"),
    ("100000 nested lists in a field", block_task("type: classification",
     "labels: " + "[" * 100_000 + "]" * 100_000), 4, "nested more than"),
    ("100000 nested mappings at the top", "{a: " * 100_000 + "}" * 100_000 + "\n", 1,
     "nested more than"),
    ("5000 nested lists in a group", "groups:\n  g: " + "[" * 5000 + "]" * 5000 + "\n", 2,
     "nested more than"),
    ("deep block nesting", "tasks:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 80)),
     51, "nested more than"),
]  # fmt: skip


def _ids(cases):
    return [case[0] for case in cases]


@pytest.mark.parametrize(
    "text, line, fragment",
    [case[1:] for case in COLLECTION_KEYS + NAMES_NOT_TEXT + ODD_SCALARS + ALIASES_AND_DEPTH],
    ids=_ids(COLLECTION_KEYS + NAMES_NOT_TEXT + ODD_SCALARS + ALIASES_AND_DEPTH),
)
def test_bad_structure_names_file_and_line(tmp_path, text, line, fragment):
    path = task_file(tmp_path, text)
    started = time.monotonic()
    message = error_of(path)
    assert time.monotonic() - started < 10, "the check must not expand or recurse at length"
    assert message.startswith(f"{path}, line {line}: "), message
    assert fragment in message, message
    assert len(message) < 1000, "a message quotes values in short"
    assert "\n" not in message


@pytest.mark.parametrize("text", [COLLECTION_KEYS[2][1], BOMB, NAMES_NOT_TEXT[0][1]])
def test_the_command_line_prints_one_error_line(tmp_path, capsys, text):
    path = task_file(tmp_path, text)
    assert main(["tasks", "--task-file", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: {path}, line ") and captured.err.count("\n") == 1
    assert "Traceback" not in captured.err + captured.out


def test_odd_but_valid_forms_are_read_correctly(tmp_path):
    path = task_file(
        tmp_path,
        "tasks:\n"
        "  one:\n"
        "    type: classification\n"
        "    labels: ['yes', 'no', 3]\n"
        "    max_seq_length: 0x80\n"
        "    reader: &shared {format: tsv, text_a: s, text_b: t, label: l}\n"
        "    files: {train: " + "x" * 100_000 + ".tsv}\n"
        "  '2':\n"
        "    type: regression\n"
        "    reader: {<<: *shared, label: score}\n"
        "  three:\n"
        "    type: classification\n"
        "    labels: [a, b]\n"
        "    reader: *shared\n"
        "groups:\n"
        "  mine: [one, '2', three]\n",
    )
    registry = TaskRegistry.builtin().with_file(path)
    one, two, three = registry.resolve("mine")
    assert one.labels == ("yes", "no", "3") and one.max_seq_length == 128
    assert len(one.files["train"]) == 100_004
    assert two.name == "2" and two.reader.text_b == "t" and two.reader.label == "score"
    assert three.reader == one.reader


def test_a_nesting_within_the_limit_gets_the_fields_own_error(tmp_path):
    path = task_file(tmp_path, block_task("type: classification", "labels: " + "[" * 30 + "]" * 30))
    message = error_of(path)
    assert message.startswith(f"{path}, line 4: task 't', field 'labels'"), message
