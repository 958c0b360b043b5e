"""What the export benchmarks share: the serving artifacts of a trained model (the slim Keras
model folder, a TF Serving SavedModel, float and dynamic-int8 TFLite), written once; their
command-line options; the dev sets as token-id and text batches; and the JSON report."""

import argparse
import json
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_text  # noqa: E402, F401  (the text signatures' ops)
from ai_edge_litert.interpreter import Interpreter  # noqa: E402
from mtdnn_keras.export.model_folder import export_model_folder  # noqa: E402
from mtdnn_keras.export.saved_model import export_saved_model  # noqa: E402
from mtdnn_keras.export.tflite_model import (  # noqa: E402
    DEFAULT_QUANTIZE_GROUPS,
    export_tflite,
)

from mtdnn_keras.data.data_options import DataOptions  # noqa: E402
from mtdnn_keras.data.data_source import source_for  # noqa: E402
from mtdnn_keras.models.model_directory import load_model_directory  # noqa: E402

NAME = "mtdnn"


def export_artifacts(
    model_dir, work_dir, tasks: list[str], quantize_groups: int, reuse: bool = True
) -> dict[str, Path]:
    """Paths of `keras` (model folder without optimizer), `saved_model` (version folder),
    `tflite_float` and `tflite_int8` (with `quantize_groups`) under `work_dir`; with `reuse`,
    existing ones are kept (delete `work_dir` after retraining, or to change the groups)."""
    work_dir = Path(work_dir)
    paths = {
        "keras": work_dir / "keras",
        "saved_model": work_dir / "serving" / NAME / "1",
        "tflite_float": work_dir / "float.tflite",
        "tflite_int8": work_dir / "int8.tflite",
    }
    writers = {  # the benchmark's own work folder: its earlier exports are replaced
        "keras": lambda: export_model_folder(model_dir, paths["keras"], overwrite=True),
        "saved_model": lambda: export_saved_model(
            model_dir, work_dir / "serving", NAME, 1, overwrite=True
        ),
        "tflite_float": lambda: export_tflite(
            model_dir, paths["tflite_float"], tasks, overwrite=True
        ),
        "tflite_int8": lambda: export_tflite(
            model_dir, paths["tflite_int8"], tasks, "dynamic-int8", quantize_groups, overwrite=True
        ),
    }
    for key, write in writers.items():
        if not (reuse and paths[key].exists()):
            write()
    return paths


def size_mb(path: Path) -> float:
    """Size in MB (10^6 bytes) of a file or of everything under a folder."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return round(sum(p.stat().st_size for p in files) / 1e6, 1)


def machine() -> str:
    """The CPU's model name and core count, for the benchmark reports."""
    name = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        name = names[0] if names else name
    return f"{name}, {os.cpu_count()} CPUs"


def benchmark_arguments(description: str, tasks: str) -> argparse.ArgumentParser:
    """The options every export benchmark takes; `tasks` is the default task list."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", required=True, help="a folder written by mtdnn-keras fit")
    parser.add_argument("--tasks", default=tasks)
    parser.add_argument("--data-dir", default="../shared/data/glue")
    parser.add_argument("--work-dir", default="exports/benchmark", help="where the artifacts go")
    parser.add_argument("--output", help="also write the JSON here")
    parser.add_argument(
        "--quantize-groups",
        type=int,
        default=DEFAULT_QUANTIZE_GROUPS,
        help="the int8 TFLite model's quantization groups (1: TFLite's plain dynamic range)",
    )
    return parser


def prepare(args):
    """`(artifact paths, trained model, tokenizer, {name: task} of --tasks)`; exits naming
    the tasks the model lacks."""
    names = args.tasks.split(",")
    model, tokenizer = load_model_directory(args.model)
    tasks = {task.name: task for task in model.tasks}
    missing = [name for name in names if name not in tasks]
    if missing:
        sys.exit(f"{args.model} has no task {missing}; it has {sorted(tasks)}")
    paths = export_artifacts(args.model, args.work_dir, names, args.quantize_groups)
    return paths, model, tokenizer, {name: tasks[name] for name in names}


def dev_examples(task, data_dir):
    return source_for(task, "dev", DataOptions(data_dir=data_dir)).read().examples


def prediction_batches(examples, task, tokenizer, batch_size: int = 64):
    """The batches `evaluate` and `predict` run a task's examples in (its type's)."""
    return task.kind.prediction_inputs(task, examples, tokenizer, batch_size).inputs


def int32_batches(dataset) -> list[dict]:
    """Batches of `prediction_batches` as the int32 feeds of the ids signatures and TFLite."""
    return [{k: v.astype(np.int32) for k, v in b.items()} for b in dataset.as_numpy_iterator()]


def text_batches(examples, task, batch_size: int) -> list[dict]:
    """The feeds of a `<task>_text` signature, `batch_size` examples each, in order."""
    batches = []
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        feed = {"text_a": tf.constant([e.text_a for e in chunk])}
        if task.is_pair_task:
            feed["text_b"] = tf.constant([e.text_b for e in chunk])
        batches.append(feed)
    return batches


def tflite_runners(paths: dict) -> dict:
    """`{"float": runner, "int8": runner}`: the TFLite models' signature runners."""
    return {
        kind: Interpreter(model_path=str(paths[f"tflite_{kind}"])).get_signature_runner()
        for kind in ("float", "int8")
    }


def report_header(args) -> dict:
    return {
        "model": str(args.model),
        "machine": machine(),
        "tensorflow": tf.__version__,
        "int8_quantize_groups": args.quantize_groups,
    }


def write_report(report: dict, output: str | None) -> None:
    """Prints the report as JSON, and writes it to `output` when given."""
    text = json.dumps(report, indent=1)
    print(text)
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
