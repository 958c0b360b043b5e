"""A whole multi-task model, every head included, without its optimizer state."""

from __future__ import annotations

import shutil
from pathlib import Path

from mtdnn_keras.export.token_ids_model import load_slim_model

from mtdnn_keras.models.model_directory import (
    CONFIG_FILE,
    MODEL_FILE,
    TOKENIZER_DIR,
    save_tokenizer_atomically,
)
from mtdnn_keras.storage.atomic_writes import atomic_directory
from mtdnn_keras.storage.output_guard import check_output


def export_model_folder(
    model_dir: str | Path, output: str | Path, overwrite: bool = False
) -> Path:
    """Copies the model folder `model_dir` (written by `fit`) to `output` with a `model.keras`
    that holds the weights and architecture only (no optimizer slots: about a third of the
    size). `mtdnn-keras evaluate`/`predict`, `Predictor.load` and `load_model_directory` read
    it like the original. Written beside `output` and renamed into place. An existing,
    non-empty `output` is refused unless `overwrite`; one that holds `model_dir` always.
    """
    output = check_output(output, overwrite=overwrite, protected=[model_dir])
    slim, tokenizer = load_slim_model(model_dir)
    with atomic_directory(output) as temporary:
        slim.save(temporary / MODEL_FILE)
        save_tokenizer_atomically(tokenizer, temporary / TOKENIZER_DIR)
        config = Path(model_dir) / CONFIG_FILE
        if config.is_file():
            shutil.copyfile(config, temporary / CONFIG_FILE)
    return output
