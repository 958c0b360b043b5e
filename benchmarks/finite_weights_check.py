"""What the non-finite-weights check costs a training step (`MTDNNModel.train_step` tests
every trainable weight after each update, so that a step that breaks the weights stops the
run there).

Times, on MiniLM and one RTE batch padded to 128, a whole training step (the check included)
and the check alone (the same `all(isfinite)` over the trainable weights, compiled the same
way), in one run, and prints JSON.

    python benchmarks/finite_weights_check.py --data-dir ../shared/data/glue
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from export_artifacts import machine  # noqa: E402
from training_throughput import fixed_batch, step_time  # noqa: E402

from mtdnn_keras.data.data_options import DataOptions  # noqa: E402
from mtdnn_keras.data.data_source import source_for  # noqa: E402
from mtdnn_keras.optimizers.skip_zero_gradient import make_optimizer  # noqa: E402
from mtdnn_keras.tasks import TaskRegistry  # noqa: E402
from mtdnn_keras.training.starting_point import StartingPoint  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default="../shared/data/glue")
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()

    tasks = TaskRegistry.builtin().resolve("rte")
    train = {"rte": source_for(tasks[0], "train", DataOptions(data_dir=args.data_dir)).read()}
    start = StartingPoint.from_encoder(args.encoder)
    model = start.build_model(tasks, "mean")
    model.compile(optimizer=make_optimizer("adamax", 1e-5))
    batch = fixed_batch(tasks, {"rte": train["rte"].examples}, start.tokenizer, args.batch_size)
    step = step_time(model, batch, args.repeats)

    variables = model.trainable_variables

    @tf.function
    def all_finite():
        return keras.ops.all(
            keras.ops.stack([keras.ops.all(keras.ops.isfinite(v)) for v in variables])
        )

    all_finite()
    started = time.perf_counter()
    for _ in range(args.repeats * 10):
        all_finite()
    check = (time.perf_counter() - started) / (args.repeats * 10)
    print(
        json.dumps(
            {
                "machine": machine(),
                "encoder": args.encoder,
                "trainable_parameters": int(sum(v.numpy().size for v in variables)),
                "batch": [args.batch_size, 128],
                "step_seconds": round(step, 4),
                "check_seconds": round(check, 5),
                "check_share_of_step": round(check / step, 4),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
