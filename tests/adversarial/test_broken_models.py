"""A model with a non-finite weight is never evaluated, saved, exported or called last good;
a damaged model file is named in one line, never a traceback."""

import json
import shutil
import zipfile

import numpy as np
import pytest
from adversarial_helpers import fit_arguments

COMMANDS = {
    "evaluate": lambda model, glue, out: ["evaluate", "--model", model, "--tasks", "rte", "--data-dir", glue],
    "predict": lambda model, glue, out: [
        "predict", "--model", model, "--task", "rte", "--input", glue / "RTE" / "test.tsv",
        "--output", out / "p.jsonl",
    ],
    "export keras": lambda model, glue, out: ["export", "--model", model, "--format", "keras", "--output", out / "k"],
    "export tflite": lambda model, glue, out: [
        "export", "--model", model, "--format", "tflite", "--output", out / "m.tflite",
    ],
    "finetune": lambda model, glue, out: [
        "finetune", "--model", model, "--task", "rte", "--data-dir", glue, "--output-dir", out / "ft",
        "--max-steps", "1",
    ],
}  # fmt: skip


def test_a_learning_rate_that_overflows_stops_at_the_first_step_and_saves_nothing(
    cli, tiny_encoder_dir, small_glue, tmp_path
):
    run = tmp_path / "run"
    # 1e39 is a finite Python float but infinite in float32: the loss of step 1 is finite,
    # the weights it leaves are not
    status, out, err = cli(
        *fit_arguments(tiny_encoder_dir, small_glue, run, "--learning-rate", "1e39")
    )
    assert status == 2
    assert "training stopped at step 1: the loss of task " in err
    assert "no model had been saved yet" in err
    assert not (run / "model.keras").exists() and not (run / "metrics.json").exists()
    assert "dev scores" not in out  # never evaluated


def test_a_run_that_diverges_after_a_save_keeps_the_finite_model_it_names(
    cli, tiny_encoder_dir, small_glue, tmp_path
):
    from mtdnn_keras.models.model_directory import load_model_directory

    one_row = tmp_path / "one.tsv"
    lines = (small_glue / "RTE" / "train.tsv").read_text().splitlines()
    one_row.write_text("\n".join(lines[:2]) + "\n")
    run = tmp_path / "run"
    # warm-up over all 3 steps: 1.1e38 at step 1 (finite), then 2.2e38 and 3.3e38 overflow
    status, _, err = cli(
        *fit_arguments(tiny_encoder_dir, small_glue, run, "--learning-rate", "3.3e38"),
        "--tasks", "rte", "--train-file", f"rte={one_row}", "--epochs", "3",
        "--warmup-fraction", "1", "--selection", "best",
    )  # fmt: skip
    assert status == 2 and "training stopped at step " in err
    if (run / "model.keras").exists():
        assert f"{run / 'model.keras'} is the last model saved before it" in err
        model, _ = load_model_directory(run)  # finite, or it would not load
        assert all(np.isfinite(w).all() for w in model.get_weights())
    else:
        assert "no model had been saved yet" in err


@pytest.fixture(scope="module")
def nan_model_dir(tiny_model_dir, tmp_path_factory):
    import keras

    from mtdnn_keras.models.model_directory import load_model_directory

    model, _ = load_model_directory(tiny_model_dir)
    weights = model.get_weights()
    weights[-1] = np.full_like(weights[-1], np.nan)
    model.set_weights(weights)
    folder = tmp_path_factory.mktemp("nan_model")
    shutil.copytree(tiny_model_dir / "tokenizer", folder / "tokenizer")
    keras.Model.save(model, folder / "model.keras")  # as an older release could have
    return folder


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_model_with_non_finite_weights_is_refused_by_every_command(
    cli, nan_model_dir, small_glue, tmp_path, command
):
    status, _, err = cli(*COMMANDS[command](nan_model_dir, small_glue, tmp_path))
    assert status == 2 and "weights are not finite" in err and str(nan_model_dir) in err, err
    assert not [p for p in tmp_path.iterdir()]  # nothing written


def test_saving_a_model_with_non_finite_weights_is_refused(tiny_model_dir, tmp_path):
    from mtdnn_keras.models.model_directory import (
        ModelFileError,
        load_model_directory,
        save_model_atomically,
    )

    model, _ = load_model_directory(tiny_model_dir)
    weights = model.get_weights()
    weights[0] = np.full_like(weights[0], np.inf)
    model.set_weights(weights)
    with pytest.raises(ModelFileError, match="weights are not finite"):
        save_model_atomically(model, tmp_path / "model.keras")
    assert not list(tmp_path.iterdir())


def _damage(kind: str, model_dir):
    path = model_dir / "model.keras"
    data = path.read_bytes()
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "not a zip":
        path.write_bytes(b"\x00garbage" * 100)
    elif kind == "a folder":
        path.unlink()
        path.mkdir()
    elif kind == "zip of other files":
        path.unlink()
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("readme.txt", "hello")
    elif kind == "config garbled":
        with zipfile.ZipFile(path) as source:
            members = {name: source.read(name) for name in source.namelist()}
        members["config.json"] = b"{not json"
        with zipfile.ZipFile(path, "w") as archive:
            for name, content in members.items():
                archive.writestr(name, content)
    elif kind == "weights missing":
        with zipfile.ZipFile(path) as source:
            members = {name: source.read(name) for name in source.namelist()}
        with zipfile.ZipFile(path, "w") as archive:
            for name, content in members.items():
                if not name.endswith(".h5"):
                    archive.writestr(name, content)
    elif kind == "no tokenizer":
        shutil.rmtree(model_dir / "tokenizer")
    elif kind == "tokenizer garbled":
        (model_dir / "tokenizer" / "tokenizer.json").write_text(json.dumps({"class_name": 5}))


DAMAGE = [
    "empty",
    "truncated",
    "not a zip",
    "a folder",
    "zip of other files",
    "config garbled",
    "weights missing",
    "no tokenizer",
    "tokenizer garbled",
]


@pytest.mark.parametrize("kind", DAMAGE)
@pytest.mark.parametrize("command", ["evaluate", "export keras"])
def test_a_damaged_model_folder_is_named_in_one_line(
    cli, model_copy, small_glue, tmp_path, kind, command
):
    _damage(kind, model_copy)
    out = tmp_path / "out"
    out.mkdir()
    status, _, err = cli(*COMMANDS[command](model_copy, small_glue, out))
    assert status == 2 and err.count("\n") == 1 and str(model_copy) in err, err
    assert not list(out.iterdir())


def test_a_finished_run_folder_without_its_model_names_what_is_missing(cli, small_glue, tmp_path):
    status, _, err = cli(*COMMANDS["evaluate"](tmp_path / "no-such-run", small_glue, tmp_path))
    assert status == 2 and "no such folder (expected the output folder of 'fit')" in err
