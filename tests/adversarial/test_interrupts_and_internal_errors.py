"""Ctrl-C and errors nobody foresaw end in one line, never a traceback on the console."""

import json
import signal
import subprocess
import sys
import time

from adversarial_helpers import fit_arguments


def test_ctrl_c_during_training_is_one_line_and_the_run_resumes(
    cli, tiny_encoder_dir, small_glue, tmp_path
):
    run = tmp_path / "run"
    arguments = fit_arguments(
        tiny_encoder_dir, small_glue, run, "--epochs", "3", "--checkpoint-every", "2"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "mtdnn_keras.cli.main", *map(str, arguments)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # as from a terminal: a test run in the background inherits SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    step_file = run / "checkpoint" / "step.json"
    deadline = time.time() + 300
    while not step_file.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before Ctrl-C"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "interrupted (continue it with the same options and --resume)"
    )
    assert cli(*arguments, "--resume")[0] == 0
    assert json.loads((run / "training_config.json").read_text())["epochs"] == 3
    assert not (run / "checkpoint").exists()


def test_an_unexpected_error_is_one_line_naming_a_log_with_the_traceback(
    cli, monkeypatch, tmp_path
):
    from mtdnn_keras.cli import main as cli_main

    def broken(args):
        return {}["a bug"]  # a KeyError nobody raised on purpose

    monkeypatch.setattr(cli_main, "_run", broken)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    status, _, err = cli("tasks")
    assert status == 1 and err.count("\n") == 1
    assert err.startswith("internal error: KeyError: 'a bug' (traceback in ")
    log = err.split("(traceback in ")[1].split(";")[0]
    assert log.startswith(str(tmp_path / "mtdnn-keras"))
    text = open(log, encoding="utf-8").read()
    assert "Traceback (most recent call last)" in text and "broken" in text


def test_a_library_value_error_is_internal_but_the_packages_own_is_the_users(
    cli, monkeypatch, tmp_path
):
    import numpy as np
    from mtdnn_keras.cli import main as cli_main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(cli_main, "_run", lambda args: np.reshape(np.zeros(3), (2, 2)))
    status, _, err = cli("tasks")
    assert status == 1 and err.startswith("internal error: ValueError")
    monkeypatch.undo()
    # the package's own errors are the user's: one line, exit 2, no log
    status, _, err = cli("tasks", "--task-file", tmp_path / "missing.yaml")
    assert status == 2 and err.startswith("error: ") and "missing.yaml" in err


def fails_as_a_user_mistake(path):
    from mtdnn_keras.data.example_reader import DataError

    raise DataError(path, 3, "label", "expected one of 0, 1")


def fails_unexpectedly():
    return {}["a bug in a sweep's run"]


def test_a_sweeps_run_reports_its_error_in_one_line_without_a_traceback(
    monkeypatch, tmp_path, capfd
):
    import pytest

    from mtdnn_keras.error_report import InternalError
    from mtdnn_keras.experiments.isolated_run import IsolatedRunError, run_isolated

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(IsolatedRunError, match="data.tsv, line 3.*label.*expected one of 0, 1"):
        run_isolated(fails_as_a_user_mistake, "data.tsv")
    with pytest.raises(InternalError, match="KeyError: .a bug in a sweep's run. .traceback in "):
        run_isolated(fails_unexpectedly)
    printed = capfd.readouterr()
    assert "Traceback" not in printed.out + printed.err
