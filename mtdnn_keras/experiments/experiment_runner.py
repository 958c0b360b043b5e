"""Runs a whole MT-DNN comparison from one YAML file and writes its report.

The file (see `experiments/mtdnn_small_glue.yaml`) has up to three stages:

- `refinements`: multi-task `fit` runs (the MT-DNN refinement stage), by name.
- `single_task`: the paper's Table 2 question. For each task and seed: ST-DNN (`fit` on the
  task alone from the plain encoder) and MT-DNN fine-tuned (`fit` from a refinement's model),
  plus the refinement evaluated as it is (MT-DNN, no fine-tuning).
- `adaptation`: domain-adaptation sweeps (`AdaptConfig`), by name.
- `distillation`: multi-task knowledge distillation, by name. The fine-tuned single-task
  models of one refinement (`single_task` with `keep_models`) are the teachers of each task:
  their averaged ensemble writes soft targets on the task's training set (`distill-targets`)
  and is scored on its dev set (`ensemble`); a student (`fit` with `soft_targets`) trains on
  the entry's tasks.

`single_task.refinement` names one refinement or a list of them (each one's fine-tuned
runs then live in `single_task/finetuned-<name>/`, beside one set of ST-DNN runs).
`single_task.search` (`{seed: 0, grid: {learning_rate: [...], epochs: [...]}}`) gives every
method the same search (`SettingSearch`): each task's grid at one seed, the best setting on
dev kept, the task's seeds at it.

Every run writes its own folder under `output_dir`; a training run that finished (its
`run.json` exists; adaptation runs: their `metrics.json`) is not run again, so an interrupted
experiment resumes where it stopped. The report (Markdown, with
the adaptation plots beside it) is rebuilt from the runs' files each time.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import types
import typing
from pathlib import Path

import yaml

from mtdnn_keras.data.soft_targets import MANIFEST as SOFT_MANIFEST
from mtdnn_keras.data.soft_targets import SoftTargets
from mtdnn_keras.experiments.adapt_config import RESULTS_FILE, AdaptConfig
from mtdnn_keras.experiments.experiment_report import write_experiment_report
from mtdnn_keras.experiments.isolated_run import run_isolated
from mtdnn_keras.experiments.setting_search import SettingSearch
from mtdnn_keras.models.model_files import CONFIG_FILE, saved_tasks
from mtdnn_keras.storage.atomic_writes import write_json_atomically
from mtdnn_keras.storage.run_lock import LOCK_FILE
from mtdnn_keras.training.checkpoint_files import has_checkpoint
from mtdnn_keras.training.run_folder import changed_options
from mtdnn_keras.training.training_config import TrainingConfig
from mtdnn_keras.user_values import is_finite_number, show

TRAINING_FIELDS = {field.name for field in dataclasses.fields(TrainingConfig)}
RUN_FILE = "run.json"  # wall time and steps of a finished run


class ExperimentConfigError(ValueError):
    """A mistake in an experiment file, naming the file and the entry."""


def load_experiment(path: str | Path) -> dict:
    """The experiment file, checked before anything runs: the type of every section, entry
    and option; every training block as the `TrainingConfig` it becomes, every adaptation
    entry as its `AdaptConfig` (with their own checks); and the refinements the other stages
    name. A mistake is an `ExperimentConfigError` naming the file and the entry
    (`refinements.a.epochs`) and what was expected."""
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark else str(path)
        problem = getattr(error, "problem", None) or error
        raise ExperimentConfigError(
            f"{where}: cannot read the experiment file: not valid YAML: {problem}"
        ) from None
    except OSError as error:
        raise ExperimentConfigError(
            f"{path}: cannot read the experiment file: {error.strerror or error}"
        ) from None
    except RecursionError:
        raise ExperimentConfigError(
            f"{path}: cannot read the experiment file: nested too deeply"
        ) from None
    except (ValueError, TypeError, OverflowError) as error:  # not UTF-8; 1e5000-digit ints
        reason = str(error).split(";")[0]
        raise ExperimentConfigError(f"{path}: cannot read the experiment file: {reason}") from None
    _ExperimentCheck(path, config).run()
    config["_path"] = str(path)
    return config


TOP_LEVEL_KEYS = ("title", "output_dir", "report", "defaults", "refinements", "single_task",
                  "adaptation", "distillation", "notes")  # fmt: skip
SINGLE_TASK_KEYS = ("refinement", "seeds", "training", "keep_models", "search")
SEARCH_KEYS = ("seed", "grid")
DISTILLATION_KEYS = ("teachers", "training")
# adaptation entries: AdaptConfig's fields (output_dir is the sweep's folder) and a refinement
ADAPT_KEYS = tuple(f.name for f in dataclasses.fields(AdaptConfig) if f.name != "output_dir")
# folders of those stages beside the refinements
RESERVED_NAMES = ("single_task", "adaptation", "distillation")


class _ExperimentCheck:
    """`load_experiment`'s checks of one parsed file."""

    def __init__(self, path: Path, config):
        self.path = path
        self.config = config

    def fail(self, where: str, message: str) -> ExperimentConfigError:
        return ExperimentConfigError(f"{self.path}, {where}: {message}")

    def run(self) -> None:
        config = self.config
        if not isinstance(config, dict) or "output_dir" not in config:
            raise ExperimentConfigError(
                f"{self.path}: expected a mapping with at least 'output_dir'"
            )
        unknown = sorted(str(key) for key in config if key not in TOP_LEVEL_KEYS)
        if unknown:
            raise ExperimentConfigError(f"{self.path}: unknown top-level keys {unknown}")
        for key in ("title", "report", "notes"):
            self.expect(key, config.get(key), str | None)
        output_dir = config["output_dir"]
        if not isinstance(output_dir, str) or not output_dir.strip():
            raise self.fail("output_dir", f"expected a folder path, got {show(output_dir)}")
        defaults = self.mapping("defaults", config.get("defaults"), "training options")
        self.options("defaults", defaults)
        self.training("defaults", None, tasks=defaults.get("tasks", "-"), output_dir=output_dir)
        refinements = self.mapping("refinements", config.get("refinements"), "runs by name")
        for name, block in refinements.items():
            where = f"refinements.{name}"
            self.name("refinements", name)
            if name in RESERVED_NAMES:
                raise self.fail(where, f"'{name}' is the folder of that stage: use another name")
            block = self.mapping(where, block, "training options")
            self.options(where, block)
            if "tasks" not in {**defaults, **block}:
                raise self.fail(where, "no 'tasks': name the run's tasks here or in 'defaults'")
            self.training(where, block, output_dir=str(Path(output_dir) / name))
        self.single_task(refinements, output_dir)
        self.adaptation(refinements, output_dir)
        self.distillation(output_dir)

    def single_task(self, refinements: dict, output_dir: str) -> None:
        single = self.config.get("single_task")
        if single is None or single == {}:
            return
        if not isinstance(single, dict):
            raise self.fail(
                "single_task",
                f"expected a mapping of {', '.join(SINGLE_TASK_KEYS)}, got {show(single)}",
            )
        for key in single:
            if key not in SINGLE_TASK_KEYS:
                raise self.fail(
                    f"single_task.{key}", f"unknown key; expected {', '.join(SINGLE_TASK_KEYS)}"
                )
        named = single.get("refinement")
        names = [named] if isinstance(named, str) else named
        if not isinstance(names, list) or not names:
            raise self.fail("single_task", f"refinement {show(named)}: expected a name or a list")
        for refinement in names:
            if not isinstance(refinement, str) or refinement not in refinements:
                raise self.fail("single_task", f"refinement {show(refinement)} is not defined")
        keep = single.get("keep_models", False)
        self.expect("single_task.keep_models", keep, bool | list[str])
        for name in keep if isinstance(keep, list) else []:
            if name not in names:
                raise self.fail(
                    "single_task.keep_models", f"{show(name)} is not a refinement of single_task"
                )
        seeds = single.get("seeds")
        if not isinstance(seeds, dict) or not seeds:
            raise self.fail(
                "single_task.seeds",
                f"expected a mapping of task name to a list of seeds ({{rte: [0, 1, 2]}}), "
                f"got {show(seeds)}",
            )
        for task, task_seeds in seeds.items():
            self.name("single_task.seeds", task)
            self.expect(f"single_task.seeds.{task}", task_seeds, list[int])
            if not task_seeds:
                raise self.fail(f"single_task.seeds.{task}", "expected at least one seed")
        block = self.mapping("single_task.training", single.get("training"), "training options")
        self.options("single_task.training", block)
        search = self.search(single.get("search"))
        settings = search.settings() if search else [{}]
        for task, task_seeds in seeds.items():
            for seed, setting in itertools.product(task_seeds, settings):
                self.training(
                    f"single_task (task {task}, seed {seed}"
                    + "".join(f", {option} {value}" for option, value in setting.items())
                    + ")",
                    {**block, **setting},
                    tasks=task,
                    output_dir=str(Path(output_dir) / "single_task"),
                    seed=seed,
                    init_model=str(Path(output_dir) / names[0]),
                    save_model=False,
                )

    def search(self, search) -> SettingSearch | None:
        """`single_task.search`: a seed and a grid of training options, each value of its
        option's type."""
        search = self.mapping("single_task.search", search, "seed, grid")
        if not search:
            return None
        unknown = sorted(str(key) for key in search if key not in SEARCH_KEYS)
        if unknown:
            raise self.fail("single_task.search", f"unknown keys {unknown}; expected seed, grid")
        self.expect("single_task.search.seed", search.get("seed", 0), int)
        grid = self.mapping("single_task.search.grid", search.get("grid"), "option to values")
        bad = sorted(str(key) for key in grid if key not in TRAINING_FIELDS)
        if bad:
            raise self.fail("single_task.search.grid", f"{bad} are not training options")
        for option, values in grid.items():
            self.expect(f"single_task.search.grid.{option}", values, list[_TRAINING_HINTS[option]])
        try:
            return SettingSearch(grid=grid, seed=search.get("seed", 0))
        except ValueError as error:
            raise self.fail("single_task.search", str(error)) from None

    def distillation(self, output_dir: str) -> None:
        entries = self.mapping("distillation", self.config.get("distillation"), "runs by name")
        if not entries:
            return
        single = self.config.get("single_task") or {}
        named = single.get("refinement")
        refinements = [named] if isinstance(named, str) else (named or [])
        for name, entry in entries.items():
            where = f"distillation.{name}"
            self.name("distillation", name)
            entry = self.mapping(where, entry, ", ".join(DISTILLATION_KEYS))
            unknown = sorted(str(key) for key in entry if key not in DISTILLATION_KEYS)
            if unknown:
                raise self.fail(where, f"unknown keys {unknown}; expected teachers, training")
            if entry.get("teachers") not in refinements:
                raise self.fail(
                    f"{where}.teachers",
                    f"expected a refinement of single_task ({', '.join(refinements) or 'none'}), "
                    f"whose fine-tuned models teach; got {show(entry.get('teachers'))}",
                )
            if not keeps_models(single, entry.get("teachers")):
                raise self.fail(
                    where,
                    "the teachers are single_task's fine-tuned models: name their refinement "
                    "in its keep_models (or set it true)",
                )
            block = self.mapping(f"{where}.training", entry.get("training"), "training options")
            self.options(f"{where}.training", block)
            if "tasks" not in {**(self.config.get("defaults") or {}), **block}:
                raise self.fail(f"{where}.training", "no 'tasks': name the student's tasks")
            self.training(
                f"{where}.training", block, output_dir=str(Path(output_dir) / "distillation" / name)
            )
            try:
                distillation_plan(self.config, name)
            except (TypeError, ValueError) as error:  # an unknown task too
                raise self.fail(where, str(error)) from None

    def adaptation(self, refinements: dict, output_dir: str) -> None:
        sweeps = self.mapping("adaptation", self.config.get("adaptation"), "sweeps by name")
        hints = typing.get_type_hints(AdaptConfig)
        for name, entry in sweeps.items():
            where = f"adaptation.{name}"
            self.name("adaptation", name)
            entry = self.mapping(where, entry, f"{', '.join(ADAPT_KEYS)}, refinement")
            for key, value in entry.items():
                if key == "refinement":
                    if value is not None and (
                        not isinstance(value, str) or value not in refinements
                    ):
                        raise self.fail(where, f"refinement {show(value)} is not defined")
                elif key not in ADAPT_KEYS:
                    raise self.fail(
                        f"{where}.{key}",
                        f"unknown key; expected {', '.join(ADAPT_KEYS)} or refinement",
                    )
                elif key != "training" and not (key == "starts" and value is None):
                    self.expect(f"{where}.{key}", value, hints[key])
            for key in ("task", "fractions"):
                if key not in entry:
                    raise self.fail(where, f"'{key}' is required")
            block = self.mapping(f"{where}.training", entry.get("training"), "training options")
            self.options(f"{where}.training", block)
            folder = str(Path(output_dir) / "adaptation" / name)
            training = self.training(
                f"{where}.training", block, tasks=entry["task"], output_dir=folder
            )
            starts = dict(entry.get("starts") or {})
            if entry.get("refinement"):
                starts[f"MT-DNN refined ({entry['refinement']})"] = (
                    f"model:{Path(output_dir) / entry['refinement']}"
                )
            rest = {k: v for k, v in entry.items() if k not in ("refinement", "starts", "training")}
            try:
                AdaptConfig(output_dir=folder, starts=starts, training=training, **rest)
            except (TypeError, ValueError) as error:
                raise self.fail(where, str(error)) from None

    def mapping(self, where: str, value, what: str) -> dict:
        """A section that is a mapping (null or absent: empty)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping ({what}), got {show(value)}")
        return value

    def name(self, section: str, name) -> None:
        """A name that is also a folder name."""
        if (
            not isinstance(name, str)
            or not name.strip()
            or name in (".", "..")
            or any(c in name for c in "/\\")
        ):
            raise self.fail(section, f"expected names usable as folder names, got {show(name)}")

    def options(self, where: str, block: dict) -> None:
        """Training options: known names, each of its `TrainingConfig` type."""
        bad = sorted(str(key) for key in block if key not in TRAINING_FIELDS)
        if bad:
            raise self.fail(
                where,
                f"{bad} are not training options (known: {', '.join(sorted(TRAINING_FIELDS))})",
            )
        for key, value in block.items():
            self.expect(f"{where}.{key}", value, _TRAINING_HINTS[key])

    def training(self, where: str, block: dict | None, **fields) -> TrainingConfig:
        """The `TrainingConfig` a run of the block gets, with its own checks."""
        try:
            return _training(self.config, block, **fields)
        except (TypeError, ValueError) as error:
            raise self.fail(where, str(error)) from None

    def expect(self, where: str, value, hint) -> None:
        if _fits(value, hint):
            return
        message = f"expected {_expected(hint)}, got {show(value)}"
        if isinstance(value, str) and _fits(1.5, hint) and _is_number_text(value):
            message += f" (YAML reads {value} as text: write it with a dot, as 5.0e-5)"
        raise self.fail(where, message)


def _is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _fits(value, hint) -> bool:
    """Whether a YAML value has a type annotation's type (as `TrainingConfig`'s fields)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in args)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return is_finite_number(value)
    if hint is str:
        return isinstance(value, str)
    if origin is dict:
        return isinstance(value, dict) and all(
            _fits(k, args[0]) and _fits(v, args[1]) for k, v in value.items()
        )
    if origin is list:
        return isinstance(value, list) and all(_fits(item, args[0]) for item in value)
    return True  # a type these checks do not know: the dataclass's own checks decide


def _expected(hint) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_expected(arg) for arg in args)
    if origin is dict:
        return f"a mapping of {_expected(args[0])} to {_expected(args[1])}"
    if origin is list:
        return f"a list, each {_expected(args[0])}"
    return {
        type(None): "null",
        bool: "true or false",
        int: "a whole number",
        float: "a finite number",
        str: "text",
    }.get(hint, str(hint))


_TRAINING_HINTS = typing.get_type_hints(TrainingConfig)


STAGES = ("refinements", "single_task", "adaptation", "distillation")


def run_experiment(path: str | Path, stages: list[str] | None = None) -> Path:
    """Runs (or resumes) the stages of the experiment file (all, by default; `[]` for none),
    then writes its report."""
    config = load_experiment(path)
    output_dir = Path(config["output_dir"])
    stages = STAGES if stages is None else stages
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ExperimentConfigError(f"unknown stages {sorted(unknown)}; use {', '.join(STAGES)}")
    _check_data(config, stages)
    if "refinements" in stages:
        for name in config.get("refinements") or {}:
            _run_refinement(config, name)
    if "single_task" in stages and config.get("single_task"):
        _run_single_task(config)
    if "adaptation" in stages:
        for name in config.get("adaptation") or {}:
            _run_adaptation(config, name)
    if "distillation" in stages:
        for name in config.get("distillation") or {}:
            _run_distillation(config, name)
    return write_experiment_report(config, collect_results(config), output_dir)


def _check_data(config: dict, stages) -> None:
    """The tasks and data of every stage still to run, checked before the first run starts
    (and before TensorFlow): a missing file or dataset of the last stage stops the
    experiment at once. Finished stages are not checked: their report needs no data."""
    from mtdnn_keras.training.run_plan import adaptation_data, resolve_tasks, run_data

    output_dir = Path(config["output_dir"])
    trainings = []
    if "refinements" in stages:
        for name, block in (config.get("refinements") or {}).items():
            if not (output_dir / name / RUN_FILE).is_file():
                trainings.append(_training(config, block, output_dir="-"))
    single = config.get("single_task")
    if "single_task" in stages and single:
        tasks = ",".join(single["seeds"])
        search = SettingSearch.from_block(single.get("search"))
        for setting in search.settings() if search else [{}]:
            block = {**(single.get("training") or {}), **setting}
            trainings.append(_training(config, block, tasks=tasks, output_dir="-"))
    if "distillation" in stages:
        for name, entry in (config.get("distillation") or {}).items():
            if not (output_dir / "distillation" / name / "student" / RUN_FILE).is_file():
                trainings.append(_training(config, entry.get("training"), output_dir="-"))
    for training in trainings:
        tasks = resolve_tasks(
            training.tasks, training.task_file, training.max_seq_length, training.heads
        )
        training.check_task_names([task.name for task in tasks])
        run_data(tasks, training.data_options())
    if "adaptation" in stages:
        for name, entry in (config.get("adaptation") or {}).items():
            if (output_dir / "adaptation" / name / RESULTS_FILE).is_file():
                continue
            training = _training(config, entry.get("training"), tasks=entry["task"], output_dir="-")
            adaptation_data(entry["task"], training, holdout=entry.get("holdout") is not None)


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
        methods = [("stdnn", None, base / "stdnn")] + [
            ("finetuned", name, finetuned_folder(config, name))
            for name in single_task_refinements(single)
        ]
        search = SettingSearch.from_block(single.get("search"))
        results["searches"] = []
        for method, refinement, method_folder in methods:
            for task, seeds in single["seeds"].items():
                record = search.record(method_folder / task) if search else None
                if record:
                    results["searches"].append(
                        {"method": method, "refinement": refinement, "task": task, **record}
                    )
                for seed in seeds:
                    folder = seed_folder(search, method_folder / task, seed)
                    if folder is not None and (folder / RUN_FILE).is_file():
                        results["single_task"].append(
                            {
                                "method": method,
                                "refinement": refinement,
                                "task": task,
                                "seed": seed,
                                "metrics": _read_json(folder / "metrics.json")[task],
                                "run": _read_json(folder / RUN_FILE),
                            }
                        )
        for refinement in single_task_refinements(single):
            no_finetune = no_finetune_file(config, refinement)
            if no_finetune.is_file():
                for task, metrics in _read_json(no_finetune).items():
                    results["single_task"].append(
                        {
                            "method": "no_finetune",
                            "refinement": refinement,
                            "task": task,
                            "seed": None,
                            "metrics": metrics,
                        }
                    )
    results["distillation"] = {}
    for name in config.get("distillation") or {}:
        folder = output_dir / "distillation" / name
        done = {"ensembles": {}}
        for path in sorted(folder.glob(f"{ENSEMBLE_PREFIX}*.json")):
            done["ensembles"][path.stem[len(ENSEMBLE_PREFIX) :]] = _read_json(path)
        if (folder / "student" / RUN_FILE).is_file():
            done["student"] = {
                "metrics": _read_json(folder / "student" / "metrics.json"),
                "run": _read_json(folder / "student" / RUN_FILE),
            }
        results["distillation"][name] = done
    for name in config.get("adaptation") or {}:
        path = output_dir / "adaptation" / name / RESULTS_FILE
        if path.is_file():
            results["adaptation"][name] = _read_json(path)
    return results


ENSEMBLE_PREFIX = "ensemble-"  # a distillation's teachers on a task's dev set: ensemble-rte.json


def single_task_refinements(single: dict) -> list[str]:
    """The refinements `single_task` fine-tunes from (one name or a list)."""
    named = single["refinement"]
    return [named] if isinstance(named, str) else list(named)


def keeps_models(single: dict, refinement: str) -> bool:
    """Whether `single_task` keeps the models fine-tuned from `refinement` (`keep_models`:
    true for every refinement, or a list of them)."""
    keep = single.get("keep_models", False)
    return refinement in keep if isinstance(keep, list) else bool(keep)


def seed_folder(search: SettingSearch | None, task_folder: Path, seed: int) -> Path | None:
    """Where a single-task method's run of `seed` lives (`None`: at the search's best setting,
    which is not chosen yet; see `SettingSearch.run_folder`)."""
    return search.run_folder(task_folder, seed) if search else task_folder / f"seed-{seed}"


def finetuned_folder(config: dict, refinement: str) -> Path:
    """Where `single_task`'s runs fine-tuned from `refinement` live: `finetuned/` for the one
    refinement named alone (as before lists), `finetuned-<name>/` in a list."""
    single = config["single_task"]
    base = Path(config["output_dir"]) / "single_task"
    return base / (
        "finetuned" if isinstance(single["refinement"], str) else f"finetuned-{refinement}"
    )


def no_finetune_file(config: dict, refinement: str) -> Path:
    """`refinement`'s dev scores as it is, on `single_task`'s tasks."""
    single = config["single_task"]
    base = Path(config["output_dir"]) / "single_task"
    if isinstance(single["refinement"], str):
        return base / "no_finetune.json"
    return base / f"no_finetune-{refinement}.json"


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
    refinements = single_task_refinements(single)
    methods = [("stdnn", None, base / "stdnn", False)] + [
        (
            "finetuned",
            str(Path(config["output_dir"]) / name),
            finetuned_folder(config, name),
            keeps_models(single, name),  # distillation's teachers
        )
        for name in refinements
    ]
    search = SettingSearch.from_block(single.get("search"))
    for task, seeds in single["seeds"].items():
        for _, init_model, method_folder, keep in methods:
            fields = {"tasks": task, "init_model": init_model, "save_model": keep}
            task_folder = method_folder / task
            setting = {}
            if search:
                for candidate in search.settings():
                    folder = search.folder(task_folder, candidate)
                    _run_once(
                        config, candidate, None, output_dir=str(folder), seed=search.seed, **fields
                    )
                setting = search.choose(task_folder, RUN_FILE)
                if setting is None:  # every setting ran just above
                    raise RuntimeError(f"{task_folder}: a search run left no {RUN_FILE}")
            for seed in seeds:
                if not (search and seed == search.seed):  # else: the best setting's search run
                    folder = task_folder / f"seed-{seed}"
                    chosen = f"{task_folder / 'search.json'} keeps {setting}" if search else None
                    _run_once(config, setting, chosen, output_dir=str(folder), seed=seed, **fields)
    for name in refinements:
        no_finetune = no_finetune_file(config, name)
        if no_finetune.is_file():
            continue
        model = str(Path(config["output_dir"]) / name)
        has = {task.name for task in saved_tasks(model)}
        tasks = ",".join(task for task in single["seeds"] if task in has)
        if not tasks:  # a refinement without these tasks (to fine-tune new heads) scores none
            write_json_atomically({}, no_finetune)
            continue
        training = _training(config, single.get("training"), tasks=tasks, output_dir=str(base))
        data = dataclasses.replace(training.data_options(), train_files={})
        evaluate(model, tasks, output=str(no_finetune), data=data)


def _run_once(config: dict, setting: dict, chosen: str | None, **fields) -> None:
    """A single-task run of `single_task.training` with `setting`, unless it finished
    (`chosen` says where the setting came from, for the error when a finished run was
    trained at another)."""
    training = _training(
        config, {**(config["single_task"].get("training") or {}), **setting}, **fields
    )
    folder = Path(training.output_dir)
    if (folder / RUN_FILE).is_file():
        _check_same(folder, training, chosen)
    else:
        _fit(training)


def distillation_plan(config: dict, name: str) -> tuple[TrainingConfig, dict[str, list[str]]]:
    """A distillation entry's student (`fit` with its soft targets) and each taught task's
    teachers: single_task's fine-tuned runs of the entry's refinement, one per seed, for the
    student's tasks whose type takes soft targets."""
    entry = config["distillation"][name]
    folder = Path(config["output_dir"]) / "distillation" / name
    training = _training(
        config,
        entry.get("training"),
        output_dir=str(folder / "student"),
        soft_targets=str(folder / "soft_targets"),
    )
    student_tasks = {task.name: task for task in _resolve(training)}
    teachers = finetuned_folder(config, entry["teachers"])
    search = SettingSearch.from_block(config["single_task"].get("search"))
    taught = {
        task: [_teacher(seed_folder(search, teachers / task, seed), task) for seed in seeds]
        for task, seeds in config["single_task"]["seeds"].items()
        if task in student_tasks
        and student_tasks[task].kind.soft_target_width(student_tasks[task]) is not None
    }
    if not taught:
        raise ValueError(
            "no task of single_task's seeds is a task of the student that takes soft targets "
            "(classification or regression)"
        )
    return training, taught


def _teacher(folder: Path | None, task: str) -> str:
    """A teacher's folder, or for one at a search's best setting not chosen yet a description
    in its place (it has not been trained, which the distillation stage then says)."""
    return str(folder) if folder is not None else f"(the best setting of {task}'s search)"


def _run_distillation(config: dict, name: str) -> None:
    """Soft targets of each task's teachers (their ensemble), its dev scores, then the
    student; each step skipped where its files exist and were made from the same teachers
    and sampling (else refused, as a finished run with other options is)."""
    folder = Path(config["output_dir"]) / "distillation" / name
    soft = folder / "soft_targets"
    training, taught = distillation_plan(config, name)
    sampling = {
        task: {"seed": training.seed, "max_examples": training.max_train_examples.get(task)}
        for task in taught
    }
    for task, models in taught.items():
        missing = [model for model in models if not (Path(model) / RUN_FILE).is_file()]
        if missing:
            raise ExperimentConfigError(
                f"distillation.{name}: the teacher {missing[0]} has not been trained; run the "
                "single_task stage first"
            )
        written = SoftTargets(soft).written() if (soft / SOFT_MANIFEST).is_file() else {}
        if task in written:
            made = {key: written[task].get(key) for key in ("models", "sample")}
            if made != {"models": models, "sample": sampling[task]}:
                raise ExperimentConfigError(
                    f"{soft} holds {task}'s soft targets from other teachers or sampling "
                    f"({made}); delete it or give the distillation another name"
                )
        else:
            run_isolated(_distill_task, models, task, training, str(soft))
        scores = folder / f"{ENSEMBLE_PREFIX}{task}.json"
        if scores.is_file() and _read_json(scores).get("models") != models:
            raise ExperimentConfigError(
                f"{scores} scored other teachers; delete it or give the distillation another name"
            )
        if not scores.is_file():
            data = dataclasses.replace(training.data_options(), train_files={})
            run_isolated(_ensemble_scores, models, task, data, str(scores))
    student = folder / "student"
    if (student / RUN_FILE).is_file():
        _check_same(student, training)
        return
    _fit(training)


def _resolve(training: TrainingConfig):
    from mtdnn_keras.training.run_plan import resolve_tasks

    return resolve_tasks(
        training.tasks, training.task_file, training.max_seq_length, training.heads
    )


def _distill_task(models: list[str], task: str, training: TrainingConfig, output: str) -> None:
    """One task's soft targets, sampled as the student samples its examples."""
    from mtdnn_keras.training.ensemble_runs import distill_targets

    distill_targets(
        models,
        output,
        task,
        dataclasses.replace(training.data_options(), eval_files={}),
        training.max_train_examples,
        training.seed,
        training.skip_bad_rows,
    )


def _ensemble_scores(models: list[str], task: str, data, path: str) -> None:
    """The teachers' dev scores, each and averaged: `{"ensemble": ..., "members": [...]}`."""
    from mtdnn_keras.training.ensemble_runs import evaluate_ensemble

    results = evaluate_ensemble(models, task, data)
    scores = {
        "models": models,
        "ensemble": results["ensemble"][task],
        "members": [results["members"][model][task] for model in models],
    }
    write_json_atomically(scores, path)


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
    from mtdnn_keras.experiments.domain_adaptation import adapt

    adapt(AdaptConfig(task=task, output_dir=str(folder), starts=starts, training=training, **entry))


def _fit(training: TrainingConfig) -> None:
    """Runs `training` in its folder, new or left by this same run unfinished (no run.json:
    it continues from its checkpoint, or starts anew there); a folder holding anything else
    is refused."""
    folder = Path(training.output_dir)
    leftover = folder.is_dir() and any(p.name != LOCK_FILE for p in folder.iterdir())
    if leftover and changed_options(folder, training) != []:
        raise ExperimentConfigError(
            f"{folder} holds files this experiment's run did not write (or a run with other "
            "options); delete it, or give the stage or the experiment's output_dir another name"
        )
    # continue a run of these options that was killed after a checkpoint, else start anew
    resume = leftover and has_checkpoint(folder)
    training = dataclasses.replace(training, overwrite=not resume, resume=resume)
    run_isolated(_fit_and_record, training)


def _fit_and_record(training: TrainingConfig) -> None:
    """One `fit` and its `run.json`, in its own process (see `run_isolated`)."""
    from mtdnn_keras.training.multitask_trainer import fit

    result = fit(training)
    write_json_atomically(
        {"seconds": round(result.seconds, 1), "steps": result.steps},
        Path(training.output_dir) / RUN_FILE,
    )


def _check_same(folder: Path, training: TrainingConfig, chosen: str | None = None) -> None:
    """A finished run is reused only if it was made with the same options (`chosen`: where
    its setting comes from, when a search chose it)."""
    differ = changed_options(folder, training)
    if differ is None:
        raise ExperimentConfigError(f"{folder} has a run.json but no readable {CONFIG_FILE}")
    if differ and chosen:
        raise ExperimentConfigError(
            f"{folder} was trained at another setting ({', '.join(differ)}) than the search "
            f"chose ({chosen}): the grid or its runs changed since; delete {folder} to train "
            "it at the new setting"
        )
    if differ:
        raise ExperimentConfigError(
            f"{folder} was trained with other options ({', '.join(differ)}); "
            "delete it or give the stage another name"
        )


def _read_json(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))
