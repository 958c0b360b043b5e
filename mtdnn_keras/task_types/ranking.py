"""Ranking: the paper's pairwise ranking of a query's candidates (QNLI as ranking)."""

from __future__ import annotations

import random

import numpy as np

from mtdnn_keras.task_types.task_type import TaskType


class Ranking(TaskType):
    """A relevance `Rel(Q, A) = sigmoid(w x)` per candidate, trained with the listwise loss
    over groups of `group_size` candidates holding one `positive_label` one; a candidate is
    predicted positive above relevance 0.5. Metrics `accuracy` and `f1` (of the positive
    label)."""

    name = "ranking"
    metrics = ("accuracy", "f1")
    own_fields = ("positive_label", "group_size", "ranking_gamma")
    supports_smart = True
    ensemble_averages = True

    def check(self, task, fail) -> None:
        super().check(task, fail)
        if task.positive_label not in task.labels:
            raise fail(
                "positive_label",
                f"expected one of the labels {list(task.labels)}, got {task.positive_label!r}",
            )

    def rows_per_example(self, task) -> int:
        return task.group_size

    def head_output(self, task, dropout, head, encoded, inputs):
        from keras import ops

        return ops.sigmoid(
            ops.squeeze(super().head_output(task, dropout, head, encoded, inputs), -1)
        )

    def loss(self, task, output, y):
        from keras import ops

        from mtdnn_keras.losses.ranking_loss import listwise_ranking_loss

        return ops.sum(
            listwise_ranking_loss(
                output, y["label"], task.group_size, task.ranking_gamma, reduction="none"
            )
        )

    def smart_divergence(self, task, clean, perturbed):
        from keras import ops

        from mtdnn_keras.losses.divergences import symmetric_kl

        # a query's candidates, as the listwise loss reads them
        def group(relevance):
            return ops.reshape(relevance * task.ranking_gamma, (-1, task.group_size))

        return symmetric_kl(group(clean), group(perturbed))

    def train_batches(self, task, examples, batcher, index):
        from mtdnn_keras.features.text_pair_encoder import TextPairEncoder

        groups = ranking_groups(examples, task, random.Random(batcher.seed + index))
        encoder = TextPairEncoder(batcher.tokenizer, task.max_seq_length)
        return batcher.group_batches(index, task, groups, task.group_size, encoder)

    def _label_indices(self, task, relevances):
        positive = task.labels.index(task.positive_label)
        negative = next(i for i in range(len(task.labels)) if i != positive)
        return np.where(np.asarray(relevances) > 0.5, positive, negative)

    def decode(self, task, outputs, examples, prepared):
        return [float(relevance) for relevance in np.concatenate(outputs)]

    def records(self, task, predictions, examples):
        labels = self._label_indices(task, predictions)
        return [
            {"label": task.labels[int(label)], "relevance": relevance}
            for label, relevance in zip(labels, predictions)
        ]

    def scores(self, task, predictions, examples):
        from mtdnn_keras.metrics.glue_metrics import metric_scores

        gold = np.array([example.label for example in examples])
        return metric_scores(
            task.name,
            task.metrics,
            self._label_indices(task, predictions),
            gold,
            positive=task.labels.index(task.positive_label),
        )

    def serving_records(self, task, outputs, texts=None):
        return self.records(task, [float(s) for s in np.asarray(outputs["scores"])], None)


def ranking_groups(examples, task, rng: random.Random) -> list[list]:
    """Groups of `group_size` candidates, the positive first, labels 1 (positive) and 0.

    Each positive candidate is grouped with negatives of the same query (`text_a`) and, where
    its query has too few, sentences of other queries' negatives drawn with `rng`, paired with
    this query. GLUE's QNLI (v2) has mostly one candidate per question, so most negatives
    there are borrowed. Groups are drawn once per run, not per epoch.
    """
    from mtdnn_keras.features.example import Example

    positive = task.labels.index(task.positive_label)
    negatives_by_query: dict[str, list] = {}
    all_negatives = []
    for example in examples:
        if example.label != positive:
            negatives_by_query.setdefault(example.text_a, []).append(example)
            all_negatives.append(example)
    if not all_negatives:
        raise ValueError(f"ranking task '{task.name}' has no negative candidates to rank against")
    groups = []
    for example in examples:
        if example.label != positive:
            continue
        own = list(negatives_by_query.get(example.text_a, []))
        rng.shuffle(own)
        chosen = own[: task.group_size - 1]
        while len(chosen) < task.group_size - 1:
            candidate = rng.choice(all_negatives)
            if candidate.text_a != example.text_a or len(own) == len(all_negatives):
                chosen.append(candidate)
        # every candidate, a borrowed negative's sentence too, is ranked against this query
        group = [example, *chosen]
        groups.append(
            [
                Example(example.text_a, m.text_b, 1.0 if i == 0 else 0.0, m.id, m.line)
                for i, m in enumerate(group)
            ]
        )
    if not groups:
        raise ValueError(
            f"ranking task '{task.name}' has no positive ('{task.positive_label}') candidates"
        )
    return groups
