"""What a kind of task (classification, span, sequence labelling...) brings: one class each."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


def check_linear_head(task, fail) -> None:
    if task.head != "linear":
        raise fail("head", "the SAN head is for pairwise classification tasks only")


def softmax(scores: np.ndarray) -> np.ndarray:
    """Probabilities from scores along the last axis."""
    exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


@dataclasses.dataclass
class PreparedInputs:
    """What the model is run on to predict a list of examples, and what decoding its outputs
    needs besides (a span task's windows, a sequence's word pieces)."""

    inputs: Any
    state: Any = None


@dataclasses.dataclass(frozen=True)
class LabelField:
    """One entry of the labels `y` a training batch carries: its shape after the batch axis
    (`None` for the sequence length), dtype and the value that pads it."""

    shape: tuple[int | None, ...]
    dtype: str
    pad: float | int = 0


class TaskType:
    """The interface of a task type, and what most types share.

    A task type owns everything particular to its kind of task: the task file's fields that
    only it takes and their checks, the label a file row holds, the head layers it builds and
    its output, its loss, how a training batch lays out its rows and labels, how the model is
    run on examples and its outputs decoded, the records `predict` writes and `Predictor`
    returns, its metrics, and its serving outputs. The model, the pipeline, the evaluator, the
    predictor and the exporters ask `task.kind` (the type of a `TaskDefinition`) and never
    test a type's name.

    Every method takes the task's `TaskDefinition` (`task`) and, where it works on examples,
    a list of `mtdnn_keras.features.example.Example`s. Type modules import TensorFlow, Keras and
    the data helpers inside the methods that use them: reading and checking a task file asks
    the type, and must not start TensorFlow; and they import nothing of `mtdnn_keras.tasks`,
    which asks them.

    Adding a type: a subclass in a new module of this folder, and one line in
    `mtdnn_keras/task_types/__init__.py`.
    """

    name: str = ""
    # the metrics a task of this type may name, and those it reports when it names none
    metrics: tuple[str, ...] = ()
    default_metrics: tuple[str, ...] | None = None
    # whether the task file lists `labels` (required), or must not
    has_labels: bool = True
    reader_formats: tuple[str, ...] = ("tsv", "jsonl", "csv")
    # task-file fields that only this type takes
    own_fields: tuple[str, ...] = ()
    # the labels `y` of its training batches
    label_fields: dict[str, LabelField] = {"label": LabelField((), "float32")}
    # whether SMART's smoothness term trains the type's tasks (`smart_divergence`)
    supports_smart: bool = False
    # whether an ensemble averages the type's decoded predictions (`Ensemble`)
    ensemble_averages: bool = False

    # === The task file ===

    def metric_defaults(self, fields: dict) -> tuple[str, ...]:
        """The metrics of a task whose file names none (`fields`: the task file's)."""
        return self.default_metrics or self.metrics[:1]

    def check(self, task, fail) -> None:
        """Rules of this type beyond each field's own; `fail(field, message)` makes the
        error to raise."""
        check_linear_head(task, fail)
        if task.reader.choices:
            raise fail("reader.choices", "only multiple-choice tasks have choice columns")

    def with_max_seq_length(self, task, length: int) -> dict:
        """A task's fields (`to_dict`) with another `max_seq_length` (`--max-seq-length`)."""
        return {**task.to_dict(), "max_seq_length": length}

    def describe(self, task) -> str:
        """What the task predicts, for `mtdnn-keras tasks`."""
        return ", ".join(task.labels)

    def num_outputs(self, task) -> int:
        """The width of the head's dense layer."""
        return 1

    def rows_per_example(self, task) -> int:
        """Encoder rows one training example takes; a batch is split between them only."""
        return 1

    def is_pair(self, task) -> bool:
        """Whether an example is a text pair."""
        return task.reader.text_b is not None

    # === Reading ===

    def parse_label(self, task, value):
        """The label of a file row, from the label column's text; `LabelError` if invalid."""
        from mtdnn_keras.features.example import LabelError

        if value not in task.labels:
            raise LabelError(
                "unknown label", f"unknown label {value!r}; expected one of {list(task.labels)}"
            )
        return task.labels.index(value)

    def examples_from_text(self, task, texts_a: list[str], texts_b=None, choices=None):
        """`Predictor.predict`'s raw inputs as examples, checked for this type."""
        from mtdnn_keras.features.example import Example

        if choices is not None:
            raise ValueError(f"task '{task.name}' takes no choices")
        pair = self.is_pair(task)
        if pair and (texts_b is None or len(texts_b) != len(texts_a)):
            raise ValueError(
                f"task '{task.name}' takes sentence pairs: give texts_b, one for each of texts_a"
            )
        if not pair and texts_b is not None:
            raise ValueError(f"task '{task.name}' takes single sentences: texts_b must be None")
        return [
            Example(a, texts_b[i] if texts_b is not None else None, None, str(i), i)
            for i, a in enumerate(texts_a)
        ]

    # === The model ===

    def build_head(self, task, hidden_dim: int, settings: dict):
        """`(dropout, head)`: the layers named `<task>_dropout` and `<task>_head` (the names
        `.keras` files store weights under); the dropout may be `None`."""
        import keras

        dropout = keras.layers.Dropout(task.dropout, name=f"{task.name}_dropout")
        head = keras.layers.Dense(self.num_outputs(task), dtype="float32", name=f"{task.name}_head")
        return dropout, head

    def head_output(self, task, dropout, head, encoded: dict, inputs: dict):
        """The task's output from the encoder's: `encoded` has `sequence_output` and `pooled`
        (what linear heads read)."""
        return head(dropout(encoded["pooled"]))

    def loss(self, task, output, y: dict):
        """The loss summed over the batch's examples (float32 `output`)."""
        raise NotImplementedError

    # === SMART and distillation ===

    def smart_divergence(self, task, clean, perturbed):
        """SMART's divergence between the head's outputs on clean and on perturbed
        embeddings (float32), summed over the batch's examples: what the adversarial step
        ascends and the smoothness term adds (types with `supports_smart`)."""
        raise NotImplementedError(f"{self.name} tasks train without SMART")

    def soft_target_width(self, task) -> int | None:
        """The length of one example's soft target (distillation), or `None`: the type's
        tasks take none."""
        return None

    def soft_target(self, task, record: dict) -> list[float]:
        """One example's soft target from its prediction record, as `records` writes it (an
        ensemble's mean probabilities or score); `KeyError`/`ValueError` if it has none."""
        raise NotImplementedError(f"{self.name} tasks take no soft targets")

    def soft_target_loss(self, task, output, soft):
        """The loss of the head's output (float32) against soft targets `soft` `(batch,
        soft_target_width)`, summed over the batch's examples."""
        raise NotImplementedError(f"{self.name} tasks take no soft targets")

    # === Training batches ===

    def train_batches(self, task, examples, batcher, index: int):
        """One epoch of the task's shuffled batches `(features, labels)`, and their count;
        `batcher` is the `MultiTaskData` that mixes them (its `tokenizer`, `length_batches`
        and `group_batches`)."""
        from mtdnn_keras.features.text_pair_encoder import TextPairEncoder, sequence_length

        encoder = TextPairEncoder(batcher.tokenizer, task.max_seq_length)
        encoded = encoder.dataset(examples, pair=self.is_pair(task))
        soft = batcher.soft_targets.get(task.name)
        if soft is None:
            encoded = encoded.map(lambda features, label: (features, {"label": label}))
        else:  # distillation: each example's soft target beside its label
            import tensorflow as tf

            from mtdnn_keras.losses.distillation_loss import SOFT_TARGET_FIELD

            encoded = tf.data.Dataset.zip(encoded, tf.data.Dataset.from_tensor_slices(soft)).map(
                lambda pair, target: (pair[0], {"label": pair[1], SOFT_TARGET_FIELD: target})
            )
        encoded = encoded.cache()
        lengths = np.fromiter(encoded.map(sequence_length).as_numpy_iterator(), dtype=np.int64)
        return batcher.length_batches(index, task, encoded, lengths)

    # === Predictions ===

    def prediction_inputs(self, task, examples, tokenizer, batch_size: int) -> PreparedInputs:
        """Batches of encoder inputs in example order (padded to each batch's longest)."""
        from mtdnn_keras.features.text_pair_encoder import text_batches

        return PreparedInputs(
            text_batches(examples, tokenizer, task.max_seq_length, self.is_pair(task), batch_size)
        )

    def decode(self, task, outputs, examples, prepared):
        """One prediction per example from the head's outputs (a list of arrays, one for
        each batch of `prediction_inputs`)."""
        raise NotImplementedError

    def records(self, task, predictions: list, examples):
        """What `Predictor` returns and `predict` writes, one dict per example."""
        raise NotImplementedError

    def submission_value(self, task, record: dict) -> str:
        """The `prediction` column of a GLUE submission file: the label as the task's
        files write it (CoLA's `0`/`1`)."""
        return task.file_label(str(record["label"]))

    def official_json(self, task, examples, records) -> dict | None:
        """The official prediction file of a `.json` output (SQuAD's `{id: answer}`), or
        `None` for JSON lines of the records."""
        return None

    def scores(self, task, predictions: list, examples) -> dict:
        """The task's metrics over a whole set, 0-100."""
        raise NotImplementedError

    def tuned_fields(self, scores: dict) -> dict:
        """Task fields tuned on a dev set from its scores (stored with the best model)."""
        return {}

    # === Serving ===

    def serving_outputs(self, task, output, inputs) -> dict:
        """The SavedModel signature's outputs from the head's output; `inputs` are the
        request's `(token_ids, segment_ids, padding_mask)`."""
        import tensorflow as tf

        return {"scores": tf.cast(output, tf.float32)}

    def per_token_outputs(self) -> tuple[str, ...]:
        """The serving outputs with a column per token (cut to the request's length)."""
        return ()

    def has_text_signature(self, task) -> bool:
        """Whether the SavedModel gets a `<task>_text` signature (raw text in)."""
        return True

    def text_features(self, task, tokenizer, text_a, text_b=None):
        """The text signature's encoder inputs `(batch, max_seq_length)` for string tensors,
        in the graph, and what `text_outputs` needs besides (here nothing)."""
        from mtdnn_keras.features.text_pair_encoder import TextPairEncoder

        return TextPairEncoder(tokenizer, task.max_seq_length).encode_batch(text_a, text_b), None

    def text_outputs(self, task, output, inputs, words) -> dict:
        """The text signature's outputs: by default those of the ids signature."""
        return self.serving_outputs(task, output, inputs)

    def serving_records(self, task, outputs: dict, texts=None) -> list[dict]:
        """`SavedModelPredictor`'s records from a text signature's outputs (for the request's
        `texts`)."""
        return [{"score": float(s)} for s in np.asarray(outputs["scores"])]
