"""What the exports of a trained model share: the model without its optimizer, and how a
graph feeds it int32 token ids."""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from mtdnn_keras.models.model_directory import load_model_directory
from mtdnn_keras.models.mtdnn_model import MTDNNModel

# The ids inputs of every exported graph: int32 (batch, length), padding_mask 1 for tokens.
TOKEN_ID_INPUTS = [
    tf.TensorSpec([None, None], tf.int32, name="token_ids"),
    tf.TensorSpec([None, None], tf.int32, name="segment_ids"),
    tf.TensorSpec([None, None], tf.int32, name="padding_mask"),
]


def load_slim_model(model_dir: str | Path, dtype: str | None = None):
    """`(model, tokenizer)` of the folder `fit` wrote, the model rebuilt without optimizer
    slots (about a third of the saved file's size).

    `dtype`: a Keras dtype policy (`"float32"`) to rebuild the encoder with, whatever
    `--precision` it was trained with; `None` keeps that one. The mixed policies keep float32
    weights, so the weights carry over exactly."""
    trained, tokenizer = load_model_directory(model_dir)
    config = trained.get_config()
    if dtype is not None:
        backbone = config["backbone"]
        backbone = {**backbone, "config": {**backbone["config"], "dtype": dtype}}
        config = {**config, "backbone": backbone}
    model = MTDNNModel.from_config(config)
    model.set_weights(trained.get_weights())
    return model, tokenizer


def call_on_token_ids(model, token_ids, segment_ids, padding_mask) -> dict:
    """The model's outputs (a dict by task) for the `TOKEN_ID_INPUTS`, at inference."""
    return model(
        {
            "token_ids": token_ids,
            "segment_ids": segment_ids,
            "padding_mask": tf.cast(padding_mask, tf.bool),
        },
        training=False,
    )


def raw_variables(variables) -> list:
    """The `tf.Variable`s inside Keras 3's variable wrappers: what traced graphs capture, and
    so what SavedModel and TFLite must track to store each weight once (and at all)."""
    return [getattr(variable, "_value", variable) for variable in variables]
