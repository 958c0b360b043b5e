"""Serving speed of the exports on this machine: the SavedModel's signatures (ids in and text
in) and the float and dynamic-int8 TFLite models, in one run.

For each task, real dev examples are sent one at a time (latency at batch 1: p50 and p99 over
`--requests` calls) and 32 at a time (throughput: examples per second over `--batches`
batches). Every path gets the same examples; ids are padded to each batch's longest. Each
path is warmed up first (tracing, allocation). Prints and writes JSON.

    python benchmarks/serving_latency.py --model runs/glue6 --tasks sst2,mrpc \
        --data-dir ../shared/data/glue --work-dir exports/benchmark
"""

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_text  # noqa: E402, F401  (the text signatures' ops)
from ai_edge_litert.interpreter import Interpreter  # noqa: E402
from export_artifacts import export_artifacts, machine  # noqa: E402

from mtdnn_keras.data.multitask_data import eval_dataset  # noqa: E402
from mtdnn_keras.data.task_files import read_split, split_path  # noqa: E402
from mtdnn_keras.models.model_directory import load_model_directory  # noqa: E402


def ids_batches(examples, task, tokenizer, batch_size):
    dataset = eval_dataset(examples, task, tokenizer, batch_size)
    return [{k: v.astype(np.int32) for k, v in b.items()} for b in dataset.as_numpy_iterator()]


def text_batches(examples, task, batch_size):
    batches = []
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        feed = {"text_a": tf.constant([e.text_a for e in chunk])}
        if task.is_pair_task:
            feed["text_b"] = tf.constant([e.text_b for e in chunk])
        batches.append(feed)
    return batches


def timed(function, batches, warmup=3):
    for batch in batches[:warmup]:
        function(**batch)
    seconds = []
    for batch in batches:
        start = time.perf_counter()
        function(**batch)
        seconds.append(time.perf_counter() - start)
    return np.array(seconds)


def measure(function, single, grouped, batch_size):
    """`function(**feed)` timed on single-example and grouped feeds."""
    latency = timed(function, single) * 1000
    batch_seconds = timed(function, grouped, warmup=1)
    return {
        "batch1_p50_ms": round(float(np.percentile(latency, 50)), 2),
        "batch1_p99_ms": round(float(np.percentile(latency, 99)), 2),
        f"batch{batch_size}_examples_per_s": round(
            batch_size * len(grouped) / batch_seconds.sum(), 1
        ),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a folder written by mtdnn-keras fit")
    parser.add_argument("--tasks", default="sst2,mrpc")
    parser.add_argument("--data-dir", default="../shared/data/glue")
    parser.add_argument("--work-dir", default="exports/benchmark", help="where the artifacts go")
    parser.add_argument("--requests", type=int, default=200, help="batch-1 calls per path")
    parser.add_argument("--batches", type=int, default=10, help="batches per path")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--output", help="also write the JSON here")
    args = parser.parse_args(argv)

    names = args.tasks.split(",")
    paths = export_artifacts(args.model, args.work_dir, names)
    model, tokenizer = load_model_directory(paths["keras"])
    tasks = {task.name: task for task in model.tasks}
    del model
    saved_model = tf.saved_model.load(str(paths["saved_model"]))

    report = {
        "model": str(args.model),
        "machine": machine(),
        "tensorflow": tf.__version__,
        "threads": "TensorFlow and TFLite defaults",
        "tasks": {},
    }
    batch = args.batch_size
    for name in names:
        task = tasks[name]
        examples = read_split(task, split_path(task, "dev", args.data_dir), "dev").examples
        needed = max(args.requests, batch * args.batches)
        examples = (examples * (needed // len(examples) + 1))[:needed]
        single_ids = ids_batches(examples[: args.requests], task, tokenizer, 1)
        grouped_ids = ids_batches(examples[: batch * args.batches], task, tokenizer, batch)
        single_text = text_batches(examples[: args.requests], task, 1)
        grouped_text = text_batches(examples[: batch * args.batches], task, batch)
        ids_signature = saved_model.signatures[name]
        text_signature = saved_model.signatures[f"{name}_text"]
        results = {
            "saved_model_ids": measure(ids_signature, single_ids, grouped_ids, batch),
            "saved_model_text": measure(text_signature, single_text, grouped_text, batch),
        }
        for kind in ("float", "int8"):
            runner = Interpreter(model_path=str(paths[f"tflite_{kind}"])).get_signature_runner()
            results[f"tflite_{kind}"] = measure(runner, single_ids, grouped_ids, batch)
        mean_tokens = float(np.mean([b["padding_mask"].sum() for b in single_ids]))
        report["tasks"][name] = {"mean_tokens": round(mean_tokens, 1), **results}
        print(name, json.dumps(report["tasks"][name]), flush=True)
    text = json.dumps(report, indent=1)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
