"""Splits a SQuAD JSON file by article, for training and evaluating on disjoint articles."""

from __future__ import annotations

import json
from pathlib import Path

from mtdnn_keras.data.example_reader import DataError, _load_json_document
from mtdnn_keras.storage.atomic_writes import write_text_atomically
from mtdnn_keras.storage.output_guard import check_output


def split_articles(
    path: str | Path, train_articles: int, output_dir: str | Path, overwrite: bool = False
) -> tuple[Path, Path]:
    """Writes the first `train_articles` articles of `path` to `output_dir/train.json` and the
    rest to `output_dir/dev.json`, in SQuAD's layout (each file written atomically). Existing
    files there are replaced only with `overwrite`, and `path` itself never.

    Returns the two paths.
    """
    path = Path(path)
    targets = [Path(output_dir) / name for name in ("train.json", "dev.json")]
    for target in targets:
        check_output(
            target, overwrite=overwrite, protected=[path], option="--output-dir", kind="file"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(path, None, None, f"cannot read a SQuAD file: {error}") from None
    root = _load_json_document(path, text)  # DataError with the line: invalid, too deep, ...
    articles = root.get("data") if isinstance(root, dict) else None
    if not isinstance(articles, list):
        raise DataError(path, None, "data", 'not a SQuAD file: expected {"data": [articles]}')
    if not 0 < train_articles < len(articles):
        raise ValueError(
            f"{path} has {len(articles)} articles: --train-articles must be 1 to {len(articles) - 1}"
        )
    texts = []  # both made whole before either is written: the pair is written together
    for part in (articles[:train_articles], articles[train_articles:]):
        try:
            text = json.dumps({"version": root.get("version", ""), "data": part}, ensure_ascii=False)
            text.encode("utf-8")
        except (RecursionError, ValueError) as error:  # too deep; a lone surrogate
            raise DataError(path, None, None, f"cannot write its articles back: {error}") from None
        texts.append(text)
    for target, text in zip(targets, texts):
        write_text_atomically(text, target)
    return targets[0], targets[1]
