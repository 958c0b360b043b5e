"""A whole multi-task model, every head included, without its optimizer state."""

from __future__ import annotations

import shutil
from pathlib import Path

from mtdnn_keras.export.token_ids_model import load_slim_model

from mtdnn_keras.models.model_directory import (
    CONFIG_FILE,
    MODEL_FILE,
    TOKENIZER_DIR,
    atomic_directory,
    save_tokenizer_atomically,
)


def export_model_folder(model_dir: str | Path, output: str | Path) -> Path:
    """Copies the model folder `model_dir` (written by `fit`) to `output` with a `model.keras`
    that holds the weights and architecture only (no optimizer slots: about a third of the
    size). `mtdnn-keras evaluate`/`predict`, `Predictor.load` and `load_model_directory` read
    it like the original. Written beside `output` and renamed into place.
    """
    slim, tokenizer = load_slim_model(model_dir)
    output = Path(output)
    with atomic_directory(output) as temporary:
        slim.save(temporary / MODEL_FILE)
        save_tokenizer_atomically(tokenizer, temporary / TOKENIZER_DIR)
        config = Path(model_dir) / CONFIG_FILE
        if config.is_file():
            shutil.copyfile(config, temporary / CONFIG_FILE)
    return output
