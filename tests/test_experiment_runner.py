"""The experiment runner: a whole comparison from one YAML file, resumable, and its report."""

import json

import pytest

from mtdnn_keras.experiments.experiment_runner import (
    ExperimentConfigError,
    load_experiment,
    run_experiment,
)


def write_config(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_experiment_end_to_end(small_glue, tiny_encoder_dir, tmp_path):
    config = write_config(
        tmp_path / "experiment.yaml",
        f"""
title: tiny
output_dir: {tmp_path / "runs"}
report: {tmp_path / "docs" / "experiments.md"}
defaults: {{encoder: "{tiny_encoder_dir}", data_dir: "{small_glue}", batch_size: 8,
           max_seq_length: 64, learning_rate: 1.0e-3, verbose: 0}}
refinements:
  mtl: {{tasks: "rte,stsb", max_steps: 3}}
  mtl_no_rte: {{tasks: stsb, max_steps: 2}}
single_task:
  refinement: [mtl, mtl_no_rte]
  keep_models: [mtl]
  seeds: {{rte: [0, 1]}}
  training: {{max_steps: 2}}
  search: {{seed: 0, grid: {{learning_rate: [1.0e-3, 3.0e-3]}}}}
distillation:
  kd:
    teachers: mtl
    training: {{tasks: "rte,stsb", max_steps: 2}}
adaptation:
  rte:
    task: rte
    refinement: mtl_no_rte
    starts: {{plain: "encoder:{tiny_encoder_dir}"}}
    fractions: [0.5]
    seeds: 1
    training: {{max_steps: 2}}
notes: Written by hand.
""",
    )
    report = run_experiment(config)
    text = report.read_text()
    runs = tmp_path / "runs"
    for method in ("stdnn", "finetuned-mtl", "finetuned-mtl_no_rte"):
        # each method's own search at seed 0: the best dev score's setting is kept ...
        task_folder = runs / "single_task" / method / "rte"
        search = json.loads((task_folder / "search.json").read_text())
        scores = {
            rate: max(
                entry["mean"]
                for entry in json.loads(
                    (
                        task_folder / "search" / f"learning_rate-{rate}" / "eval_history.json"
                    ).read_text()
                )
            )
            for rate in ("0.001", "0.003")
        }
        best = max(scores, key=scores.get)
        assert search["best"] == {"learning_rate": float(best)}
        # ... its run is seed 0's, and seed 1 trains at it
        seeds = [task_folder / "search" / f"learning_rate-{best}", task_folder / "seed-1"]
        for folder in seeds:
            assert (folder / "run.json").is_file()
            assert (folder / "model.keras").is_file() == (method == "finetuned-mtl")  # kept
        used = json.loads((seeds[1] / "training_config.json").read_text())
        assert used["learning_rate"] == float(best) and used["seed"] == 1
        assert not (task_folder / "seed-0").exists()
        assert f"**{scores[best]:.2f}**" in text  # the kept setting, in the search's table
    assert "### Setting search (seed 0)" in text
    # the refinements side by side: each one's kept epoch
    histories = [
        json.loads((runs / n / "eval_history.json").read_text()) for n in ("mtl", "mtl_no_rte")
    ]
    kept = [max(history, key=lambda row: row["mean"]) for history in histories]
    assert (
        f"| stsb | pearson | {kept[0]['metrics']['stsb']['pearson']:.2f} | "
        f"{kept[1]['metrics']['stsb']['pearson']:.2f} |" in text
    )
    assert f"| rte | accuracy | {kept[0]['metrics']['rte']['accuracy']:.2f} | – |" in text
    assert "| ST-DNN (encoder, task alone) | rte | " in text
    no_finetune = json.loads((runs / "single_task" / "no_finetune-mtl.json").read_text())
    assert f"{no_finetune['rte']['accuracy']:.2f}" in text  # numbers come from the run files
    assert json.loads((runs / "single_task" / "no_finetune-mtl_no_rte.json").read_text()) == {}
    assert "MT-DNN, fine-tuned (`mtl_no_rte`)" in text
    assert "fine-tuned (`mtl_no_rte`) − fine-tuned (`mtl`)" in text

    # distillation: the teachers' soft targets, their ensemble's scores, the student
    kd = runs / "distillation" / "kd"
    soft = [
        json.loads(line) for line in (kd / "soft_targets" / "rte.jsonl").read_text().splitlines()
    ]
    assert len(soft) == 60 and set(soft[0]["probabilities"]) == {"entailment", "not_entailment"}
    ensemble = json.loads((kd / "ensemble-rte.json").read_text())
    assert len(ensemble["members"]) == 2
    student = json.loads((kd / "student" / "metrics.json").read_text())
    config_used = json.loads((kd / "student" / "training_config.json").read_text())
    assert config_used["soft_targets"] == str(kd / "soft_targets")
    assert "## Multi-task knowledge distillation" in text
    assert f"| rte | accuracy | {ensemble['members'][0]['accuracy']:.2f}, " in text
    assert f"{ensemble['ensemble']['accuracy']:.2f} | {student['rte']['accuracy']:.2f} |" in text
    stdnn = json.loads(
        (runs / "single_task" / "stdnn" / "rte" / "seed-1" / "metrics.json").read_text()
    )
    assert "stdnn" not in text and "ST-DNN" in text
    assert f"accuracy {stdnn['rte']['accuracy']:.2f}" in text
    assert "### `rte`: adapting to rte" in text and "| 30 (0.5) |" in text
    sweep = json.loads((runs / "adaptation" / "rte" / "adaptation.json").read_text())
    minutes = sum(run["seconds"] for run in sweep["runs"]) / 60
    assert len(sweep["runs"]) == 2 and f"Compute: 2 runs, {minutes:.1f} min.\n" in text
    assert (tmp_path / "docs" / "images" / "adaptation_rte.png").is_file()
    assert "Written by hand." in text

    # a second run trains nothing again
    stamps = {p: p.stat().st_mtime_ns for p in runs.rglob("metrics.json")}
    run_experiment(config)
    assert {p: p.stat().st_mtime_ns for p in runs.rglob("metrics.json")} == stamps

    # a finished refinement is not reused under other options
    changed = write_config(
        tmp_path / "changed.yaml", config.read_text().replace("max_steps: 3", "max_steps: 4")
    )
    with pytest.raises(ExperimentConfigError, match="trained with other options.*max_steps"):
        run_experiment(changed, ["refinements"])


@pytest.mark.parametrize(
    "text, message",
    [
        ("output_dir: x\nsingle_task: {refinement: nope, seeds: {rte: [0]}}\n", "refinement 'nope' is not defined"),
        ("output_dir: x\nrefinements: {a: {tasks: rte, epoch: 3}}\n", r"refinements.a: \['epoch'\] are not training options"),
        ("output_dir: x\nextra: 1\n", r"unknown top-level keys \['extra'\]"),
        ("tasks: [\n", "cannot read the experiment file"),
    ],
)  # fmt: skip
def test_config_mistakes_name_the_file_and_entry(tmp_path, text, message):
    path = write_config(tmp_path / "bad.yaml", text)
    with pytest.raises(ExperimentConfigError, match=message) as error:
        load_experiment(path)
    assert str(path) in str(error.value)
