"""Multi-task knowledge distillation: the loss, the ensemble, its soft targets, the student."""

import json
import math

import keras
import numpy as np
import pytest
from conftest import tiny_backbone

from mtdnn_keras.losses.distillation_loss import SOFT_TARGET_FIELD, DistillationLoss
from mtdnn_keras.tasks import TaskRegistry

TEACHER_TASKS = "rte,stsb,cola,squad2"


def _tasks(names):
    return {task.name: task for task in TaskRegistry.builtin().resolve(names)}


def test_the_loss_averages_hard_and_soft_cross_entropy_by_hand():
    rte = _tasks("rte")["rte"]
    logits = np.array([[2.0, 0.0], [0.0, 1.0]], "float32")
    labels = {"label": np.array([0.0, 1.0]), SOFT_TARGET_FIELD: np.array([[0.7, 0.3], [0.4, 0.6]])}
    z0, z1 = math.log(math.exp(2) + 1), math.log(1 + math.e)  # log-partitions of the rows
    hard = z0 - 2 + (z1 - 1)
    soft = 0.7 * (z0 - 2) + 0.3 * z0 + 0.4 * z1 + 0.6 * (z1 - 1)  # -sum q log p
    loss = DistillationLoss(frozenset({"rte"}), weight=0.5)
    computed = loss.loss(rte, logits, labels, rte.kind.loss(rte, logits, labels))
    np.testing.assert_allclose(float(computed), 0.5 * hard + 0.5 * soft, rtol=1e-6)
    heavier = DistillationLoss(frozenset({"rte"}), weight=0.25).loss(rte, logits, labels, hard)
    np.testing.assert_allclose(float(heavier), 0.75 * hard + 0.25 * soft, rtol=1e-6)


def test_the_regression_loss_is_squared_error_to_the_mean_score():
    stsb = _tasks("stsb")["stsb"]
    scores = np.array([1.0, 2.0], "float32")
    labels = {"label": np.array([1.5, 2.0]), SOFT_TARGET_FIELD: np.array([[1.2, 0.0], [2.5, 0.0]])}
    hard = stsb.kind.loss(stsb, scores, labels)  # 0.25
    computed = DistillationLoss(frozenset({"stsb"})).loss(stsb, scores, labels, hard)
    np.testing.assert_allclose(float(computed), 0.5 * 0.25 + 0.5 * (0.04 + 0.25), rtol=1e-6)


@pytest.fixture(scope="module")
def teacher_dirs(tmp_path_factory, minilm_tokenizer):
    """Three saved, untrained models of different seeds (rte, stsb, cola, squad2)."""
    from mtdnn_keras.models.model_directory import (
        MODEL_FILE,
        TOKENIZER_DIR,
        save_model_atomically,
        save_tokenizer_atomically,
    )
    from mtdnn_keras.models.mtdnn_model import MTDNNModel

    folders = []
    for seed in range(3):
        folder = tmp_path_factory.mktemp(f"teacher{seed}")
        backbone = tiny_backbone(minilm_tokenizer.vocabulary_size(), seed=seed)
        model = MTDNNModel(backbone, list(_tasks(TEACHER_TASKS).values()))
        save_model_atomically(model, folder / MODEL_FILE)
        save_tokenizer_atomically(minilm_tokenizer, folder / TOKENIZER_DIR)
        folders.append(folder)
    return folders


def test_soft_targets_are_the_mean_of_the_members_predictions(
    cli, teacher_dirs, small_glue, tmp_path
):
    from mtdnn_keras.data.data_options import DataOptions
    from mtdnn_keras.data.data_source import source_for
    from mtdnn_keras.inference.predictor import Predictor

    soft = tmp_path / "soft"
    models = ",".join(map(str, teacher_dirs))
    status, out, err = cli(
        "distill-targets", "--models", models, "--tasks", "rte,stsb",
        "--data-dir", small_glue, "--output", soft,
    )  # fmt: skip
    assert status == 0, err
    manifest = json.loads((soft / "manifest.json").read_text())
    assert manifest["tasks"]["rte"]["labels"] == ["entailment", "not_entailment"]
    assert manifest["tasks"]["rte"]["examples"] == manifest["tasks"]["stsb"]["examples"] == 60
    tasks = _tasks("rte,stsb")
    options = DataOptions(data_dir=str(small_glue))
    examples = {
        name: source_for(task, "train", options).read().examples for name, task in tasks.items()
    }
    members = [Predictor.load(str(folder)) for folder in teacher_dirs]
    written = {
        name: [json.loads(line) for line in (soft / f"{name}.jsonl").read_text().splitlines()]
        for name in tasks
    }
    assert [r["id"] for r in written["rte"]] == [e.id for e in examples["rte"]]
    probabilities = np.mean(
        [
            [
                [r["probabilities"][label] for label in tasks["rte"].labels]
                for r in m.predict_examples("rte", examples["rte"])
            ]
            for m in members
        ],
        axis=0,
    )
    np.testing.assert_allclose(
        [[r["probabilities"][label] for label in tasks["rte"].labels] for r in written["rte"]],
        probabilities,
        rtol=1e-5,
    )
    assert not np.allclose(
        probabilities,
        [
            [r["probabilities"]["entailment"], r["probabilities"]["not_entailment"]]
            for r in members[0].predict_examples("rte", examples["rte"])
        ],
    )
    scores = np.mean(
        [[r["score"] for r in m.predict_examples("stsb", examples["stsb"])] for m in members],
        axis=0,
    )
    np.testing.assert_allclose([r["score"] for r in written["stsb"]], scores, rtol=1e-5)


def test_the_ensemble_scores_its_mean_beside_each_member(cli, teacher_dirs, small_glue, tmp_path):
    from mtdnn_keras.data.data_options import DataOptions
    from mtdnn_keras.data.data_source import source_for
    from mtdnn_keras.inference.predictor import Predictor

    output = tmp_path / "scores.json"
    models = ",".join(map(str, teacher_dirs))
    status, out, err = cli(
        "ensemble", "--models", models, "--tasks", "rte", "--data-dir", small_glue,
        "--output", output,
    )  # fmt: skip
    assert status == 0, err
    results = json.loads(output.read_text())
    assert set(results["members"]) == set(map(str, teacher_dirs))
    assert "ensemble rte" in out and f"{teacher_dirs[0]} rte" in out
    rte = _tasks("rte")["rte"]
    dev = source_for(rte, "dev", DataOptions(data_dir=str(small_glue))).read().examples
    probabilities = np.mean(
        [
            [
                [r["probabilities"][label] for label in rte.labels]
                for r in Predictor.load(str(f)).predict_examples("rte", dev)
            ]
            for f in teacher_dirs
        ],
        axis=0,
    )
    predicted = probabilities.argmax(-1)
    gold = np.array([e.label for e in dev])
    assert results["ensemble"]["rte"]["accuracy"] == pytest.approx(100 * np.mean(predicted == gold))
    predictions = tmp_path / "rte.jsonl"
    status, out, err = cli(
        "ensemble", "--models", models, "--task", "rte", "--input", small_glue / "RTE" / "dev.tsv",
        "--output", predictions,
    )  # fmt: skip
    assert status == 0, err
    rows = [json.loads(line) for line in predictions.read_text().splitlines()]
    np.testing.assert_allclose(
        [row["probabilities"]["entailment"] for row in rows], probabilities[:, 0], rtol=1e-5
    )


def test_ensembles_and_soft_targets_refuse_tasks_they_cannot_average(
    cli, teacher_dirs, small_glue, tmp_path
):
    models = ",".join(map(str, teacher_dirs))
    status, _, err = cli(
        "ensemble", "--models", models, "--tasks", "squad2", "--data-dir", small_glue
    )
    assert (
        status == 2
        and "squad2 is a span task, whose predictions an ensemble does not average" in err
    )
    status, _, err = cli(
        "distill-targets", "--models", f"{models},{tmp_path / 'none'}", "--tasks", "rte",
        "--data-dir", small_glue, "--output", tmp_path / "soft",
    )  # fmt: skip
    assert status == 2 and "none" in err and not (tmp_path / "soft").exists()


def _student_arguments(encoder, small_glue, output, *extra):
    return [
        "fit", "--tasks", "rte,stsb,cola", "--data-dir", small_glue, "--encoder", encoder,
        "--epochs", "1", "--batch-size", "8", "--max-seq-length", "32", "--learning-rate",
        "1e-3", "--selection", "last", "--verbose", "0", "--output-dir", output, *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def soft_targets(teacher_dirs, small_glue, tmp_path_factory):
    from mtdnn_keras.cli.main import main

    soft = tmp_path_factory.mktemp("soft") / "targets"
    models = ",".join(map(str, teacher_dirs))
    assert (
        main(
            [
                "distill-targets",
                "--models",
                models,
                "--tasks",
                "rte,stsb",
                "--data-dir",
                str(small_glue),
                "--output",
                str(soft),
            ]
        )
        == 0
    )
    return soft


def _weights(folder):
    from mtdnn_keras.models.model_directory import load_model_directory

    model, _ = load_model_directory(folder)
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


def test_a_student_with_weight_zero_trains_exactly_as_without_soft_targets(
    cli, tiny_encoder_dir, small_glue, soft_targets, tmp_path
):
    plain, zero, half = tmp_path / "plain", tmp_path / "zero", tmp_path / "half"
    assert cli(*_student_arguments(tiny_encoder_dir, small_glue, plain))[0] == 0
    status, out, err = cli(
        *_student_arguments(
            tiny_encoder_dir, small_glue, zero, "--soft-targets", soft_targets,
            "--soft-target-weight", "0",
        )
    )  # fmt: skip
    assert status == 0, err
    assert (
        "distillation: rte, stsb learn the soft targets" in out and "cola their labels only" in out
    )
    for a, b in zip(_weights(plain), _weights(zero), strict=True):
        np.testing.assert_array_equal(a, b)
    assert (
        cli(
            *_student_arguments(tiny_encoder_dir, small_glue, half, "--soft-targets", soft_targets)
        )[0]
        == 0
    )
    assert any(not np.array_equal(a, b) for a, b in zip(_weights(plain), _weights(half)))


def test_soft_targets_missing_an_example_are_refused_with_the_file_and_id(
    cli, tiny_encoder_dir, small_glue, soft_targets, tmp_path
):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(soft_targets, broken)
    lines = (broken / "rte.jsonl").read_text().splitlines()
    (broken / "rte.jsonl").write_text("\n".join(lines[1:]) + "\n")
    missing = json.loads(lines[0])["id"]
    status, _, err = cli(
        *_student_arguments(
            tiny_encoder_dir, small_glue, tmp_path / "run", "--soft-targets", broken
        )
    )
    assert status == 2
    assert f"{broken / 'rte.jsonl'}, field 'id': 1 of 60 training examples of rte" in err
    assert repr(missing) in err
    status, _, err = cli(
        *_student_arguments(
            tiny_encoder_dir,
            small_glue,
            tmp_path / "run2",
            "--tasks",
            "cola",
            "--soft-targets",
            broken,
        )
    )
    assert status == 2 and "none of this run's tasks (cola)" in err


def test_repeated_ids_cannot_have_soft_targets():
    from mtdnn_keras.data.example_reader import DataError
    from mtdnn_keras.data.soft_targets import check_unique_ids
    from mtdnn_keras.features.example import Example

    rows = [
        Example("a", None, 0, "7", 2),
        Example("b", None, 1, "8", 3),
        Example("c", None, 1, "7", 4),
    ]
    with pytest.raises(DataError, match=r"train.tsv, line 4, field 'id': id '7' appears twice"):
        check_unique_ids("train.tsv", rows)
