"""SQuAD reading, and question answering with multiple choice through fit, CLI and Python."""

import json

import pytest
from conftest import require_data

from mtdnn_keras.data.example_reader import DataError, ExampleReader
from mtdnn_keras.data.squad_articles import split_articles
from mtdnn_keras.tasks import TaskRegistry

TASKS = TaskRegistry.builtin().tasks
CONTEXT = "The Normans were in Normandy in the 10th and 11th centuries."


def squad_file(path, questions, context=CONTEXT):
    data = {
        "version": "v2.0",
        "data": [{"title": "t", "paragraphs": [{"context": context, "qas": questions}]}],
    }
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def id_line(path, qid):
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if f'"id": "{qid}"' in line)


def question(qid, answers=(), impossible=False, text="When?"):
    return {
        "id": qid,
        "question": text,
        "answers": [{"text": a, "answer_start": CONTEXT.index(a)} for a in answers],
        "is_impossible": impossible,
    }


def test_reads_answers_and_unanswerable_questions(tmp_path):
    path = squad_file(
        tmp_path / "dev.json",
        [
            question("a", ["10th and 11th centuries", "11th centuries"]),
            question("b", impossible=True),
        ],
    )
    first, second = ExampleReader(TASKS["squad2"]).read(path, "dev").examples
    assert first.text_b == CONTEXT and first.text_a == "When?"
    assert [a.text for a in first.answers] == ["10th and 11th centuries", "11th centuries"]
    assert second.answers == ()
    assert first.line == id_line(path, "a")  # the line of its "id" in the file


@pytest.mark.parametrize(
    "record, field, message",
    [
        (
            {"answers": [{"text": "Normandy", "answer_start": 3}]},
            "answers[0]",
            "not at character 3",
        ),
        ({"answers": []}, "answers", "no answers, and is_impossible is not true"),
        ({"answers": [{"text": "x"}]}, "answers[0]", "integer answer_start"),
        ({"question": "  "}, "question", "empty question"),
        ({"is_impossible": "yes"}, "is_impossible", "expected true or false"),
    ],
)
def test_bad_questions_name_file_line_and_place(tmp_path, record, field, message):
    bad = {**question("bad", ["Normandy"]), **record}
    path = squad_file(tmp_path / "train.json", [question("ok", ["Normans"]), bad])
    with pytest.raises(DataError, match=message) as error:
        ExampleReader(TASKS["squad2"]).read(path, "train")
    assert error.value.field == f"data[0].paragraphs[0].qas[1].{field}"
    assert (
        error.value.line
        == json.dumps(json.loads(path.read_text()), indent=1)
        .splitlines()
        .index('       "id": "bad",')
        + 1
    )
    assert str(path) in str(error.value)


def test_duplicate_ids_and_unanswerable_in_squad_1_1(tmp_path):
    path = squad_file(
        tmp_path / "a.json", [question("q", ["Normans"]), question("q", ["Normandy"])]
    )
    with pytest.raises(DataError, match=f"id 'q' also on line {id_line(path, 'q')}"):
        ExampleReader(TASKS["squad2"]).read(path, "train")
    path = squad_file(tmp_path / "b.json", [question("q", impossible=True)])
    with pytest.raises(DataError, match="unanswerable question in a task without no-answer"):
        ExampleReader(TASKS["squad"]).read(path, "train")
    (tmp_path / "c.json").write_text('{"data": [', encoding="utf-8")
    with pytest.raises(DataError, match="invalid JSON"):
        ExampleReader(TASKS["squad2"]).read(tmp_path / "c.json", "train")


def test_split_articles(tmp_path):
    source = require_data("squad2", "dev-v2.0.articles-01-12.json")
    train, dev = split_articles(source, 9, tmp_path)
    reader = ExampleReader(TASKS["squad2"])
    train_examples = reader.read(train, "train").examples
    dev_examples = reader.read(dev, "dev").examples
    assert len(train_examples) + len(dev_examples) == 4449
    assert not {e.text_b for e in train_examples} & {e.text_b for e in dev_examples}
    with pytest.raises(ValueError, match="1 to 11"):
        split_articles(source, 12, tmp_path, overwrite=True)


@pytest.fixture(scope="module")
def qa_run(tmp_path_factory, tiny_encoder_dir):
    """A tiny encoder trained on 2 SQuAD articles with SWAG's sample, QA as the main task."""
    from mtdnn_keras.training.multitask_trainer import fit
    from mtdnn_keras.training.training_config import TrainingConfig

    swag = require_data("swag", "sample.jsonl")
    source = require_data("squad2", "dev-v2.0.articles-01-12.json")
    root = tmp_path_factory.mktemp("qa")
    train, dev = split_articles(source, 11, root / "squad")
    config = TrainingConfig(
        tasks="squad2,swag_jsonl",
        output_dir=str(root / "run"),
        train_files={"squad2": str(train), "swag_jsonl": str(swag)},
        eval_files={"squad2": str(dev), "swag_jsonl": str(swag)},
        encoder=str(tiny_encoder_dir),
        epochs=2,
        max_seq_length=64,
        max_train_examples={"squad2": 96},
        mixing="weights:squad2=0.75,swag_jsonl=0.25",
        main_task="squad2",
        learning_rate=1e-3,
        verbose=0,
    )
    return config, fit(config), dev


def test_fit_with_a_main_task_scores_squad_and_swag(qa_run):
    config, result, _ = qa_run
    squad = result.metrics["squad2"]
    for key in ("exact", "f1", "HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1", "best_f1"):
        assert 0.0 <= squad[key] <= 100.0
    assert squad["best_f1"] >= squad["f1"]  # tuned on the same set: never worse
    assert set(result.metrics["swag_jsonl"]) == {"accuracy"}
    saved = json.load(open(f"{config.output_dir}/training_config.json"))
    ends = saved["epoch_ends"]
    assert len(ends) == 2 and result.steps == ends[-1] == saved["total_steps"]
    history = json.load(open(f"{config.output_dir}/eval_history.json"))
    assert [entry["step"] for entry in history] == ends  # scored where each epoch ended
    # the tuned threshold travels with the saved model
    assert result.model.tasks[0].null_score_threshold == pytest.approx(squad["best_f1_thresh"])


def test_predict_answers_strings_from_cli_and_python(qa_run, tmp_path):
    from mtdnn_keras.cli.main import main

    from mtdnn_keras.inference.predictor import Predictor

    config, _, dev = qa_run
    output = tmp_path / "predictions.json"
    assert (
        main(
            [
                "predict",
                "--model",
                config.output_dir,
                "--task",
                "squad2",
                "--input",
                str(dev),
                "--output",
                str(output),
            ]
        )
        == 0
    )
    answers = json.loads(output.read_text())
    examples = ExampleReader(TASKS["squad2"]).read(dev, "dev").examples
    assert list(answers) == [e.id for e in examples]
    for example in examples:
        answer = answers[example.id]
        assert answer == "" or answer in example.text_b  # a piece of the context, or no answer

    predictor = Predictor.load(config.output_dir)
    (span,) = predictor.predict("squad2", ["When were the Normans in Normandy?"], [CONTEXT])
    assert span["best_span"] in CONTEXT and span["best_span"]
    assert span["answer"] in ("", span["best_span"])
    (choice,) = predictor.predict(
        "swag_jsonl",
        ["A man sits at a piano."],
        ["He"],
        choices=[["plays a song.", "eats it.", "flies away.", "sings."]],
    )
    assert sum(choice["probabilities"]) == pytest.approx(1.0, abs=1e-5)
    assert (
        choice["choice"] == ["plays a song.", "eats it.", "flies away.", "sings."][choice["label"]]
    )
    with pytest.raises(ValueError, match="scores 4 choices"):
        predictor.predict("swag_jsonl", ["x"], None, choices=[["a", "b"]])


def test_evaluate_uses_the_stored_threshold(qa_run, tmp_path):
    from mtdnn_keras.cli.main import main

    config, result, dev = qa_run
    output = tmp_path / "scores.json"
    assert (
        main(
            [
                "evaluate",
                "--model",
                config.output_dir,
                "--tasks",
                "squad2",
                "--eval-file",
                f"squad2={dev}",
                "--output",
                str(output),
            ]
        )
        == 0
    )
    scores = json.loads(output.read_text())["squad2"]
    # the saved model answers at the threshold tuned on this set: its scores are the tuned ones
    assert scores["f1"] == pytest.approx(result.metrics["squad2"]["best_f1"], abs=1e-6)
    assert scores["best_f1"] == pytest.approx(result.metrics["squad2"]["best_f1"], abs=1e-6)
