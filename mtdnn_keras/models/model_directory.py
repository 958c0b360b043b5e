"""A trained model's folder: the `.keras` model, its tokenizer and its task definitions."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import keras

# A saved model names these classes; importing them registers them for `load_model`.
from mtdnn_keras.models.mtdnn_model import MTDNNModel
from mtdnn_keras.optimizers import linear_warmup_decay, skip_zero_gradient  # noqa: F401

MODEL_FILE = "model.keras"
TOKENIZER_DIR = "tokenizer"
CONFIG_FILE = "training_config.json"


def save_model_atomically(model: keras.Model, path: str | Path) -> None:
    """Writes `model` to `path` via a temporary file and a rename: a crash never leaves a
    half-written model at `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".keras")
    os.close(handle)
    try:
        model.save(temporary)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's file is private; a model is not
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_directory(directory: str | Path) -> Iterator[Path]:
    """Yields a temporary folder beside `directory`; when the block ends without an error, the
    folder replaces `directory` whole (a crash never leaves a half-written one there), and on
    an error it is removed."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    os.chmod(temporary, 0o777 & ~_umask())  # mkdtemp makes it private; the result is not
    try:
        yield temporary
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(temporary, directory)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary)


def save_tokenizer_atomically(tokenizer, directory: str | Path) -> None:
    """Writes the tokenizer as a keras-hub preset folder, replacing any earlier one whole."""
    with atomic_directory(directory) as temporary:
        tokenizer.save_to_preset(str(temporary))


def write_json_atomically(data, path: str | Path) -> None:
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def load_model_directory(directory: str | Path):
    """`(model, tokenizer)` from a folder written by `fit`."""
    directory = Path(directory)
    model_path = directory / MODEL_FILE
    if not model_path.is_file():
        raise FileNotFoundError(
            f"{model_path}: no trained model here (expected the output folder of 'fit')"
        )
    model = keras.saving.load_model(model_path)
    if not isinstance(model, MTDNNModel):
        raise ValueError(f"{model_path}: holds a {type(model).__name__}, not an MTDNNModel")
    return model, load_saved_tokenizer(directory / TOKENIZER_DIR)


def load_saved_tokenizer(directory: str | Path):
    """The tokenizer that `save_tokenizer_atomically` wrote (its config with its vocabulary).

    keras-hub's `from_preset` wants a backbone `config.json` beside it; this folder holds
    only the tokenizer, so it is read the way keras-hub's preset loader reads tokenizers.
    """
    directory = Path(directory)
    config_path = directory / "tokenizer.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path}: no saved tokenizer here")
    tokenizer = keras.saving.deserialize_keras_object(
        json.loads(config_path.read_text(encoding="utf-8"))
    )
    tokenizer.load_preset_assets(str(directory))
    return tokenizer
