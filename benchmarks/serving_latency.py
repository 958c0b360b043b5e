"""Serving speed of the exports on this machine: the SavedModel's signatures (ids in and text
in) and the float and dynamic-int8 TFLite models, in one run.

For each task, real dev examples are sent one at a time (latency at batch 1: p50 and p99 over
`--requests` calls) and 32 at a time (throughput: examples per second over `--batches`
batches). Every path gets the same examples; ids are padded to each batch's longest. Each
path is warmed up first (tracing, allocation). Prints and writes JSON.

    python benchmarks/serving_latency.py --model runs/glue6 --tasks sst2,mrpc \
        --data-dir ../shared/data/glue --work-dir exports/benchmark
"""

import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from export_artifacts import (  # noqa: E402
    benchmark_arguments,
    dev_examples,
    int32_batches,
    prediction_batches,
    prepare,
    report_header,
    text_batches,
    tflite_runners,
    write_report,
)


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
    parser = benchmark_arguments(__doc__.split("\n\n")[0], tasks="sst2,mrpc")
    parser.add_argument("--requests", type=int, default=200, help="batch-1 calls per path")
    parser.add_argument("--batches", type=int, default=10, help="batches per path")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)

    paths, _, tokenizer, tasks = prepare(args)
    saved_model = tf.saved_model.load(str(paths["saved_model"]))
    runners = tflite_runners(paths)
    report = {**report_header(args), "threads": "TensorFlow and TFLite defaults", "tasks": {}}
    batch = args.batch_size
    for name, task in tasks.items():
        examples = dev_examples(task, args.data_dir)
        needed = max(args.requests, batch * args.batches)
        examples = (examples * (needed // len(examples) + 1))[:needed]
        single, grouped = examples[: args.requests], examples[: batch * args.batches]
        single_ids = int32_batches(prediction_batches(single, task, tokenizer, 1))
        grouped_ids = int32_batches(prediction_batches(grouped, task, tokenizer, batch))
        single_text = text_batches(single, task, 1)
        grouped_text = text_batches(grouped, task, batch)
        ids_signature = saved_model.signatures[name]
        text_signature = saved_model.signatures[f"{name}_text"]
        results = {
            "saved_model_ids": measure(ids_signature, single_ids, grouped_ids, batch),
            "saved_model_text": measure(text_signature, single_text, grouped_text, batch),
        }
        for kind, runner in runners.items():
            results[f"tflite_{kind}"] = measure(runner, single_ids, grouped_ids, batch)
        mean_tokens = float(np.mean([b["padding_mask"].sum() for b in single_ids]))
        report["tasks"][name] = {"mean_tokens": round(mean_tokens, 1), **results}
        print(name, json.dumps(report["tasks"][name]), flush=True)
    write_report(report, args.output)


if __name__ == "__main__":
    main()
