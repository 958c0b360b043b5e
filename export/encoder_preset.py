"""The refined shared encoder as a keras-hub preset folder, with no task heads."""

from __future__ import annotations

import json
from pathlib import Path

from mtdnn_keras.models.model_directory import load_model_directory
from mtdnn_keras.storage.atomic_writes import atomic_directory
from mtdnn_keras.storage.output_guard import check_output

README = """# Shared encoder exported by mtdnn-keras

A keras-hub preset: the BERT encoder refined by multi-task training, without task heads.
It loads with keras-hub alone (no mtdnn-keras import):

    import keras_hub
    backbone = keras_hub.models.BertBackbone.from_preset("{folder}")
    tokenizer = keras_hub.models.BertTokenizer.from_preset("{folder}")
    classifier = keras_hub.models.BertTextClassifier.from_preset("{folder}", num_classes=2)

Source model: {source}
Heads were trained on: {tasks}
Heads read: {pooling}
"""


def export_encoder_preset(
    model_dir: str | Path, output: str | Path, overwrite: bool = False
) -> Path:
    """Writes the shared `BertBackbone` of the model in `model_dir` (a folder written by
    `fit`) and its tokenizer as a keras-hub preset folder at `output`.

    The folder holds keras-hub's own files (`config.json`, `model.weights.h5`,
    `tokenizer.json`, `assets/tokenizer/vocabulary.txt`, `metadata.json`) plus a
    `mtdnn_keras.json` and `README.md` naming the source model. It is written beside `output`
    and renamed into place, so a crash never leaves a half-written preset. An existing,
    non-empty `output` is replaced whole only with `overwrite`; one that holds `model_dir`
    never.
    """
    output = check_output(output, overwrite=overwrite, protected=[model_dir])
    model, tokenizer = load_model_directory(model_dir)
    with atomic_directory(output) as temporary:
        model.backbone.save_to_preset(str(temporary))
        tokenizer.save_to_preset(str(temporary))
        info = {
            "source_model": str(Path(model_dir).resolve()),
            "tasks": model.task_names,
            "pooling": model.pooling,
        }
        (temporary / "mtdnn_keras.json").write_text(json.dumps(info, indent=2) + "\n")
        (temporary / "README.md").write_text(
            README.format(
                folder=output,
                source=info["source_model"],
                tasks=", ".join(model.task_names),
                pooling="the mean of the token vectors (sequence_output)"
                if model.pooling == "mean"
                else "the pooled [CLS] vector (pooled_output)",
            )
        )
    return output
