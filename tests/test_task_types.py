"""Task types: each owns its kind of task, and models saved before they moved still load."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mtdnn_keras.task_types import TASK_TYPES, TaskType

REPO = Path(__file__).resolve().parents[1]
RELEASE_MODEL = Path(__file__).parent / "fixtures" / "release_model"


def test_every_type_is_registered_by_its_own_name():
    assert set(TASK_TYPES) == {
        "classification",
        "regression",
        "ranking",
        "span",
        "multiple_choice",
        "sequence_labeling",
    }
    for name, task_type in TASK_TYPES.items():
        assert isinstance(task_type, TaskType) and task_type.name == name
        assert task_type.metrics, name


def test_no_code_outside_the_task_types_tests_a_type_name():
    found = subprocess.run(
        ["git", "grep", "-n", r"type ==\|\.type in\|type !=\|\.type not in\|\"type\"\] ==",
         "--", "mtdnn_keras", "cli", "export"],
        cwd=REPO, capture_output=True, text=True,
    ).stdout  # fmt: skip
    outside = [line for line in found.splitlines() if "mtdnn_keras/task_types/" not in line]
    assert [line for line in outside if "dtype" not in line] == []


def test_reading_a_task_file_does_not_start_tensorflow():
    code = (
        "import sys\n"
        "from mtdnn_keras.tasks import TaskRegistry\n"
        "from mtdnn_keras.data.example_reader import ExampleReader\n"
        "TaskRegistry.builtin().resolve('glue,conll2003_ner')\n"
        "print('tensorflow' in sys.modules)\n"
    )
    result = subprocess.run(
        [__import__("sys").executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_a_model_saved_by_the_release_before_task_types_loads_and_predicts_the_same():
    """`release_model` was written by commit 9de4ac2 (tests/fixtures/make_release_model.py):
    every task type of that release, their heads named as then."""
    from fixtures.make_release_model import CHOICES, INPUTS

    from mtdnn_keras.inference.predictor import Predictor

    expected = json.loads((RELEASE_MODEL / "predictions.json").read_text(encoding="utf-8"))
    predictor = Predictor.load(str(RELEASE_MODEL))
    assert [t.name for t in predictor.model.tasks] == list(INPUTS)
    for name, (a, b) in INPUTS.items():
        got = predictor.predict(name, a, b, choices=CHOICES if name == "swag_jsonl" else None)
        assert _numbers(got) == pytest.approx(_numbers(expected[name]), abs=1e-5), name
        assert _texts(got) == _texts(expected[name]), name


def _numbers(value):
    if isinstance(value, dict):
        return [n for key in sorted(value) for n in _numbers(value[key])]
    if isinstance(value, list):
        return [n for item in value for n in _numbers(item)]
    return [float(value)] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


def _texts(value):
    if isinstance(value, dict):
        return [t for key in sorted(value) for t in _texts(value[key])]
    if isinstance(value, list):
        return [t for item in value for t in _texts(item)]
    return [value] if isinstance(value, str) else []


def test_types_check_their_own_fields():
    from mtdnn_keras.tasks.task_definition import TaskDefinition, TaskDefinitionError

    with pytest.raises(TaskDefinitionError, match="field 'doc_stride': only span tasks"):
        TaskDefinition.from_dict("t", {"type": "classification", "labels": ["a", "b"],
                                       "reader": {"text_a": "x"}, "doc_stride": 64})  # fmt: skip
    with pytest.raises(TaskDefinitionError, match="field 'tag_scheme': only sequence_labeling"):
        TaskDefinition.from_dict("t", {"type": "regression", "reader": {"text_a": "x"},
                                       "tag_scheme": "iob2"})  # fmt: skip
    with pytest.raises(TaskDefinitionError, match="reader.format.*reads 'conll'"):
        TaskDefinition.from_dict("t", {"type": "sequence_labeling", "labels": ["O", "B-X"],
                                       "reader": {"text_a": "x"}})  # fmt: skip
    with pytest.raises(TaskDefinitionError, match="'I-X' has no B-X"):
        TaskDefinition.from_dict("t", {"type": "sequence_labeling", "labels": ["O", "I-X"],
                                       "tag_scheme": "iob2", "metrics": ["f1"],
                                       "reader": {"format": "conll", "text_a": 0, "label": 1}})  # fmt: skip
    with pytest.raises(TaskDefinitionError, match="f1 scores entities: it needs tag_scheme"):
        TaskDefinition.from_dict("t", {"type": "sequence_labeling", "labels": ["NN", "VB"],
                                       "metrics": ["f1"],
                                       "reader": {"format": "conll", "text_a": 0, "label": 1}})  # fmt: skip
    pos = TaskDefinition.from_dict("t", {"type": "sequence_labeling", "labels": ["NN", "VB"],
                                         "metrics": ["accuracy"],
                                         "reader": {"format": "conll", "text_a": 0, "label": 1}})  # fmt: skip
    assert pos.num_outputs == 2 and pos.kind.name == "sequence_labeling"
    plain = TaskDefinition.from_dict("t", {"type": "sequence_labeling", "labels": ["NN", "VB"],
                                           "reader": {"format": "conll", "text_a": 0, "label": 1}})  # fmt: skip
    assert plain.metrics == ("accuracy",)  # plain tags: token accuracy unless told otherwise
    assert TASK_TYPES["sequence_labeling"].metric_defaults({"tag_scheme": "iob1"}) == (
        "f1", "precision", "recall"
    )  # fmt: skip
    with pytest.raises(TaskDefinitionError, match="field 'test_reader.format': a span task"):
        TaskDefinition.from_dict("t", {"type": "span", "reader": {"format": "squad"},
                                       "test_reader": {"format": "tsv", "text_a": "q"}})  # fmt: skip
    assert np.array_equal(pos.kind.parse_label(pos, ["VB", "NN"]), [1, 0])
