"""A whole multi-task model, every head included, without its optimizer state."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from mtdnn_keras.models.model_directory import (
    CONFIG_FILE,
    MODEL_FILE,
    TOKENIZER_DIR,
    load_model_directory,
    save_tokenizer_atomically,
)
from mtdnn_keras.models.mtdnn_model import MTDNNModel


def export_model_folder(model_dir: str | Path, output: str | Path) -> Path:
    """Copies the model folder `model_dir` (written by `fit`) to `output` with a `model.keras`
    that holds the weights and architecture only (no optimizer slots: about a third of the
    size). `mtdnn-keras evaluate`/`predict`, `Predictor.load` and `load_model_directory` read
    it like the original. Written beside `output` and renamed into place.
    """
    model, tokenizer = load_model_directory(model_dir)
    slim = MTDNNModel.from_config(model.get_config())
    slim.set_weights(model.get_weights())
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}."))
    os.chmod(temporary, 0o755)  # mkdtemp makes it private; the result is for sharing
    try:
        slim.save(temporary / MODEL_FILE)
        save_tokenizer_atomically(tokenizer, temporary / TOKENIZER_DIR)
        config = Path(model_dir) / CONFIG_FILE
        if config.is_file():
            shutil.copyfile(config, temporary / CONFIG_FILE)
        if output.exists():
            shutil.rmtree(output)
        os.replace(temporary, output)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary)
    return output
