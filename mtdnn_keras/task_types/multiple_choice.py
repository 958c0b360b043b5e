"""Multiple choice: a score per candidate ending, softmax over a question's choices (SWAG)."""

from __future__ import annotations

import numpy as np

from mtdnn_keras.features.example import LabelError
from mtdnn_keras.task_types.task_type import TaskType, check_linear_head, softmax


class MultipleChoice(TaskType):
    """A score per `[CLS] context [SEP] ending [SEP]` row, softmax over the question's
    choices; the label column holds the right choice's index. Metric `accuracy`."""

    name = "multiple_choice"
    metrics = ("accuracy",)
    has_labels = False
    ensemble_averages = True

    def check(self, task, fail) -> None:
        check_linear_head(task, fail)
        if len(task.reader.choices) < 2:
            raise fail("reader.choices", "a multiple-choice task names at least 2 choice columns")

    def describe(self, task) -> str:
        return f"{task.num_choices} choices"

    def rows_per_example(self, task) -> int:
        return task.num_choices

    def is_pair(self, task) -> bool:
        return True

    def parse_label(self, task, value):
        if value not in [str(i) for i in range(task.num_choices)]:
            raise LabelError(
                "unknown label",
                f"expected the right choice's index, 0 to {task.num_choices - 1}, got {value!r}",
            )
        return int(value)

    def examples_from_text(self, task, texts_a, texts_b=None, choices=None):
        from mtdnn_keras.features.example import Example

        if choices is None or len(choices) != len(texts_a):
            raise ValueError(f"task '{task.name}' needs choices: a list of endings per context")
        wrong = [i for i, c in enumerate(choices) if len(c) != task.num_choices]
        if wrong:
            raise ValueError(
                f"task '{task.name}' scores {task.num_choices} choices; input {wrong[0]} has "
                f"{len(choices[wrong[0]])}"
            )
        return [
            Example(a, texts_b[i] if texts_b else None, None, str(i), i, choices=tuple(c))
            for i, (a, c) in enumerate(zip(texts_a, choices))
        ]

    def head_output(self, task, dropout, head, encoded, inputs):
        from keras import ops

        return ops.squeeze(super().head_output(task, dropout, head, encoded, inputs), -1)

    def loss(self, task, output, y):
        from keras import ops

        from mtdnn_keras.losses.cross_entropy import summed_cross_entropy

        # rows are choices; label 1 marks the right one
        scores = ops.reshape(output, (-1, task.num_choices))
        answer = ops.argmax(ops.reshape(y["label"], (-1, task.num_choices)), axis=-1)
        return summed_cross_entropy(answer, scores)

    def train_batches(self, task, examples, batcher, index):
        from mtdnn_keras.features.text_pair_encoder import TextPairEncoder

        groups = [choice_rows(example) for example in examples]
        encoder = TextPairEncoder(batcher.tokenizer, task.max_seq_length)
        return batcher.group_batches(index, task, groups, task.num_choices, encoder)

    def prediction_inputs(self, task, examples, tokenizer, batch_size):
        rows = [row for example in examples for row in choice_rows(example)]
        return super().prediction_inputs(task, rows, tokenizer, batch_size)

    def decode(self, task, outputs, examples, prepared):
        scores = np.concatenate(outputs).reshape(-1, task.num_choices)
        return list(softmax(scores))

    def records(self, task, predictions, examples):
        records = []
        for example, probabilities in zip(examples, predictions):
            choice = int(np.argmax(probabilities))
            records.append(
                {
                    "label": choice,
                    "choice": example.choices[choice],
                    "probabilities": [float(p) for p in probabilities],
                }
            )
        return records

    def scores(self, task, predictions, examples):
        from mtdnn_keras.metrics.glue_metrics import metric_scores

        predicted = np.array([int(np.argmax(p)) for p in predictions])
        gold = np.array([example.label for example in examples])
        return metric_scores(task.name, task.metrics, predicted, gold)

    def has_text_signature(self, task) -> bool:
        return False  # its text form needs the choices: the ids signature only


def choice_rows(example) -> list:
    """A multiple-choice example as one text-pair row per choice, labeled 1 for the right
    choice and 0 for the others (all 0 when unlabeled)."""
    from mtdnn_keras.features.example import Example

    return [
        Example(a, b, float(i == example.label), example.id, example.line)
        for i, (a, b) in enumerate(example.choice_pairs())
    ]
