"""The command line end to end on a tiny encoder: fit -> evaluate -> predict, and tasks."""

import json

import pytest
from conftest import write_lines
from mtdnn_keras.cli.main import main


@pytest.fixture(scope="module")
def trained(small_glue, tiny_encoder_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    # a user-defined task, from a YAML file, read from a file outside the data dir
    task_file = write_lines(
        out.parent / "my_tasks.yaml",
        [
            "tasks:",
            "  polarity:",
            "    type: classification",
            "    labels: [neg, pos]",
            "    metrics: [accuracy, f1]",
            "    reader: {format: tsv, header: true, text_a: text, label: sentiment}",
        ],
    )
    rows = ["text\tsentiment"] + [
        f"{'good fine great' if i % 2 else 'bad awful poor'} movie {i}\t{'pos' if i % 2 else 'neg'}"
        for i in range(160)
    ]
    polarity = write_lines(out.parent / "polarity.tsv", rows)
    code = main(
        [
            "fit",
            "--tasks",
            "rte,stsb,cola,polarity",
            "--data-dir",
            str(small_glue),
            "--output-dir",
            str(out),
            "--encoder",
            str(tiny_encoder_dir),
            "--epochs",
            "3",
            "--batch-size",
            "8",
            "--max-seq-length",
            "64",
            "--task-file",
            str(task_file),
            "--train-file",
            f"polarity={polarity}",
            "--eval-file",
            f"polarity={polarity}",
            "--learning-rate",
            "3e-3",
            "--select-by",
            "rte,stsb,polarity",
            "--verbose",
            "0",
        ]
    )
    assert code == 0
    return out, small_glue, task_file, polarity


def test_fit_writes_model_metrics_and_logs(trained):
    out, *_ = trained
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"rte", "stsb", "cola", "polarity"}
    assert set(metrics["rte"]) == {"accuracy"} and set(metrics["stsb"]) == {"pearson", "spearman"}
    assert set(metrics["cola"]) == {"mcc"} and set(metrics["polarity"]) == {"accuracy", "f1"}
    for values in metrics.values():
        assert all(-100.0 <= v <= 100.0 for v in values.values())
    assert metrics["polarity"]["accuracy"] > 50.0  # the trivially separable toy task is learned
    config = json.loads((out / "training_config.json").read_text())
    assert config["train_examples"] == {"rte": 60, "stsb": 60, "cola": 60, "polarity": 160}
    history = json.loads((out / "eval_history.json").read_text())
    assert len(history) == 3
    best = max(history, key=lambda epoch: epoch["mean"])  # the first of equals wins
    assert best["metrics"] == metrics
    selected = [best["metrics"][t] for t in ("rte", "stsb", "polarity")]
    assert best["mean"] == pytest.approx(sum(sum(m.values()) / len(m) for m in selected) / 3)
    assert (out / "model.keras").is_file() and (out / "tokenizer" / "tokenizer.json").is_file()
    assert any((out / "logs" / "eval" / "rte").iterdir())  # per-task TensorBoard runs


def test_evaluate_rescores_the_same_model(trained, tmp_path):
    out, glue, task_file, polarity = trained
    result = tmp_path / "eval.json"
    code = main(
        [
            "evaluate",
            "--model",
            str(out),
            "--tasks",
            "rte,stsb,cola",
            "--data-dir",
            str(glue),
            "--output",
            str(result),
        ]
    )
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    rescored = json.loads(result.read_text())
    for task in ("rte", "stsb", "cola"):
        assert rescored[task] == pytest.approx(metrics[task], abs=1e-6)
    again = ["evaluate", "--model", str(out), "--eval-file", f"polarity={polarity}"]
    assert main([*again, "--output", str(result)]) == 2  # an existing file is kept ...
    assert json.loads(result.read_text()) == rescored
    code = main([*again, "--output", str(result), "--overwrite"])  # ... unless told
    assert code == 0 and json.loads(result.read_text())["polarity"] == pytest.approx(
        metrics["polarity"]
    )


def predict(model, task, source, target):
    return main(
        [
            "predict",
            "--model",
            str(model),
            "--task",
            task,
            "--input",
            str(source),
            "--output",
            str(target),
        ]
    )


def test_predict_writes_glue_submission_and_json_lines(trained, tmp_path, capsys):
    out, glue, *_ = trained
    submission = tmp_path / "RTE.tsv"
    assert predict(out, "rte", glue / "RTE" / "test.tsv", submission) == 0
    lines = submission.read_text().splitlines()
    assert lines[0] == "index\tprediction" and len(lines) == 21
    assert [line.split("\t")[0] for line in lines[1:]] == [str(i) for i in range(20)]
    assert {line.split("\t")[1] for line in lines[1:]} <= {"entailment", "not_entailment"}
    records = tmp_path / "stsb.jsonl"
    assert predict(out, "stsb", glue / "STS-B" / "test.tsv", records) == 0
    rows = [json.loads(line) for line in records.read_text().splitlines()]
    assert len(rows) == 20 and all(isinstance(row["score"], float) for row in rows)


def test_predictor_answers_raw_text(trained):
    from mtdnn_keras.inference.predictor import Predictor

    out, *_ = trained
    predictor = Predictor.load(str(out))
    answers = predictor.predict(
        "rte", ["A man eats bread.", "It rains."], ["Someone eats.", "The sun shines."]
    )
    assert len(answers) == 2 and answers[0]["label"] in ("entailment", "not_entailment")
    assert sum(answers[0]["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    (single,) = predictor.predict("polarity", ["great fine movie"])
    assert set(single["probabilities"]) == {"neg", "pos"}
    with pytest.raises(ValueError, match="takes sentence pairs"):
        predictor.predict("rte", ["only one side"])


def test_errors_are_reported_without_a_traceback(small_glue, tmp_path, capsys):
    code = main(
        [
            "fit",
            "--tasks",
            "rte,wnli",
            "--data-dir",
            str(small_glue),
            "--output-dir",
            str(tmp_path / "x"),
        ]
    )
    assert code == 2
    error = capsys.readouterr().err
    assert "missing data files" in error and str(small_glue / "WNLI" / "train.tsv") in error
    assert main(["fit", "--tasks", "nope", "--output-dir", str(tmp_path / "y")]) == 2
    assert "unknown task or group 'nope'" in capsys.readouterr().err


def test_tasks_lists_definitions(capsys):
    assert main(["tasks"]) == 0
    listing = capsys.readouterr().out
    assert (
        "mnli" in listing
        and "[contradiction, entailment, neutral]" in listing
        and "group glue:" in listing
    )
