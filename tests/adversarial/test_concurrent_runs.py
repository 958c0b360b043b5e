"""A run holds its output folder: a second run there is refused, naming the holder; the
hold ends with the process, however it ends."""

import json
import signal
import subprocess
import sys
import time

from adversarial_helpers import digest, fit_arguments

HOLDER = """
import sys, time
from mtdnn_keras.storage.run_lock import hold_folder
with hold_folder(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_folder_held_by_a_live_process_is_refused_and_freed_when_it_dies(
    cli, tiny_encoder_dir, small_glue, tmp_path
):
    run = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(run)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        arguments = fit_arguments(tiny_encoder_dir, small_glue, run, "--max-steps", "2")
        for extra in ([], ["--overwrite"]):
            status, _, err = cli(*arguments, *extra)
            assert status == 2 and f"{run} is in use by another run (process {holder.pid} on " in err
            assert "-c " in err  # the holder's command
        assert [p.name for p in run.iterdir()] == [".mtdnn-keras.lock"]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert cli(*arguments)[0] == 0  # killed: the lock went with it


def test_two_fits_on_one_folder_the_second_is_refused_and_the_first_ends_intact(
    cli, tiny_encoder_dir, small_glue, tmp_path
):
    run = tmp_path / "run"
    arguments = fit_arguments(tiny_encoder_dir, small_glue, run, "--epochs", "3")
    first = subprocess.Popen(
        [sys.executable, "-m", "mtdnn_keras.cli.main", *map(str, arguments)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while not (run / "training_config.json").exists() and first.poll() is None:
        assert time.time() < deadline
        time.sleep(0.05)
    for extra in ([], ["--overwrite"], ["--resume"]):
        status, _, err = cli(*arguments, *extra)
        assert status == 2 and f"is in use by another run (process {first.pid} on " in err, err
    assert first.wait(timeout=300) == 0, first.stderr.read()
    record = json.loads((run / "training_config.json").read_text())
    assert record["epochs"] == 3 and (run / "model.keras").exists()
    before = digest(run)
    status, _, err = cli(*arguments)  # after it ended: refused as a non-empty folder
    assert status == 2 and "already exists and is not empty" in err and digest(run) == before
