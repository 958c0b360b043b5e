"""Everything a run checks before it starts: its tasks, options, data and folders.

Nothing here imports TensorFlow, so a user's mistake (an unknown task, a bad option, a
missing file or dataset, a folder in the way) is a one-line error within a second or two,
before TensorFlow's start-up. `fit`, `evaluate`, `predict_file` and domain adaptation call
these checks first themselves; the CLI calls them before it imports them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mtdnn_keras.data.data_options import DataOptions
from mtdnn_keras.data.data_source import check_sources, extra_dev_sources, input_source, source_for
from mtdnn_keras.data.example_reader import DataError
from mtdnn_keras.data.soft_targets import MANIFEST as SOFT_TARGETS_MANIFEST
from mtdnn_keras.data.soft_targets import SoftTargets
from mtdnn_keras.data.split_source import SplitSource
from mtdnn_keras.models.model_files import check_model_folder, saved_tasks
from mtdnn_keras.storage.output_guard import check_output
from mtdnn_keras.tasks.task_definition import TaskDefinition
from mtdnn_keras.tasks.task_registry import TaskRegistry
from mtdnn_keras.training.run_folder import check_run_folder
from mtdnn_keras.training.training_config import ConfigError, TrainingConfig


@dataclasses.dataclass
class RunData:
    """A run's tasks and where each of their splits is read from, every source checked.

    Args:
        tasks: the run's task definitions.
        train: task name to its training split.
        dev: dev set name (`mnli`, `mnli-mm`) to its task and split.
    """

    tasks: list[TaskDefinition]
    train: dict[str, SplitSource]
    dev: dict[str, tuple[TaskDefinition, SplitSource]]


def resolve_tasks(
    spec: str,
    task_file: str | None = None,
    max_seq_length: int | None = None,
    heads: dict[str, str] | None = None,
) -> list[TaskDefinition]:
    """Task definitions for a comma-separated list of tasks and groups, with a run's length
    limit and heads (`TrainingConfig.heads`) in place of their own."""
    registry = TaskRegistry.builtin()
    if task_file:
        registry = registry.with_file(task_file)
    tasks = registry.resolve(spec)
    if max_seq_length is not None:
        tasks = [_with_max_seq_length(task, max_seq_length) for task in tasks]
    return [
        _with_head(task, heads[task.name]) if task.name in (heads or {}) else task for task in tasks
    ]


def _with_head(task: TaskDefinition, head: str) -> TaskDefinition:
    """`task` with another head, checked by the task loader's own rules (SAN: pairs only)."""
    return TaskDefinition.from_dict(task.name, {**task.to_dict(), "head": head}, source="--head")


def _with_max_seq_length(task: TaskDefinition, length: int) -> TaskDefinition:
    """`task` with another length limit (as its type sets it: a span task's question keeps
    at most half of it), checked by the task loader's own rules."""
    fields = task.kind.with_max_seq_length(task, length)
    return TaskDefinition.from_dict(task.name, fields, source="--max-seq-length")


def run_data(
    tasks: list[TaskDefinition],
    options: DataOptions,
    splits: tuple[str, ...] = ("train", "dev"),
    extra_dev: bool = True,
) -> RunData:
    """Where `tasks`' `splits` are read from (with their extra dev sets, such as MNLI's
    mismatched, unless `extra_dev` is off), checked: one error names every split that
    cannot be read."""
    train = {t.name: source_for(t, "train", options) for t in tasks} if "train" in splits else {}
    dev = {}
    if "dev" in splits:
        for task in tasks:
            dev[task.name] = (task, source_for(task, "dev", options))
            extras = extra_dev_sources(task, options) if extra_dev else {}
            for key, source in extras.items():
                dev[f"{task.name}-{key}"] = (task, source)
    check_sources(
        {
            **{f"{name} train": source for name, source in train.items()},
            **{f"{name} dev": source for name, (_, source) in dev.items()},
        }
    )
    return RunData(tasks, train, dev)


def plan_fit(config: TrainingConfig) -> RunData:
    """The checks of `fit` (and `finetune`), before anything is loaded: the tasks, the
    per-task options, the output folder, the starting model's folder and the data."""
    tasks = resolve_tasks(config.tasks, config.task_file, config.max_seq_length, config.heads)
    config.check_task_names([task.name for task in tasks])
    check_run_folder(config)
    if config.init_model:
        saved = {task.name: task for task in saved_tasks(config.init_model)}
        for name, head in config.heads.items():
            if name in saved and saved[name].head != head:
                raise ConfigError(
                    f"--head {name}={head}: {config.init_model} trained {name} with a "
                    f"{saved[name].head} head, whose weights it keeps; fine-tune it as it is, "
                    "or train that head anew from the encoder"
                )
        tasks = starting_definitions(tasks, saved)
    soft_target_tasks(config, tasks)
    return run_data(tasks, config.data_options())


def soft_target_tasks(config: TrainingConfig, tasks: list[TaskDefinition]):
    """`(SoftTargets, the tasks of the run that have soft targets)`, or `(None, [])` without
    `--soft-targets`; a folder that covers none of them is refused."""
    if not config.soft_targets:
        return None, []
    targets = SoftTargets(config.soft_targets)
    covered = targets.covered(tasks)
    if not covered:
        raise ConfigError(
            f"--soft-targets {config.soft_targets} has soft targets for "
            f"{', '.join(sorted(targets.tasks)) or 'no task'}, none of this run's tasks "
            f"({', '.join(task.name for task in tasks)})"
        )
    return targets, covered


def starting_definitions(
    tasks: list[TaskDefinition], saved: dict[str, TaskDefinition]
) -> list[TaskDefinition]:
    """`tasks`, with a starting model's `saved` definition of those it already has a head
    for (its head layout and labels must match the weights), keeping the run's length
    limits."""
    return [
        dataclasses.replace(
            saved[task.name],
            max_seq_length=task.max_seq_length,
            max_query_length=task.max_query_length,
        )
        if task.name in saved
        else task
        for task in tasks
    ]


def adaptation_data(task_name: str, training: TrainingConfig, holdout: bool) -> RunData:
    """The task of domain adaptation (with a linear head, as in the paper), its training
    split and, unless examples are held out of it, its dev split (MNLI's matched only)."""
    if training.heads:
        raise ConfigError(
            "--head: adapt trains a new linear head on each starting point (the paper's "
            "domain adaptation); fine-tune with finetune to choose the head"
        )
    tasks = resolve_tasks(task_name, training.task_file, training.max_seq_length)
    if len(tasks) != 1:
        raise ValueError(f"--task names one task; {task_name!r} is {len(tasks)} tasks")
    task = dataclasses.replace(tasks[0], head="linear")
    splits = ("train",) if holdout else ("train", "dev")
    return run_data([task], training.data_options(), splits, extra_dev=False)


def plan_evaluate(
    model_dir: str,
    tasks: str | None,
    options: DataOptions,
    output: str | None = None,
    overwrite: bool = False,
) -> RunData:
    """The checks of `evaluate`: the model's folder and tasks, the output file and the
    dev data."""
    if output:
        protected = _inputs([model_dir], options, options.eval_files)
        check_output(output, overwrite=overwrite, protected=protected, kind="file")
    chosen = model_tasks(model_dir, tasks or ",".join(options.eval_files) or None)
    unknown = sorted(set(options.eval_files) - {task.name for task in chosen})
    if unknown:
        raise ValueError(f"--eval-file names {', '.join(unknown)}, not a task being scored")
    return run_data(chosen, options, splits=("dev",))


def plan_predict(
    model_dir: str,
    task_name: str,
    given: str | None,
    output_path: str,
    overwrite: bool = False,
    options: DataOptions | None = None,
) -> SplitSource:
    """The checks of `predict`: the model and its task, the input (`data_source.input_source`:
    a file, `tfds:NAME`, or the task's test split) and the output. Returns the input."""
    tasks = model_tasks(model_dir, task_name)
    if len(tasks) != 1:
        raise ValueError(f"--task names one task of the model, not {task_name!r}")
    source = input_source(tasks[0], given, options or DataOptions())
    check_output(output_path, overwrite=overwrite, protected=[model_dir, source.where], kind="file")
    check_sources({f"{task_name} input": source})
    return source


def ensemble_tasks(model_dirs: list[str], spec: str | None) -> list[TaskDefinition]:
    """The tasks that `spec` names (default: every task all the models share whose type an
    ensemble averages), as the first model defines them; each model must have each."""
    if not model_dirs:
        raise ValueError("--models names no model")
    for model_dir in model_dirs:
        check_model_folder(model_dir)
    if spec is None:
        shared = set.intersection(*({t.name for t in saved_tasks(m)} for m in model_dirs))
        chosen = [
            task
            for task in saved_tasks(model_dirs[0])
            if task.name in shared and task.kind.ensemble_averages
        ]
        if not chosen:
            raise ValueError(f"the models {model_dirs} share no task an ensemble averages")
        return chosen
    chosen = model_tasks(model_dirs[0], spec)
    for model_dir in model_dirs[1:]:
        model_tasks(model_dir, spec)  # each model has each task
    for task in chosen:
        if not task.kind.ensemble_averages:
            raise ValueError(
                f"{task.name} is a {task.kind.name} task, whose predictions an ensemble does "
                "not average (classification, regression, ranking and multiple choice)"
            )
    return chosen


def plan_ensemble(
    model_dirs: list[str],
    tasks: str | None,
    options: DataOptions,
    output: str | None = None,
    overwrite: bool = False,
) -> RunData:
    """The checks of `ensemble` (scoring): the models, their shared tasks, the output file
    and the dev data."""
    if output:
        protected = _inputs(model_dirs, options, options.eval_files)
        check_output(output, overwrite=overwrite, protected=protected, kind="file")
    return run_data(ensemble_tasks(model_dirs, tasks), options, splits=("dev",))


def plan_ensemble_predict(
    model_dirs: list[str],
    task_name: str,
    given: str | None,
    output_path: str,
    overwrite: bool = False,
    options: DataOptions | None = None,
) -> SplitSource:
    """The checks of `ensemble --task`: every model has the task, and those of `predict`
    (the output never one of the models). Returns the input."""
    ensemble_tasks(model_dirs, task_name)
    for model_dir in model_dirs[1:]:
        check_output(output_path, overwrite=True, protected=[model_dir], kind="file")
    return plan_predict(model_dirs[0], task_name, given, output_path, overwrite, options)


def plan_distill_targets(
    model_dirs: list[str],
    tasks: str | None,
    options: DataOptions,
    output: str,
    overwrite: bool = False,
) -> RunData:
    """The checks of `distill-targets`: the models, the tasks (each one's type must take
    soft targets), the output folder (a soft-target folder takes further tasks; a task it
    holds is replaced only with `overwrite`) and the training data."""
    chosen = ensemble_tasks(model_dirs, tasks)
    if tasks is None:
        chosen = [task for task in chosen if task.kind.soft_target_width(task) is not None]
    without = [task.name for task in chosen if task.kind.soft_target_width(task) is None]
    if without or not chosen:
        raise ValueError(
            f"{', '.join(without) or 'none of the shared tasks'}: no soft targets for their "
            "types (classification and regression tasks take them)"
        )
    protected = _inputs(model_dirs, options, options.train_files)
    if (Path(output) / SOFT_TARGETS_MANIFEST).is_file():  # more tasks' soft targets
        present = SoftTargets(output).written()
        again = [task.name for task in chosen if task.name in present]
        if again and not overwrite:
            raise ValueError(
                f"--output {output} already holds soft targets for {', '.join(again)}: "
                "--overwrite replaces them"
            )
        check_output(output, overwrite=True, protected=protected, kind="folder")
    else:
        check_output(output, overwrite=overwrite, protected=protected, kind="folder")
    return run_data(chosen, options, splits=("train",))


def _inputs(model_dirs: list[str], options: DataOptions, files: dict[str, str]) -> list[str]:
    """What a command reads, which its output must never replace: the models, the data
    folder and the files given per task."""
    return [*model_dirs, *files.values(), *([options.data_dir] if options.data_dir else [])]


def model_tasks(model_dir: str | Path, spec: str | None) -> list[TaskDefinition]:
    """The tasks of the model in `model_dir` that `spec` names (all of them for `None`)."""
    by_name = {task.name: task for task in saved_tasks(model_dir)}
    if spec is None:
        return list(by_name.values())
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if not names:
        raise ValueError(f"no task named in {spec!r}; the model has {list(by_name)}")
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise DataError(
            "model", None, "task", f"the model has no task {unknown}; it has {list(by_name)}"
        )
    return [by_name[name] for name in names]
