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

from mtdnn_keras.data.multitask_data import eval_dataset  # noqa: E402
from mtdnn_keras.metrics.glue_metrics import compute_metrics, predicted_labels  # noqa: E402

BATCH = 32


def softmax(logits):
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def served(task, signature_outputs):
    """The SavedModel's answer in the form the comparison uses."""
    if task.type == "classification":
        return signature_outputs["probabilities"].numpy()
    return signature_outputs["scores"].numpy()


def compare_task(task, model, tokenizer, saved_model, runners, examples):
    labels = np.array([e.label for e in examples])
    dataset = eval_dataset(examples, task, tokenizer, BATCH)
    batches = int32_batches(dataset)
    keras_raw = np.asarray(model.task_submodel(task.name).predict(dataset, verbose=0))
    to_served = softmax if task.type == "classification" else (lambda x: x)
    reference = to_served(keras_raw)

    ids_signature = saved_model.signatures[task.name]
    ids_out = np.concatenate([served(task, ids_signature(**batch)) for batch in batches])
    text_signature = saved_model.signatures[f"{task.name}_text"]
    text_out = np.concatenate(
        [served(task, text_signature(**feed)) for feed in text_batches(examples, task, BATCH)]
    )

    tflite = {
        kind: np.concatenate([runner(**batch)[task.name] for batch in batches])
        for kind, runner in runners.items()
    }
    outputs = {"keras": keras_raw, **{f"tflite_{kind}": out for kind, out in tflite.items()}}
    result = {
        "examples": len(examples),
        "max_abs_diff": {
            "saved_model_ids": float(np.abs(ids_out - reference).max()),
            "saved_model_text": float(np.abs(text_out - reference).max()),
            **{f"tflite_{k}": float(np.abs(out - keras_raw).max()) for k, out in tflite.items()},
        },
        "mean_abs_diff_tflite_int8": float(np.abs(tflite["int8"] - keras_raw).mean()),
        "metrics": {
            name: compute_metrics(task, predicted_labels(task, out), labels)
            for name, out in outputs.items()
        },
    }
    if task.type != "regression":
        float_labels = predicted_labels(task, tflite["float"])
        result["int8_label_agreement"] = float(
            np.mean(predicted_labels(task, tflite["int8"]) == float_labels)
        )
        result["saved_model_text_label_agreement"] = float(
            np.mean(text_out.argmax(-1) == reference.argmax(-1))
        )
    return result


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
