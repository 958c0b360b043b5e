"""One process of tests/test_distribution.py: a tf.distribute strategy must be configured
before TensorFlow starts, so each case runs here, in a fresh process.

    python tests/distributed_worker.py mirrored DATA_DIR ENCODER OUT
        trains the same steps on one device and mirrored on 2 logical CPUs (dropout off),
        writing each one's per-step losses (OUT/losses.json) and weights (OUT/<name>.npz).
    python tests/distributed_worker.py mirrored-smart DATA_DIR ENCODER OUT
        the same with SMART's adversarial term.
    python tests/distributed_worker.py multi-worker DATA_DIR ENCODER OUT
        (with TF_CONFIG) records the task and the examples of each step of one epoch as this
        worker's replica sees them, and every task's examples (OUT/epoch.json), then trains with `fit` under
        `--strategy multi-worker` into OUT/run.
"""

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TASKS = "rte,stsb,qnli_ranking,swag_jsonl"  # a ranking and a multiple-choice task: groups
BATCH_SIZE = 6  # odd splits: 3 groups of 2, 1 question of 4 choices, uneven last batches
STEPS = 12


def _training_setup(data_dir, encoder, dropout):
    import dataclasses

    from mtdnn_keras.data.data_options import DataOptions
    from mtdnn_keras.data.data_source import source_for
    from mtdnn_keras.data.mixing_strategy import MixingStrategy
    from mtdnn_keras.data.multitask_data import MultiTaskData
    from mtdnn_keras.training.run_plan import resolve_tasks
    from mtdnn_keras.training.starting_point import StartingPoint

    start = StartingPoint.from_encoder(str(encoder))
    tasks = resolve_tasks(TASKS, max_seq_length=32)
    if not dropout:
        start.backbone_config["dropout"] = 0.0
        tasks = [dataclasses.replace(task, dropout=0.0) for task in tasks]
    examples = {
        task.name: source_for(task, "train", DataOptions(data_dir=data_dir)).read().examples
        for task in tasks
    }
    data = MultiTaskData(tasks, examples, start.tokenizer, BATCH_SIZE, MixingStrategy(), seed=0)
    return start, tasks, data


def mirrored(data_dir, encoder, out, smart=False):
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import numpy as np

    from mtdnn_keras.distribute.replica_batches import distribute_batches
    from mtdnn_keras.distribute.strategy import make_strategy
    from mtdnn_keras.optimizers.skip_zero_gradient import make_optimizer

    report = {}
    for name in ("one", "mirrored"):
        strategy = make_strategy(name)
        keras.utils.set_random_seed(0)
        start, tasks, data = _training_setup(data_dir, encoder, dropout=False)
        with strategy.scope():
            model = start.build_model(tasks, "cls")
            model.compile(optimizer=make_optimizer("adamax", 1e-3))
        if smart:  # noise and a step large enough to move the perturbation
            from mtdnn_keras.regularizers.smart_perturbation import SmartPerturbation

            model.adversarial = SmartPerturbation(noise_var=1e-2, step_size=1.0)
        losses = []
        record = keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs, losses=losses: losses.append(logs["loss"])
        )
        rows = [task.rows_per_example for task in tasks]
        stream = distribute_batches(strategy, data.dataset, rows)
        model.fit(stream, epochs=1, steps_per_epoch=STEPS, callbacks=[record], verbose=0)
        np.savez(out / f"{name}.npz", *[keras.ops.convert_to_numpy(w) for w in model.weights])
        report[name] = {
            "losses": [float(loss) for loss in losses],
            "replicas": strategy.num_replicas_in_sync,
        }
    (out / "losses.json").write_text(json.dumps(report))


def multi_worker(data_dir, encoder, out):
    from mtdnn_keras.distribute.strategy import make_strategy

    strategy = make_strategy("multi-worker")  # first, before any other TensorFlow work
    from mtdnn_keras.distribute.replica_batches import distribute_batches
    from mtdnn_keras.training.multitask_trainer import fit
    from mtdnn_keras.training.training_config import TrainingConfig

    _, tasks, data = _training_setup(data_dir, encoder, dropout=True)
    stream = distribute_batches(strategy, data.dataset, [t.rows_per_example for t in tasks])
    steps = []
    iterator = iter(stream)
    for _ in range(data.steps_per_epoch):
        x, y = next(iterator)
        (ids,) = strategy.experimental_local_results(x["token_ids"])
        (mask,) = strategy.experimental_local_results(x["padding_mask"])
        (task_ids,) = strategy.experimental_local_results(y["task_id"])
        rows = [row[keep].tolist() for row, keep in zip(ids.numpy(), mask.numpy())]
        steps.append({"task_ids": task_ids.numpy().tolist(), "rows": rows})
    task_epochs = [  # every task's own batches, before mixing: each example once
        row[keep].tolist()
        for task in tasks
        for x, _ in data.task_batches(task.name).as_numpy_iterator()
        for row, keep in zip(x["token_ids"], x["padding_mask"])
    ]
    (out / "epoch.json").write_text(json.dumps({"steps": steps, "task_epochs": task_epochs}))
    fit(
        TrainingConfig(
            tasks=TASKS,
            output_dir=str(out / "run"),
            data_dir=str(data_dir),
            encoder=str(encoder),
            max_steps=STEPS,
            batch_size=BATCH_SIZE,
            max_seq_length=32,
            learning_rate=1e-3,
            selection="last",
            verbose=0,
            strategy="multi-worker",
        )
    )


if __name__ == "__main__":
    mode, data_dir, encoder, out = sys.argv[1:5]
    modes = {
        "mirrored": mirrored,
        "mirrored-smart": lambda *paths: mirrored(*paths, smart=True),
        "multi-worker": multi_worker,
    }
    modes[mode](Path(data_dir), Path(encoder), Path(out))
