"""What an ensemble of trained models does from the API and the CLI: score dev sets,
predict a file, and write soft targets for distillation (`fit(soft_targets=...)`)."""

from __future__ import annotations

import time
from pathlib import Path

from mtdnn_keras.data.data_options import DataOptions
from mtdnn_keras.data.data_source import sample
from mtdnn_keras.data.soft_targets import check_unique_ids, write_soft_targets
from mtdnn_keras.inference.ensemble import Ensemble
from mtdnn_keras.storage.atomic_writes import write_json_atomically
from mtdnn_keras.training.multitask_trainer import read_eval_sets, report_skipped, write_predictions
from mtdnn_keras.training.run_plan import (
    plan_distill_targets,
    plan_ensemble,
    plan_ensemble_predict,
)


def evaluate_ensemble(
    model_dirs: list[str],
    tasks: str | None = None,
    data: DataOptions | None = None,
    output: str | None = None,
    skip_bad_rows: bool = False,
    batch_size: int = 64,
    overwrite: bool = False,
) -> dict:
    """Scores the averaged ensemble of `model_dirs`, and each member, on the dev sets of
    their shared tasks (`tasks` to choose). Returns (and writes to `output` as JSON)
    `{"ensemble": {set: {metric: value}}, "members": {model_dir: {set: {...}}}}`, 0-100."""
    data = data or DataOptions()
    planned = plan_ensemble(model_dirs, tasks, data, output, overwrite)
    ensemble = Ensemble.load(model_dirs, batch_size)
    results = {"ensemble": {}, "members": {model_dir: {} for model_dir in model_dirs}}
    for eval_set in read_eval_sets(planned.dev, skip_bad_rows):
        task = ensemble.tasks[eval_set.task.name]
        scores = ensemble.scores(task, eval_set.examples)
        results["ensemble"][eval_set.name] = scores["ensemble"]
        for model_dir, member in zip(model_dirs, scores["members"]):
            results["members"][model_dir][eval_set.name] = member
    if output:
        write_json_atomically(results, output)
    return results


def predict_ensemble_file(
    model_dirs: list[str],
    task_name: str,
    input_path: str | None,
    output_path: str,
    skip_bad_rows: bool = False,
    batch_size: int = 64,
    overwrite: bool = False,
    data: DataOptions | None = None,
) -> int:
    """As `predict_file`, with the averaged ensemble of `model_dirs`. Returns the number of
    predictions."""
    source = plan_ensemble_predict(model_dirs, task_name, input_path, output_path, overwrite, data)
    ensemble = Ensemble.load(model_dirs, batch_size)
    result = source.read(skip_bad_rows)
    report_skipped(result)
    task = ensemble.tasks[task_name]
    write_predictions(task, result.examples, ensemble.records(task, result.examples), output_path)
    return len(result.examples)


def distill_targets(
    model_dirs: list[str],
    output: str,
    tasks: str | None = None,
    data: DataOptions | None = None,
    max_train_examples: dict[str, int] | None = None,
    seed: int = 0,
    skip_bad_rows: bool = False,
    batch_size: int = 64,
    overwrite: bool = False,
) -> dict[str, int]:
    """Writes soft targets for distillation to the folder `output`: the averaged ensemble of
    `model_dirs` predicts each task's training set (`tasks`: default every shared
    classification and regression task), one file per task keyed by example id
    (`mtdnn_keras.data.soft_targets`). `max_train_examples` samples a task's examples as
    `fit` does with the same seed, so a student sampled alike finds all of its own.
    Returns the number of examples written per task."""
    data = data or DataOptions()
    planned = plan_distill_targets(model_dirs, tasks, data, output, overwrite)
    ensemble = Ensemble.load(model_dirs, batch_size)
    written = {}
    for task in planned.tasks:
        started = time.time()
        result = planned.train[task.name].read(skip_bad_rows)
        sampling = {"seed": seed, "max_examples": (max_train_examples or {}).get(task.name)}
        sample(result, sampling["max_examples"], seed)
        report_skipped(result)
        check_unique_ids(result.path, result.examples)  # before the teachers' pass
        records = ensemble.records(ensemble.tasks[task.name], result.examples)
        path = write_soft_targets(output, task, result.examples, records, model_dirs, sampling)
        written[task.name] = len(result.examples)
        print(
            f"{task.name}: soft targets of {len(result.examples)} examples from "
            f"{len(model_dirs)} models in {time.time() - started:.0f} s -> {Path(path)}"
        )
    return written
