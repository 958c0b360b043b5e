"""Shared pieces of the adversarial suite (its fixtures, `cli` and `model_copy`, are in
tests/conftest.py)."""

import hashlib
from pathlib import Path


def fit_arguments(encoder, data_dir, output, *extra):
    """A small `fit` on RTE and STS-B (tiny encoder, a few steps)."""
    return [
        "fit", "--tasks", "rte,stsb", "--data-dir", data_dir, "--encoder", encoder,
        "--epochs", "1", "--batch-size", "8", "--max-seq-length", "32", "--learning-rate",
        "1e-3", "--selection", "last", "--verbose", "0", "--output-dir", output, *extra,
    ]  # fmt: skip


def digest(path: Path) -> dict[str, str]:
    """Every file under `path` (or the file itself) by relative name and content hash."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {
        str(file.relative_to(path) if file != path else file.name): hashlib.sha256(
            file.read_bytes()
        ).hexdigest()
        for file in files
    }
