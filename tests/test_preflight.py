"""A mistaken command ends in its one-line error before TensorFlow is imported.

Each case runs the CLI in a fresh process, with no host reachable (as on a machine without a
network), and checks the error and that `tensorflow` was never imported. (How long the
error takes is measured by benchmarks/time_to_error.py, not asserted here.)"""

import subprocess
import sys

import pytest
from conftest import require_data

PROBE = """
import sys
from mtdnn_keras.data import tfds_source
tfds_source._reachable = lambda host: False
from mtdnn_keras.cli.main import main
code = main(sys.argv[1:])
print("tensorflow imported:", "tensorflow" in sys.modules)
sys.exit(code)
"""


def _run(*argv, env_dir):
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *map(str, argv)],
        capture_output=True,
        text=True,
        env={"TFDS_DATA_DIR": str(env_dir), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert "tensorflow imported: False" in result.stdout, result.stdout + result.stderr
    return result.returncode, result.stderr.strip()


@pytest.fixture
def glue():
    return require_data("glue", "RTE").parent


def test_missing_datasets_name_themselves_and_the_two_ways_out(tmp_path):
    code, error = _run("fit", "--tasks", "glue", "--output-dir", tmp_path / "o", env_dir=tmp_path)
    assert code == 2 and len(error.splitlines()) == 1
    assert error.startswith("error: data: glue/cola, glue/sst2, glue/mrpc")
    assert f"not prepared in {tmp_path} (no network: dl.fbaipublicfiles.com" in error
    assert "give --data-dir with the official files, or --tfds-data-dir" in error
    assert "mtdnn-keras data prepare --datasets glue/cola,glue/sst2,glue/mrpc,glue/stsb" in error
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (("--tasks", "nosuch"), "unknown task or group 'nosuch'"),
        (("--tasks", "rte", "--learning-rate", "nan"), "--learning-rate: expected a finite"),
        (("--tasks", "rte", "--train-file", "rte=/nonexistent.tsv"), "missing data files"),
        (("--tasks", "swag", "--data-source", "tfds"), "task 'swag' has no TFDS dataset"),
        (("--tasks", "rte", "--init-model", "/nonexistent"), "/nonexistent: no such folder"),
        (("--tasks", "rte", "--head", "rte=svm"), "--head: expected rte=: one of linear, san"),
        (("--tasks", "rte", "--head", "mrpc=san"), "--head names mrpc, not a task of this run"),
        (("--tasks", "cola", "--head", "cola=san"), "--head: task 'cola', field 'head': the SAN"),
    ],
)
def test_fit_checks_its_input_before_tensorflow(tmp_path, glue, argv, message):
    out = tmp_path / "out"
    code, error = _run("fit", "--data-dir", glue, "--output-dir", out, *argv, env_dir=tmp_path)
    assert code == 2 and error.startswith("error:") and message in error, error


def test_an_output_folder_in_use_is_refused_before_tensorflow(tmp_path, glue):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("not ours")
    code, error = _run(
        "fit", "--tasks", "rte", "--data-dir", glue, "--output-dir", tmp_path / "busy",
        env_dir=tmp_path,
    )  # fmt: skip
    assert code == 2 and "--output-dir" in error and "--overwrite" in error, error


def test_a_head_other_than_the_starting_models_is_refused(tmp_path, glue, tiny_model_dir):
    code, error = _run(
        "finetune", "--model", tiny_model_dir, "--task", "mnli", "--head", "mnli=linear",
        "--data-dir", glue, "--output-dir", tmp_path / "out", env_dir=tmp_path,
    )  # fmt: skip
    assert code == 2, error
    assert f"--head mnli=linear: {tiny_model_dir} trained mnli with a san head" in error
    assert not (tmp_path / "out").exists()


def test_evaluate_and_predict_check_model_and_files_before_tensorflow(tmp_path, tiny_model_dir):
    code, error = _run("evaluate", "--model", tmp_path / "none", env_dir=tmp_path)
    assert code == 2 and "no such folder" in error
    code, error = _run(
        "evaluate", "--model", tiny_model_dir, "--tasks", "rte,nosuch", env_dir=tmp_path
    )
    assert code == 2 and "the model has no task ['nosuch']" in error
    code, error = _run(
        "predict", "--model", tiny_model_dir, "--task", "rte", "--input", tmp_path / "x.tsv",
        "--output", tmp_path / "p.tsv", env_dir=tmp_path,
    )  # fmt: skip
    assert code == 2 and "missing data files" in error and "x.tsv" in error
    code, error = _run(
        "export", "--model", tmp_path / "none", "--format", "keras", "--output", tmp_path / "e",
        env_dir=tmp_path,
    )  # fmt: skip
    assert code == 2 and "no such folder" in error


def test_a_run_without_output_dir_gets_a_new_folder_under_runs(tmp_path, monkeypatch):
    from mtdnn_keras.cli import main as cli

    monkeypatch.chdir(tmp_path)

    class Args:
        command, tasks = "fit", "rte,mrpc"

    first = cli._default_output_dir(Args)
    assert first.startswith("runs/fit-rte-mrpc-")
    (tmp_path / first).mkdir(parents=True)
    assert cli._default_output_dir(Args) == first + "-2"


def test_tasks_lists_each_tasks_sources(cli):
    code, out, _ = cli("tasks")
    lines = {line.split()[0]: line for line in out.splitlines() if not line.startswith("group")}
    assert "files RTE/train.tsv, tfds glue/rte" in lines["rte"]
    assert (
        "tfds hellaswag" in lines["hellaswag"] and "tfds" not in lines["swag"].split("sources")[1]
    )
