"""What SMART costs per training step, and where its perturbation points.

In one run, on the default encoder (MiniLM) and real batches of the README's six-task mix
(bucketed as `fit` batches them), prints and writes JSON with:

- **seconds per step** of a plain model and of a SMART model (`--adversarial smart`, the
  reference's defaults) on the same batches, each precision asked for; the two are timed
  in alternating rounds so that both see the same machine load, and the **ratio** is the
  median of the rounds' ratios;
- **where the perturbation points** at the reference's defaults: the cosine between the
  final perturbation and the normalised initial noise, averaged over the batches. Near 1
  means the ascent step hardly moved the random draw (its step, 1e-5 times a gradient that
  is itself about the noise times the divergence's curvature, is far below the noise).

    python benchmarks/smart_step_time.py --output docs/smart_step_time.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from export_artifacts import machine  # noqa: E402

from mtdnn_keras.data.data_options import DataOptions  # noqa: E402
from mtdnn_keras.data.data_source import sample, source_for  # noqa: E402
from mtdnn_keras.data.mixing_strategy import MixingStrategy  # noqa: E402
from mtdnn_keras.data.multitask_data import MultiTaskData  # noqa: E402
from mtdnn_keras.optimizers.skip_zero_gradient import make_optimizer  # noqa: E402
from mtdnn_keras.regularizers.smart_perturbation import SmartPerturbation  # noqa: E402
from mtdnn_keras.tasks import TaskRegistry  # noqa: E402
from mtdnn_keras.training.starting_point import StartingPoint  # noqa: E402

MIX = "rte,mrpc,stsb,cola,sst2,wnli"


def batches(start, data_dir, count, batch_size, seed):
    """`count` batches of the mix as `fit` draws them (SST-2 sampled to 8,000)."""
    tasks = TaskRegistry.builtin().resolve(MIX)
    train = {}
    for task in tasks:
        result = source_for(task, "train", DataOptions(data_dir=data_dir)).read()
        train[task.name] = sample(result, 8000 if task.name == "sst2" else None, seed).examples
    data = MultiTaskData(tasks, train, start.tokenizer, batch_size, MixingStrategy(), seed=seed)
    return tasks, list(data.dataset().take(count))


def build(start, tasks, precision, smart):
    keras.utils.set_random_seed(0)
    model = start.build_model(tasks, "mean", precision=precision)
    model.compile(optimizer=make_optimizer("adamax", 5e-5), jit_compile=False)
    model.adversarial = SmartPerturbation() if smart else None
    return model


def timed(model, stream):
    started = time.perf_counter()
    for x, y in stream:
        model.train_on_batch(x, y)
    return (time.perf_counter() - started) / len(stream)


def direction(model, stream):
    """Mean cosine between the final perturbation and the normalised initial noise."""
    smart = SmartPerturbation()
    cosines = []
    for x, y in stream:
        clean = model(x, training=True)
        noise = smart.initial_noise(model, x)
        task_id = tf.cast(y["task_id"][0], tf.int32)
        delta = smart.adversarial_noise(model, x, clean, task_id, noise)
        a, b = np.ravel(delta), np.ravel(smart.normalise(noise))
        cosines.append(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))))
    return float(np.mean(cosines)), float(np.min(cosines))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default="../shared/data/glue")
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=8, help="steps timed in each round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--precisions", default="float32,mixed_bfloat16")
    parser.add_argument("--output")
    args = parser.parse_args()

    start = StartingPoint.from_encoder(args.encoder)
    tasks, stream = batches(start, args.data_dir, args.batches, args.batch_size, seed=0)
    report = {
        "machine": machine(),
        "encoder": args.encoder,
        "batch_size": args.batch_size,
        "tasks": MIX,
        "steps_per_round": args.batches,
        "rounds": args.rounds,
        "precisions": {},
    }
    for precision in args.precisions.split(","):
        plain, smart = build(start, tasks, precision, False), build(start, tasks, precision, True)
        timed(plain, stream), timed(smart, stream)  # trace every batch shape first
        rounds = []
        for _ in range(args.rounds):
            rounds.append((timed(plain, stream), timed(smart, stream)))
        report["precisions"][precision] = {
            "plain_seconds_per_step": statistics.median(p for p, _ in rounds),
            "smart_seconds_per_step": statistics.median(s for _, s in rounds),
            "ratio": statistics.median(s / p for p, s in rounds),
            "rounds": rounds,
        }
        print(json.dumps({precision: report["precisions"][precision]}), flush=True)
    mean, lowest = direction(build(start, tasks, "float32", True), stream)
    report["default_perturbation_vs_noise_cosine"] = {"mean": mean, "min": lowest}
    print(json.dumps(report, indent=1))
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
