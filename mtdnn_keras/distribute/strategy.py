"""Choosing the `tf.distribute` strategy a run trains under."""

from __future__ import annotations

import functools
import json
import os

STRATEGIES = ("auto", "one", "mirrored", "multi-worker", "tpu")


@functools.cache  # one per process: a multi-worker strategy can only be made once
def make_strategy(name: str = "auto"):
    """The strategy called `name`.

    - `one`: TensorFlow's default strategy: one device (the first GPU if there is one).
    - `mirrored`: `MirroredStrategy` over this machine's GPUs, or over its logical CPU
      devices where it has no GPU (tests make two of them).
    - `multi-worker`: `MultiWorkerMirroredStrategy` over the hosts named in `TF_CONFIG`
      (every worker runs the same command; each holds a copy of the model).
    - `tpu`: `TPUStrategy` on the TPU the resolver finds.
    - `auto`: `multi-worker` when `TF_CONFIG` names more than one worker, else `mirrored`
      when there is more than one GPU, else `one`.

    Create it before any other TensorFlow work: `multi-worker` configures the runtime's
    collective ops, which must happen before TensorFlow starts.
    """
    import tensorflow as tf  # here: the CLI imports this module before it needs TensorFlow

    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}")
    if name == "auto":
        if _cluster_workers() > 1:
            name = "multi-worker"
        elif len(tf.config.list_physical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "one"
    if name == "one":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    if name == "multi-worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError(
                "--strategy multi-worker needs the TF_CONFIG environment variable naming the "
                'cluster and this worker, e.g. {"cluster": {"worker": ["host1:12345", '
                '"host2:12345"]}, "task": {"type": "worker", "index": 0}} (see the README)'
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError) as error:
        raise ValueError(f"--strategy tpu: no TPU found ({error})") from None
    return tf.distribute.TPUStrategy(resolver)


def _cluster_workers() -> int:
    """The number of workers `TF_CONFIG` names (0 without one)."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        return 0
    try:
        cluster = json.loads(text).get("cluster", {})
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON: {error}") from None
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))
