"""A trained multi-task model as a TF Serving SavedModel: signatures per task, ids or text in."""

from __future__ import annotations

import json
import re
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from mtdnn_keras.export.op_audit import TEXT_OPS_MIN_TF_SERVING, custom_ops, signature_ops
from mtdnn_keras.export.serving_files import (
    WARMUP_FILE,
    check_models_config,
    write_models_config,
    write_warmup_requests,
)
from mtdnn_keras.export.token_ids_model import (
    TOKEN_ID_INPUTS,
    call_on_token_ids,
    load_slim_model,
    raw_variables,
)

from mtdnn_keras.storage.atomic_writes import atomic_directory
from mtdnn_keras.storage.output_guard import check_output

DEFAULT_TASK_FILE = "mtdnn_keras_signatures.json"


def export_saved_model(
    model_dir: str | Path,
    output: str | Path,
    name: str | None = None,
    version: int = 1,
    overwrite: bool = False,
) -> Path:
    """Writes the model that `fit` saved in `model_dir` to TF Serving's layout
    `output/NAME/VERSION/` (`saved_model.pb`, `variables/`, `assets/`), atomically.

    Signatures, for each task `T` of the model:
    - `T`: token ids in (`token_ids`, `segment_ids`, `padding_mask`, int32 `(batch, length)`;
      core TensorFlow ops only);
    - `T_text`: raw text in (`text_a`, and `text_b` for pair tasks; tf.string `(batch,)`),
      tokenised in the graph with the model's WordPiece vocabulary (needs tensorflow-text's
      ops: `import tensorflow_text` before loading).

    Outputs are the task type's (`TaskType.serving_outputs`): `probabilities` and
    `label_ids` (classification), `scores` (regression, ranking, one per row for multiple
    choice); for span tasks `start_logits` and `end_logits`, and the window's answer: token
    positions `start_index` and `end_index`, `null_score_diff` and `has_answer` (at the
    threshold `fit` tuned); for sequence labelling `probabilities` and `tag_ids` per token
    (a word's tag is at its first piece), and from the text signature each word's `words`,
    `tags`, `starts` and `ends` (character offsets). Span and multiple-choice tasks have the
    ids signature only. The first task's ids signature is also `serving_default`.

    Also written: `assets/vocab.txt`; `assets.extra/tf_serving_warmup_requests` (one request
    per signature, replayed by TF Serving on load); `assets.extra/mtdnn_keras_signatures.json`
    (the tasks, and each signature's non-core ops with the oldest TF Serving that has them);
    and `output/models.config` serving this version. Returns the version folder.

    An existing version folder, or a `models.config` that serves other models, is replaced
    only with `overwrite` (the version folder in one atomic swap); a folder holding
    `model_dir` never.
    """
    name = name or Path(model_dir).resolve().name
    if version < 1:
        raise ValueError(f"a TF Serving version is a positive integer, got {version}")
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]*", name or ""):
        raise ValueError(
            f"--name {name!r}: a served model's name is letters, digits, '.', '_' and '-' "
            "(a folder name TF Serving's models.config can hold)"
        )
    target = check_output(
        Path(output) / name / str(version),
        overwrite=overwrite,
        protected=[model_dir],
        option="--output/NAME/VERSION",
    )
    check_models_config(Path(output) / "models.config", name, overwrite)
    model, tokenizer = load_slim_model(model_dir)
    archive = keras.export.ExportArchive()
    archive.track(model)
    tokenizer(tf.constant(["build"]))  # builds its vocabulary table, which the archive keeps
    archive.track(tokenizer)
    tasks = list(model.tasks)
    for task in tasks:  # ids signatures first: the first endpoint is serving_default
        archive.add_endpoint(
            task.name,
            _ids_endpoint(model, task, tokenizer.sep_token_id),
            input_signature=TOKEN_ID_INPUTS,
        )
    for task in tasks:
        if not task.kind.has_text_signature(task):
            continue  # a span's text form needs windows, a choice's its choices: ids only
        text_spec = [tf.TensorSpec([None], tf.string, name="text_a")]
        if task.is_pair_task:
            text_spec.append(tf.TensorSpec([None], tf.string, name="text_b"))
        archive.add_endpoint(
            f"{task.name}_text", _text_endpoint(model, task, tokenizer), input_signature=text_spec
        )
    _track_variables_once(archive)
    with atomic_directory(target) as temporary:
        archive.write_out(str(temporary), verbose=False)
        (temporary / "assets").mkdir(exist_ok=True)
        (temporary / "assets" / "vocab.txt").write_text(
            "\n".join(tokenizer.get_vocabulary()) + "\n", encoding="utf-8"
        )
        (temporary / "assets.extra").mkdir(exist_ok=True)
        ops = {
            signature: custom_ops(names)
            for signature, names in signature_ops(temporary).items()
            if not signature.startswith("__")
        }
        (temporary / "assets.extra" / DEFAULT_TASK_FILE).write_text(
            json.dumps(
                {
                    "default_task": tasks[0].name,
                    "tasks": {task.name: {"name": task.name, **task.to_dict()} for task in tasks},
                    "custom_ops": ops,
                    "min_tf_serving": {
                        s: TEXT_OPS_MIN_TF_SERVING if custom else "any" for s, custom in ops.items()
                    },
                },
                indent=1,
            ),
            encoding="utf-8",
        )
        write_warmup_requests(
            temporary / "assets.extra" / WARMUP_FILE, name, _warmup_inputs(tasks, tokenizer)
        )
    write_models_config(Path(output) / "models.config", name, version)
    return target


def _warmup_inputs(tasks, tokenizer) -> dict[str, dict]:
    """A two-row request for every signature."""
    length = 16
    ids = np.full((2, length), tokenizer.pad_token_id, np.int32)
    ids[:, 0] = tokenizer.cls_token_id
    ids[:, 1:5] = tokenizer.token_to_id("the")
    ids[:, 5] = tokenizer.sep_token_id
    mask = (np.arange(length) < 6).astype(np.int32)[None, :].repeat(2, 0)
    feed = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask}
    requests = {}
    for task in tasks:
        requests[task.name] = feed
        if task.kind.has_text_signature(task):
            text = {"text_a": np.array([b"A warm-up sentence.", b"Another one."])}
            if task.is_pair_task:
                text["text_b"] = np.array([b"A second sentence.", b"And another."])
            requests[f"{task.name}_text"] = text
    return requests


def _track_variables_once(archive) -> None:
    """Works around keras-team/keras#23553 (open in Keras 3.15): `track()` keeps the Keras
    variable wrappers while the endpoints capture the `tf.Variable`s inside them, so every
    weight was written twice (MiniLM: 184 MB instead of 91). Tracking the `tf.Variable`s
    themselves lets TensorFlow store each once. Private API: pinned Keras minor version."""
    trackable = archive._tf_trackable
    for attribute in ("variables", "trainable_variables", "non_trainable_variables"):
        wrapped = getattr(trackable, attribute, None)
        if wrapped is not None:
            setattr(trackable, attribute, raw_variables(wrapped))


def _ids_endpoint(model, task, sep_token_id):
    backbone = model.backbone

    def serve(token_ids, segment_ids, padding_mask):
        shape = tf.shape(token_ids)
        checks = [
            _assert_same_shape(f"{task.name}: segment_ids", segment_ids, shape),
            _assert_same_shape(f"{task.name}: padding_mask", padding_mask, shape),
            tf.debugging.Assert(
                (shape[0] == 0) | (shape[1] > 0),
                [f"{task.name}: token_ids of shape", shape, _NEED_CLS],
            ),
            # out of range, a lookup reads zeros on a GPU: a silently wrong answer
            _assert_in_range(f"{task.name}: token_ids", token_ids, backbone.vocabulary_size),
            _assert_in_range(f"{task.name}: segment_ids", segment_ids, backbone.num_segments),
        ]
        with tf.control_dependencies(checks):
            inputs = _at_least_one_token(token_ids, segment_ids, padding_mask)
        outputs = call_on_token_ids(model, *inputs)
        outputs = task.kind.serving_outputs(task, outputs[task.name], (*inputs, sep_token_id))
        return _first_rows(task, outputs, shape[0], shape[1])

    return serve


def _text_endpoint(model, task, tokenizer):
    def serve(text_a, text_b=None):
        if text_b is not None:
            sizes = tf.size(text_a), tf.size(text_b)
            same = tf.debugging.Assert(
                sizes[0] == sizes[1],
                [
                    f"{task.name}_text: text_a and text_b must be as long (one text_b for each "
                    "text_a); their lengths are",
                    *sizes,
                ],
            )
            with tf.control_dependencies([same]):
                text_a, text_b = tf.identity(text_a), tf.identity(text_b)
        features, words = task.kind.text_features(task, tokenizer, text_a, text_b)
        # cut the batch to its longest example: max_seq_length columns are mostly padding
        # (at least one column: an empty batch has no longest example)
        lengths = tf.reduce_sum(tf.cast(features["padding_mask"], tf.int32), 1)
        length = tf.maximum(tf.reduce_max(lengths), 1)
        features = {key: value[:, :length] for key, value in features.items()}
        padded = _at_least_one_token(*(features[key] for key in TEXT_FEATURES))
        outputs = model(dict(zip(TEXT_FEATURES, padded)), training=False)
        inputs = (*padded, tokenizer.sep_token_id)
        outputs = task.kind.text_outputs(task, outputs[task.name], inputs, words)
        return _first_rows(task, outputs, tf.size(text_a), length)

    return serve


TEXT_FEATURES = ("token_ids", "segment_ids", "padding_mask")
_NEED_CLS = "has rows of no tokens: each row needs its [CLS] at least ([CLS] [SEP] for no text)"


def _assert_same_shape(name, tensor, shape):
    return tf.debugging.Assert(
        tf.reduce_all(tf.shape(tensor) == shape),
        [
            f"{name} must have the shape (batch, length) of token_ids; the shapes are",
            tf.shape(tensor),
            "and",
            shape,
        ],
    )


def _assert_in_range(name, ids, size):
    return tf.debugging.Assert(
        tf.reduce_all((ids >= 0) & (ids < size)),
        [f"{name} must be in [0, {size}); the batch holds", tf.reduce_min(ids), "to",
         tf.reduce_max(ids)],
        summarize=1,
    )  # fmt: skip


def _at_least_one_token(*inputs):
    """`inputs` (each `(batch, length)`) padded to at least one row and one column: an empty
    batch runs as one row of padding, whose outputs `_first_rows` drops again (the encoder
    reads every row's `[CLS]` at column 0, which an empty batch lacks)."""
    shape = tf.shape(inputs[0])
    missing = tf.maximum(1 - shape, 0)
    padding = tf.stack([[0, missing[0]], [0, missing[1]]])
    return [tf.pad(value, padding) for value in inputs]


def _first_rows(task, outputs: dict, batch, length) -> dict:
    """`outputs` of `_at_least_one_token`'s inputs cut back to the request's `batch` rows
    (and `length` columns, for the outputs the task's type has per token)."""
    per_token = task.kind.per_token_outputs()
    return {
        name: value[:batch, :length] if name in per_token else value[:batch]
        for name, value in outputs.items()
    }
