"""Shared fixtures: the real data beside the project, and tiny encoders built once."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data"
GLUE_DIR = DATA_DIR / "glue"


def require_data(*parts: str) -> Path:
    """The path under ../shared/data, or skip the test when it is absent."""
    path = DATA_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not found at {path} (../shared/data beside the project)")
    return path


@pytest.fixture(scope="session")
def minilm_tokenizer():
    from mtdnn_keras.encoders.encoder_loader import encoder_location, load_tokenizer

    return load_tokenizer(encoder_location("minilm"))


def tiny_backbone(vocabulary_size: int, seed: int = 0):
    import keras
    import keras_hub

    keras.utils.set_random_seed(seed)
    return keras_hub.models.BertBackbone(
        vocabulary_size=vocabulary_size,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=512,
    )


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory, minilm_tokenizer):
    """A keras-hub preset folder: a tiny random BERT with MiniLM's real vocabulary."""
    directory = tmp_path_factory.mktemp("tiny_encoder")
    tiny_backbone(minilm_tokenizer.vocabulary_size()).save_to_preset(str(directory))
    minilm_tokenizer.save_to_preset(str(directory))
    return directory


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def head(source: Path, target: Path, lines: int) -> Path:
    """Copies the first `lines` lines of `source` to `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(source, encoding="utf-8-sig") as handle:
        target.write_text("".join(handle.readlines()[:lines]), encoding="utf-8")
    return target


@pytest.fixture(scope="session")
def small_glue(tmp_path_factory):
    """The first rows of real GLUE files (RTE, STS-B, CoLA), in GLUE's folder layout."""
    glue = require_data("glue")
    root = tmp_path_factory.mktemp("glue")
    for folder, train_rows in (("RTE", 61), ("STS-B", 61), ("CoLA", 60)):
        head(glue / folder / "train.tsv", root / folder / "train.tsv", train_rows)
        head(glue / folder / "dev.tsv", root / folder / "dev.tsv", 31 if folder != "CoLA" else 30)
        head(glue / folder / "test.tsv", root / folder / "test.tsv", 21)
    return root


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, minilm_tokenizer):
    """A saved, untrained multi-task model (rte, stsb, sst2, mnli with SAN, squad2) on a tiny
    encoder with MiniLM's vocabulary, for the export tests."""
    from mtdnn_keras.models.model_directory import (
        MODEL_FILE,
        TOKENIZER_DIR,
        save_model_atomically,
        save_tokenizer_atomically,
    )
    from mtdnn_keras.models.mtdnn_model import MTDNNModel
    from mtdnn_keras.optimizers.skip_zero_gradient import make_optimizer
    from mtdnn_keras.tasks import TaskRegistry

    directory = tmp_path_factory.mktemp("model")
    tasks = TaskRegistry.builtin().resolve("rte,stsb,sst2,mnli,squad2")
    model = MTDNNModel(tiny_backbone(minilm_tokenizer.vocabulary_size(), seed=3), tasks)
    model.compile(optimizer=make_optimizer("adamax", 1e-3))
    model.optimizer.build(model.trainable_variables)
    save_model_atomically(model, directory / MODEL_FILE)
    save_tokenizer_atomically(minilm_tokenizer, directory / TOKENIZER_DIR)
    return directory


@pytest.fixture
def cli(capsys):
    """Runs `mtdnn-keras ARGS` in-process; returns (exit status, stdout, stderr). Fails the
    test if a traceback reached the console."""
    from mtdnn_keras.cli.main import main

    def run(*arguments):
        status = main([str(argument) for argument in arguments])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err, err
        return status, out, err

    return run


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path):
    """A private copy of the shared tiny model folder, free to be written over."""
    import shutil

    target = tmp_path / "model"
    shutil.copytree(tiny_model_dir, target)
    return target
