import pytest

from mtdnn_keras.tasks import TaskDefinition, TaskDefinitionError, TaskRegistry


def test_glue_group_names_the_nine_glue_tasks():
    names = [task.name for task in TaskRegistry.builtin().resolve("glue")]
    assert names == ["cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli"]


def test_builtin_definitions_follow_the_paper():
    tasks = TaskRegistry.builtin().tasks
    assert tasks["mnli"].labels == ("contradiction", "entailment", "neutral")  # GLUE's order
    assert (
        tasks["mnli"].dropout == 0.3
        and tasks["cola"].dropout == 0.05
        and tasks["rte"].dropout == 0.1
    )
    assert tasks["stsb"].type == "regression" and tasks["stsb"].metrics == ("pearson", "spearman")
    assert tasks["cola"].metrics == ("mcc",)
    assert tasks["mrpc"].metrics == ("accuracy", "f1")
    assert (
        tasks["qnli_ranking"].type == "ranking"
        and tasks["qnli_ranking"].positive_label == "entailment"
    )
    assert tasks["mnli"].extra_dev == {"mm": "MNLI/dev_mismatched.tsv"}
    for name in ("snli", "scitail"):
        assert name in tasks


def test_resolve_mixes_groups_and_tasks_without_duplicates():
    names = [t.name for t in TaskRegistry.builtin().resolve("rte, glue,snli")]
    assert names[:2] == ["rte", "cola"] and names[-1] == "snli" and len(names) == 10


def test_unknown_task_is_named():
    with pytest.raises(TaskDefinitionError, match="unknown task or group 'nope'"):
        TaskRegistry.builtin().resolve("rte,nope")


def test_definition_round_trips_through_dict():
    for task in TaskRegistry.builtin().tasks.values():
        assert TaskDefinition.from_dict(task.name, task.to_dict()) == task


USER_FILE = """\
tasks:
  sentiment:
    type: classification
    labels: [neg, pos]
    metrics: [accuracy, f1]
    reader: {format: tsv, header: true, text_a: text, label: polarity}
    files: {train: sentiment/train.tsv, dev: sentiment/dev.tsv}
groups:
  mine: [sentiment, rte]
"""


def test_user_yaml_adds_a_task_and_a_group(tmp_path):
    path = tmp_path / "tasks.yaml"
    path.write_text(USER_FILE)
    registry = TaskRegistry.builtin().with_file(path)
    sentiment, rte = registry.resolve("mine")
    assert sentiment.labels == ("neg", "pos") and sentiment.reader.text_a == "text"
    assert rte.name == "rte"


@pytest.mark.parametrize(
    "replace, field, line",
    [
        ("type: classification", "type", 3),
        ("labels: [neg, pos]", "labels", 4),
        ("metrics: [accuracy, f1]", "metrics", 5),
    ],
)
def test_invalid_field_is_named_with_its_line(tmp_path, replace, field, line):
    bad = {"type": "type: classifier", "labels": "labels: [pos]", "metrics": "metrics: [pearson]"}[
        field
    ]
    path = tmp_path / "tasks.yaml"
    path.write_text(USER_FILE.replace(replace, bad))
    with pytest.raises(TaskDefinitionError) as error:
        TaskRegistry.builtin().with_file(path)
    message = str(error.value)
    assert (
        f"{path}, line {line}" in message
        and f"field '{field}'" in message
        and "'sentiment'" in message
    )


def test_reader_errors_name_the_nested_field(tmp_path):
    path = tmp_path / "tasks.yaml"
    path.write_text(USER_FILE.replace("format: tsv, header: true", "format: xml, header: true"))
    with pytest.raises(
        TaskDefinitionError, match=r"line 6: task 'sentiment', field 'reader.format'"
    ):
        TaskRegistry.builtin().with_file(path)


def test_unknown_field_and_bad_yaml_and_unknown_group_member(tmp_path):
    path = tmp_path / "tasks.yaml"
    path.write_text(USER_FILE.replace("    metrics:", "    metric_list: [x]\n    metrics:"))
    with pytest.raises(TaskDefinitionError, match="field 'metric_list': unknown field"):
        TaskRegistry.builtin().with_file(path)
    path.write_text("tasks: [unclosed\n")
    with pytest.raises(TaskDefinitionError, match="not valid YAML"):
        TaskRegistry.builtin().with_file(path)
    path.write_text(USER_FILE.replace("[sentiment, rte]", "[sentiment, ghost]"))
    with pytest.raises(TaskDefinitionError, match="group 'mine' names unknown task 'ghost'"):
        TaskRegistry.builtin().with_file(path)


def test_san_head_requires_a_pair_classification_task(tmp_path):
    path = tmp_path / "tasks.yaml"
    path.write_text(USER_FILE.replace("    metrics:", "    head: san\n    metrics:"))
    with pytest.raises(TaskDefinitionError, match="field 'head': the SAN head is for pairwise"):
        TaskRegistry.builtin().with_file(path)
