"""State that belongs together is committed together: a crash between any two writes leaves
the old state or the new one, and a resume that finds them out of step refuses."""

import json
import os
import shutil
from collections import namedtuple

import pytest


class Crash(BaseException):
    """A crash at a chosen write (BaseException: nothing on the way may swallow it)."""


def crash_on(monkeypatch, module, name, after: int = 0):
    """Makes `module.name` crash on its call number `after` (0: the first)."""
    original = getattr(module, name)
    calls = []

    def wrapped(*args, **kwargs):
        calls.append(args)
        if len(calls) > after:
            raise Crash(name)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)


@pytest.fixture(scope="module")
def tiny_model(tiny_model_dir):
    from mtdnn_keras.models.model_directory import load_model_directory

    return load_model_directory(tiny_model_dir)[0]


@pytest.mark.parametrize(
    "target, after",
    [("save_model_atomically", 0), ("write_json_atomically", 0), ("unlink", 0)],
    ids=["model file", "step.json", "removing the old model"],
)
def test_a_crash_at_any_write_of_a_checkpoint_leaves_a_consistent_one(
    tiny_model, tmp_path, monkeypatch, target, after
):
    from pathlib import Path

    from mtdnn_keras.training import training_checkpoint as checkpoints

    checkpoints.save_checkpoint(tiny_model, tmp_path, 20)
    module = Path if target == "unlink" else checkpoints
    with monkeypatch.context() as patch:
        crash_on(patch, module, target, after)
        with pytest.raises(Crash):
            checkpoints.save_checkpoint(tiny_model, tmp_path, 30)
    committed = target == "unlink"  # step.json was replaced before the old file's removal
    model, step = checkpoints.load_checkpoint(tmp_path)
    assert step == (30 if committed else 20)
    assert checkpoints.checkpoint_step(tmp_path) == step
    checkpoints.save_checkpoint(tiny_model, tmp_path, 40, 12.5)  # the next one tidies up
    assert [p.name for p in checkpoints.checkpoint_files(tmp_path)] == ["model-40.keras"]
    assert checkpoints.checkpoint_seconds(tmp_path) == 12.5  # the run's time so far


@pytest.mark.parametrize(
    "step_json, files, message",
    [
        ({"step": 20, "model": "model-20.keras"}, ["model-30.keras"], "out of step"),
        ({"step": 20, "model": "model-30.keras"}, ["model-30.keras"], "out of step"),
        ({"step": 20}, ["model.keras"], "does not name a step and its model file"),
        ("not json", ["model-20.keras"], "does not name a step and its model file"),
        ({"step": "twenty", "model": "x"}, [], "does not name a step and its model file"),
    ],
    ids=["file of another step", "names another step's file", "older layout", "garbage", "bad step"],
)
def test_a_checkpoint_out_of_step_is_refused(tmp_path, step_json, files, message):
    from mtdnn_keras.training.training_checkpoint import CheckpointError, checkpoint_step

    folder = tmp_path / "checkpoint"
    folder.mkdir()
    text = step_json if isinstance(step_json, str) else json.dumps(step_json)
    (folder / "step.json").write_text(text)
    for name in files:
        (folder / name).write_bytes(b"PK")
    with pytest.raises(CheckpointError, match=message):
        checkpoint_step(tmp_path)


def test_a_resume_out_of_step_is_refused_by_the_command(
    cli, tiny_encoder_dir, small_glue, tmp_path
):
    from adversarial_helpers import fit_arguments

    run = tmp_path / "run"
    arguments = fit_arguments(tiny_encoder_dir, small_glue, run, "--checkpoint-every", "2")
    crash = [*arguments, "--max-steps", "4"]
    assert cli(*crash)[0] == 0
    # a run killed after its step-4 checkpoint's model file, before its step.json
    (run / "checkpoint").mkdir()
    (run / "checkpoint" / "model-4.keras").write_bytes((run / "model.keras").read_bytes())
    (run / "checkpoint" / "step.json").write_text(json.dumps({"step": 2, "model": "model-2.keras"}))
    status, _, err = cli(*crash, "--resume")
    assert status == 2 and "the checkpoint is out of step" in err


def test_a_crash_while_replacing_a_folder_keeps_the_old_one(tmp_path, monkeypatch):
    from mtdnn_keras.storage import atomic_writes

    target = tmp_path / "export"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(Crash):
        with atomic_writes.atomic_directory(target) as temporary:
            (temporary / "new.txt").write_text("half")
            raise Crash("while writing")
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    crash_on(monkeypatch, atomic_writes.shutil, "rmtree")  # after the swap, removing the old
    with pytest.raises(Crash):
        with atomic_writes.atomic_directory(target) as temporary:
            (temporary / "new.txt").write_text("whole")
    assert [p.name for p in target.iterdir()] == ["new.txt"]  # the new one, whole


def test_the_swap_without_renameat2_moves_the_old_folder_aside_first(tmp_path, monkeypatch):
    from mtdnn_keras.storage import atomic_writes

    monkeypatch.setattr(atomic_writes, "_renameat2", lambda: None)
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
        (folder / "name").write_text(folder.name)
    atomic_writes.exchange_paths(first, second)
    assert (first / "name").read_text() == "b" and (second / "name").read_text() == "a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_a_crash_while_replacing_a_saved_model_version_keeps_the_old_version(
    tiny_model_dir, tmp_path, monkeypatch
):
    from adversarial_helpers import digest
    from mtdnn_keras.export import saved_model

    version = saved_model.export_saved_model(tiny_model_dir, tmp_path, "m", 1)
    before = digest(version)
    crash_on(monkeypatch, saved_model, "signature_ops")  # after the graph is written
    with pytest.raises(Crash):
        saved_model.export_saved_model(tiny_model_dir, tmp_path, "m", 1, overwrite=True)
    assert digest(version) == before
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1"]  # no temporary left


def test_a_crash_while_saving_a_model_keeps_the_saved_one(tiny_model, tmp_path, monkeypatch):
    from mtdnn_keras.models.model_directory import save_model_atomically

    path = tmp_path / "model.keras"
    save_model_atomically(tiny_model, path)
    before = path.read_bytes()
    crash_on(monkeypatch, type(tiny_model), "save")
    with pytest.raises(Crash):
        save_model_atomically(tiny_model, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.keras"]


def test_resume_counts_the_runs_own_files_as_free_space(tmp_path, monkeypatch):
    from mtdnn_keras.training.run_folder import check_free_space

    class Model:  # 1,000 parameters: 12 kB a file with the optimizer's slots
        def count_params(self):
            return 1000

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 0, 13_000))
    with pytest.raises(OSError, match="13 MB free|0 MB free"):
        check_free_space(tmp_path, Model())  # a new run needs 3 files
    (tmp_path / "model.keras").write_bytes(bytes(12_000))
    (tmp_path / "checkpoint").mkdir()
    (tmp_path / "checkpoint" / "model-7.keras").write_bytes(bytes(12_000))
    check_free_space(tmp_path, Model())  # resuming replaces two of them


def test_overwrite_drops_an_earlier_runs_checkpoint_and_history(
    cli, tiny_encoder_dir, small_glue, tmp_path
):
    from adversarial_helpers import fit_arguments

    run = tmp_path / "run"
    arguments = fit_arguments(tiny_encoder_dir, small_glue, run, "--max-steps", "2")
    assert cli(*arguments)[0] == 0
    # what an earlier, killed run with a better score would have left
    (run / "checkpoint").mkdir()
    (run / "checkpoint" / "model-9.keras").write_bytes((run / "model.keras").read_bytes())
    (run / "checkpoint" / "step.json").write_text(json.dumps({"step": 9, "model": "model-9.keras"}))
    (run / "eval_history.json").write_text(
        json.dumps([{"epoch": 1, "step": 1, "mean": 1e9, "metrics": {"rte": {"accuracy": 99}}}])
    )
    assert cli(*arguments, "--overwrite")[0] == 0
    history = json.loads((run / "eval_history.json").read_text())
    assert [entry["step"] for entry in history] == [2] and history[0]["mean"] < 1e9
    assert json.loads((run / "metrics.json").read_text()) == history[0]["metrics"]
    assert not (run / "checkpoint").exists()
    status, _, err = cli(*arguments, "--resume")  # nothing of the old run to continue
    assert status == 2 and "no checkpoint in" in err


def test_replacing_a_folder_behind_a_link_keeps_what_the_link_pointed_to(tmp_path):
    from mtdnn_keras.storage.atomic_writes import atomic_directory

    real = tmp_path / "v3"
    real.mkdir()
    (real / "old.txt").write_text("v3")
    link = tmp_path / "latest"
    os.symlink(real, link)
    with atomic_directory(link) as temporary:
        (temporary / "new.txt").write_text("new")
    assert not link.is_symlink() and [p.name for p in link.iterdir()] == ["new.txt"]
    assert (real / "old.txt").read_text() == "v3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "v3"]


def test_split_articles_writes_both_files_or_neither(tmp_path):
    from mtdnn_keras.data.example_reader import DataError
    from mtdnn_keras.data.squad_articles import split_articles

    source = tmp_path / "squad.json"
    source.write_text(
        '{"version": "v2.0", "data": [{"title": "a", "paragraphs": []},'
        ' {"title": "\\ud800", "paragraphs": []}]}'
    )
    out = tmp_path / "out"
    with pytest.raises(DataError, match="cannot write its articles back"):
        split_articles(source, 1, out)
    assert not out.exists() or not list(out.iterdir())
