"""The serving artifacts of a trained model, written once and shared by the export benchmarks:
the slim Keras model folder, a TF Serving SavedModel and the float and dynamic-int8 TFLite
models."""

import os
import platform
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from mtdnn_keras.export.model_folder import export_model_folder  # noqa: E402
from mtdnn_keras.export.saved_model import export_saved_model  # noqa: E402
from mtdnn_keras.export.tflite_model import export_tflite  # noqa: E402

NAME = "mtdnn"


def export_artifacts(model_dir, work_dir, tasks: list[str], reuse: bool = True) -> dict[str, Path]:
    """Paths of `keras` (model folder without optimizer), `saved_model` (version folder),
    `tflite_float` and `tflite_int8` under `work_dir`; with `reuse`, existing ones are kept
    (delete `work_dir` after retraining)."""
    work_dir = Path(work_dir)
    paths = {
        "keras": work_dir / "keras",
        "saved_model": work_dir / "serving" / NAME / "1",
        "tflite_float": work_dir / "float.tflite",
        "tflite_int8": work_dir / "int8.tflite",
    }
    writers = {
        "keras": lambda: export_model_folder(model_dir, paths["keras"]),
        "saved_model": lambda: export_saved_model(model_dir, work_dir / "serving", NAME, 1),
        "tflite_float": lambda: export_tflite(model_dir, paths["tflite_float"], tasks),
        "tflite_int8": lambda: export_tflite(
            model_dir, paths["tflite_int8"], tasks, "dynamic-int8"
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
