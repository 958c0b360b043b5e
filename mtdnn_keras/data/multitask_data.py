"""The multi-task `tf.data` pipeline: single-task batches mixed into one stream."""

from __future__ import annotations

import math
import random

import numpy as np
import tensorflow as tf

from mtdnn_keras.data.example_reader import Example
from mtdnn_keras.data.mixing_strategy import MixingStrategy
from mtdnn_keras.data.span_features import SpanFeaturizer
from mtdnn_keras.data.text_pair_encoder import TextPairEncoder, cut_to_length, sequence_length
from mtdnn_keras.tasks.task_definition import TaskDefinition

PADDING_MODES = ("bucket", "batch", "max")
_BUCKET_BOUNDARIES = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384)


class MultiTaskData:
    """Training batches of several tasks, mixed with `tf.data.Dataset.sample_from_datasets`.

    Every task's examples are tokenised once (cached in memory), shuffled each epoch and
    batched alone, so a batch holds one task. Batches are padded to their own longest example
    (`padding="batch"`), additionally grouped by length first (`"bucket"`, the default: less
    padding, as Hugging Face's `group_by_length`), or padded to the task's maximum length
    (`"max"`, for comparison). Ranking tasks batch whole groups of `group_size` candidates.

    Each element is `(x, y)`: `x` the encoder inputs `token_ids`, `segment_ids` (int32) and
    `padding_mask` (bool), each `(batch, length)`; `y = {"task_id": (batch,) int32, "label":
    (batch,) float32}` with the task's index in `tasks` and the class index or score. The
    task id is a per-example vector so that `tf.distribute` can split batches across replicas.

    Args:
        tasks: list of `TaskDefinition`, in model order.
        train_examples: dict of task name to its training examples.
        tokenizer: the encoder's keras-hub tokenizer.
        batch_size: int. Examples per batch (rows; a ranking batch holds
            `batch_size // group_size` groups).
        mixing: `MixingStrategy`.
        padding: str. One of `"bucket"`, `"batch"`, `"max"`.
        seed: int. Seeds shuffling, grouping and task sampling; the same seed gives the same
            batches in the same order.
        main_task: str. With fixed-weight sampling (`weights:`, or `uniform`/`temperature`):
            an epoch ends when this task's batches are exhausted, each taken once (the QA
            follow-up's weighted stochastic batch selection), so epochs differ in length.
            Without it an epoch is `steps_per_epoch` steps.
    """

    def __init__(
        self,
        tasks: list[TaskDefinition],
        train_examples: dict[str, list[Example]],
        tokenizer,
        batch_size: int = 32,
        mixing: MixingStrategy | None = None,
        padding: str = "bucket",
        seed: int = 0,
        main_task: str | None = None,
    ):
        if padding not in PADDING_MODES:
            raise ValueError(
                f"unknown padding {padding!r}; expected one of {', '.join(PADDING_MODES)}"
            )
        self.tasks = tasks
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.mixing = mixing or MixingStrategy()
        self.padding = padding
        self.seed = seed
        self._task_datasets = {}
        self.batch_counts = {}
        for index, task in enumerate(tasks):
            dataset, count = self._task_batches(index, task, train_examples[task.name])
            self._task_datasets[task.name] = dataset
            self.batch_counts[task.name] = count
        self.weights = self.mixing.weights(self.batch_counts)
        self.steps_per_epoch = sum(self.batch_counts.values())
        self.main_task = main_task
        self._orders: list[np.ndarray] = []  # main-task epochs drawn so far, in order
        self._order_rng = np.random.default_rng(seed)
        if main_task is not None:
            if main_task not in self.batch_counts:
                raise ValueError(f"main task {main_task!r} is not one of the tasks trained")
            if not self.mixing.repeats:
                raise ValueError(
                    "a main task ends epochs of fixed-weight sampling: use --mixing weights:..., "
                    "uniform or temperature:T (proportional mixing already takes every batch once)"
                )
            if self.weights[main_task] <= 0:
                raise ValueError(f"main task {main_task!r} has sampling weight 0")
            self.steps_per_epoch = round(self.batch_counts[main_task] / self.weights[main_task])

    def epoch_ends(self, epochs: int) -> list[int]:
        """The step at which each of the first `epochs` epochs ends."""
        if self.main_task is None:
            return [self.steps_per_epoch * (epoch + 1) for epoch in range(epochs)]
        return np.cumsum([len(order) for order in self.task_order(epochs)]).tolist()

    def task_order(self, epochs: int) -> list[np.ndarray]:
        """With a main task: for each epoch, the task index of each of its batches. Tasks are
        drawn with the mixing weights until the main task has been drawn as many times as it
        has batches, so an epoch ends with the main task's last batch."""
        if self.main_task is None:
            raise ValueError("task_order is for main-task epochs; see dataset() otherwise")
        names = [task.name for task in self.tasks]
        weights = np.array([self.weights[name] for name in names])
        main = names.index(self.main_task)
        needed = self.batch_counts[self.main_task]
        # epochs are drawn once, in order, from one seeded stream: asking for more epochs
        # later (epoch_ends, then dataset) extends the same sequence
        while len(self._orders) < epochs:
            order, drawn = [], 0
            while drawn < needed:
                index = int(self._order_rng.choice(len(names), p=weights))
                order.append(index)
                drawn += index == main
            self._orders.append(np.array(order, np.int64))
        return self._orders[:epochs]

    def dataset(self, epochs: int | None = None) -> tf.data.Dataset:
        """Mixed batches, epoch after epoch without end: `steps_per_epoch` of them make an
        epoch (each task's batches once, for proportional mixing), and each epoch is shuffled
        anew. Give `model.fit` `steps_per_epoch`.

        With a main task: the batches of `epochs` epochs in `task_order`, then the end."""
        if self.main_task is not None:
            if epochs is None:
                raise ValueError("with a main task, dataset() needs the number of epochs")
            order = np.concatenate(self.task_order(epochs))
            datasets = [self._task_datasets[task.name].repeat() for task in self.tasks]
            choice = tf.data.Dataset.from_tensor_slices(order)
            mixed = tf.data.Dataset.choose_from_datasets(datasets, choice)
            return mixed.prefetch(tf.data.AUTOTUNE)
        names = [task.name for task in self.tasks if self.weights[task.name] > 0]
        datasets = [self._task_datasets[name] for name in names]
        weights = [self.weights[name] for name in names]
        if self.mixing.repeats:
            datasets = [dataset.repeat() for dataset in datasets]
        if len(datasets) == 1:
            mixed = datasets[0]
        else:
            mixed = tf.data.Dataset.sample_from_datasets(
                datasets,
                weights=weights,
                seed=self.seed,
                stop_on_empty_dataset=False,
                rerandomize_each_iteration=True,
            )
        if self.mixing.repeats:
            mixed = mixed.take(self.steps_per_epoch)
        return mixed.repeat().prefetch(tf.data.AUTOTUNE)

    def task_batches(self, name: str) -> tf.data.Dataset:
        """One epoch of one task's batches, before mixing (`batch_counts[name]` of them)."""
        return self._task_datasets[name]

    def _task_batches(self, index: int, task: TaskDefinition, examples: list[Example]):
        if not examples:
            raise ValueError(f"task '{task.name}' has no training examples")
        if task.type == "span":
            features = SpanFeaturizer.for_task(self.tokenizer, task).featurize(examples)
            encoded = tf.data.Dataset.from_tensor_slices(
                (features.inputs(), features.positions)
            ).map(cut_to_length)
            lengths = features.padding_mask.sum(axis=1)
            return self._length_batches(index, task, encoded.cache(), lengths, span=True)
        encoder = TextPairEncoder(self.tokenizer, task.max_seq_length)
        if task.type == "ranking":
            groups = ranking_groups(examples, task, random.Random(self.seed + index))
            return self._group_batches(index, task, groups, task.group_size, encoder)
        if task.type == "multiple_choice":
            groups = [choice_rows(example) for example in examples]
            return self._group_batches(index, task, groups, task.num_choices, encoder)
        encoded = encoder.dataset(examples, pair=task.is_pair_task).cache()
        lengths = np.fromiter(encoded.map(sequence_length).as_numpy_iterator(), dtype=np.int64)
        return self._length_batches(index, task, encoded, lengths)

    def _length_batches(self, index, task, encoded, lengths, span=False):
        """Shuffled batches of single rows, grouped by length or padded as `padding` says."""
        shuffled = encoded.shuffle(
            len(lengths), seed=self.seed + index, reshuffle_each_iteration=True
        )
        if self.padding == "bucket":
            boundaries = [b for b in _BUCKET_BOUNDARIES if b < task.max_seq_length]
            batches = shuffled.bucket_by_sequence_length(
                sequence_length,
                bucket_boundaries=boundaries,
                bucket_batch_sizes=[self.batch_size] * (len(boundaries) + 1),
            )
            bucket_sizes = np.bincount(np.searchsorted(boundaries, lengths, side="right"))
            count = int(sum(math.ceil(size / self.batch_size) for size in bucket_sizes))
        else:
            shape = [task.max_seq_length] if self.padding == "max" else [None]
            batches = shuffled.padded_batch(
                self.batch_size,
                padded_shapes=({k: shape for k in _FEATURES}, [2] if span else []),
            )
            count = math.ceil(len(lengths) / self.batch_size)
        return batches.map(_with_task_id(index, span)), count

    def _group_batches(self, index, task, groups, group_size, encoder):
        """Shuffled batches of whole groups (a ranking query's candidates, a question's
        choices), `batch_size // group_size` groups a batch, flattened to rows."""
        rows = [member for group in groups for member in group]
        per_group = encoder.dataset(rows, pair=True).padded_batch(
            group_size, padded_shapes=({k: [None] for k in _FEATURES}, [])
        )
        groups_per_batch = max(1, self.batch_size // group_size)
        shape = [None, task.max_seq_length] if self.padding == "max" else [None, None]
        batches = (
            per_group.cache()
            .shuffle(len(groups), seed=self.seed + index, reshuffle_each_iteration=True)
            .padded_batch(groups_per_batch, padded_shapes=({k: shape for k in _FEATURES}, [None]))
            .map(_flatten_groups)
        )
        return batches.map(_with_task_id(index)), math.ceil(len(groups) / groups_per_batch)


_FEATURES = ("token_ids", "segment_ids", "padding_mask")


def eval_dataset(examples: list[Example], task: TaskDefinition, tokenizer, batch_size: int = 64):
    """Batches of encoder inputs in file order (no labels), padded to each batch's longest.

    A multiple-choice example gives `num_choices` rows in a row. Span tasks have their own
    windows (`SpanFeaturizer`)."""
    if task.type == "span":
        raise ValueError("span tasks are evaluated on SpanFeaturizer windows")
    if task.type == "multiple_choice":
        examples = [row for example in examples for row in choice_rows(example)]
    encoder = TextPairEncoder(tokenizer, task.max_seq_length)
    return (
        encoder.dataset(examples, pair=task.is_pair_task)
        .map(lambda features, label: features)
        .padded_batch(batch_size, padded_shapes={k: [None] for k in _FEATURES})
        .apply(tf.data.experimental.assert_cardinality(math.ceil(len(examples) / batch_size)))
        .prefetch(tf.data.AUTOTUNE)
    )


def choice_rows(example: Example) -> list[Example]:
    """A multiple-choice example as one text-pair row per choice, labeled 1 for the right
    choice and 0 for the others (all 0 when unlabeled)."""
    return [
        Example(a, b, float(i == example.label), example.id, example.line)
        for i, (a, b) in enumerate(example.choice_pairs())
    ]


def ranking_groups(
    examples: list[Example], task: TaskDefinition, rng: random.Random
) -> list[list[Example]]:
    """Groups of `group_size` candidates, the positive first, labels 1 (positive) and 0.

    Each positive candidate is grouped with negatives of the same query (`text_a`) and, where
    its query has too few, sentences of other queries' negatives drawn with `rng`, paired with
    this query. GLUE's QNLI (v2) has mostly one candidate per question, so most negatives
    there are borrowed. Groups are drawn once per run, not per epoch.
    """
    positive = task.labels.index(task.positive_label)
    negatives_by_query: dict[str, list[Example]] = {}
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
            [_relabel(m, 1.0 if i == 0 else 0.0, example.text_a) for i, m in enumerate(group)]
        )
    if not groups:
        raise ValueError(
            f"ranking task '{task.name}' has no positive ('{task.positive_label}') candidates"
        )
    return groups


def _relabel(example: Example, label: float, text_a: str | None = None) -> Example:
    return Example(text_a or example.text_a, example.text_b, label, example.id, example.line)


def _flatten_groups(features, labels):
    flat = {name: tf.reshape(value, [-1, tf.shape(value)[-1]]) for name, value in features.items()}
    return flat, tf.reshape(labels, [-1])


def _with_task_id(index: int, span: bool = False):
    """`y` of the common element structure: task ids, labels (float) and answer spans."""

    def attach(features, labels):
        rows = tf.shape(features["token_ids"])[:1]
        y = {"task_id": tf.fill(rows, tf.constant(index, tf.int32))}
        if span:
            y["label"] = tf.zeros(rows, tf.float32)
            y["span"] = tf.cast(labels, tf.int32)
        else:
            y["label"] = labels
            y["span"] = tf.zeros(tf.concat([rows, [2]], 0), tf.int32)
        return features, y

    return attach
