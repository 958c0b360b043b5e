"""Classification: a softmax over the task's labels (a linear head, or SAN for pairs)."""

from __future__ import annotations

import numpy as np

from mtdnn_keras.task_types.task_type import TaskType, softmax


class Classification(TaskType):
    """A softmax over `labels`, cross-entropy; metrics `accuracy`, `f1` (the positive class,
    label 1, of a binary task) and `mcc`.

    `head: san` (pairwise tasks only) reads the token vectors with the paper's stochastic
    answer network, whose output is log-probabilities; the linear head's is logits."""

    name = "classification"
    metrics = ("accuracy", "f1", "mcc")
    supports_smart = True
    ensemble_averages = True

    def check(self, task, fail) -> None:
        if task.reader.choices:
            raise fail("reader.choices", "only multiple-choice tasks have choice columns")
        if task.head == "san" and task.reader.text_b is None:
            raise fail("head", "the SAN head is for pairwise classification tasks only")
        if "f1" in task.metrics and len(task.labels) != 2:
            raise fail("metrics", "f1 is the positive class's F1: binary tasks (2 labels) only")

    def num_outputs(self, task) -> int:
        return len(task.labels)

    def build_head(self, task, hidden_dim, settings):
        if task.head != "san":
            return super().build_head(task, hidden_dim, settings)
        from mtdnn_keras.layers.san_answer_module import SANAnswerModule

        # SAN applies the task's dropout to its memories itself
        return None, SANAnswerModule(
            num_classes=self.num_outputs(task),
            hidden_dim=hidden_dim,
            num_steps=settings["san_steps"],
            step_dropout=settings["san_step_dropout"],
            dropout=task.dropout,
            dtype="float32",
            name=f"{task.name}_head",
        )

    def head_output(self, task, dropout, head, encoded, inputs):
        if task.head == "san":
            return head(encoded["sequence_output"], inputs["segment_ids"], inputs["padding_mask"])
        return super().head_output(task, dropout, head, encoded, inputs)

    def loss(self, task, output, y):
        from mtdnn_keras.losses.cross_entropy import summed_cross_entropy

        return summed_cross_entropy(y["label"], output)

    def smart_divergence(self, task, clean, perturbed):
        from mtdnn_keras.losses.divergences import symmetric_kl

        return symmetric_kl(clean, perturbed)

    def soft_target_width(self, task) -> int:
        return len(task.labels)

    def soft_target(self, task, record):
        return [float(record["probabilities"][label]) for label in task.labels]

    def soft_target_loss(self, task, output, soft):
        from mtdnn_keras.losses.divergences import soft_cross_entropy

        return soft_cross_entropy(soft, output)

    def decode(self, task, outputs, examples, prepared):
        return list(softmax(np.concatenate(outputs)))

    def records(self, task, predictions, examples):
        return [
            {
                "label": task.labels[int(np.argmax(p))],
                "probabilities": dict(zip(task.labels, map(float, p))),
            }
            for p in predictions
        ]

    def scores(self, task, predictions, examples):
        from mtdnn_keras.metrics.glue_metrics import metric_scores

        predicted = np.array([int(np.argmax(p)) for p in predictions])
        gold = np.array([example.label for example in examples])
        return metric_scores(task.name, task.metrics, predicted, gold, positive=1)

    def serving_outputs(self, task, output, inputs):
        import tensorflow as tf

        # logits, or a SAN head's log-probabilities: softmax gives the probabilities of both
        probabilities = tf.nn.softmax(tf.cast(output, tf.float32), axis=-1)
        return {
            "probabilities": probabilities,
            "label_ids": tf.argmax(probabilities, axis=-1, output_type=tf.int32),
        }

    def serving_records(self, task, outputs, texts=None):
        return [
            {"label": task.labels[int(i)], "probabilities": dict(zip(task.labels, map(float, p)))}
            for i, p in zip(outputs["label_ids"], outputs["probabilities"])
        ]
