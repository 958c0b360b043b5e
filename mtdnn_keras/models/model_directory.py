"""A trained model's folder: the `.keras` model, its tokenizer and its task definitions."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import keras
import numpy as np

from mtdnn_keras.models.model_files import (  # noqa: F401 (the folder's names, re-exported)
    CONFIG_FILE,
    MODEL_FILE,
    TOKENIZER_DIR,
    ModelFileError,
)

# A saved model names these classes; importing them registers them for `load_model`.
from mtdnn_keras.models.mtdnn_model import MTDNNModel
from mtdnn_keras.optimizers import linear_warmup_decay, skip_zero_gradient  # noqa: F401
from mtdnn_keras.storage.atomic_writes import atomic_directory, atomic_file


def non_finite_weights(model: keras.Model) -> list[str]:
    """The paths of `model`'s weights that hold a NaN or an infinity."""
    return [
        weight.path
        for weight in model.weights
        if weight.dtype != "string"
        and np.issubdtype(np.dtype(weight.dtype), np.floating)
        and not np.isfinite(keras.ops.convert_to_numpy(weight.value)).all()
    ]


def save_model_atomically(model: keras.Model, path: str | Path) -> None:
    """Writes `model` to `path` via a temporary file and a rename: a crash never leaves a
    half-written model at `path`. A model with a non-finite weight is never written."""
    bad = non_finite_weights(model)
    if bad:
        raise ModelFileError(
            f"not saving {path}: {len(bad)} weights are not finite (first {bad[0]})"
        )
    with atomic_file(path, suffix=".keras") as temporary:  # Keras wants the suffix
        model.save(temporary)


def save_tokenizer_atomically(tokenizer, directory: str | Path) -> None:
    """Writes the tokenizer as a keras-hub preset folder, replacing any earlier one whole."""
    with atomic_directory(directory) as temporary:
        tokenizer.save_to_preset(str(temporary))


def load_model_file(path: str | Path) -> MTDNNModel:
    """The `MTDNNModel` saved at `path`, checked: a file that is not a readable `.keras`
    model, holds another kind of model, or has weights that are not finite is a
    `ModelFileError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no trained model here (expected the output folder of 'fit')")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path}: not a .keras model file (not a zip archive): corrupt or truncated")
    try:
        model = keras.saving.load_model(path)
    except Exception as error:  # Keras raises many kinds for a damaged archive
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelFileError(f"{path}: cannot load the model ({reason[:300]})") from None
    if not isinstance(model, MTDNNModel):
        raise ModelFileError(f"{path}: holds a {type(model).__name__}, not an MTDNNModel")
    bad = non_finite_weights(model)
    if bad:
        raise ModelFileError(
            f"{path}: {len(bad)} weights are not finite (first {bad[0]}): the run that saved "
            "it diverged; it cannot be evaluated, exported or trained further"
        )
    return model


def load_model_directory(directory: str | Path):
    """`(model, tokenizer)` from a folder written by `fit`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelFileError(f"{directory}: no such folder (expected the output folder of 'fit')")
    model = load_model_file(directory / MODEL_FILE)
    return model, load_saved_tokenizer(directory / TOKENIZER_DIR)


def load_saved_tokenizer(directory: str | Path):
    """The tokenizer that `save_tokenizer_atomically` wrote (its config with its vocabulary).

    keras-hub's `from_preset` wants a backbone `config.json` beside it; this folder holds
    only the tokenizer, so it is read the way keras-hub's preset loader reads tokenizers.
    """
    directory = Path(directory)
    config_path = directory / "tokenizer.json"
    if not config_path.is_file():
        raise ModelFileError(f"{config_path}: no saved tokenizer here")
    try:
        tokenizer = keras.saving.deserialize_keras_object(
            json.loads(config_path.read_text(encoding="utf-8"))
        )
        tokenizer.load_preset_assets(str(directory))
    except Exception as error:  # a damaged config or vocabulary
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelFileError(f"{directory}: cannot load the tokenizer ({reason[:300]})") from None
    return tokenizer
