"""Reliability: faults during training stop it clearly and never replace a good saved model."""

import hashlib
import json
import math
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest


def _examples(task: str, count: int, label):
    from mtdnn_keras.data.example_reader import Example

    words = ["a cat sat", "the dog ran home", "birds sing at dawn", "rain fell all day long"]
    return [
        Example(words[i % 4], words[(i + 1) % 4], label(i), f"{task}-{i}", i + 1)
        for i in range(count)
    ]


def _train(tiny_encoder_dir, output_dir, stsb_label):
    from mtdnn_keras.tasks import TaskRegistry
    from mtdnn_keras.training.evaluator import EvalSet
    from mtdnn_keras.training.multitask_trainer import train
    from mtdnn_keras.training.starting_point import StartingPoint
    from mtdnn_keras.training.training_config import TrainingConfig

    config = TrainingConfig(
        tasks="rte,stsb",
        output_dir=str(output_dir),
        encoder=str(tiny_encoder_dir),
        epochs=1,
        batch_size=4,
        max_seq_length=16,
        verbose=0,
    )
    tasks = TaskRegistry.builtin().resolve("rte,stsb")
    train_examples = {
        "rte": _examples("rte", 16, lambda i: i % 2),
        "stsb": _examples("stsb", 16, stsb_label),
    }
    eval_sets = [EvalSet("rte", tasks[0], _examples("rte", 8, lambda i: i % 2))]
    return train(
        config, StartingPoint.from_encoder(str(tiny_encoder_dir)), tasks, train_examples, eval_sets
    )


def test_a_nan_loss_stops_training_naming_task_and_step_and_saves_nothing(
    tiny_encoder_dir, tmp_path
):
    from mtdnn_keras.training.non_finite_loss_guard import NonFiniteLossError

    run = tmp_path / "run"
    result = _train(tiny_encoder_dir, run, lambda i: float(i % 5))
    saved = (run / "model.keras").read_bytes()
    assert (run / "model.keras").stat().st_mode & 0o044  # readable by others, as umask allows
    assert result.steps == 8

    # every STS-B batch is NaN (the readers refuse NaN scores: this stands for a divergence)
    diverged = tmp_path / "diverged"
    with pytest.raises(NonFiniteLossError) as stopped:
        _train(tiny_encoder_dir, diverged, lambda i: math.nan)
    message = str(stopped.value)
    assert "the loss of task stsb, or the weights its update left, were not finite" in message
    step = int(message.split("training stopped at step ")[1].split(":")[0])
    assert 1 <= step <= 8
    assert "no model had been saved yet" in message
    assert not (diverged / "model.keras").exists() and not (diverged / "metrics.json").exists()
    assert (
        hashlib.sha256((run / "model.keras").read_bytes()).digest()
        == hashlib.sha256(saved).digest()
    )


def _fit_arguments(encoder, small_glue, output, *extra):
    """`mtdnn-keras fit`'s arguments for 2 epochs of 18 steps, checkpoints every 3."""
    return [
        "fit",
        "--tasks",
        "rte,stsb",
        "--data-dir",
        str(small_glue),
        "--encoder",
        str(encoder),
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--max-seq-length",
        "32",
        "--learning-rate",
        "1e-3",
        "--selection",
        "last",
        "--checkpoint-every",
        "3",
        "--verbose",
        "0",
        "--output-dir",
        str(output),
        *extra,
    ]


def _fit(encoder, small_glue, output, *extra):
    """The same `fit` as a command for its own process."""
    return [
        sys.executable,
        "-m",
        "mtdnn_keras.cli.main",
        *_fit_arguments(encoder, small_glue, output, *extra),
    ]


def _weights(run):
    import keras

    from mtdnn_keras.models.model_directory import load_model_directory

    model, _ = load_model_directory(run)
    return [keras.ops.convert_to_numpy(v) for v in model.weights]


@pytest.mark.parametrize("options", [(), ("--adversarial", "smart")], ids=["plain", "smart"])
def test_a_run_killed_twice_mid_epoch_resumes_to_the_same_weights(
    tiny_encoder_dir, small_glue, tmp_path, options
):
    """Also with SMART, whose noise is drawn by step: a resumed run draws the same."""
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    run = subprocess.run
    run(_fit(tiny_encoder_dir, small_glue, straight, *options), check=True, capture_output=True)
    assert not (straight / "checkpoint").exists()  # removed when a run finishes

    rng = random.Random()
    killed_at, seconds_at = [], []
    for cycle in range(2):  # kill at a random step, then again a few steps after the resume
        after = rng.randint(2, 14) if cycle == 0 else killed_at[-1] + rng.randint(1, 6)
        resume = ["--resume"] if cycle else []
        command = _fit(tiny_encoder_dir, small_glue, killed, *options, *resume)
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        step_file = killed / "checkpoint" / "step.json"
        deadline = time.time() + 300
        while time.time() < deadline and process.poll() is None:
            if step_file.exists() and json.loads(step_file.read_text())["step"] >= after:
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
        assert process.wait() == -signal.SIGKILL, f"cycle {cycle}: the run ended before the kill"
        killed_at.append(json.loads(step_file.read_text())["step"])
        seconds_at.append(json.loads(step_file.read_text())["seconds"])
    total = json.loads((straight / "training_config.json").read_text())["total_steps"]
    assert killed_at[0] < killed_at[1] < total  # each kill fell inside the run
    assert 0 < seconds_at[0] < seconds_at[1]  # the run's time so far, over both passes
    resumed = _fit(tiny_encoder_dir, small_glue, killed, *options, "--resume")
    run(resumed, check=True, capture_output=True)
    assert not (killed / "checkpoint").exists()

    for a, b in zip(_weights(straight), _weights(killed), strict=True):
        np.testing.assert_array_equal(a, b)
    history = json.loads((killed / "eval_history.json").read_text())
    assert [entry["step"] for entry in history] == [total]  # scored once (selection last)
    assert history == json.loads((straight / "eval_history.json").read_text())


def test_resume_refuses_other_options_and_a_missing_checkpoint(
    tiny_encoder_dir, small_glue, tmp_path, capsys
):
    from mtdnn_keras.cli.main import main

    run = tmp_path / "run"
    arguments = _fit_arguments(tiny_encoder_dir, small_glue, run, "--resume")
    assert main(arguments) == 2
    assert "--resume: no checkpoint in" in capsys.readouterr().err
    (run / "checkpoint").mkdir(parents=True)
    (run / "checkpoint" / "model-3.keras").write_bytes(b"")
    (run / "checkpoint" / "step.json").write_text(json.dumps({"step": 3, "model": "model-3.keras"}))
    (run / "training_config.json").write_text(json.dumps({"epochs": 5}))
    assert main(arguments) == 2
    assert "was started with other options (" in capsys.readouterr().err


@pytest.fixture
def fit_small(tiny_encoder_dir, small_glue, tmp_path, capsys):
    """Runs that `fit` in-process; returns (exit status, stderr)."""
    from mtdnn_keras.cli.main import main

    def run(output=None, encoder=None):
        arguments = _fit_arguments(
            encoder or tiny_encoder_dir, small_glue, output or tmp_path / "run"
        )
        return main(arguments), capsys.readouterr().err

    return run


def test_environment_faults_are_caught_before_training(
    fit_small, tiny_encoder_dir, minilm_tokenizer, tmp_path, monkeypatch
):
    import shutil
    from collections import namedtuple

    from conftest import tiny_backbone

    # an output folder that cannot be made (its parent is a file)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    status, error = fit_small(blocker / "run")
    assert status == 2 and f"output folder {blocker / 'run'} is not writable" in error

    # an encoder whose embedding is smaller than its vocabulary
    small = tmp_path / "small-encoder"
    tiny_backbone(1000).save_to_preset(str(small))
    minilm_tokenizer.save_to_preset(str(small))
    status, error = fit_small(None, small)
    assert status == 2
    assert "the tokenizer has 30522 tokens but the backbone's embedding has only 1000 rows" in error

    # an encoder whose weights file is cut short
    broken = tmp_path / "broken-encoder"
    shutil.copytree(tiny_encoder_dir, broken)
    weights = broken / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[:2000])
    status, error = fit_small(None, broken)
    assert status == 2 and f"cannot load encoder '{broken}'" in error

    # a disk with too little room: nothing is trained or written
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 10**5, 10**5))
    status, error = fit_small(tmp_path / "full")
    assert status == 2 and "0 MB free, but the run writes about" in error
    assert not (tmp_path / "full" / "model.keras").exists()


def test_a_run_recorded_before_the_data_source_options_existed_still_resumes(tmp_path):
    """A record without `data_source` and `tfds_data_dir` (written before they existed) was
    made with their defaults: resuming it is not refused as "other options"."""
    import dataclasses

    from mtdnn_keras.training.multitask_trainer import _resumed_model
    from mtdnn_keras.training.training_checkpoint import CheckpointError
    from mtdnn_keras.training.training_config import TrainingConfig

    record = dataclasses.asdict(TrainingConfig(tasks="rte", output_dir=str(tmp_path)))
    new_fields = ("data_source", "tfds_data_dir", "heads")  # "heads": a default_factory
    old = {k: v for k, v in record.items() if k not in new_fields}
    (tmp_path / "training_config.json").write_text(json.dumps(old))
    with pytest.raises(CheckpointError, match="no checkpoint"):
        _resumed_model(tmp_path, record)
    (tmp_path / "training_config.json").write_text(json.dumps({**old, "data_source": "files"}))
    with pytest.raises(ValueError, match=r"other options \(data_source\)"):
        _resumed_model(tmp_path, record)
