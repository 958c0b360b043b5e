"""The multi-task `tf.data` pipeline: single-task batches mixed into one stream."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from mtdnn_keras.data.mixing_strategy import MixingStrategy
from mtdnn_keras.features.example import Example
from mtdnn_keras.features.text_pair_encoder import sequence_length
from mtdnn_keras.losses.distillation_loss import SOFT_TARGET_FIELD
from mtdnn_keras.task_types.task_type import LabelField
from mtdnn_keras.tasks.task_definition import TaskDefinition

PADDING_MODES = ("bucket", "batch", "max")
_BUCKET_BOUNDARIES = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384)


class MultiTaskData:
    """Training batches of several tasks, mixed with `tf.data.Dataset.sample_from_datasets`.

    Every task's examples are tokenised once (cached in memory), shuffled each epoch and
    batched alone, so a batch holds one task; how a task's rows and labels are laid out is
    its type's (`TaskType.train_batches`). Batches are padded to their own longest example
    (`padding="batch"`), additionally grouped by length first (`"bucket"`, the default: less
    padding, as Hugging Face's `group_by_length`), or padded to the task's maximum length
    (`"max"`, for comparison). Ranking tasks batch whole groups of `group_size` candidates.

    Each element is `(x, y)`: `x` the encoder inputs `token_ids`, `segment_ids` (int32) and
    `padding_mask` (bool), each `(batch, length)`; `y` holds `task_id` `(batch,)` int32, the
    task's index in `tasks`, and the labels of every type in the run (`TaskType.label_fields`:
    `label` `(batch,)` float32, a class index or score; `span` `(batch, 2)`; `tags` `(batch,
    length)`; with distillation `soft_target`), zeros where the batch's task has none:
    `sample_from_datasets` needs one structure. The task id is a per-example vector so that `tf.distribute` can split batches
    across replicas.

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
        soft_targets: dict of task name to `(examples, width)` float32 soft targets aligned
            with its `train_examples` (distillation; `SoftTargets.for_examples`). Their
            batches carry them as `y["soft_target"]`, zero-padded to the widest; every other
            batch of the run carries zeros there.
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
        soft_targets: dict[str, np.ndarray] | None = None,
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
        self.soft_targets = soft_targets or {}
        self.label_fields = {}
        for task in tasks:
            self.label_fields.update(self._label_fields(task))
        self._task_datasets = {}
        self.batch_counts = {}
        for index, task in enumerate(tasks):
            examples = train_examples[task.name]
            if not examples:
                raise ValueError(f"task '{task.name}' has no training examples")
            dataset, count = task.kind.train_batches(task, examples, self, index)
            self._task_datasets[task.name] = dataset.map(self._common_structure(index))
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

    def length_batches(self, index: int, task: TaskDefinition, encoded, lengths):
        """Shuffled batches of single rows `(features, labels)` (unbatched in `encoded`,
        `lengths` their lengths), grouped by length or padded as `padding` says, and their
        count."""
        shuffled = encoded.shuffle(
            len(lengths), seed=self.seed + index, reshuffle_each_iteration=True
        )
        if self.padding == "bucket":
            boundaries = [b for b in _BUCKET_BOUNDARIES if b < task.max_seq_length]
            batches = shuffled.bucket_by_sequence_length(
                sequence_length,
                bucket_boundaries=boundaries,
                bucket_batch_sizes=[self.batch_size] * (len(boundaries) + 1),
                padding_values=self._padding_values(task),
            )
            bucket_sizes = np.bincount(np.searchsorted(boundaries, lengths, side="right"))
            count = int(sum(math.ceil(size / self.batch_size) for size in bucket_sizes))
        else:
            length = task.max_seq_length if self.padding == "max" else None
            fields = self._label_fields(task)
            batches = shuffled.padded_batch(
                self.batch_size,
                padded_shapes=(
                    {k: [length] for k in _FEATURES},
                    {k: [length if d is None else d for d in f.shape] for k, f in fields.items()},
                ),
                padding_values=self._padding_values(task),
            )
            count = math.ceil(len(lengths) / self.batch_size)
        return batches, count

    def _label_fields(self, task: TaskDefinition) -> dict[str, LabelField]:
        """The labels of the task's batches: its type's, and its soft targets if it has them
        (each row's, zero-padded to the run's widest)."""
        fields = dict(task.kind.label_fields)
        if task.name in self.soft_targets:
            width = max(targets.shape[1] for targets in self.soft_targets.values())
            fields[SOFT_TARGET_FIELD] = LabelField((width,), "float32")
        return fields

    def _padding_values(self, task: TaskDefinition):
        features = {"token_ids": 0, "segment_ids": 0, "padding_mask": False}
        labels = {
            name: tf.constant(field.pad, field.dtype)
            for name, field in self._label_fields(task).items()
        }
        return ({k: tf.constant(v, _FEATURE_DTYPES[k]) for k, v in features.items()}, labels)

    def group_batches(self, index: int, task: TaskDefinition, groups, group_size: int, encoder):
        """Shuffled batches of whole groups (a ranking query's candidates, a question's
        choices; `label` 1 for the right row, 0 for the others), `batch_size // group_size`
        groups a batch, flattened to rows, and their count."""
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
        return batches, math.ceil(len(groups) / groups_per_batch)

    def _common_structure(self, index: int):
        """`y` of the common element structure: the task id, and every label field of the
        run (zeros where the task has none)."""
        fields = self.label_fields

        def attach(features, labels):
            rows = tf.shape(features["token_ids"])[:1]
            length = tf.shape(features["token_ids"])[1:2]
            y = {"task_id": tf.fill(rows, tf.constant(index, tf.int32))}
            for name, field in fields.items():
                if name in labels:
                    y[name] = tf.cast(labels[name], field.dtype)
                    continue
                shape = [length if d is None else tf.constant([d]) for d in field.shape]
                y[name] = tf.zeros(tf.concat([rows, *shape], 0), field.dtype)
            return features, y

        return attach


_FEATURES = ("token_ids", "segment_ids", "padding_mask")
_FEATURE_DTYPES = {"token_ids": tf.int32, "segment_ids": tf.int32, "padding_mask": tf.bool}


def _flatten_groups(features, labels):
    flat = {name: tf.reshape(value, [-1, tf.shape(value)[-1]]) for name, value in features.items()}
    return flat, {"label": tf.reshape(labels, [-1])}
