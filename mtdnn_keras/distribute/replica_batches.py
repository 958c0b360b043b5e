"""Splitting each multi-task batch across replicas and workers."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf


def replica_slice(features, y, replica: int, replicas: int, rows_per_example):
    """Replica number `replica`'s part of one batch, out of `replicas`.

    The batch's examples (a ranking group or a question's choices: `rows_per_example[task]`
    rows, kept together) are cut into `replicas` consecutive runs of `ceil(examples /
    replicas)`; the last replicas may get fewer, or none. Every replica keeps the batch's
    padded length and its task."""
    task_id = y["task_id"]
    rows = tf.shape(task_id)[0]
    size = tf.gather(tf.constant(rows_per_example, tf.int32), tf.reduce_max(task_id))
    size = tf.maximum(size, 1)
    examples = rows // size
    per_replica = (examples + replicas - 1) // replicas
    start = tf.minimum(replica * per_replica, examples) * size
    end = tf.minimum((replica + 1) * per_replica, examples) * size

    def cut(value):
        return value[start:end]

    return tf.nest.map_structure(cut, features), tf.nest.map_structure(cut, y)


def distribute_batches(
    strategy: tf.distribute.Strategy,
    make_stream: Callable[[], tf.data.Dataset],
    rows_per_example: list[int],
):
    """The batches of `make_stream()` for `model.fit` under `strategy`.

    With one replica, the stream itself. Otherwise every worker builds the same seeded stream
    (so that all are on the same task at every step) and feeds each of its replicas that
    replica's slice of every batch (`replica_slice`), so each example is seen once per epoch
    across all replicas. `tf.distribute`'s own splitting would shard whole batches across
    workers (putting them on different tasks) and cut ranking groups apart."""
    replicas = strategy.num_replicas_in_sync
    if replicas == 1:
        return make_stream()

    def worker_stream(context: tf.distribute.InputContext) -> tf.data.Dataset:
        local = replicas // context.num_input_pipelines
        first = context.input_pipeline_id * local

        def slices(features, y):
            indices = tf.data.Dataset.range(first, first + local)
            return indices.map(
                lambda replica: replica_slice(
                    features, y, tf.cast(replica, tf.int32), replicas, rows_per_example
                )
            )

        # replicas of a worker take its elements in turn: one slice each per batch
        return make_stream().flat_map(slices).prefetch(tf.data.AUTOTUNE)

    return strategy.distribute_datasets_from_function(worker_stream)
