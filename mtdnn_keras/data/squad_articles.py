"""Splits a SQuAD JSON file by article, for training and evaluating on disjoint articles."""

from __future__ import annotations

import json
import os
from pathlib import Path

from mtdnn_keras.data.example_reader import DataError


def split_articles(
    path: str | Path, train_articles: int, output_dir: str | Path
) -> tuple[Path, Path]:
    """Writes the first `train_articles` articles of `path` to `output_dir/train.json` and the
    rest to `output_dir/dev.json`, in SQuAD's layout (each file written atomically).

    Returns the two paths.
    """
    path = Path(path)
    try:
        root = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(path, None, None, f"cannot read a SQuAD file: {error}") from None
    articles = root.get("data") if isinstance(root, dict) else None
    if not isinstance(articles, list):
        raise DataError(path, None, "data", 'not a SQuAD file: expected {"data": [articles]}')
    if not 0 < train_articles < len(articles):
        raise ValueError(
            f"{path} has {len(articles)} articles: --train-articles must be 1 to {len(articles) - 1}"
        )
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, part in (
        ("train.json", articles[:train_articles]),
        ("dev.json", articles[train_articles:]),
    ):
        target = output_dir / name
        temporary = target.with_name(f".{name}.tmp")
        temporary.write_text(
            json.dumps({"version": root.get("version", ""), "data": part}, ensure_ascii=False),
            encoding="utf-8",
        )
        os.replace(temporary, target)
        written.append(target)
    return written[0], written[1]
