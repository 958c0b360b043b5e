"""Domain adaptation (the paper's Figure 2): a new linear head on a fraction of a task's data.

For each starting point (a plain encoder, or the shared encoder of a refined multi-task model),
each fraction of the task's training pool and each seed, a fresh model (that encoder plus a new
linear head for the task) is trained on a seeded sample of the pool and scored once, after
training, on the evaluation set. Each run trains in its own process (`run_isolated`). Runs are independent folders under `OUTPUT/runs/`; an
interrupted sweep resumes by skipping the runs that have their `metrics.json`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from pathlib import Path

import numpy as np

from mtdnn_keras.data.data_source import sample
from mtdnn_keras.experiments.adapt_config import RESULTS_FILE, AdaptConfig, slug
from mtdnn_keras.experiments.adaptation_report import REPORT_FILES, write_report
from mtdnn_keras.experiments.isolated_run import run_isolated
from mtdnn_keras.storage.atomic_writes import write_json_atomically
from mtdnn_keras.storage.output_guard import check_output
from mtdnn_keras.storage.run_lock import LOCK_FILE, hold_folder
from mtdnn_keras.tasks.task_definition import TaskDefinition
from mtdnn_keras.training.evaluator import EvalSet
from mtdnn_keras.training.multitask_trainer import read_eval_sets, train
from mtdnn_keras.training.run_folder import changed_options
from mtdnn_keras.training.run_plan import adaptation_data
from mtdnn_keras.training.starting_point import StartingPoint
from mtdnn_keras.training.training_config import TrainingConfig

SWEEP_FILE = "sweep.json"  # the data the sweep's runs were trained and scored on
TIME_FILE = "run.json"  # a run's wall time and steps


def fraction_count(fraction: float, total: int) -> int:
    """Examples in a `fraction` of `total`: rounded, at least one."""
    return max(1, min(total, round(fraction * total)))


def sample_fraction(examples: list, fraction: float, seed: int) -> list:
    """A seeded random `fraction` of `examples` (the same sample for the same seed), in
    their original order."""
    count = fraction_count(fraction, len(examples))
    chosen = sorted(random.Random(seed).sample(range(len(examples)), count))
    return [examples[index] for index in chosen]


def split_holdout(examples: list, count: int, seed: int) -> tuple[list, list]:
    """`(pool, held_out)`: `count` examples drawn with `seed` are held out, in file order."""
    if not 0 < count < len(examples):
        raise ValueError(f"holdout {count} must be between 1 and {len(examples) - 1}")
    held = set(random.Random(seed).sample(range(len(examples)), count))
    pool = [example for index, example in enumerate(examples) if index not in held]
    return pool, [examples[index] for index in sorted(held)]


def load_adaptation_data(config: AdaptConfig) -> tuple[TaskDefinition, list, EvalSet]:
    """The task (with a linear head, as in the paper), its training pool and evaluation set."""
    training = config.training
    data = adaptation_data(config.task, training, holdout=bool(config.holdout))
    (task,) = data.tasks
    result = data.train[task.name].read(training.skip_bad_rows)
    sample(result, training.max_train_examples.get(task.name), training.seed)
    examples = result.examples
    if config.holdout:
        pool, held_out = split_holdout(examples, config.holdout, config.holdout_seed)
        return task, pool, EvalSet(task.name, task, held_out)
    (eval_set,) = read_eval_sets(data.dev, training.skip_bad_rows)
    return task, examples, eval_set


def adapt(config: AdaptConfig) -> list[dict]:
    """Runs the sweep (skipping finished runs) and writes `adaptation.json`, `.md` and `.png`.

    Returns one record per run: start, fraction, examples, seed and the run's scores.

    `config.output_dir` must be new, empty, or an earlier sweep's folder (continued);
    anything else is replaced only with `config.training.overwrite`. The sweep holds it.
    """
    output_dir = Path(config.output_dir)
    check_output(  # a folder a live run holds is refused first, naming the run
        output_dir,
        overwrite=config.training.overwrite,
        protected=[s.partition(":")[2] for s in config.starts.values() if s.startswith("model:")],
        option="--output-dir",
        ignored=(LOCK_FILE, "runs", RESULTS_FILE, SWEEP_FILE, *REPORT_FILES),
    )
    with hold_folder(output_dir):
        return _adapt(config, output_dir)


def _adapt(config: AdaptConfig, output_dir: Path) -> list[dict]:
    task, pool, eval_set = load_adaptation_data(config)
    _check_same_data(config, output_dir / SWEEP_FILE, task, pool, eval_set)
    print(
        f"adapting to {task.name}: training pool {len(pool)} examples, "
        f"evaluation {len(eval_set.examples)} examples"
    )
    records = []
    for name, spec in config.starts.items():
        for fraction in config.fractions:
            for seed in config.seed_list:
                run_dir = (
                    output_dir / "runs" / slug(name) / f"fraction-{fraction:g}" / f"seed-{seed}"
                )
                metrics_path = run_dir / "metrics.json"
                run_config = dataclasses.replace(
                    config.training,
                    tasks=task.name,
                    output_dir=str(run_dir),
                    seed=seed,
                    selection="last",
                    save_model=False,
                    resume=False,
                    overwrite=True,  # the sweep's own folder: a run that did not end, or anew
                    **_start_fields(spec),
                )
                if not _finished(run_dir, run_config, config.training.overwrite):
                    sample = sample_fraction(pool, fraction, seed)
                    run_isolated(_adaptation_run, run_config, task, sample, eval_set)
                metrics = json.loads(metrics_path.read_text(encoding="utf-8"))[task.name]
                records.append(
                    {
                        "start": name,
                        "fraction": fraction,
                        "examples": fraction_count(fraction, len(pool)),
                        "seed": seed,
                        "metrics": metrics,
                        "seconds": _seconds(run_dir),
                    }
                )
    summary = summarize(records, task.metrics[0])
    write_json_atomically(
        {
            "task": task.name,
            "metric": task.metrics[0],
            "pool_examples": len(pool),
            "eval_examples": len(eval_set.examples),
            "holdout": config.holdout,
            "starts": config.starts,
            "summary": summary,
            "runs": records,
        },
        output_dir / RESULTS_FILE,
    )
    write_report(task.name, task.metrics[0], summary, output_dir)
    return records


def summarize(records: list[dict], metric: str) -> list[dict]:
    """Mean and sample standard deviation of `metric` per start and fraction."""
    groups: dict[tuple[str, float], list[dict]] = {}
    for record in records:
        groups.setdefault((record["start"], record["fraction"]), []).append(record)
    summary = []
    for (start, fraction), group in groups.items():
        values = np.array([record["metrics"][metric] for record in group], dtype=float)
        summary.append(
            {
                "start": start,
                "fraction": fraction,
                "examples": group[0]["examples"],
                "seeds": len(values),
                "mean": float(values.mean()),
                "std": float(values.std(ddof=1)) if len(values) > 1 else math.nan,
                "values": values.tolist(),
            }
        )
    return summary


def _check_same_data(config, path: Path, task, pool: list, eval_set) -> None:
    """Records the sweep's data in `path`; an earlier sweep's runs are reused only on the
    same data (another `--holdout` or sample would leak dev examples into training)."""
    record = {
        "task": task.name,
        "holdout": config.holdout,
        "holdout_seed": config.holdout_seed,
        "pool": [example.id for example in pool],
        "eval": [example.id for example in eval_set.examples],
    }
    if path.is_file() and not config.training.overwrite:
        if json.loads(path.read_text(encoding="utf-8")) != record:
            raise ValueError(
                f"{path.parent} holds a sweep on other data (task, --holdout or training "
                "sample); pass --overwrite to run it anew, or choose another --output-dir"
            )
    write_json_atomically(record, path)


def _finished(run_dir: Path, run_config: TrainingConfig, anew: bool) -> bool:
    """Whether the run in `run_dir` is done with `run_config`'s options (and the sweep is not
    to start anew); a finished run made with other options is an error."""
    if anew or not (run_dir / "metrics.json").is_file():
        return False
    changed = changed_options(run_dir, run_config)
    if changed:
        raise ValueError(
            f"{run_dir} was trained with other options ({', '.join(changed)}); pass "
            "--overwrite to run the sweep anew, or choose another --output-dir"
        )
    return True


def _adaptation_run(run_config, task, sample, eval_set) -> None:
    """One run, in its own process (see `run_isolated`), from the start its config names;
    its wall time goes to `run.json` beside its scores."""
    started = time.time()
    start = StartingPoint.for_config(run_config)
    result = train(run_config, start, [task], {task.name: sample}, [eval_set], reuse_heads=False)
    write_json_atomically(
        {"seconds": round(time.time() - started, 1), "steps": result.steps},
        Path(run_config.output_dir) / TIME_FILE,
    )


def _seconds(run_dir: Path) -> float | None:
    """A run's wall time (`None` for a run from before times were kept)."""
    path = run_dir / TIME_FILE
    return json.loads(path.read_text(encoding="utf-8"))["seconds"] if path.is_file() else None


def _start_fields(spec: str) -> dict:
    kind, _, value = spec.partition(":")
    return {"init_model": value} if kind == "model" else {"encoder": value, "init_model": None}
