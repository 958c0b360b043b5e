"""Multi-task training, evaluation and prediction: the Python API under the CLI."""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path

import keras

from mtdnn_keras.data.data_options import DataOptions
from mtdnn_keras.data.data_source import sample
from mtdnn_keras.data.mixing_strategy import MixingStrategy
from mtdnn_keras.data.multitask_data import MultiTaskData
from mtdnn_keras.distribute.replica_batches import distribute_batches
from mtdnn_keras.distribute.strategy import make_strategy
from mtdnn_keras.losses.distillation_loss import DistillationLoss
from mtdnn_keras.models.model_directory import (
    CONFIG_FILE,
    MODEL_FILE,
    TOKENIZER_DIR,
    load_model_directory,
    load_model_file,
    save_tokenizer_atomically,
)
from mtdnn_keras.models.mtdnn_model import MTDNNModel
from mtdnn_keras.optimizers.linear_warmup_decay import LinearWarmupDecay
from mtdnn_keras.optimizers.skip_zero_gradient import make_optimizer
from mtdnn_keras.storage.atomic_writes import atomic_file, write_json_atomically
from mtdnn_keras.tasks.task_definition import TaskDefinition
from mtdnn_keras.training.evaluation_callback import EvaluationCallback
from mtdnn_keras.training.evaluator import EvalSet, Evaluator, format_table
from mtdnn_keras.training.non_finite_loss_guard import NonFiniteLossGuard
from mtdnn_keras.training.run_folder import check_free_space, claim_run_folder
from mtdnn_keras.training.run_plan import (
    plan_evaluate,
    plan_fit,
    plan_predict,
    soft_target_tasks,
)
from mtdnn_keras.training.starting_point import StartingPoint
from mtdnn_keras.training.task_progress_bar import TaskProgressBar
from mtdnn_keras.training.training_checkpoint import (
    TrainingCheckpoint,
    checkpoint_dir,
    checkpoint_seconds,
    load_checkpoint,
)
from mtdnn_keras.training.training_config import TrainingConfig


@dataclasses.dataclass
class FitResult:
    """What `fit` produced: the best dev scores, the trained model and the run's figures."""

    metrics: dict[str, dict[str, float]]
    model: MTDNNModel
    steps: int
    seconds: float
    train_examples: dict[str, int]
    output_dir: str


def read_eval_sets(dev: dict, skip_bad_rows: bool = False) -> list[EvalSet]:
    """The labeled dev sets of a run (`RunData.dev`: MNLI's mismatched set among them)."""
    sets = []
    for name, (task, source) in dev.items():
        result = source.read(skip_bad_rows)
        report_skipped(result)
        sets.append(EvalSet(name, task, result.examples))
    return sets


def fit(config: TrainingConfig) -> FitResult:
    """Trains one MT-DNN model on all of `config.tasks` jointly (the paper's Algorithm 1),
    from `config.encoder`, or from the model in `config.init_model` (fine-tuning).

    Writes to `config.output_dir`: `model.keras` (the best epoch by the mean dev score),
    `tokenizer/`, `metrics.json` (`{task: {metric: value}}`, 0-100), `eval_history.json`,
    `training_config.json` and TensorBoard logs under `logs/`.
    """
    started = time.time()
    make_strategy(config.strategy)  # first: a multi-worker strategy must precede other TF work
    data = plan_fit(config)  # before anything is loaded; `train` then holds the folder
    start = StartingPoint.for_config(config)
    tasks = start.task_definitions(data.tasks)  # the plan's: the model's own, checked
    new = [task.name for task in tasks if task.name not in start.tasks]
    if config.init_model and new:
        print(f"{config.init_model} has no head for {', '.join(new)}: starting new ones")
    eval_sets = read_eval_sets(data.dev, config.skip_bad_rows)
    train_examples = {}
    for task in tasks:
        result = data.train[task.name].read(config.skip_bad_rows)
        sample(result, config.max_train_examples.get(task.name), config.seed)
        report_skipped(result)
        train_examples[task.name] = result.examples
    return train(config, start, tasks, train_examples, eval_sets, started=started)


def train(
    config: TrainingConfig,
    start: StartingPoint,
    tasks: list[TaskDefinition],
    train_examples: dict[str, list],
    eval_sets: list[EvalSet],
    reuse_heads: bool = True,
    started: float | None = None,
) -> FitResult:
    """Trains a model built from `start` on examples already read (the core of `fit`).

    `reuse_heads=False` gives every task of `tasks` a new head even where `start` has one,
    and leaves out `start`'s other heads, as domain adaptation does. `config`'s file and task
    fields are only recorded here. The run holds `config.output_dir` while it trains
    (`claim_run_folder`).
    """
    config.check_task_names([task.name for task in tasks])
    with claim_run_folder(config):
        return _train(config, start, tasks, train_examples, eval_sets, reuse_heads, started)


def _train(config, start, tasks, train_examples, eval_sets, reuse_heads, started) -> FitResult:
    started = time.time() if started is None else started
    keras.utils.set_random_seed(config.seed)
    mixing = MixingStrategy.parse(config.mixing)
    output_dir = Path(config.output_dir)
    start.check_lengths(tasks)
    tokenizer = start.tokenizer
    soft_targets, distillation = _soft_targets(config, tasks, train_examples)
    data = MultiTaskData(
        tasks,
        train_examples,
        tokenizer,
        config.batch_size,
        mixing,
        config.padding,
        config.seed,
        config.main_task,
        soft_targets,
    )
    epochs = config.epochs
    if config.min_steps is not None:  # at once, then an epoch more while short of it
        epochs = max(epochs, -(-config.min_steps // max(data.steps_per_epoch, 1)))
    epoch_ends = data.epoch_ends(epochs)
    while config.min_steps is not None and epoch_ends[-1] < config.min_steps:
        epochs += 1
        epoch_ends = data.epoch_ends(epochs)
    total_steps = epoch_ends[-1]
    if config.max_steps is not None and config.max_steps < total_steps:
        total_steps = config.max_steps
        epoch_ends = [end for end in epoch_ends if end < total_steps] + [total_steps]
    if config.gradient_accumulation_steps > total_steps:
        raise ValueError(
            f"--gradient-accumulation-steps {config.gradient_accumulation_steps} exceeds the "
            f"run's {total_steps} steps: the weights would never be updated"
        )
    select_by = _select_by(config.select_by, eval_sets)

    pooling = start.default_pooling(config.pooling, config.encoder)
    run_record = {
        **dataclasses.asdict(config),
        "start": start.description,
        "pooling_used": pooling,
        "steps_per_epoch": data.steps_per_epoch,
        "epoch_ends": epoch_ends,
        "total_steps": total_steps,
        "batch_counts": data.batch_counts,
        "mixing_weights": data.weights,
        "train_examples": {name: len(examples) for name, examples in train_examples.items()},
    }
    strategy = make_strategy(config.strategy)
    done, earlier_seconds = 0, 0.0  # a resumed run's steps and time before this pass
    with strategy.scope():  # the model's variables are mirrored on every replica
        if config.resume:
            model, done = _resumed_model(output_dir, run_record)
            earlier_seconds = checkpoint_seconds(output_dir)
        else:
            model = start.build_model(
                tasks,
                pooling,
                reuse_heads=reuse_heads,
                keep_other_heads=reuse_heads,
                precision=config.precision,
            )
            schedule = LinearWarmupDecay(
                config.learning_rate, total_steps, int(config.warmup_fraction * total_steps)
            )
            optimizer = make_optimizer(
                config.optimizer,
                schedule,
                config.weight_decay,
                config.clipnorm,
                config.gradient_accumulation_steps,
            )
            if config.precision == "mixed_float16":  # Keras wraps it only for a model whose
                # own policy is float16; here only the encoder's is
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
            model.compile(optimizer=optimizer, jit_compile=_use_xla(config.xla))
    model.adversarial = config.smart_perturbation()  # training objectives (not saved)
    model.distillation = distillation
    if model.adversarial is not None:
        without = [task.name for task in tasks if not task.kind.supports_smart]
        print(
            "SMART adversarial training"
            + (f"; {', '.join(without)} without it (their types take none)" if without else "")
        )
    if config.save_model:
        check_free_space(output_dir, model)
    if not config.resume:  # the first writes, once every check has passed
        save_tokenizer_atomically(tokenizer, output_dir / TOKENIZER_DIR)
        write_json_atomically(run_record, output_dir / CONFIG_FILE)
    print(
        f"training {', '.join(t.name for t in tasks)} on {sum(map(len, train_examples.values()))} "
        f"examples from {start.description}: {data.steps_per_epoch} steps/epoch, "
        f"{total_steps} steps, mixing {mixing}, {strategy.num_replicas_in_sync} replica(s)"
        + (f"; resuming after step {done}" if config.resume else "")
    )
    # One Keras epoch of every step, scored where each epoch ends: epochs may differ in
    # length (a main task's), and a resumed run starts inside an epoch.
    evaluation = EvaluationCallback(
        Evaluator(eval_sets, tokenizer, config.eval_batch_size),
        str(output_dir),
        log_dir=str(output_dir / "logs"),
        select_by=select_by,
        save_model=config.save_model,
        eval_steps=epoch_ends if config.selection == "best" else [total_steps],
        first_step=done,
    )
    callbacks = [
        NonFiniteLossGuard(model.task_names, output_dir, done),  # first: before anything saves
        evaluation,
        keras.callbacks.TensorBoard(str(output_dir / "logs" / "train"), update_freq=50),
    ]
    if config.save_model:  # after the evaluation, which saves the best model first
        callbacks.append(
            TrainingCheckpoint(
                output_dir, config.checkpoint_every, epoch_ends, done, started, earlier_seconds
            )
        )

    def batches():
        stream = data.dataset(epochs) if config.main_task is not None else data.dataset()
        return stream.skip(done)  # the same seeded stream, from where a resumed run stopped

    stream = distribute_batches(strategy, batches, [task.rows_per_example for task in tasks])
    if done:
        evaluation.restore(done)
    if done < total_steps:  # else it was killed after its last checkpoint: nothing to do
        model.fit(
            stream,
            epochs=1,
            steps_per_epoch=total_steps - done,
            shuffle=False,  # the pipeline shuffles; Keras cannot shuffle a tf.data stream
            # Keras' bar, without the losses of tasks that have had no batch yet (it takes
            # the place of Keras' own and shows it with `verbose`)
            callbacks=[*callbacks, TaskProgressBar()] if config.verbose else callbacks,
            verbose=config.verbose,
        )
    shutil.rmtree(checkpoint_dir(output_dir), ignore_errors=True)  # finished
    seconds = earlier_seconds + time.time() - started  # every pass of a resumed run
    steps = evaluation.step
    if config.save_model:  # the best epoch's, as metrics.json
        model = load_model_file(output_dir / MODEL_FILE)
    print(
        f"\nbest dev scores ({output_dir / 'metrics.json'}):\n{format_table(evaluation.best_results)}"
    )
    return FitResult(
        metrics=evaluation.best_results,
        model=model,
        steps=steps,
        seconds=seconds,
        train_examples={name: len(examples) for name, examples in train_examples.items()},
        output_dir=str(output_dir),
    )


def evaluate(
    model_dir: str,
    tasks: str | None = None,
    data_dir: str | None = None,
    eval_files: dict[str, str] | None = None,
    output: str | None = None,
    skip_bad_rows: bool = False,
    batch_size: int = 64,
    overwrite: bool = False,
    data: DataOptions | None = None,
) -> dict[str, dict[str, float]]:
    """Scores a trained model on the labeled dev sets of its tasks, from `data_dir`'s files,
    `eval_files` or TFDS (`data` says which, as for `fit`); writes `output` as JSON if given
    (an existing file only with `overwrite`; never a file of the model)."""
    options = data or DataOptions(data_dir=data_dir, eval_files=eval_files or {})
    planned = plan_evaluate(model_dir, tasks, options, output, overwrite)
    model, tokenizer = load_model_directory(model_dir)
    eval_sets = read_eval_sets(planned.dev, skip_bad_rows)
    results = Evaluator(eval_sets, tokenizer, batch_size).evaluate(model)
    if output:
        write_json_atomically(results, output)
    return results


def predict_file(
    model_dir: str,
    task_name: str,
    input_path: str | None,
    output_path: str,
    skip_bad_rows: bool = False,
    batch_size: int = 64,
    overwrite: bool = False,
    data: DataOptions | None = None,
) -> int:
    """Predicts a file in the task's test format (or, for `input_path` `tfds:NAME` or
    `None`, a TFDS dataset's or the task's own test split: `data_source.input_source`).
    Writes a GLUE submission TSV (`index`, `prediction`) for `.tsv` outputs, SQuAD's official
    prediction file (`{id: answer}`) for a span task's `.json` output, else JSON lines with
    probabilities, scores or answers. An existing output is replaced only with `overwrite`;
    the input or a file of the model never. Returns the number of predictions."""
    from mtdnn_keras.inference.predictor import Predictor

    source = plan_predict(model_dir, task_name, input_path, output_path, overwrite, data)
    task = source.task
    predictor = Predictor.load(model_dir, batch_size)
    result = source.read(skip_bad_rows)
    report_skipped(result)
    examples = result.examples
    write_predictions(task, examples, predictor.predict_examples(task.name, examples), output_path)
    return len(examples)


def _soft_targets(config: TrainingConfig, tasks, train_examples):
    """`(soft targets by task, DistillationLoss)` of `--soft-targets`, or `({}, None)`."""
    targets, covered = soft_target_tasks(config, tasks)
    if targets is None:
        return {}, None
    width = max(task.kind.soft_target_width(task) for task in covered)
    soft = {
        task.name: targets.for_examples(task, train_examples[task.name], width) for task in covered
    }
    without = [task.name for task in tasks if task.name not in soft]
    print(
        f"distillation: {', '.join(soft)} learn the soft targets of {targets.folder} "
        f"(weight {config.soft_target_weight:g})"
        + (f"; {', '.join(without)} their labels only" if without else "")
    )
    return soft, DistillationLoss(frozenset(soft), config.soft_target_weight)


def write_predictions(task, examples, records: list[dict], output_path: str | Path) -> None:
    """Writes `predict`'s output file atomically: a GLUE submission TSV (`index`,
    `prediction`) for `.tsv`, the task's official JSON for `.json` where it has one (SQuAD's
    `{id: answer}`), else JSON lines of `{"id": ..., **record}`."""
    output_path = Path(output_path)
    suffix = output_path.suffix.lower()
    with atomic_file(output_path) as temporary, open(temporary, "w", encoding="utf-8") as handle:
        official = task.kind.official_json(task, examples, records) if suffix == ".json" else None
        if official is not None:
            json.dump(official, handle, indent=1, ensure_ascii=False)
        elif suffix == ".tsv":
            handle.write("index\tprediction\n")
            for example, record in zip(examples, records):
                value = task.kind.submission_value(task, record)
                value = " ".join(value.split("\t")).replace("\n", " ").replace("\r", " ")
                handle.write(f"{example.id}\t{value}\n")
        else:
            for example, record in zip(examples, records):
                handle.write(json.dumps({"id": example.id, **record}) + "\n")


def _select_by(spec: str | None, eval_sets: list[EvalSet]) -> list[str] | None:
    if not spec:
        return None
    known = [eval_set.name for eval_set in eval_sets]
    unknown = [name for name in _names(spec) if name not in known]
    if unknown:
        raise ValueError(
            f"--select-by names {unknown}, which are not dev sets of this run ({known})"
        )
    return _names(spec)


def _names(spec: str) -> list[str]:
    """The names of a comma-separated list, blanks dropped."""
    return [name.strip() for name in spec.split(",") if name.strip()]


def _use_xla(mode: str) -> bool:
    """Whether `--xla mode` compiles the step: `auto` where a GPU or TPU trains."""
    if mode != "auto":
        return mode == "on"
    import tensorflow as tf

    return bool(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))


def _resumed_model(output_dir: Path, run_record: dict):
    """`(model, step)`: the checkpointed model of the run in `output_dir`, with its optimizer
    state, and its step, after checking that the run was started with the same options."""
    try:
        saved = json.loads((output_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"--resume: cannot read {output_dir / CONFIG_FILE}: {error}") from None
    # the same training either way (tfds_data_dir: where the same data lives)
    ignored = {"resume", "overwrite", "verbose", "strategy", "xla", "tfds_data_dir"}
    defaults = TrainingConfig.defaults()  # what a run of an earlier release had
    changed = [
        key
        for key, value in run_record.items()
        if key not in ignored and json.loads(json.dumps(value)) != saved.get(key, defaults.get(key))
    ]
    if changed:
        raise ValueError(
            f"--resume: {output_dir} was started with other options ({', '.join(changed)}); "
            f"resume with the options in {output_dir / CONFIG_FILE}"
        )
    return load_checkpoint(output_dir)


def report_skipped(result) -> None:
    if result.skipped:
        print(f"warning: {result.summary()}")
