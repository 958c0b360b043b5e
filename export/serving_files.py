"""TF Serving's side files: a models.config and warm-up requests (`assets.extra`)."""

from __future__ import annotations

import re
from pathlib import Path

import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

from mtdnn_keras.storage.atomic_writes import write_text_atomically
from mtdnn_keras.storage.output_guard import OutputCollisionError

WARMUP_FILE = "tf_serving_warmup_requests"


def write_warmup_requests(path: str | Path, model_name: str, requests: dict[str, dict]) -> None:
    """Writes one `PredictionLog` per signature (signature name to its input arrays) as the
    TFRecord file TF Serving replays on load (`assets.extra/tf_serving_warmup_requests`)."""
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature, inputs in requests.items():
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature)
            )
            for key, value in inputs.items():
                request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
            writer.write(log.SerializeToString())


def read_warmup_requests(path: str | Path) -> list:
    """The `PredictionLog`s of a warm-up file, parsed with TF Serving's own protos."""
    logs = []
    for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record)
        logs.append(log)
    return logs


def _models_config(model_name: str, version: int | str) -> str:
    return (
        "model_config_list {\n"
        "  config {\n"
        f'    name: "{model_name}"\n'
        f'    base_path: "/models/{model_name}"\n'
        '    model_platform: "tensorflow"\n'
        f"    model_version_policy {{ specific {{ versions: {version} }} }}\n"
        "  }\n"
        "}\n"
    )


def write_models_config(path: str | Path, model_name: str, version: int) -> None:
    """A `--model_config_file` serving `model_name` from `/models/<model_name>` (the folder
    mounted into the `tensorflow/serving` container), pinned to `version`."""
    write_text_atomically(_models_config(model_name, version), path)


def check_models_config(path: str | Path, model_name: str, overwrite: bool) -> None:
    """Refuses (unless `overwrite`) to replace a `models.config` other than one this export
    wrote for `model_name` (at any version): it may serve other models."""
    path = Path(path)
    if overwrite or not (path.exists() or path.is_symlink()):
        return
    ours = re.escape(_models_config(model_name, "@")).replace("@", "[0-9]+")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = None
    if text is None or not re.fullmatch(ours, text):
        raise OutputCollisionError(
            f"{path} exists and serves something else; choose another --output, or pass "
            "--overwrite to replace it"
        )
