"""Runs a whole MT-DNN comparison from one YAML file and writes its report.

The file (see `experiments/mtdnn_small_glue.yaml`) has up to three stages:

- `refinements`: multi-task `fit` runs (the MT-DNN refinement stage), by name.
- `single_task`: the paper's Table 2 question. For each task and seed: ST-DNN (`fit` on the
  task alone from the plain encoder) and MT-DNN fine-tuned (`fit` from a refinement's model),
  plus the refinement evaluated as it is (MT-DNN, no fine-tuning).
- `adaptation`: domain-adaptation sweeps (`AdaptConfig`), by name.

Every run writes its own folder under `output_dir`; a training run that finished (its
`run.json` exists; adaptation runs: their `metrics.json`) is not run again, so an interrupted
experiment resumes where it stopped. The report (Markdown, with
the adaptation plots beside it) is rebuilt from the runs' files each time.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import yaml

from mtdnn_keras.experiments.domain_adaptation import RESULTS_FILE, AdaptConfig, adapt
from mtdnn_keras.experiments.experiment_report import write_experiment_report
from mtdnn_keras.experiments.isolated_run import run_isolated
from mtdnn_keras.models.model_directory import CONFIG_FILE, write_json_atomically
from mtdnn_keras.training.training_config import TrainingConfig

TRAINING_FIELDS = {field.name for field in dataclasses.fields(TrainingConfig)}
RUN_FILE = "run.json"  # wall time and steps of a finished run


class ExperimentConfigError(ValueError):
    """A mistake in an experiment file, naming the file and the entry."""


def load_experiment(path: str | Path) -> dict:
    """The experiment file, checked: every training block names only `TrainingConfig` fields."""
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ExperimentConfigError(f"{path}: cannot read the experiment file: {error}") from None
    if not isinstance(config, dict) or "output_dir" not in config:
        raise ExperimentConfigError(f"{path}: expected a mapping with at least 'output_dir'")
    known = {"title", "output_dir", "report", "defaults", "refinements", "single_task",
             "adaptation", "notes"}  # fmt: skip
    unknown = set(config) - known
    if unknown:
        raise ExperimentConfigError(f"{path}: unknown top-level keys {sorted(unknown)}")
    for where, block in _training_blocks(config):
        bad = set(block) - TRAINING_FIELDS
        if bad:
            raise ExperimentConfigError(
                f"{path}, {where}: {sorted(bad)} are not training options "
                f"(known: {', '.join(sorted(TRAINING_FIELDS))})"
            )
    for name, entry in (config.get("adaptation") or {}).items():
        if entry.get("refinement") and entry["refinement"] not in (config.get("refinements") or {}):
            raise ExperimentConfigError(
                f"{path}, adaptation.{name}: refinement {entry['refinement']!r} is not defined"
            )
    single = config.get("single_task")
    if single and single.get("refinement") not in (config.get("refinements") or {}):
        raise ExperimentConfigError(
            f"{path}, single_task: refinement {single.get('refinement')!r} is not defined"
        )
    config["_path"] = str(path)
    return config


STAGES = ("refinements", "single_task", "adaptation")


def run_experiment(path: str | Path, stages: list[str] | None = None) -> Path:
    """Runs (or resumes) the stages of the experiment file (all, by default; `[]` for none),
    then writes its report."""
    config = load_experiment(path)
    output_dir = Path(config["output_dir"])
    stages = STAGES if stages is None else stages
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ExperimentConfigError(f"unknown stages {sorted(unknown)}; use {', '.join(STAGES)}")
    if "refinements" in stages:
        for name in config.get("refinements") or {}:
            _run_refinement(config, name)
    if "single_task" in stages and config.get("single_task"):
        _run_single_task(config)
    if "adaptation" in stages:
        for name in config.get("adaptation") or {}:
            _run_adaptation(config, name)
    return write_experiment_report(config, collect_results(config), output_dir)


def collect_results(config: dict) -> dict:
    """Everything finished so far, read back from the runs' files."""
    output_dir = Path(config["output_dir"])
    results = {"refinements": {}, "single_task": [], "adaptation": {}}
    for name in config.get("refinements") or {}:
        folder = output_dir / name
        if (folder / RUN_FILE).is_file():
            results["refinements"][name] = {
                "metrics": _read_json(folder / "metrics.json"),
                "config": _read_json(folder / CONFIG_FILE),
                "history": _read_json(folder / "eval_history.json"),
                "run": _read_json(folder / RUN_FILE),
            }
    single = config.get("single_task")
    if single:
        base = output_dir / "single_task"
        for method in ("stdnn", "finetuned"):
            for task, seeds in single["seeds"].items():
                for seed in seeds:
                    folder = base / method / task / f"seed-{seed}"
                    if (folder / RUN_FILE).is_file():
                        results["single_task"].append(
                            {
                                "method": method,
                                "task": task,
                                "seed": seed,
                                "metrics": _read_json(folder / "metrics.json")[task],
                                "run": _read_json(folder / RUN_FILE),
                            }
                        )
        no_finetune = base / "no_finetune.json"
        if no_finetune.is_file():
            for task, metrics in _read_json(no_finetune).items():
                results["single_task"].append(
                    {"method": "no_finetune", "task": task, "seed": None, "metrics": metrics}
                )
    for name in config.get("adaptation") or {}:
        path = output_dir / "adaptation" / name / RESULTS_FILE
        if path.is_file():
            results["adaptation"][name] = _read_json(path)
    return results


def _training(config: dict, block: dict | None, **fields) -> TrainingConfig:
    values = {**(config.get("defaults") or {}), **(block or {}), **fields}
    values.setdefault("verbose", 2)
    return TrainingConfig(**values)


def _run_refinement(config: dict, name: str) -> None:
    folder = Path(config["output_dir"]) / name
    training = _training(config, config["refinements"][name], output_dir=str(folder))
    if (folder / RUN_FILE).is_file():
        _check_same(folder, training)
        print(f"refinement {name}: done before ({folder}), not run again")
        return
    _fit(training)


def _run_single_task(config: dict) -> None:
    from mtdnn_keras.training.multitask_trainer import evaluate

    single = config["single_task"]
    base = Path(config["output_dir"]) / "single_task"
    refinement = Path(config["output_dir"]) / single["refinement"]
    for task, seeds in single["seeds"].items():
        for seed in seeds:
            for method, init_model in (("stdnn", None), ("finetuned", str(refinement))):
                folder = base / method / task / f"seed-{seed}"
                if (folder / RUN_FILE).is_file():
                    continue
                _fit(
                    _training(
                        config,
                        single.get("training"),
                        tasks=task,
                        output_dir=str(folder),
                        seed=seed,
                        init_model=init_model,
                        save_model=False,
                    )
                )
    no_finetune = base / "no_finetune.json"
    if not no_finetune.is_file():
        defaults = config.get("defaults") or {}
        evaluate(
            str(refinement),
            ",".join(single["seeds"]),
            data_dir=defaults.get("data_dir"),
            output=str(no_finetune),
        )


def _run_adaptation(config: dict, name: str) -> None:
    entry = dict(config["adaptation"][name])
    folder = Path(config["output_dir"]) / "adaptation" / name
    starts = dict(entry.pop("starts", {}) or {})
    refinement = entry.pop("refinement", None)
    if refinement:
        starts[f"MT-DNN refined ({refinement})"] = (
            f"model:{Path(config['output_dir']) / refinement}"
        )
    task = entry.pop("task")
    training = _training(config, entry.pop("training", None), tasks=task, output_dir=str(folder))
    adapt(AdaptConfig(task=task, output_dir=str(folder), starts=starts, training=training, **entry))


def _fit(training: TrainingConfig) -> None:
    run_isolated(_fit_and_record, training)


def _fit_and_record(training: TrainingConfig) -> None:
    """One `fit` and its `run.json`, in its own process (see `run_isolated`)."""
    from mtdnn_keras.training.multitask_trainer import fit

    result = fit(training)
    write_json_atomically(
        {"seconds": round(result.seconds, 1), "steps": result.steps},
        Path(training.output_dir) / RUN_FILE,
    )


def _check_same(folder: Path, training: TrainingConfig) -> None:
    """A finished run is reused only if it was made with the same options."""
    saved = _read_json(folder / CONFIG_FILE)
    wanted = dataclasses.asdict(training)
    ignored = {"output_dir", "verbose"}
    differ = [k for k in wanted if k not in ignored and k in saved and saved[k] != wanted[k]]
    if differ:
        raise ExperimentConfigError(
            f"{folder} was trained with other options ({', '.join(differ)}); "
            "delete it or give the stage another name"
        )


def _training_blocks(config: dict):
    yield "defaults", config.get("defaults") or {}
    for name, block in (config.get("refinements") or {}).items():
        yield f"refinements.{name}", block or {}
    if config.get("single_task"):
        yield "single_task.training", config["single_task"].get("training") or {}
    for name, entry in (config.get("adaptation") or {}).items():
        yield f"adaptation.{name}.training", entry.get("training") or {}


def _read_json(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))
