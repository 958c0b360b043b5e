"""TF Serving's REST `:predict` contract, emulated on a SavedModel loaded with the `serve` tag.

No TF Serving binary installs here, so these helpers turn REST JSON bodies into the tensors
TF Serving would feed (row `instances` and columnar `inputs` forms, `{"b64": ...}` bytes) and
shape the response as TF Serving documents it (`predictions` per row, or `outputs`).
Reference: https://www.tensorflow.org/tfx/serving/api_rest#predict_api
"""

import base64
import json

import numpy as np
import tensorflow as tf


class RestError(ValueError):
    """What TF Serving answers with HTTP 400 and `{"error": ...}`."""


def rest_predict(loaded, body: str) -> dict:
    request = json.loads(body)
    name = request.get("signature_name", "serving_default")
    if name not in loaded.signatures:
        raise RestError(f'Serving signature name: "{name}" not found in signature def')
    signature = loaded.signatures[name]
    specs = signature.structured_input_signature[1]
    row_format = "instances" in request
    if row_format == ("inputs" in request):
        raise RestError("Request must have exactly one of 'instances' or 'inputs'")
    if row_format:
        rows = request["instances"]
        if len(specs) == 1 and not all(isinstance(row, dict) for row in rows):
            rows = [{next(iter(specs)): row} for row in rows]
        columns = {}
        for key in specs:
            if not all(key in row for row in rows):
                raise RestError(f"Missing input: {key}")
            columns[key] = [_decode(row[key]) for row in rows]
    else:
        given = request["inputs"]
        if len(specs) == 1 and not isinstance(given, dict):
            given = {next(iter(specs)): given}
        missing = [key for key in specs if key not in given]
        if missing:
            raise RestError(f"Missing input: {missing[0]}")
        columns = {key: _decode(given[key]) for key in specs}
    tensors = {}
    for key, spec in specs.items():
        try:
            tensors[key] = tf.constant(columns[key], dtype=spec.dtype)
        except (ValueError, TypeError) as error:
            raise RestError(f"input {key}: {error}") from None
        if tensors[key].shape.rank != spec.shape.rank:
            raise RestError(
                f"input {key}: expected rank {spec.shape.rank}, got {tensors[key].shape.rank}"
            )
    try:
        outputs = {k: v.numpy() for k, v in signature(**tensors).items()}
    except (tf.errors.InvalidArgumentError, ValueError) as error:
        raise RestError(str(error).splitlines()[0]) from None
    if row_format:
        count = len(next(iter(outputs.values())))
        if len(outputs) == 1:
            (values,) = outputs.values()
            return {"predictions": [_json(values[i]) for i in range(count)]}
        return {"predictions": [{k: _json(v[i]) for k, v in outputs.items()} for i in range(count)]}
    if len(outputs) == 1:
        return {"outputs": _json(next(iter(outputs.values())))}
    return {"outputs": {k: _json(v) for k, v in outputs.items()}}


def _decode(value):
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _json(value):
    value = np.asarray(value)
    if value.dtype.kind in "SO":
        return value.astype(str).tolist()
    return value.tolist()
