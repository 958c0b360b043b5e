"""How faithful the serving artifacts are to the trained Keras model, on the GLUE dev sets.

For each task, the dev set is encoded once (the batches `evaluate` uses) and run through
- the trained model's `model.predict` (the reference);
- the SavedModel's ids signature `<task>` and text signature `<task>_text` (raw text in);
- the float and dynamic-int8 TFLite models (ai-edge-litert).
It prints and writes JSON: the largest absolute difference of each from Keras (probabilities
for classification, scores for regression; raw head outputs for TFLite) and int8's mean
absolute difference, how often the int8 model gives float TFLite's label, each artifact's
task metric, and the artifacts' sizes.

    python benchmarks/export_fidelity.py --model runs/glue6 --tasks rte,mrpc,stsb,sst2 \
        --data-dir ../shared/data/glue --work-dir exports/benchmark
"""

import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from export_artifacts import (  # noqa: E402
    benchmark_arguments,
    dev_examples,
    int32_batches,
    prepare,
    report_header,
    size_mb,
    text_batches,
    tflite_runners,
    write_report,
)

BATCH = 32


def served(task, outputs) -> dict:
    """A task's float serving outputs (probabilities, scores) as arrays."""
    return {k: np.asarray(v) for k, v in outputs.items() if np.asarray(v).dtype.kind == "f"}


def joined(parts: list[dict]) -> dict:
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


def compare_task(task, model, tokenizer, saved_model, runners, examples):
    dataset = task.kind.prediction_inputs(task, examples, tokenizer, BATCH).inputs
    batches = int32_batches(dataset)
    keras_raw = np.asarray(model.task_submodel(task.name).predict(dataset, verbose=0))
    reference = served(task, task.kind.serving_outputs(task, keras_raw, None))

    ids_signature = saved_model.signatures[task.name]
    ids_out = joined([served(task, ids_signature(**batch)) for batch in batches])
    text_signature = saved_model.signatures[f"{task.name}_text"]
    text_raw = [text_signature(**feed) for feed in text_batches(examples, task, BATCH)]
    text_out = joined([served(task, out) for out in text_raw])

    tflite = {
        kind: np.concatenate([runner(**batch)[task.name] for batch in batches])
        for kind, runner in runners.items()
    }
    outputs = {"keras": keras_raw, **{f"tflite_{kind}": out for kind, out in tflite.items()}}
    decoded = {
        name: task.kind.decode(task, [out], examples, None) for name, out in outputs.items()
    }

    def largest(out):
        return float(max(np.abs(out[key] - reference[key]).max() for key in reference))

    result = {
        "examples": len(examples),
        "max_abs_diff": {
            "saved_model_ids": largest(ids_out),
            "saved_model_text": largest(text_out),
            **{f"tflite_{k}": float(np.abs(out - keras_raw).max()) for k, out in tflite.items()},
        },
        "mean_abs_diff_tflite_int8": float(np.abs(tflite["int8"] - keras_raw).mean()),
        "metrics": {
            name: task.kind.scores(task, predictions, examples)
            for name, predictions in decoded.items()
        },
    }
    records = {
        name: task.kind.records(task, predictions, examples)
        for name, predictions in decoded.items()
    }
    if "label" in records["keras"][0]:  # tasks that predict a label, not a score

        def labels(found):
            return np.array([record["label"] for record in found])

        result["int8_label_agreement"] = float(
            np.mean(labels(records["tflite_int8"]) == labels(records["tflite_float"]))
        )
        text_records = [
            r for out in text_raw for r in task.kind.serving_records(task, served_all(out))
        ]
        result["saved_model_text_label_agreement"] = float(
            np.mean(labels(text_records) == labels(records["keras"]))
        )
    return result


def served_all(outputs) -> dict:
    return {k: np.asarray(v) for k, v in outputs.items()}


def main(argv=None):
    parser = benchmark_arguments(__doc__.split("\n\n")[0], tasks="rte,mrpc,stsb,sst2")
    args = parser.parse_args(argv)

    paths, model, tokenizer, tasks = prepare(args)
    saved_model = tf.saved_model.load(str(paths["saved_model"]))
    runners = tflite_runners(paths)
    report = {
        **report_header(args),
        "sizes_mb": {
            "model.keras (with optimizer state)": size_mb(Path(args.model) / "model.keras"),
            **{key: size_mb(path) for key, path in paths.items()},
        },
        "tasks": {},
    }
    for name, task in tasks.items():
        examples = dev_examples(task, args.data_dir)
        report["tasks"][name] = compare_task(task, model, tokenizer, saved_model, runners, examples)
        print(name, json.dumps(report["tasks"][name]), flush=True)
    write_report(report, args.output)


if __name__ == "__main__":
    main()
