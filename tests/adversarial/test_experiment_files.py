"""Adversarial experiment files: sections, entries and training options of the wrong type, and
files YAML cannot turn into values. `load_experiment` refuses each with one
`ExperimentConfigError` naming the file, the entry and what was expected, before any run."""

import time
from pathlib import Path

import pytest
from mtdnn_keras.cli.main import main

from mtdnn_keras.experiments.experiment_runner import (
    ExperimentConfigError,
    load_experiment,
    run_experiment,
)

REPO = Path(__file__).resolve().parents[2]
BASE = "output_dir: runs\nrefinements: {a: {tasks: rte}}\n"
ADAPT = "adaptation: {x: {task: rte, fractions: [0.5], starts: {p: 'encoder:minilm'}, %s}}\n"


def single(text: str) -> str:
    return BASE + f"single_task: {text}\n"


def option(text: str) -> str:
    return f"output_dir: runs\nrefinements: {{a: {{tasks: rte, {text}}}}}\n"


# (case id, file text, the entry named, a fragment of the message)
SECTIONS = [
    ("refinements is a list", "output_dir: x\nrefinements: [a, b]\n", "refinements",
     "expected a mapping"),
    ("refinements is text", "output_dir: x\nrefinements: a\n", "refinements", "expected a mapping"),
    ("a refinement is a number", "output_dir: x\nrefinements: {a: 3}\n", "refinements.a",
     "expected a mapping (training options), got 3"),
    ("a refinement is a list", "output_dir: x\nrefinements: {a: [rte]}\n", "refinements.a",
     "expected a mapping"),
    ("a refinement without tasks", "output_dir: x\nrefinements: {a: {epochs: 1}}\n",
     "refinements.a", "no 'tasks'"),
    ("a refinement named by a number", "output_dir: x\nrefinements: {1: {tasks: rte}}\n",
     "refinements", "expected names usable as folder names, got 1"),
    ("a refinement named by a path", "output_dir: x\nrefinements: {../up: {tasks: rte}}\n",
     "refinements", "folder names"),
    ("a refinement named as a stage", "output_dir: x\nrefinements: {adaptation: {tasks: rte}}\n",
     "refinements.adaptation", "folder of that stage"),
    ("defaults is a number", "output_dir: x\ndefaults: 5\n", "defaults", "expected a mapping"),
    ("defaults is a list", "output_dir: x\ndefaults: [epochs]\n", "defaults", "expected a mapping"),
    ("single_task is text", single('"x"'), "single_task", "expected a mapping"),
    ("single_task is a list", single("[a]"), "single_task", "expected a mapping"),
    ("single_task without a refinement", single("{seeds: 3}"), "single_task",
     "refinement None: expected a name or a list"),
    ("single_task's refinements name an unknown one", single("{refinement: [a, b], seeds: {rte: [0]}}"),
     "single_task", "refinement 'b' is not defined"),
    ("single_task's refinements are an empty list", single("{refinement: [], seeds: {rte: [0]}}"),
     "single_task", "refinement []: expected a name or a list"),
    ("a search is a list", single("{refinement: a, seeds: {rte: [0]}, search: [1]}"),
     "single_task.search", "expected a mapping (seed, grid)"),
    ("a search with an unknown key", single("{refinement: a, seeds: {rte: [0]}, search: {grd: {}}}"),
     "single_task.search", "unknown keys ['grd']"),
    ("a search's seed is text", single("{refinement: a, seeds: {rte: [0]}, search: {seed: x, grid: {epochs: [1]}}}"),
     "single_task.search.seed", "expected a whole number, got 'x'"),
    ("a search without a grid", single("{refinement: a, seeds: {rte: [0]}, search: {seed: 0}}"),
     "single_task.search", "expected at least one training option"),
    ("a search of an unknown option", single("{refinement: a, seeds: {rte: [0]}, search: {grid: {lr: [1]}}}"),
     "single_task.search.grid", "['lr'] are not training options"),
    ("a search's values of the wrong type", single("{refinement: a, seeds: {rte: [0]}, search: {grid: {epochs: [2, 2.5]}}}"),
     "single_task.search.grid.epochs", "expected a list, each a whole number"),
    ("a search's values are not a list", single("{refinement: a, seeds: {rte: [0]}, search: {grid: {epochs: 2}}}"),
     "single_task.search.grid.epochs", "expected a list"),
    ("a search of the runs' seed", single("{refinement: a, seeds: {rte: [0]}, search: {grid: {seed: [1, 2]}}}"),
     "single_task.search", "seed is set for each run"),
    ("a search's repeated values", single("{refinement: a, seeds: {rte: [0]}, search: {grid: {learning_rate: [1.0e-4, 0.0001]}}}"),
     "single_task.search", "values repeat one another"),
    ("a search's value out of bounds", single("{refinement: a, seeds: {rte: [0]}, search: {grid: {epochs: [2, 0]}}}"),
     "single_task (task rte, seed 0, epochs 0)", "--epochs"),
    ("a distillation without keep_models", single("{refinement: a, seeds: {rte: [0]}}")
     + "distillation: {kd: {teachers: a, training: {tasks: rte}}}\n", "distillation.kd",
     "name their refinement in its keep_models"),
    ("a distillation whose teachers are not kept",
     single("{refinement: a, keep_models: [], seeds: {rte: [0]}}")
     + "distillation: {kd: {teachers: a, training: {tasks: rte}}}\n", "distillation.kd",
     "name their refinement in its keep_models"),
    ("keep_models names another refinement", single("{refinement: a, keep_models: [b], seeds: {rte: [0]}}"),
     "single_task.keep_models", "'b' is not a refinement of single_task"),
    ("a distillation of a task without soft targets",
     single("{refinement: a, keep_models: true, seeds: {squad2: [0]}}")
     + "distillation: {kd: {teachers: a, training: {tasks: squad2}}}\n", "distillation.kd",
     "no task of single_task's seeds is a task of the student that takes soft targets"),
    ("seeds is a number", single("{refinement: a, seeds: 3}"), "single_task.seeds",
     "expected a mapping of task name to a list of seeds"),
    ("a task's seeds are a number", single("{refinement: a, seeds: {rte: 0}}"),
     "single_task.seeds.rte", "expected a list, each a whole number, got 0"),
    ("a seed is text", single("{refinement: a, seeds: {rte: [zero]}}"), "single_task.seeds.rte",
     "expected a list, each a whole number"),
    ("a task without seeds", single("{refinement: a, seeds: {rte: []}}"), "single_task.seeds.rte",
     "at least one seed"),
    ("a seed task named by a number", single("{refinement: a, seeds: {1: [0]}}"),
     "single_task.seeds", "folder names"),
    ("single_task's training is a list", single("{refinement: a, seeds: {rte: [0]}, training: [1]}"),
     "single_task.training", "expected a mapping"),
    ("an unknown single_task key", single("{refinement: a, seeds: {rte: [0]}, epochs: 2}"),
     "single_task.epochs", "unknown key"),
    ("a negative seed", single("{refinement: a, seeds: {rte: [-1]}}"),
     "single_task (task rte, seed -1)", "seed"),
    ("adaptation is a list", BASE + "adaptation: [1]\n", "adaptation", "expected a mapping"),
    ("a sweep is a list", BASE + "adaptation: {x: [1]}\n", "adaptation.x", "expected a mapping"),
    ("a sweep's task is a number", BASE + "adaptation: {x: {task: 5, fractions: [0.5]}}\n",
     "adaptation.x.task", "expected text, got 5"),
    ("a sweep without fractions", BASE + "adaptation: {x: {task: rte}}\n", "adaptation.x",
     "'fractions' is required"),
    ("fractions is a number", BASE + (ADAPT % "seeds: 1").replace("[0.5]", "0.5"),
     "adaptation.x.fractions", "expected a list, each a finite number"),
    ("a fraction is text", BASE + (ADAPT % "seeds: 1").replace("[0.5]", "[half]"),
     "adaptation.x.fractions", "expected a list, each a finite number"),
    ("a fraction above 1", BASE + (ADAPT % "seeds: 1").replace("[0.5]", "[2.0]"),
     "adaptation.x", "fraction 2.0 is not in (0, 1]"),
    ("starts is a list", BASE + (ADAPT % "seeds: 1").replace("{p: 'encoder:minilm'}", "[a]"),
     "adaptation.x.starts", "expected a mapping of text to text"),
    ("a start of no kind", BASE + (ADAPT % "seeds: 1").replace("encoder:minilm", "minilm"),
     "adaptation.x", "expected model:DIR or encoder:SPEC"),
    ("no starting point", BASE + "adaptation: {x: {task: rte, fractions: [0.5]}}\n",
     "adaptation.x", "at least one starting point"),
    ("seeds is text", BASE + ADAPT % "seeds: five", "adaptation.x.seeds",
     "expected a whole number or a list, each a whole number"),
    ("holdout is text", BASE + ADAPT % "holdout: many", "adaptation.x.holdout",
     "expected a whole number or null"),
    ("a sweep's output_dir", BASE + ADAPT % "output_dir: y", "adaptation.x.output_dir",
     "unknown key"),
    ("an undefined refinement", BASE + ADAPT % "refinement: nope", "adaptation.x",
     "refinement 'nope' is not defined"),
    ("a refinement named by a mapping", BASE + ADAPT % "refinement: {a: 1}", "adaptation.x",
     "refinement {'a': 1} is not defined"),
    ("a sweep's training is a number", BASE + ADAPT % "training: 3", "adaptation.x.training",
     "expected a mapping"),
    ("a sweep named by a number", BASE + "adaptation: {7: {task: rte}}\n", "adaptation",
     "folder names"),
]  # fmt: skip

OPTIONS = [
    ("epochs is text", option('epochs: "three"'), "refinements.a.epochs",
     "expected a whole number, got 'three'"),
    ("epochs is true", option("epochs: true"), "refinements.a.epochs", "expected a whole number"),
    ("batch_size is a list", option("batch_size: [1]"), "refinements.a.batch_size",
     "expected a whole number, got [1]"),
    ("learning_rate written 5e-5", option("learning_rate: 5e-5"), "refinements.a.learning_rate",
     "YAML reads 5e-5 as text"),
    ("learning_rate is NaN", option("learning_rate: .nan"), "refinements.a.learning_rate",
     "expected a finite number"),
    ("tasks is a list", option("max_steps: 2").replace("tasks: rte", "tasks: [rte, mrpc]"),
     "refinements.a.tasks", "expected text"),
    ("max_train_examples of text", option("max_train_examples: {sst2: many}"),
     "refinements.a.max_train_examples", "expected a mapping of text to a whole number"),
    ("train_files is a list", option("train_files: [x.tsv]"), "refinements.a.train_files",
     "expected a mapping of text to text"),
    ("skip_bad_rows is text", option('skip_bad_rows: "yes"'), "refinements.a.skip_bad_rows",
     "expected true or false"),
    ("max_steps is a mapping", option("max_steps: {a: 1}"), "refinements.a.max_steps",
     "expected a whole number or null"),
    ("an unknown option", option("epoch: 3"), "refinements.a", "['epoch'] are not training options"),
    ("a defaults option of the wrong type", "output_dir: x\ndefaults: {epochs: x}\n",
     "defaults.epochs", "expected a whole number"),
    ("a precision TrainingConfig refuses", option("precision: float8"), "refinements.a",
     "precision"),
    ("accumulation steps TrainingConfig refuses", option("gradient_accumulation_steps: 0"),
     "refinements.a", "accumulation"),
    ("a defaults value TrainingConfig refuses", "output_dir: x\ndefaults: {precision: float8}\n",
     "defaults", "precision"),
    ("a training value of a sweep", BASE + ADAPT % "training: {epochs: '2'}",
     "adaptation.x.training.epochs", "expected a whole number, got '2'"),
    ("a training value of single_task", single(
        "{refinement: a, seeds: {rte: [0]}, training: {batch_size: 0.5}}"),
     "single_task.training.batch_size", "expected a whole number"),
]  # fmt: skip

TOP_LEVEL = [
    ("output_dir is a number", "output_dir: 5\n", "output_dir", "expected a folder path, got 5"),
    ("output_dir is a list", "output_dir: [a]\n", "output_dir", "expected a folder path"),
    ("output_dir is empty", "output_dir: ''\n", "output_dir", "expected a folder path"),
    ("title is a list", "output_dir: x\ntitle: [a]\n", "title", "expected text or null"),
    ("notes is a mapping", "output_dir: x\nnotes: {a: 1}\n", "notes", "expected text or null"),
    ("report is a number", "output_dir: x\nreport: 5\n", "report", "expected text or null"),
]  # fmt: skip

LOLS = "[" + ", ".join(["lol"] * 9) + "]"
BOMB = "output_dir: x\nnotes: [&a " + LOLS + ", " + ", ".join(
    f"&{b} [" + ", ".join([f"*{a}"] * 9) + "]" for a, b in zip("abcdefgh", "bcdefghi")
) + "]\n"  # fmt: skip

UNREADABLE = [
    ("nested 100000 deep", "output_dir: x\nnotes: " + "[" * 100_000 + "]" * 100_000 + "\n",
     "nested too deeply"),
    ("an int of 5000 digits", "output_dir: x\ndefaults: {epochs: 1" + "0" * 5000 + "}\n",
     "Exceeds the limit (4300 digits)"),
    ("an impossible date", "output_dir: x\ntitle: 2001-13-45\n", "month must be in 1..12"),
    ("invalid YAML", "output_dir: x\nrefinements: [\n", "not valid YAML"),
    ("a mapping as a key", "output_dir: x\n? {a: 1}\n: 2\n", "not valid YAML"),
    ("not UTF-8", b"output_dir: x\ntitle: \xff\xfe\n", "can't decode"),
]  # fmt: skip


def write(tmp_path, text) -> Path:
    path = tmp_path / "experiment.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _cases(cases):
    return {"argvalues": [case[1:] for case in cases], "ids": [case[0] for case in cases]}


@pytest.mark.parametrize("text, entry, fragment", **_cases(SECTIONS + OPTIONS + TOP_LEVEL))
def test_wrong_types_name_the_file_entry_and_what_was_expected(tmp_path, text, entry, fragment):
    path = write(tmp_path, text)
    with pytest.raises(ExperimentConfigError) as error:
        load_experiment(path)
    message = str(error.value)
    assert message.startswith(f"{path}, {entry}: "), message
    assert fragment in message, message
    assert "\n" not in message and len(message) < 1000


@pytest.mark.parametrize("text, fragment", **_cases(UNREADABLE))
def test_files_yaml_cannot_read_name_the_file(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(ExperimentConfigError) as error:
        load_experiment(path)
    message = str(error.value)
    assert message.startswith(f"{path}") and "cannot read the experiment file" in message
    assert fragment in message, message
    assert "\n" not in message and len(message) < 1000


def test_an_alias_bomb_is_refused_quickly(tmp_path):
    path = write(tmp_path, BOMB)
    started = time.monotonic()
    with pytest.raises(ExperimentConfigError, match=r"notes: expected text or null, got \[\["):
        load_experiment(path)
    assert time.monotonic() - started < 10


def test_unknown_top_level_keys_of_any_type_are_listed(tmp_path):
    path = write(tmp_path, "output_dir: x\n1: a\nextra: b\n")
    with pytest.raises(ExperimentConfigError, match=r"unknown top-level keys \['1', 'extra'\]"):
        load_experiment(path)


def test_a_mistake_stops_the_experiment_before_any_run(tmp_path, capsys):
    runs = tmp_path / "runs"
    path = write(
        tmp_path,
        f"output_dir: {runs}\nrefinements: {{a: {{tasks: rte, max_steps: 1}}}}\n"
        "single_task: {refinement: a, seeds: {rte: [0]}}\n" + ADAPT % "training: {epochs: many}",
    )
    with pytest.raises(ExperimentConfigError, match="adaptation.x.training.epochs"):
        run_experiment(path)
    assert not runs.exists()
    assert main(["experiment", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}, adaptation.x.training.epochs: ") and err.count("\n") == 1


def test_valid_files_load_unchanged(tmp_path):
    config = load_experiment(REPO / "experiments" / "mtdnn_small_glue.yaml")
    assert config["single_task"]["seeds"]["rte"] == [0, 1, 2]
    assert config["adaptation"]["snli"]["task"] == "snli_official_dev"
    assert config["single_task"]["search"]["grid"]["epochs"] == [2, 5]
    for name in ("smart_kd.yaml",):
        assert load_experiment(REPO / "experiments" / name)["distillation"]
    path = write(
        tmp_path,
        "output_dir: runs\ntitle: null\nrefinements:\nsingle_task: {}\nadaptation:\n"
        "defaults: {tasks: rte, max_steps: null, learning_rate: 1, max_train_examples: {}}\n",
    )
    config = load_experiment(path)
    assert config["refinements"] is None and config["defaults"]["learning_rate"] == 1
    path = write(
        tmp_path,
        BASE
        + "single_task: {refinement: a, seeds: {rte: [0, 7]}, training: {epochs: 2}}\n"
        + ADAPT % "seeds: [3, 4], holdout: 20, refinement: a, training: {min_steps: 2}",
    )
    config = load_experiment(path)
    assert config["adaptation"]["x"]["seeds"] == [3, 4] and config["_path"] == str(path)
    path = write(  # no starts of its own: the refinement is the one starting point
        tmp_path, BASE + "adaptation: {y: {task: rte, fractions: [1.0], refinement: a, starts: }}\n"
    )
    assert load_experiment(path)["adaptation"]["y"]["starts"] is None
