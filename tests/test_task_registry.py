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


def test_a_runs_heads_replace_the_definitions(tmp_path):
    from mtdnn_keras.training.run_plan import resolve_tasks

    rte, mrpc, mnli = resolve_tasks("rte,mrpc,mnli", heads={"rte": "san", "mnli": "linear"})
    assert (rte.head, mrpc.head, mnli.head) == ("san", "linear", "linear")
    assert rte.reader == TaskRegistry.builtin().tasks["rte"].reader  # nothing else changes
    with pytest.raises(TaskDefinitionError, match="--head: task 'stsb', field 'head'"):
        resolve_tasks("stsb", heads={"stsb": "san"})


def test_a_dev_reader_reads_dev_files_written_otherwise(tmp_path):
    """A training sample in one format, the official dev set in another (SNLI's)."""
    from mtdnn_keras.data.example_reader import ExampleReader

    path = tmp_path / "tasks.yaml"
    path.write_text(
        "tasks:\n"
        "  snli_s:\n"
        "    type: classification\n"
        "    labels: [contradiction, entailment, neutral]\n"
        "    reader: {format: jsonl, text_a: text_a, text_b: text_b, label: label, id: id}\n"
        "    dev_reader: {text_a: sentence1, text_b: sentence2, label: gold_label, id: pairID,"
        " skip_labels: ['-']}\n"
    )
    task = TaskRegistry.builtin().with_file(path).tasks["snli_s"]
    reader = ExampleReader(task)
    train = tmp_path / "train.jsonl"
    train.write_text(
        '{"id": "t1", "text_a": "A dog runs.", "text_b": "An animal moves.", '
        '"label": "entailment"}\n'
    )
    dev = tmp_path / "dev.jsonl"
    dev.write_text(
        '{"pairID": "d1", "sentence1": "A man sleeps.", "sentence2": "He is awake.", '
        '"gold_label": "contradiction"}\n'
        '{"pairID": "d2", "sentence1": "A man sleeps.", "sentence2": "He rests.", '
        '"gold_label": "-"}\n'
    )
    (example,) = reader.read(train, "train").examples
    assert (example.id, example.label) == ("t1", 1)
    (example,) = reader.read(dev, "dev").examples  # the unlabelled pair is skipped
    assert (example.id, example.text_b, example.label) == ("d1", "He is awake.", 0)
    assert task.dev_reader.format == "jsonl"  # the fields not given are the reader's
    bad = path.read_text().replace("id: pairID,", "id: pairID, label_map: {x: maybe},")
    path.write_text(bad)
    with pytest.raises(TaskDefinitionError, match="field 'dev_reader.label_map'"):
        TaskRegistry.builtin().with_file(path)


def test_adaptation_refuses_a_head_it_would_not_train():
    from mtdnn_keras.training.run_plan import adaptation_data
    from mtdnn_keras.training.training_config import ConfigError, TrainingConfig

    training = TrainingConfig(tasks="rte", output_dir="-", heads={"rte": "san"})
    with pytest.raises(ConfigError, match="--head: adapt trains a new linear head"):
        adaptation_data("rte", training, holdout=False)
