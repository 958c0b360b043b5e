"""A trained multi-task model's token-ids graph as a TFLite flatbuffer (builtin ops only)."""

from __future__ import annotations

import os
from pathlib import Path

import tensorflow as tf
from mtdnn_keras.export.token_ids_model import (
    TOKEN_ID_INPUTS,
    call_on_token_ids,
    load_slim_model,
    raw_variables,
)

QUANTIZATIONS = (None, "dynamic-int8")


class TFLiteConversionError(ValueError):
    """The model needs ops outside TFLite's builtin set (Flex ops no pip runtime runs)."""


def export_tflite(
    model_dir: str | Path,
    output: str | Path,
    tasks: list[str] | None = None,
    quantize: str | None = None,
) -> Path:
    """Converts the model `fit` saved in `model_dir` to `output` (a `.tflite` file, written
    atomically): inputs `token_ids`, `segment_ids`, `padding_mask` (int32, `(batch, length)`,
    resizable), outputs the raw head outputs of `tasks` (default: all), named by task.

    `quantize="dynamic-int8"` stores weights as int8 (dynamic-range quantization; about a
    quarter of the size). Only TFLite's builtin ops are allowed: a graph that would need a
    Flex (TensorFlow) op raises `TFLiteConversionError` naming the ops.

    Run it with `ai_edge_litert.interpreter.Interpreter`.
    """
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}, not {quantize!r}")
    model, _ = load_slim_model(model_dir)
    names = tasks or model.task_names
    unknown = [name for name in names if name not in model.task_names]
    if unknown:
        raise ValueError(f"the model has no task {unknown}; it has {model.task_names}")

    @tf.function(input_signature=TOKEN_ID_INPUTS)
    def serve(token_ids, segment_ids, padding_mask):
        outputs = call_on_token_ids(model, token_ids, segment_ids, padding_mask)
        return {name: outputs[name] for name in names}

    # The converter freezes the variables it finds tracked on this object: Keras 3 keeps its
    # tf.Variables inside wrappers, so track those themselves (else they stay uninitialised).
    holder = tf.Module()
    holder.weights = raw_variables(model.variables)
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [serve.get_concrete_function()], holder
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize == "dynamic-int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    try:
        flatbuffer = converter.convert()
    except Exception as error:  # the converter raises ConverterError with the op list
        message = str(error)
        if "Flex" in message or "not supported" in message or "TF Select" in message:
            raise TFLiteConversionError(
                f"{model_dir}: the token-ids graph needs ops outside TFLite's builtins: {message}"
            ) from None
        raise
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}.tmp")
    temporary.write_bytes(flatbuffer)
    os.replace(temporary, output)
    return output
