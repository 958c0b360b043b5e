"""A trained multi-task model's token-ids graph as a TFLite flatbuffer (builtin ops only)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from mtdnn_keras.export.token_ids_model import (
    TOKEN_ID_INPUTS,
    call_on_token_ids,
    load_slim_model,
    raw_variables,
)

from mtdnn_keras.storage.atomic_writes import atomic_file
from mtdnn_keras.storage.output_guard import check_output

QUANTIZATIONS = (None, "dynamic-int8")
DEFAULT_QUANTIZE_GROUPS = 4


class TFLiteConversionError(ValueError):
    """The model needs ops outside TFLite's builtin set (Flex ops no pip runtime runs)."""


def export_tflite(
    model_dir: str | Path,
    output: str | Path,
    tasks: list[str] | None = None,
    quantize: str | None = None,
    quantize_groups: int = DEFAULT_QUANTIZE_GROUPS,
    overwrite: bool = False,
) -> Path:
    """Converts the model `fit` saved in `model_dir` to `output` (a `.tflite` file, written
    atomically): inputs `token_ids`, `segment_ids`, `padding_mask` (int32, `(batch, length)`,
    resizable), outputs the raw head outputs of `tasks` (default: all), named by task.

    `quantize="dynamic-int8"`: TFLite's dynamic-range quantization, about a quarter of the
    size. Matrix weights are int8 per output channel, and each layer's input is quantized to
    int8 per row when it runs. The token-embedding table is stored as int8 with one scale per
    row, read back only for the rows a batch uses: TFLite would quantize it with one scale for
    the whole table (MiniLM's rows differ 24-fold in range) and dequantize all of it on every
    call.

    `quantize_groups`: each encoder matrix multiplication is split along its input width into
    this many groups, each a layer of its own, so that every group gets its own weight scales
    and its own input scale per row. The same arithmetic and nearly the same size, with about
    a third less quantization error on MiniLM, at some speed (docs/serving.md); 1 is TFLite's
    plain dynamic range. Every layer's input width must divide by it.

    Only TFLite's builtin ops are allowed: a graph that would need others (Flex or custom)
    raises `TFLiteConversionError` naming them (one line; the converter's report is its
    `details`). A model trained with `--precision mixed_bfloat16` or `mixed_float16` is
    converted computing in float32, from its float32 weights. Run the file with
    `ai_edge_litert.interpreter.Interpreter`.

    An existing `output` is replaced only with `overwrite`; a file of `model_dir` never.
    """
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}, not {quantize!r}")
    if not isinstance(quantize_groups, int) or quantize_groups < 1:
        raise ValueError(f"quantize_groups must be a whole number >= 1, not {quantize_groups!r}")
    output = check_output(output, overwrite=overwrite, protected=[model_dir], kind="file")
    # TFLite's builtin kernels compute in float32: a model trained with `--precision
    # mixed_bfloat16` or `mixed_float16` (float32 weights) is rebuilt to compute in float32
    model, _ = load_slim_model(model_dir, dtype="float32")
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
    with contextlib.ExitStack() as stack:
        if quantize:
            stack.enter_context(_row_quantized_lookup(model.backbone.token_embedding))
            stack.enter_context(_grouped_matmuls(model.backbone, quantize_groups))
        concrete = serve.get_concrete_function()
    flatbuffer = convert_to_tflite(concrete, holder, quantize, source=str(model_dir))
    with atomic_file(output) as temporary:
        temporary.write_bytes(flatbuffer)
    return output


def convert_to_tflite(concrete_function, trackable, quantize: str | None, source: str) -> bytes:
    """The flatbuffer of a concrete function, builtin ops only, with `quantize` as in
    `export_tflite` (dynamic range for the graph's float weights). `trackable` holds the
    variables to freeze; `source` names the model in errors."""
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete_function], trackable)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize == "dynamic-int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    # The converter prints its diagnostics (each op's source location) to the process's
    # stderr and puts a dump of the whole graph in its error: thousands of lines for a
    # failure this function explains in one. They are shown only when it fails otherwise.
    failure = None
    with _captured_stderr() as diagnostics:
        try:
            flatbuffer = converter.convert()
        except Exception as error:
            failure = error
    if failure is not None:  # the converter raises ConverterError with the op list
        message = str(failure)
        ops = sorted(
            {
                op.strip()
                for line in message.splitlines()
                if line.startswith(("TF Select ops:", "Custom ops:"))
                for op in line.split(":", 1)[1].split(",")
            }
        )
        if ops:
            conversion_error = TFLiteConversionError(
                f"{source}: the token-ids graph needs ops outside TFLite's builtins "
                f"({', '.join(ops)}); they would need the Flex delegate or custom kernels, "
                "which no pip runtime has"
            )
            conversion_error.details = message  # the converter's own report, graph included
            raise conversion_error from None
        sys.stderr.write("".join(diagnostics))
        raise failure
    return flatbuffer


@contextlib.contextmanager
def _captured_stderr():
    """Sends what is written to file descriptor 2 (C++ logging included) to a temporary file
    while the block runs; yields a list that then holds it, as text."""
    text = []
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no file descriptor 2 to redirect: nothing reaches a console anyway
        yield text
        return
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            yield text
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            log.seek(0)
            text.append(log.read().decode("utf-8", "replace"))


@contextlib.contextmanager
def _row_quantized_lookup(embedding):
    """While a graph is traced, `embedding` (a keras-hub `ReversibleEmbedding`) looks its
    rows up in an int8 copy of its table, one scale per row: `int8 row * scale`.

    The scales are int32 fixed point, so that the quantizer leaves them alone: it would
    quantize a float32 table of scales too, with one scale for all of them (MiniLM's
    smallest row scales would be off by up to 10%)."""
    table = np.asarray(embedding.embeddings.numpy(), np.float32)
    scales = np.abs(table).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    codes = tf.constant(np.round(table / scales[:, None]).astype(np.int8))
    fraction_bits = 30 - max(0, int(np.ceil(np.log2(scales.max()))))
    fixed_scales = tf.constant(np.round(scales * 2.0**fraction_bits).astype(np.int32))

    def lookup(inputs, reverse=False):
        if reverse:
            raise NotImplementedError("the exported graphs never project back onto the vocabulary")
        ids = tf.cast(inputs, tf.int32)
        rows = tf.cast(tf.gather(codes, ids), tf.float32)
        row_scales = tf.cast(tf.gather(fixed_scales, ids), tf.float32) * 2.0**-fraction_bits
        return rows * tf.expand_dims(row_scales, -1)  # not [..., None]: a Flex StridedSlice

    embedding.call = lookup
    try:
        yield
    finally:
        del embedding.call


@contextlib.contextmanager
def _grouped_matmuls(backbone, groups: int):
    """While a graph is traced, every `Dense` and `EinsumDense` of `backbone` computes
    `x @ kernel` as the sum over `groups` equal slices of its input width,
    `x[..., g] @ kernel[g, :]`, each slice a layer of its own for the quantizer."""
    if groups == 1:
        yield
        return
    calls = {
        layer: _grouped_call(layer, groups)  # all built first: a layer that cannot split raises
        for layer in backbone._flatten_layers(include_self=False)
        if isinstance(layer, (keras.layers.Dense, keras.layers.EinsumDense))
    }
    for layer, call in calls.items():
        layer.call = call
    try:
        yield
    finally:
        for layer in calls:
            del layer.call


def _grouped_call(layer, groups: int):
    """`layer.call` with its kernel split into `groups` slices of its input width."""
    kernel = np.asarray(layer.kernel.numpy(), np.float32)
    contracted = 1
    if isinstance(layer, keras.layers.EinsumDense):
        # keras-hub's attention projections: "abc,cde->abde" and "abcd,cde->abe"; the input's
        # last dimensions are the kernel's first
        inputs, rest = layer.equation.split(",")
        kernel_axes, output_axes = rest.split("->")
        summed = [axis for axis in kernel_axes if axis in inputs and axis not in output_axes]
        if "".join(summed) != kernel_axes[: len(summed)] or not inputs.endswith("".join(summed)):
            raise ValueError(f"{layer.path}: cannot split the einsum {layer.equation!r}")
        contracted = len(summed)
    width = int(np.prod(kernel.shape[:contracted]))
    if width % groups:
        raise ValueError(
            f"{layer.path}: input width {width} does not divide into {groups} quantization "
            "groups; choose a quantize_groups that divides every layer's width"
        )
    output_shape = list(kernel.shape[contracted:])
    parts = [tf.constant(part) for part in np.split(kernel.reshape(width, -1), groups)]
    activation = layer.activation

    def call(inputs, *args, **kwargs):
        batch_shape = tf.shape(inputs)[: inputs.shape.rank - contracted]
        flat = tf.reshape(inputs, tf.concat([batch_shape, [width]], 0))
        slices = tf.split(flat, groups, axis=-1)
        outputs = tf.add_n([tf.matmul(x, part) for x, part in zip(slices, parts)])
        outputs = tf.reshape(outputs, tf.concat([batch_shape, output_shape], 0))
        if layer.bias is not None:
            outputs = outputs + layer.bias
        return activation(outputs) if activation is not None else outputs

    return call
