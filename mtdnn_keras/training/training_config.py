"""Everything one training run needs, as one typed record."""

from __future__ import annotations

import dataclasses

from mtdnn_keras.distribute.strategy import STRATEGIES
from mtdnn_keras.encoders.encoder_loader import DEFAULT_ENCODER

SELECTIONS = ("best", "last")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
XLA_MODES = ("auto", "on", "off")


@dataclasses.dataclass
class TrainingConfig:
    """Options of `fit` (the CLI's flags have the same names).

    Args:
        tasks: comma-separated task and group names (`rte,mrpc` or `glue`).
        output_dir: where the model, metrics and logs are written.
        data_dir: root of the task files (`files` in the task definitions are relative to it).
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
        strategy: the `tf.distribute` strategy (`mtdnn_keras.distribute.make_strategy`):
            `auto`, `one`, `mirrored`, `multi-worker` (with `TF_CONFIG`) or `tpu`.
            `batch_size` is the global batch, split across all replicas.
        precision: `float32`, `mixed_bfloat16` or `mixed_float16` for the encoder (the heads
            and losses stay float32; float16 gets a dynamic loss scale).
        gradient_accumulation_steps: update the weights every this many batches, with the
            mean of their gradients (a larger effective batch in the same memory).
        xla: compile the training step with XLA: `on`, `off`, or `auto` (on where a GPU or
            TPU trains; off on CPU, where it does not pay for its compile time).
    """

    tasks: str
    output_dir: str
    data_dir: str | None = None
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
    strategy: str = "auto"
    precision: str = "float32"
    gradient_accumulation_steps: int = 1
    xla: str = "auto"

    def __post_init__(self):
        for field, choices in (
            ("selection", SELECTIONS),
            ("precision", PRECISIONS),
            ("xla", XLA_MODES),
            ("strategy", STRATEGIES),
        ):
            value = getattr(self, field)
            if value not in choices:
                raise ValueError(f"{field} must be one of {', '.join(choices)}, not {value!r}")
        if self.gradient_accumulation_steps < 1:
            raise ValueError(
                "gradient_accumulation_steps must be at least 1, "
                f"not {self.gradient_accumulation_steps}"
            )
