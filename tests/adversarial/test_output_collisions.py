"""No command deletes or replaces what it did not make: an existing output is refused unless
`--overwrite`, and the model (or input) a command reads is refused even then."""

import json
import os
import shutil

import pytest
from adversarial_helpers import digest, fit_arguments

FOLDER_FORMATS = ["keras", "keras-hub-preset"]


def export(cli, model, output, fmt, *extra):
    return cli("export", "--model", model, "--format", fmt, "--output", output, *extra)


@pytest.mark.parametrize("fmt", [*FOLDER_FORMATS, "tflite"])
@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]], ids=["plain", "overwrite"])
@pytest.mark.parametrize("where", ["itself", "parent", "inside-existing", "inside-new"])
def test_an_export_never_writes_over_the_model_it_reads(cli, model_copy, fmt, overwrite, where):
    target = {
        "itself": model_copy,
        "parent": model_copy.parent,
        "inside-existing": model_copy / ("model.keras" if fmt == "tflite" else "tokenizer"),
        "inside-new": model_copy / "exports" / "new",
    }[where]
    before = digest(model_copy)
    status, _, err = export(cli, model_copy, target, fmt, *overwrite)
    assert status == 2 and "which this command reads" in err, err
    assert digest(model_copy) == before


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]], ids=["plain", "overwrite"])
def test_a_saved_model_export_never_replaces_the_model_it_reads(
    cli, tiny_model_dir, tmp_path, overwrite
):
    model = tmp_path / "serving" / "m" / "1"  # a model folder where the version would go
    shutil.copytree(tiny_model_dir, model)
    before = digest(model)
    status, _, err = export(
        cli, model, tmp_path / "serving", "saved_model", "--name", "m", *overwrite
    )
    assert status == 2 and "which this command reads" in err, err
    assert digest(model) == before


@pytest.mark.parametrize("fmt", FOLDER_FORMATS)
def test_a_folder_export_refuses_a_non_empty_folder_and_replaces_it_only_when_told(
    cli, tiny_model_dir, tmp_path, fmt
):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("a user's own file")
    status, _, err = export(cli, tiny_model_dir, target, fmt)
    assert status == 2 and f"--output {target} already exists and is not empty" in err
    assert (target / "notes.txt").read_text() == "a user's own file"

    empty = tmp_path / "empty"
    empty.mkdir()
    assert export(cli, tiny_model_dir, empty, fmt)[0] == 0  # an empty folder holds nothing

    assert export(cli, tiny_model_dir, target, fmt, "--overwrite")[0] == 0
    assert not (target / "notes.txt").exists() and (target / "config.json").exists() == (
        fmt == "keras-hub-preset"
    )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers


def test_a_tflite_export_refuses_an_existing_file_and_a_folder(cli, tiny_model_dir, tmp_path):
    target = tmp_path / "model.tflite"
    target.write_bytes(b"someone else's model")
    status, _, err = export(cli, tiny_model_dir, target, "tflite")
    assert status == 2 and "already exists; choose another --output" in err
    assert target.read_bytes() == b"someone else's model"
    status, _, err = export(cli, tiny_model_dir, tmp_path, "tflite", "--overwrite")
    assert status == 2 and "is a folder; expected a file name" in err
    assert export(cli, tiny_model_dir, target, "tflite", "--overwrite")[0] == 0
    assert target.read_bytes()[4:8] == b"TFL3"


def test_a_saved_model_version_and_a_foreign_models_config_are_kept(cli, tiny_model_dir, tmp_path):
    serving = tmp_path / "serving"
    assert export(cli, tiny_model_dir, serving, "saved_model", "--name", "m")[0] == 0
    version = serving / "m" / "1"
    before = digest(version)
    status, _, err = export(cli, tiny_model_dir, serving, "saved_model", "--name", "m")
    assert status == 2 and "already exists and is not empty" in err and digest(version) == before
    # a second version is new: allowed, and our own models.config moves to it
    assert export(cli, tiny_model_dir, serving, "saved_model", "--name", "m", "--version", "2")[0] == 0
    assert "versions: 2" in (serving / "models.config").read_text()
    # a models.config that serves other models is the user's
    (serving / "models.config").write_text('model_config_list { config { name: "other" } }\n')
    status, _, err = export(
        cli, tiny_model_dir, serving, "saved_model", "--name", "m", "--version", "3"
    )
    assert status == 2 and "models.config exists and serves something else" in err
    assert not (serving / "m" / "3").exists()


def test_fit_refuses_a_non_empty_output_dir_and_the_folder_it_starts_from(
    cli, tiny_encoder_dir, small_glue, tmp_path
):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    status, _, err = cli(*fit_arguments(tiny_encoder_dir, small_glue, mine, "--max-steps", "2"))
    assert status == 2 and f"--output-dir {mine} already exists and is not empty" in err
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]

    run = tmp_path / "run"
    assert cli(*fit_arguments(tiny_encoder_dir, small_glue, run, "--max-steps", "2"))[0] == 0
    before = digest(run)
    for overwrite in ([], ["--overwrite"]):
        for output in (run, tmp_path):  # the model's folder, and a folder holding it
            status, _, err = cli(
                "finetune", "--model", run, "--task", "rte", "--data-dir", small_glue,
                "--output-dir", output, "--max-steps", "1", "--batch-size", "8", *overwrite,
            )  # fmt: skip
            assert status == 2 and "which this command reads" in err, err
    assert digest(run) == before
    # the same fit again: refused, then started anew when told
    status, _, err = cli(*fit_arguments(tiny_encoder_dir, small_glue, run, "--max-steps", "2"))
    assert status == 2 and "pass --overwrite" in err and digest(run) == before
    arguments = fit_arguments(tiny_encoder_dir, small_glue, run, "--max-steps", "3", "--overwrite")
    assert cli(*arguments)[0] == 0
    assert json.loads((run / "training_config.json").read_text())["max_steps"] == 3


def test_predict_and_evaluate_keep_existing_files_inputs_and_the_model(
    cli, tiny_model_dir, small_glue, tmp_path
):
    source = small_glue / "RTE" / "test.tsv"
    status, _, err = cli(
        "predict", "--model", tiny_model_dir, "--task", "rte", "--input", source, "--output", source
    )
    assert status == 2 and "which this command reads" in err
    before = digest(tiny_model_dir)
    for output in (tiny_model_dir / "model.keras", tiny_model_dir / "tokenizer" / "tokenizer.json"):
        status, _, err = cli(
            "evaluate", "--model", tiny_model_dir, "--tasks", "rte", "--data-dir", small_glue,
            "--output", output, "--overwrite",
        )  # fmt: skip
        assert status == 2 and "which this command reads" in err
    assert digest(tiny_model_dir) == before
    existing = tmp_path / "predictions.jsonl"
    existing.write_text("earlier predictions\n")
    arguments = ["predict", "--model", tiny_model_dir, "--task", "rte", "--input", source]
    status, _, err = cli(*arguments, "--output", existing)
    assert status == 2 and existing.read_text() == "earlier predictions\n"
    assert cli(*arguments, "--output", existing, "--overwrite")[0] == 0
    assert len(existing.read_text().splitlines()) == 20


def test_split_articles_never_writes_over_its_input(cli, tmp_path):
    data = {"version": "v2.0", "data": [{"title": t, "paragraphs": []} for t in "abc"]}
    source = tmp_path / "train.json"
    source.write_text(json.dumps(data))
    status, _, err = cli("split-articles", source, "--train-articles", "2", "--output-dir", tmp_path, "--overwrite")
    assert status == 2 and "which this command reads" in err
    assert json.loads(source.read_text()) == data
    out = tmp_path / "out"
    assert cli("split-articles", source, "--train-articles", "2", "--output-dir", out)[0] == 0
    status, _, err = cli("split-articles", source, "--train-articles", "1", "--output-dir", out)
    assert status == 2 and "already exists" in err
    assert len(json.loads((out / "train.json").read_text())["data"]) == 2


def test_a_symlinked_output_that_points_at_the_model_is_refused(cli, model_copy, tmp_path):
    link = tmp_path / "link"
    os.symlink(model_copy, link)
    before = digest(model_copy)
    status, _, err = export(cli, model_copy, link, "keras", "--overwrite")
    assert status == 2 and "which this command reads" in err
    assert digest(model_copy) == before
    shutil.rmtree(model_copy)  # a dangling link is still not written through


def test_an_experiment_never_trains_into_a_folder_it_did_not_write(tmp_path):
    from mtdnn_keras.experiments.experiment_runner import ExperimentConfigError, _fit
    from mtdnn_keras.training.training_config import TrainingConfig

    folder = tmp_path / "mtdnn"  # a user's own earlier run where the experiment's would go
    folder.mkdir()
    (folder / "model.keras").write_bytes(b"years of training")
    (folder / "training_config.json").write_text(json.dumps({"epochs": 9, "tasks": "rte"}))
    training = TrainingConfig(tasks="rte", output_dir=str(folder), epochs=2)
    with pytest.raises(ExperimentConfigError, match="holds files this experiment's run did not"):
        _fit(training)
    assert (folder / "model.keras").read_bytes() == b"years of training"


def test_an_adaptation_sweep_reuses_a_finished_run_only_with_the_same_options(tmp_path):
    import dataclasses

    from mtdnn_keras.experiments.domain_adaptation import _finished
    from mtdnn_keras.training.training_config import TrainingConfig

    run = TrainingConfig(tasks="rte", output_dir=str(tmp_path), learning_rate=1e-4)
    (tmp_path / "metrics.json").write_text('{"rte": {"accuracy": 60.0}}')
    (tmp_path / "training_config.json").write_text(json.dumps(dataclasses.asdict(run)))
    assert _finished(tmp_path, run, anew=False)
    assert not _finished(tmp_path, run, anew=True)  # --overwrite: the sweep starts anew
    other = dataclasses.replace(run, learning_rate=5e-5)
    with pytest.raises(ValueError, match=r"other options \(learning_rate\); pass --overwrite"):
        _finished(tmp_path, other, anew=False)


def test_evaluate_never_writes_over_its_dev_files_and_names_what_it_ignores(
    cli, tiny_model_dir, small_glue, tmp_path
):
    dev = small_glue / "RTE" / "dev.tsv"
    before = dev.read_bytes()
    for extra in (["--eval-file", f"rte={dev}"], ["--tasks", "rte", "--data-dir", small_glue]):
        status, _, err = cli(
            "evaluate", "--model", tiny_model_dir, *extra, "--output", dev, "--overwrite"
        )
        assert status == 2 and "which this command reads" in err, err
    assert dev.read_bytes() == before
    status, _, err = cli(
        "evaluate", "--model", tiny_model_dir, "--tasks", "rte", "--data-dir", small_glue,
        "--eval-file", f"rtee={dev}",
    )  # fmt: skip
    assert status == 2 and "--eval-file names rtee, not a task being scored" in err
    status, _, err = cli("evaluate", "--model", tiny_model_dir, "--tasks", " ,")
    assert status == 2 and "no task named in" in err


def test_a_failed_overwrite_never_leaves_one_runs_model_beside_anothers_tokenizer(
    cli, tiny_encoder_dir, small_glue, tmp_path
):
    from adversarial_helpers import fit_arguments

    run = tmp_path / "run"
    arguments = fit_arguments(tiny_encoder_dir, small_glue, run, "--max-steps", "2")
    assert cli(*arguments)[0] == 0
    status, _, err = cli(*arguments, "--overwrite", "--select-by", "rtee")
    assert status == 2 and "--select-by names ['rtee']" in err
    left = {p.name for p in run.iterdir()}
    assert "model.keras" not in left and "tokenizer" not in left  # the old run is gone whole


def test_an_experiment_report_replaces_only_a_report_it_wrote(tmp_path):
    from mtdnn_keras.experiments.experiment_report import _check_report_target

    source = tmp_path / "exp.yaml"
    source.write_text("output_dir: runs\n")
    with pytest.raises(ValueError, match="is the experiment file itself"):
        _check_report_target(source, source)
    notes = tmp_path / "README.md"
    notes.write_text("# my notes\n")
    with pytest.raises(ValueError, match="was not written by `mtdnn-keras experiment`"):
        _check_report_target(notes, source)
    notes.write_text("# Title\n\nGenerated by `mtdnn-keras experiment exp.yaml` from ...\n")
    _check_report_target(notes, source)  # its own report: replaced


def test_an_adaptation_sweep_on_other_data_is_refused(tmp_path):
    import types

    from mtdnn_keras.data.example_reader import Example
    from mtdnn_keras.experiments.domain_adaptation import _check_same_data
    from mtdnn_keras.training.training_config import TrainingConfig

    def sweep(holdout, overwrite=False):
        training = TrainingConfig(tasks="rte", output_dir=str(tmp_path), overwrite=overwrite)
        return types.SimpleNamespace(holdout=holdout, holdout_seed=0, training=training)

    task = types.SimpleNamespace(name="rte")
    examples = [Example("a", "b", 0, f"rte-{i}", i) for i in range(10)]
    held = types.SimpleNamespace(examples=examples[:2])
    path = tmp_path / "sweep.json"
    _check_same_data(sweep(2), path, task, examples[2:], held)
    _check_same_data(sweep(2), path, task, examples[2:], held)  # the same: continued
    other = types.SimpleNamespace(examples=examples[:5])
    with pytest.raises(ValueError, match="holds a sweep on other data"):
        _check_same_data(sweep(5), path, task, examples[5:], other)
    _check_same_data(sweep(5, overwrite=True), path, task, examples[5:], other)
