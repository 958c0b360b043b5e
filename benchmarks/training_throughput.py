"""Training and inference speed of mtdnn-keras against keras-hub's `BertTextClassifier`.

In one run, on one encoder (MiniLM by default) and real GLUE data, prints JSON with:

- **training throughput** over the wall time of one whole pass (examples/s and real,
  non-padding tokens/s) for mtdnn-keras on RTE alone and on the GLUE small-task mix
  (rte, mrpc, stsb, cola, sst2, wnli; `--mix-fraction` of each, SST-2 first cut to 8,000),
  in float32 and mixed_bfloat16;
- the same for **keras-hub's `BertTextClassifier`** on RTE, at its defaults (its
  preprocessor padding to `--peer-length`, `compile()` with no arguments), float32 and
  mixed_bfloat16: the peer a Keras user would pick;
- **inference** throughput on RTE's dev set for both;
- **FLOPs**: the encoder's matmul FLOPs per example (forward and backward, from the
  layer sizes and each example's real length) and the FLOPs executed on padded batches;
- the **matmul peak** of this machine, measured in the same run (float32 and bfloat16
  square matmuls), and the fraction of it each pass reaches, and a training step at
  length 128 reaches;
- the **multi-task step** (six heads, the loss chosen in the graph) against a single-task
  model's step on the same batch.

Every timed pass follows an untimed warm-up of `--warmup-steps` steps (tracing).

    python benchmarks/training_throughput.py --data-dir ../shared/data/glue --output docs/training_throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import keras_hub  # noqa: E402
import tensorflow as tf  # noqa: E402
from export_artifacts import machine, prediction_batches  # noqa: E402

from mtdnn_keras.data.data_options import DataOptions  # noqa: E402
from mtdnn_keras.data.data_source import source_for  # noqa: E402
from mtdnn_keras.data.mixing_strategy import MixingStrategy  # noqa: E402
from mtdnn_keras.data.multitask_data import MultiTaskData  # noqa: E402
from mtdnn_keras.optimizers.skip_zero_gradient import make_optimizer  # noqa: E402
from mtdnn_keras.tasks import TaskRegistry  # noqa: E402
from mtdnn_keras.training.starting_point import StartingPoint  # noqa: E402

MIX = "rte,mrpc,stsb,cola,sst2,wnli"
SST2_CAP = 8000
PRECISIONS = ("float32", "mixed_bfloat16")


def encoder_flops(config: dict, length: int) -> float:
    """Forward matmul FLOPs of the encoder on one sequence of `length` tokens: per layer, the
    four attention projections (8 n H^2), the feed-forward (4 n H I) and attention's scores
    and weighted values (4 n^2 H). Embeddings, norms and heads are left out (< 1%)."""
    hidden, inner, layers = config["hidden_dim"], config["intermediate_dim"], config["num_layers"]
    n = length
    return layers * (8 * n * hidden**2 + 4 * n * hidden * inner + 4 * n**2 * hidden)


def matmul_peak(dtype: str, sizes=(1024, 2048), seconds: float = 3.0) -> float:
    """The best FLOP/s of square matmuls of `dtype` on this machine."""
    best = 0.0
    for size in sizes:
        a = tf.cast(tf.random.normal((size, size)), dtype)
        b = tf.cast(tf.random.normal((size, size)), dtype)
        # the whole product is summed, so that no part of it can be skipped
        multiply = tf.function(lambda a=a, b=b: tf.reduce_sum(tf.cast(tf.matmul(a, b), "float32")))
        multiply().numpy()
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            multiply().numpy()
            calls += 1
        best = max(best, 2 * size**3 * calls / (time.perf_counter() - start))
    return best


def read_examples(data_dir, names, fraction, seed):
    tasks = TaskRegistry.builtin().resolve(names)
    train = {}
    for task in tasks:
        examples = source_for(task, "train", DataOptions(data_dir=data_dir)).read().examples
        if task.name == "sst2":
            examples = random.Random(seed).sample(examples, min(SST2_CAP, len(examples)))
        count = round(fraction * len(examples))
        train[task.name] = random.Random(seed).sample(examples, count)
    return tasks, train


def batch_figures(data, config):
    """Examples, real and padded tokens, and FLOPs of one pass of `data`'s batches."""
    figures = dict(examples=0, real_tokens=0, padded_tokens=0, model_flops=0.0, padded_flops=0.0)
    for x, _ in data.dataset().take(data.steps_per_epoch).as_numpy_iterator():
        mask = x["padding_mask"]
        lengths = mask.sum(axis=1)
        figures["examples"] += mask.shape[0]
        figures["real_tokens"] += int(lengths.sum())
        figures["padded_tokens"] += int(mask.size)
        figures["model_flops"] += 3 * sum(encoder_flops(config, int(n)) for n in lengths)
        figures["padded_flops"] += 3 * mask.shape[0] * encoder_flops(config, mask.shape[1])
    return figures


def timed_fit(model, dataset_fn, steps, warmup_steps):
    model.fit(dataset_fn(), steps_per_epoch=warmup_steps, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(dataset_fn(), steps_per_epoch=steps, epochs=1, verbose=0)
    return time.perf_counter() - start


def mtdnn_training(start, tasks, train, precision, args, peak):
    keras.utils.set_random_seed(args.seed)
    model = start.build_model(tasks, "mean", precision=precision)
    model.compile(optimizer=make_optimizer("adamax", 5e-5), jit_compile=False)
    data = MultiTaskData(tasks, train, start.tokenizer, args.batch_size, MixingStrategy(), seed=0)
    figures = batch_figures(data, start.backbone_config)
    seconds = timed_fit(model, data.dataset, data.steps_per_epoch, args.warmup_steps)
    return model, _rates(figures, seconds, peak) | {"steps": data.steps_per_epoch}


def _rates(figures, seconds, peak):
    return {
        "examples": figures["examples"],
        "seconds": round(seconds, 2),
        "examples_per_second": round(figures["examples"] / seconds, 2),
        "real_tokens_per_second": round(figures["real_tokens"] / seconds, 1),
        "padding_fraction": round(1 - figures["real_tokens"] / figures["padded_tokens"], 3),
        "model_gflops_per_example": round(figures["model_flops"] / figures["examples"] / 1e9, 3),
        "model_flops_fraction_of_peak": round(figures["model_flops"] / seconds / peak, 3),
        "executed_flops_fraction_of_peak": round(figures["padded_flops"] / seconds / peak, 3),
    }


def peer_classifier(start, precision, length):
    """keras-hub's `BertTextClassifier` on the same encoder weights, at its defaults."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        # the saved config names float32: replace it, as `from_preset(..., dtype=...)` would
        backbone = start.backbone_class.from_config({**start.backbone_config, "dtype": precision})
        backbone.set_weights(start.backbone_weights)
        preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
            start.tokenizer, sequence_length=length
        )
        classifier = keras_hub.models.BertTextClassifier(
            backbone, num_classes=2, preprocessor=preprocessor
        )
        classifier.compile()
    finally:
        keras.mixed_precision.set_global_policy(previous)
    return classifier


def text_dataset(examples, batch_size, labels=True, seed=0):
    pairs = (
        tf.constant([e.text_a for e in examples]),
        tf.constant([e.text_b or "" for e in examples]),
    )
    if not labels:
        return tf.data.Dataset.from_tensor_slices(pairs).batch(batch_size)
    label = tf.constant([int(e.label) for e in examples])
    dataset = tf.data.Dataset.from_tensor_slices((pairs, label))
    return dataset.shuffle(len(examples), seed=seed).batch(batch_size).repeat()


def peer_training(start, examples, precision, args, figures, peak):
    keras.utils.set_random_seed(args.seed)
    classifier = peer_classifier(start, precision, args.peer_length)
    steps = -(-len(examples) // args.batch_size)
    seconds = timed_fit(
        classifier, lambda: text_dataset(examples, args.batch_size), steps, args.warmup_steps
    )
    padded = dict(figures, padded_tokens=len(examples) * args.peer_length)
    padded["padded_flops"] = (
        3 * len(examples) * encoder_flops(start.backbone_config, args.peer_length)
    )
    result = _rates(padded, seconds, peak) | {"steps": steps}
    result["jit_compile"] = bool(classifier.jit_compile)
    return classifier, result


def inference(predict, examples, real_tokens):
    predict()  # tracing
    start = time.perf_counter()
    predict()
    seconds = time.perf_counter() - start
    return {
        "examples": len(examples),
        "examples_per_second": round(len(examples) / seconds, 1),
        "real_tokens_per_second": round(real_tokens / seconds, 1),
    }


def step_time(model, batch, steps):
    """Seconds per training step on one fixed batch (after two untimed steps)."""
    for _ in range(2):
        model.train_on_batch(*batch)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(*batch)
    return (time.perf_counter() - start) / steps


def fixed_batch(tasks, train, tokenizer, batch_size):
    """One RTE batch padded to 128 (the single-task and multi-task models' common shape)."""
    data = MultiTaskData(
        tasks[:1], {tasks[0].name: train[tasks[0].name]}, tokenizer, batch_size, padding="max"
    )
    x, y = next(iter(data.dataset()))
    return x, y


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default="../shared/data/glue")
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--mix-fraction", type=float, default=0.1)
    parser.add_argument("--peer-length", type=int, default=128)
    parser.add_argument("--warmup-steps", type=int, default=20)
    parser.add_argument("--step-repeats", type=int, default=15)
    parser.add_argument("--precisions", default=",".join(PRECISIONS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", help="also write the JSON here")
    args = parser.parse_args()
    precisions = args.precisions.split(",")

    peaks = {p: matmul_peak("bfloat16" if "bfloat16" in p else "float32") for p in precisions}
    start = StartingPoint.from_encoder(args.encoder)
    rte_tasks, rte_train = read_examples(args.data_dir, "rte", 1.0, args.seed)
    mix_tasks, mix_train = read_examples(args.data_dir, MIX, args.mix_fraction, args.seed)
    (rte_task,) = rte_tasks
    dev = source_for(rte_task, "dev", DataOptions(data_dir=args.data_dir)).read().examples
    dev_tokens = sum(
        int(x["padding_mask"].sum())
        for x in prediction_batches(dev, rte_task, start.tokenizer).as_numpy_iterator()
    )
    rte_figures = batch_figures(
        MultiTaskData(rte_tasks, rte_train, start.tokenizer, args.batch_size), start.backbone_config
    )

    report = {
        "benchmark": "training_throughput",
        "encoder": args.encoder,
        "machine": machine(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "keras_hub": keras_hub.__version__,
        "batch_size": args.batch_size,
        "matmul_peak_gflops": {p: round(v / 1e9, 1) for p, v in peaks.items()},
        "train_examples": {
            "rte": len(rte_train["rte"]),
            "mix": {n: len(e) for n, e in mix_train.items()},
        },
        "training": {},
        "inference_rte_dev": {},
    }
    for precision in precisions:
        peak = peaks[precision]
        model, rte = mtdnn_training(start, rte_tasks, rte_train, precision, args, peak)
        _, mix = mtdnn_training(start, mix_tasks, mix_train, precision, args, peak)
        classifier, peer = peer_training(
            start, rte_train["rte"], precision, args, rte_figures, peak
        )
        report["training"][precision] = {
            "mtdnn_keras_rte": rte,
            "mtdnn_keras_mix": mix,
            "keras_hub_bert_text_classifier_rte": peer,
            "rte_speedup_over_keras_hub": round(
                rte["examples_per_second"] / peer["examples_per_second"], 2
            ),
        }
        dev_x = prediction_batches(dev, rte_task, start.tokenizer)
        report["inference_rte_dev"][precision] = {
            "mtdnn_keras": inference(
                lambda m=model, x=dev_x: m.predict(x, verbose=0), dev, dev_tokens
            ),
            "keras_hub_bert_text_classifier": inference(
                lambda c=classifier: c.predict(text_dataset(dev, 64, labels=False), verbose=0),
                dev,
                dev_tokens,
            ),
        }
        # a step at length 128 (no padding to skip): the fraction of matmul peak reached
        x, y = fixed_batch(rte_tasks, rte_train, start.tokenizer, args.batch_size)
        single = step_time(model, (x, y), args.step_repeats)
        keras.utils.set_random_seed(args.seed)
        multi_model = start.build_model(mix_tasks, "mean", precision=precision)
        multi_model.compile(optimizer=make_optimizer("adamax", 5e-5), jit_compile=False)
        multi = step_time(multi_model, (x, y), args.step_repeats)
        flops = 3 * args.batch_size * encoder_flops(start.backbone_config, 128)
        report["training"][precision]["step_at_length_128"] = {
            "single_task_seconds": round(single, 4),
            "multi_task_seconds": round(multi, 4),
            "multi_over_single": round(multi / single, 3),
            "fraction_of_matmul_peak": round(flops / single / peak, 3),
        }
    if {"float32", "mixed_bfloat16"} <= set(precisions):
        report["mixed_bfloat16_over_float32_rte"] = round(
            report["training"]["mixed_bfloat16"]["mtdnn_keras_rte"]["examples_per_second"]
            / report["training"]["float32"]["mtdnn_keras_rte"]["examples_per_second"],
            2,
        )
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
