"""The multiple-choice head (SWAG): rows per choice, softmax over choices, its data."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import require_data, tiny_backbone

from mtdnn_keras.data.example_reader import DataError, ExampleReader
from mtdnn_keras.data.mixing_strategy import MixingStrategy
from mtdnn_keras.data.multitask_data import MultiTaskData
from mtdnn_keras.models.mtdnn_model import MTDNNModel
from mtdnn_keras.tasks import TaskRegistry

TASKS = TaskRegistry.builtin().tasks
SWAG_HEADER = (
    ",video-id,fold-ind,startphrase,sent1,sent2,gold-source,ending0,ending1,ending2,ending3,label"
)


def test_choice_loss_on_a_known_example():
    model = MTDNNModel(tiny_backbone(50), [TASKS["swag"], TASKS["squad2"]])
    scores = tf.constant([1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0])  # two questions
    labels = {"label": tf.constant([0, 0, 1, 0, 1, 0, 0, 0], tf.float32), "span": None}
    loss = model._loss_fn(TASKS["swag"], scores, labels)()
    first = np.log(np.exp([1.0, 2, 3, 4]).sum()) - 3.0  # -log softmax of the right choice
    second = np.log(4.0)
    # summed over questions: the step divides by the whole batch's count (on every replica)
    assert float(loss) == pytest.approx(first + second, rel=1e-6)


def test_span_loss_on_a_known_example():
    model = MTDNNModel(tiny_backbone(50), [TASKS["swag"], TASKS["squad2"]])
    logits = np.zeros((1, 4, 2), np.float32)
    logits[0, 2, 0] = 2.0  # start logits [0, 0, 2, 0]; end logits all 0
    labels = {"label": tf.zeros([1]), "span": tf.constant([[2, 3]], tf.int32)}
    loss = model._loss_fn(TASKS["squad2"], tf.constant(logits), labels)()
    expected = (np.log(3 + np.exp(2.0)) - 2.0) + np.log(4.0)  # CE(start) + CE(end)
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def test_output_shapes(minilm_tokenizer):
    model = MTDNNModel(
        tiny_backbone(minilm_tokenizer.vocabulary_size()), [TASKS["swag"], TASKS["squad2"]]
    )
    x = {
        "token_ids": np.ones((8, 12), "int32"),
        "segment_ids": np.zeros((8, 12), "int32"),
        "padding_mask": np.arange(12)[None, :] < np.array([12, 12, 9, 9, 5, 5, 5, 5])[:, None],
    }
    outputs = model(x)
    assert outputs["swag"].shape == (8,)  # one score per row (choice)
    assert outputs["squad2"].shape == (8, 12, 2)  # start and end logits per token
    assert float(np.max(outputs["squad2"].numpy()[4, 5:])) == -10000.0  # padding never wins


def test_swag_batches_hold_whole_questions(minilm_tokenizer):
    path = require_data("swag", "sample.jsonl")
    task = TASKS["swag_jsonl"]
    examples = ExampleReader(task).read(path, "train").examples
    data = MultiTaskData(
        [task],
        {task.name: examples},
        minilm_tokenizer,
        batch_size=16,
        mixing=MixingStrategy.parse("proportional"),
        padding="batch",
    )
    assert data.batch_counts[task.name] == 3  # 10 questions, 4 a batch (16 rows / 4 choices)
    rows = 0
    for x, y in data.task_batches(task.name).as_numpy_iterator():
        assert x["token_ids"].shape[0] % 4 == 0
        labels = y["label"].reshape(-1, 4)
        assert (labels.sum(axis=1) == 1).all()  # one right ending a question
        rows += x["token_ids"].shape[0]
    assert rows == 40


def test_swag_official_csv(tmp_path):
    path = tmp_path / "val.csv"
    path.write_text(
        SWAG_HEADER + "\n"
        '0,lsmdc1,17,"Someone, smiling, sits.","Someone, smiling,",He,gold,"waves, happily.",'
        "runs.,sleeps.,eats.,0\n"
        "1,lsmdc2,18,A man walks.,A man,He,gen,stops.,starts.,sits.,stands.,3\n",
        encoding="utf-8",
    )
    examples = ExampleReader(TASKS["swag"]).read(path, "dev").examples
    assert [e.label for e in examples] == [0, 3]
    assert examples[0].choice_pairs()[0] == ("Someone, smiling,", "He waves, happily.")
    assert examples[1].choices == ("stops.", "starts.", "sits.", "stands.")


@pytest.mark.parametrize(
    "row, field, message",
    [
        ("2,v,1,s,A man,He,gen,a,b,c,d,4", "label", "0 to 3, got '4'"),
        ("2,v,1,s,A man,He,gen,a,b,c,d,x", "label", "0 to 3, got 'x'"),
        ("2,v,1,s,A man,He,gen,a,,c,d,1", "ending1", "empty choice 1"),
        ("2,v,1,s,A man,He,gen,a,b,c,1", None, "expected 12 comma-separated columns, got 11"),
    ],
)
def test_bad_swag_rows_name_line_and_field(tmp_path, row, field, message):
    path = tmp_path / "train.csv"
    path.write_text(SWAG_HEADER + "\n1,v,0,s,A,B,gen,a,b,c,d,0\n" + row + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=message) as error:
        ExampleReader(TASKS["swag"]).read(path, "train")
    assert error.value.line == 3
    assert error.value.field == field
