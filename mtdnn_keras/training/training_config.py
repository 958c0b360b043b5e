"""Everything one training run needs, as one typed record."""

from __future__ import annotations

import dataclasses

from mtdnn_keras.data.data_options import DATA_SOURCES, DataOptions
from mtdnn_keras.data.mixing_strategy import MixingStrategy
from mtdnn_keras.distribute.strategy import STRATEGIES
from mtdnn_keras.encoders.encoder_loader import DEFAULT_ENCODER
from mtdnn_keras.tasks.task_definition import HEADS, MAX_SEQ_LENGTHS
from mtdnn_keras.user_values import is_finite_number

SELECTIONS = ("best", "last")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
XLA_MODES = ("auto", "on", "off")
PADDINGS = ("bucket", "batch", "max")
POOLINGS = ("auto", "cls", "mean")
OPTIMIZERS = ("adamax", "adamw")
ADVERSARIAL = ("none", "smart")
MAX_BATCH_SIZE = 1 << 20


class ConfigError(ValueError):
    """An option that cannot work, named as on the command line, with what it allows."""


# fields whose flag is given once per task (`--head rte=san --head mrpc=san`)
FLAGS = {"train_files": "--train-file", "eval_files": "--eval-file", "heads": "--head"}


def _option(field: str) -> str:
    return FLAGS.get(field, f"--{field.replace('_', '-')}")


def _whole(low: int, high: int | None = None, optional: bool = False):
    def check(value) -> str | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            return f"a whole number, got {value!r}"
        if value < low or (high is not None and value > high):
            return (
                f"a whole number in [{low}, {high}], got {value}"
                if high is not None
                else (f"a whole number >= {low}, got {value}")
            )
        return None

    return check


def _real(low: float, high: float | None = None, low_open: bool = False):
    def check(value) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"a number, got {value!r}"
        bad = not is_finite_number(value) or value < low or (low_open and value == low)
        if bad or (high is not None and value > high):
            bounds = (
                f"{'(' if low_open else '['}{low:g}, {'inf)' if high is None else f'{high:g}]'}"
            )
            return f"a finite number in {bounds}, got {value}"
        return None

    return check


def _one_of(choices):
    def check(value) -> str | None:
        return None if value in choices else f"one of {', '.join(choices)}, got {value!r}"

    return check


def _flag(value) -> str | None:
    return None if isinstance(value, bool) else f"true or false, got {value!r}"


def _text(optional: bool = False):
    def check(value) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            return f"a non-empty string, got {value!r}"
        return None

    return check


def _mixing(value) -> str | None:
    problem = _text()(value)
    if problem:
        return problem
    try:
        MixingStrategy.parse(value)
    except ValueError as error:
        return f"a mixing strategy ({error})"
    return None


def _per_task(check_value):
    def check(value) -> str | None:
        if not isinstance(value, dict):
            return f"a mapping of task names to values, got {value!r}"
        for task, item in value.items():
            if not isinstance(task, str) or not task.strip():
                return f"TASK=VALUE pairs with a task name, got {task!r}"
            problem = check_value(item)
            if problem:
                return f"{task}=: {problem}"
        return None

    return check


# Every option's bounds, in one place: `TrainingConfig` checks them when it is made, before
# anything is read or built.
CHECKS = {
    "tasks": _text(),
    "output_dir": _text(),
    "data_dir": _text(optional=True),
    "data_source": _one_of(DATA_SOURCES),
    "tfds_data_dir": _text(optional=True),
    "task_file": _text(optional=True),
    "train_files": _per_task(_text()),
    "eval_files": _per_task(_text()),
    "encoder": _text(),
    "init_model": _text(optional=True),
    "epochs": _whole(1, 100_000),
    "max_steps": _whole(1, 10_000_000_000, optional=True),
    "min_steps": _whole(1, 10_000_000, optional=True),
    "batch_size": _whole(1, MAX_BATCH_SIZE),
    "max_seq_length": _whole(*MAX_SEQ_LENGTHS, optional=True),
    "max_train_examples": _per_task(_whole(1)),
    "heads": _per_task(_one_of(HEADS)),
    "mixing": _mixing,
    "main_task": _text(optional=True),
    "padding": _one_of(PADDINGS),
    "pooling": _one_of(POOLINGS),
    "optimizer": _one_of(OPTIMIZERS),
    "learning_rate": _real(0.0),  # 0 trains nothing, as a baseline may want
    "warmup_fraction": _real(0.0, 1.0),
    "weight_decay": _real(0.0),
    "clipnorm": _real(0.0, low_open=True),
    "select_by": _text(optional=True),
    "seed": _whole(0, 2**32 - 1),
    "skip_bad_rows": _flag,
    "eval_batch_size": _whole(1, MAX_BATCH_SIZE),
    "selection": _one_of(SELECTIONS),
    "save_model": _flag,
    "verbose": _whole(0, 2),
    "checkpoint_every": _whole(0),
    "resume": _flag,
    "overwrite": _flag,
    "strategy": _one_of(STRATEGIES),
    "precision": _one_of(PRECISIONS),
    "gradient_accumulation_steps": _whole(1, 100_000),
    "xla": _one_of(XLA_MODES),
    "adversarial": _one_of(ADVERSARIAL),
    "adv_epsilon": _real(0.0, low_open=True),
    "adv_step_size": _real(0.0),
    "adv_noise_var": _real(0.0),
    "adv_steps": _whole(1, 100),
    "adv_alpha": _real(0.0),
    "soft_targets": _text(optional=True),
    "soft_target_weight": _real(0.0, 1.0),
}


@dataclasses.dataclass
class TrainingConfig:
    """Options of `fit` (the CLI's flags have the same names).

    Args:
        tasks: comma-separated task and group names (`rte,mrpc` or `glue`).
        output_dir: where the model, metrics and logs are written.
        data_dir: root of the task files (`files` in the task definitions are relative to it).
        data_source: `files`, `tfds` (each task's tensorflow-datasets dataset) or `auto`
            (default): files where `data_dir` or a task's own file is given, else TFDS.
        tfds_data_dir: where prepared TFDS datasets live (default: TFDS's, `TFDS_DATA_DIR`
            or `~/tensorflow_datasets`).
        task_file: a YAML file of further task definitions.
        train_files / eval_files: task name to a file in that task's official format, in
            place of the one under `data_dir`.
        encoder: `minilm` (default, offline), a local preset or Hugging Face folder, or a
            keras-hub preset name.
        init_model: a folder written by `fit` to start from instead of `encoder`: its refined
            encoder, and its trained head for each task it has (new heads for the others).
            Its other heads are kept unchanged in the saved model. This is fine-tuning.
        epochs, max_steps: length of training; `max_steps` stops earlier when set.
        min_steps: train at least this many steps, adding epochs (for tiny training sets).
        batch_size: examples per batch.
        max_seq_length: overrides every task's own maximum length when set.
        max_train_examples: task name to a number of training examples to sample (seeded),
            for large sets such as SST-2.
        heads: task name to the head it trains with, in place of its definition's: `linear`
            or `san` (the paper's stochastic answer network, pairwise classification only),
            as `--head rte=san`. A starting model's trained head keeps its own.
        mixing: a `MixingStrategy` string: `proportional`, `uniform`, `temperature:T`,
            `weights:a=..,b=..`.
        main_task: with `weights:` (or `uniform`, `temperature:T`) mixing, an epoch ends
            when this task's batches are used up, each once (weighted stochastic batch
            selection with a main task, as the QA follow-up trains SQuAD at weight 0.8).
        padding: `bucket` (default), `batch` or `max` (see `MultiTaskData`).
        pooling: what linear heads read: `cls` (the paper's pooled `[CLS]`) or `mean` (masked
            mean of the token vectors). `auto` (default) is `mean` for the MiniLM sentence
            encoder, which was trained with mean pooling, and `cls` for any other encoder.
        optimizer: `adamax` (paper) or `adamw`.
        learning_rate, warmup_fraction, weight_decay, clipnorm: the optimisation (paper:
            5e-5, 10% linear warm-up then linear decay, gradient norm clipped to 1).
        select_by: comma-separated dev sets whose mean score picks the best epoch (default:
            all). WNLI's dev set is adversarial to its training set, so GLUE runs often leave
            it out.
        seed: seeds weights of new heads, data order and task sampling.
        skip_bad_rows: skip and count unreadable rows instead of stopping at the first.
        eval_batch_size: batch size for evaluation.
        selection: `best` (score the dev sets after every epoch and keep the best epoch) or
            `last` (score once, after the last step, and keep the final weights).
        save_model: write `model.keras`; off for sweeps that only need the scores.
        verbose: Keras progress output over all steps (1 a bar, 2 one line at the end, 0
            none); dev scores are printed at every epoch end either way.
        checkpoint_every: save a checkpoint (model and optimizer state) every this many
            steps, as well as at each epoch's end; 0 for epoch ends only.
        resume: continue the run in `output_dir` from its checkpoint, with the same options.
        overwrite: start anew in an `output_dir` that already holds files (without it, a
            non-empty folder is refused: it may hold another run).
        strategy: the `tf.distribute` strategy (`mtdnn_keras.distribute.make_strategy`):
            `auto`, `one`, `mirrored`, `multi-worker` (with `TF_CONFIG`) or `tpu`.
            `batch_size` is the global batch, split across all replicas.
        precision: `float32`, `mixed_bfloat16` or `mixed_float16` for the encoder (the heads
            and losses stay float32; float16 gets a dynamic loss scale).
        gradient_accumulation_steps: update the weights every this many batches, with the
            mean of their gradients (a larger effective batch in the same memory).
        xla: compile the training step with XLA: `on`, `off`, or `auto` (on where a GPU or
            TPU trains; off on CPU, where it does not pay for its compile time).
        adversarial: `smart` adds SMART's adversarial smoothness term to the loss of
            classification, regression and ranking tasks (`SmartPerturbation`); `none`.
        adv_epsilon, adv_step_size, adv_noise_var, adv_steps, adv_alpha: SMART's
            normalisation epsilon, ascent step size, initial noise standard deviation,
            ascent steps and the term's weight (defaults: the reference's).
        soft_targets: a folder written by `distill-targets`: the tasks with a file there
            train on their soft targets too (`DistillationLoss`).
        soft_target_weight: the soft targets' share of those tasks' loss (0.5: the paper's
            average of the hard and soft losses; 0: as without them).
    """

    tasks: str
    output_dir: str
    data_dir: str | None = None
    data_source: str = "auto"
    tfds_data_dir: str | None = None
    task_file: str | None = None
    train_files: dict[str, str] = dataclasses.field(default_factory=dict)
    eval_files: dict[str, str] = dataclasses.field(default_factory=dict)
    encoder: str = DEFAULT_ENCODER
    init_model: str | None = None
    epochs: int = 3
    max_steps: int | None = None
    min_steps: int | None = None
    batch_size: int = 32
    max_seq_length: int | None = None
    max_train_examples: dict[str, int] = dataclasses.field(default_factory=dict)
    heads: dict[str, str] = dataclasses.field(default_factory=dict)
    mixing: str = "proportional"
    main_task: str | None = None
    padding: str = "bucket"
    pooling: str = "auto"
    optimizer: str = "adamax"
    learning_rate: float = 5e-5
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    clipnorm: float = 1.0
    select_by: str | None = None
    seed: int = 0
    skip_bad_rows: bool = False
    eval_batch_size: int = 64
    selection: str = "best"
    save_model: bool = True
    verbose: int = 1
    checkpoint_every: int = 500
    resume: bool = False
    overwrite: bool = False
    strategy: str = "auto"
    precision: str = "float32"
    gradient_accumulation_steps: int = 1
    xla: str = "auto"
    adversarial: str = "none"
    adv_epsilon: float = 1e-6
    adv_step_size: float = 1e-5
    adv_noise_var: float = 1e-5
    adv_steps: int = 1
    adv_alpha: float = 1.0
    soft_targets: str | None = None
    soft_target_weight: float = 0.5

    def __post_init__(self):
        for field in dataclasses.fields(self):
            problem = CHECKS[field.name](getattr(self, field.name))
            if problem:
                raise ConfigError(f"{_option(field.name)}: expected {problem}")
        if self.resume and self.overwrite:
            raise ConfigError(
                "--resume continues the run in --output-dir and --overwrite starts it anew: "
                "give one of them"
            )
        if self.main_task is not None and not MixingStrategy.parse(self.mixing).repeats:
            raise ConfigError(
                "--main-task ends the epochs of fixed-weight sampling: give it with --mixing "
                "weights:..., uniform or temperature:T (proportional mixing takes every batch "
                "once)"
            )
        if self.max_steps is not None and self.min_steps is not None:
            if self.max_steps < self.min_steps:
                raise ConfigError(
                    f"--max-steps {self.max_steps} is below --min-steps {self.min_steps}"
                )

    @classmethod
    def defaults(cls) -> dict:
        """Every option's default (what a run recorded before an option existed had)."""
        return {
            f.name: f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
            for f in dataclasses.fields(cls)
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        }

    def smart_perturbation(self):
        """SMART's term as these options set it (a `SmartPerturbation`), or `None` without
        `adversarial`."""
        if self.adversarial != "smart":
            return None
        from mtdnn_keras.regularizers.smart_perturbation import SmartPerturbation

        return SmartPerturbation(
            epsilon=self.adv_epsilon,
            step_size=self.adv_step_size,
            noise_var=self.adv_noise_var,
            steps=self.adv_steps,
            alpha=self.adv_alpha,
            seed=self.seed,
        )

    def data_options(self) -> DataOptions:
        """Where this run's data is (`mtdnn_keras.data.data_source`)."""
        return DataOptions(
            data_dir=self.data_dir,
            source=self.data_source,
            tfds_data_dir=self.tfds_data_dir,
            train_files=self.train_files,
            eval_files=self.eval_files,
        )

    def check_task_names(self, names: list[str]) -> None:
        """Refuses per-task options (and `main_task`) that name a task not in the run:
        a misspelled name would otherwise be ignored."""
        for field in ("train_files", "eval_files", "max_train_examples", "heads"):
            unknown = sorted(set(getattr(self, field)) - set(names))
            if unknown:
                raise ConfigError(
                    f"{_option(field)} names {', '.join(unknown)}, not a task of "
                    f"this run ({', '.join(names)})"
                )
        if self.main_task is not None and self.main_task not in names:
            raise ConfigError(
                f"--main-task {self.main_task} is not a task of this run ({', '.join(names)})"
            )
        weighted = sorted({name for name, _ in MixingStrategy.parse(self.mixing).task_weights})
        unknown = [name for name in weighted if name not in names]
        if unknown:
            raise ConfigError(
                f"--mixing weights name {', '.join(unknown)}, not a task of this run "
                f"({', '.join(names)})"
            )
