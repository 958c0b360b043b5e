"""Training under tf.distribute: mirrored on 2 logical CPU devices against one device, and
two multi-worker processes on 127.0.0.1. Each case runs in fresh processes
(tests/distributed_worker.py), since a strategy must be set up before TensorFlow starts."""

import collections
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import head, require_data

WORKER = Path(__file__).with_name("distributed_worker.py")
TIMEOUT = 300  # seconds for each process; the cases take 30-60 s here


@pytest.fixture(scope="module")
def four_tasks(tmp_path_factory):
    """RTE, STS-B, QNLI (as ranking: groups of 2) and SWAG (4 choices a question), a few
    rows each; QNLI's dev rows stand in for its training file, absent here."""
    glue = require_data("glue")
    swag = require_data("swag", "sample.jsonl")
    root = tmp_path_factory.mktemp("four_tasks")
    for folder in ("RTE", "STS-B"):
        head(glue / folder / "train.tsv", root / folder / "train.tsv", 41)
        head(glue / folder / "dev.tsv", root / folder / "dev.tsv", 21)
    head(glue / "QNLI" / "dev.tsv", root / "QNLI" / "train.tsv", 41)
    head(glue / "QNLI" / "dev.tsv", root / "QNLI" / "dev.tsv", 21)
    head(swag, root / "swag" / "sample.jsonl", 10)
    return root


def _run(commands, env_per_process):
    """Starts the processes together, waits for all (killing all on a failure or after
    TIMEOUT), and fails with their output if one failed."""
    processes = [
        subprocess.Popen(
            command,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for command, env in zip(commands, env_per_process)
    ]
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=TIMEOUT)[0])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    for process, output in zip(processes, outputs):
        assert process.returncode == 0, output[-3000:]


@pytest.mark.parametrize("mode", ["mirrored", "mirrored-smart"])
def test_mirrored_on_two_devices_trains_as_one_device(four_tasks, tiny_encoder_dir, tmp_path, mode):
    """Also with SMART: each replica perturbs its rows with their share of the global
    batch's noise, so the step is the one-device step."""
    _run(
        [
            [
                sys.executable,
                str(WORKER),
                mode,
                str(four_tasks),
                str(tiny_encoder_dir),
                str(tmp_path),
            ]
        ],
        [{}],
    )
    report = json.loads((tmp_path / "losses.json").read_text())
    assert report["one"]["replicas"] == 1 and report["mirrored"]["replicas"] == 2
    one, mirrored = (np.array(report[name]["losses"]) for name in ("one", "mirrored"))
    assert len(one) == len(mirrored) == 12
    np.testing.assert_allclose(mirrored, one, rtol=1e-5)  # running mean loss, every step
    assert one[-1] < 0.6 * one[0]  # it trained
    one_device, two_devices = (np.load(tmp_path / f"{name}.npz") for name in ("one", "mirrored"))
    for key in one_device.files:  # 12 Adamax steps at lr 1e-3 move weights up to 1.2e-2
        np.testing.assert_allclose(two_devices[key], one_device[key], atol=2e-5, rtol=0)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_share_every_step_and_end_with_identical_weights(
    four_tasks, tiny_encoder_dir, tmp_path
):
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    outs = [tmp_path / f"worker{index}" for index in range(2)]
    for out in outs:
        out.mkdir()
    configs = [
        {
            "TF_CONFIG": json.dumps(
                {"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}}
            )
        }
        for i in range(2)
    ]
    _run(
        [
            [
                sys.executable,
                str(WORKER),
                "multi-worker",
                str(four_tasks),
                str(tiny_encoder_dir),
                str(out),
            ]
            for out in outs
        ],
        configs,
    )
    epochs = [json.loads((out / "epoch.json").read_text()) for out in outs]
    # every worker on the same task at every step
    for steps in zip(*(epoch["steps"] for epoch in epochs)):
        tasks = [set(step["task_ids"]) for step in steps]
        assert len(set().union(*tasks)) == 1, tasks
    # each example exactly once in the epoch, across the workers
    seen = collections.Counter(
        tuple(row) for epoch in epochs for step in epoch["steps"] for row in step["rows"]
    )
    assert seen == collections.Counter(tuple(row) for row in epochs[0]["task_epochs"])
    assert any(not step["rows"] for step in epochs[1]["steps"])  # uneven splits happened
    # the same weights on both workers, which both trained
    from mtdnn_keras.models.model_directory import load_model_directory

    models = [load_model_directory(out / "run")[0] for out in outs]
    for a, b in zip(models[0].weights, models[1].weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    config = json.loads((outs[0] / "run" / "training_config.json").read_text())
    assert config["strategy"] == "multi-worker" and config["total_steps"] == 12
