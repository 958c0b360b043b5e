"""Answers raw text with an exported SavedModel; needs only TensorFlow and tensorflow-text."""

from __future__ import annotations

import json
from pathlib import Path

import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the ops of the text signatures)

from mtdnn_keras.tasks.task_definition import TaskDefinition

SIGNATURES_FILE = "mtdnn_keras_signatures.json"


class SavedModelPredictor:
    """Predictions from a `mtdnn-keras export --format saved_model` folder, in batches, through
    its `<task>_text` signatures. Imports neither Keras nor keras-hub, so a serving process
    needs only `tensorflow` and `tensorflow-text`.

    Texts longer than the task's `max_seq_length` are truncated (round robin between the two
    texts of a pair), as in training; empty texts are read as `[CLS] [SEP]`.

    Args:
        path: the version folder (`exports/serving/mtdnn/1`).
        batch_size: int. Rows per call of the signature.

    Examples:
    ```python
    predictor = SavedModelPredictor("exports/serving/mtdnn/1")
    predictor.predict("rte", ["A man is eating."], ["Someone eats."])
    # [{"label": "entailment", "probabilities": {"entailment": 0.91, "not_entailment": 0.09}}]
    ```
    """

    def __init__(self, path: str | Path, batch_size: int = 32):
        self.path = Path(path)
        description = self.path / "assets.extra" / SIGNATURES_FILE
        if not description.is_file():
            raise FileNotFoundError(
                f"{self.path} is not a mtdnn-keras SavedModel export (no assets.extra/{SIGNATURES_FILE})"
            )
        self.tasks = {
            name: TaskDefinition.from_dict(name, {k: v for k, v in fields.items() if k != "name"})
            for name, fields in json.loads(description.read_text(encoding="utf-8"))[
                "tasks"
            ].items()
        }
        self.model = tf.saved_model.load(str(self.path))
        self.batch_size = batch_size

    def predict(
        self, task: str, texts_a: list[str], texts_b: list[str] | None = None
    ) -> list[dict]:
        """One dict per input: `label` and `probabilities` (classification), `score`
        (regression), `relevance` and `label` (ranking), or `words`, `tags` and `entities`
        (sequence labelling), as `mtdnn_keras.Predictor`."""
        if task not in self.tasks:
            raise KeyError(f"no task {task!r} in this export; it has {sorted(self.tasks)}")
        name = f"{task}_text"
        if name not in self.model.signatures:
            raise ValueError(
                f"task '{task}' has no text signature (span and multiple-choice tasks take "
                "token ids)"
            )
        for argument, texts in (("texts_a", texts_a), ("texts_b", texts_b)):
            if (texts is not None or argument == "texts_a") and not _is_list_of_strings(texts):
                raise TypeError(f"{argument} must be a list of strings")
        definition = self.tasks[task]
        pair = definition.is_pair_task
        if pair and (texts_b is None or len(texts_b) != len(texts_a)):
            raise ValueError(f"task '{task}' takes pairs: give texts_b, one for each of texts_a")
        if not pair and texts_b is not None:
            raise ValueError(f"task '{task}' takes single texts: texts_b must be None")
        signature = self.model.signatures[name]
        results = []
        for start in range(0, len(texts_a), self.batch_size):
            feed = {"text_a": tf.constant(texts_a[start : start + self.batch_size], tf.string)}
            if pair:
                feed["text_b"] = tf.constant(texts_b[start : start + self.batch_size], tf.string)
            outputs = {k: v.numpy() for k, v in signature(**feed).items()}
            texts = texts_a[start : start + self.batch_size]
            results.extend(definition.kind.serving_records(definition, outputs, texts))
        return results


def _is_list_of_strings(texts) -> bool:
    return isinstance(texts, (list, tuple)) and all(isinstance(t, str) for t in texts)
