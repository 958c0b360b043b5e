"""The `mtdnn-keras` command: a thin layer over the Python API."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import time
from pathlib import Path

from mtdnn_keras.cli.console import quiet_tensorflow

from mtdnn_keras.data.data_options import DATA_SOURCES, DataOptions
from mtdnn_keras.training.training_config import ADVERSARIAL, PRECISIONS, STRATEGIES, XLA_MODES

RUNS_DIR = "runs"  # where a command without --output-dir writes its new folder


def _pairs(values: list[str] | None, flag: str, cast=str) -> dict:
    result = {}
    for value in values or []:
        for item in value.split(","):
            name, sep, rest = item.partition("=")
            if not sep or not name or not rest:
                raise ValueError(f"{flag} expects TASK=VALUE, got {item!r}")
            try:
                result[name.strip()] = cast(rest.strip())
            except ValueError:
                raise ValueError(f"{flag} {item!r}: {rest!r} is not a valid value") from None
    return result


def _add_training_flags(
    parser: argparse.ArgumentParser, epochs: int = 3, min_steps: int | None = None
) -> None:
    """The options of `TrainingConfig` that `fit`, `finetune` and `adapt` share."""
    _add_data_flags(parser)
    parser.add_argument("--task-file", help="YAML file with further task definitions")
    parser.add_argument(
        "--train-file", action="append", metavar="TASK=PATH", help="a task's training file"
    )
    parser.add_argument(
        "--eval-file", action="append", metavar="TASK=PATH", help="a task's labeled dev file"
    )
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--max-steps", type=int)
    parser.add_argument(
        "--min-steps", type=int, default=min_steps, help="train at least this many steps"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int)
    parser.add_argument(
        "--max-train-examples",
        action="append",
        metavar="TASK=N",
        help="sample N training examples of TASK (seeded), e.g. sst2=8000",
    )
    parser.add_argument(
        "--head",
        action="append",
        metavar="TASK=HEAD",
        help="train TASK with another head: linear, or san (pairwise classification), e.g. rte=san",
    )
    parser.add_argument(
        "--mixing",
        default="proportional",
        help="proportional | uniform | temperature:T | weights:task=w,...",
    )
    parser.add_argument(
        "--main-task",
        metavar="TASK",
        help="with weights/uniform/temperature mixing: an epoch ends when TASK's batches are used up",
    )
    parser.add_argument("--padding", default="bucket", choices=["bucket", "batch", "max"])
    parser.add_argument(
        "--pooling",
        default="auto",
        choices=["auto", "cls", "mean"],
        help="what linear heads read: [CLS] (paper) or mean of tokens; auto: the starting "
        "model's, else mean for minilm",
    )
    parser.add_argument("--optimizer", default="adamax", choices=["adamax", "adamw"])
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--warmup-fraction", type=float, default=0.1)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument(
        "--clipnorm", type=float, default=1.0, help="clip the global gradient norm to this"
    )
    parser.add_argument("--eval-batch-size", type=int, default=64)
    parser.add_argument(
        "--select-by",
        metavar="TASKS",
        help="dev sets whose mean picks the best epoch (default: all)",
    )
    parser.add_argument(
        "--selection",
        default="best",
        choices=["best", "last"],
        help="keep the best epoch by dev score, or the final weights (scored once)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--skip-bad-rows", action="store_true", help="skip and count unreadable rows"
    )
    parser.add_argument(
        "--verbose",
        type=int,
        default=1,
        choices=[0, 1, 2],
        help="1 progress bar, 2 one line, 0 none",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=500,
        metavar="STEPS",
        help="checkpoint the model and optimizer every STEPS steps and at each epoch's end "
        "(0: epoch ends only); removed when the run finishes",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --output-dir from its checkpoint (same options)",
    )
    _add_overwrite_flag(parser, "start anew in an --output-dir that already holds files")
    parser.add_argument(
        "--strategy",
        default="auto",
        choices=STRATEGIES,
        help="tf.distribute strategy; auto: multi-worker with a TF_CONFIG cluster, mirrored "
        "with several GPUs, else one device. --batch-size is the global batch",
    )
    parser.add_argument(
        "--precision",
        default="float32",
        choices=PRECISIONS,
        help="the encoder's compute precision (heads and losses stay float32)",
    )
    parser.add_argument(
        "--gradient-accumulation-steps",
        type=int,
        default=1,
        metavar="N",
        help="update the weights every N batches with their mean gradient",
    )
    parser.add_argument(
        "--xla",
        default="auto",
        choices=XLA_MODES,
        help="compile the training step with XLA (auto: on GPU/TPU, off on CPU)",
    )
    smart = parser.add_argument_group(
        "SMART adversarial training (defaults: the reference's; classification, regression "
        "and ranking tasks)"
    )
    smart.add_argument(
        "--adversarial",
        default="none",
        choices=ADVERSARIAL,
        help="smart: add SMART's adversarial smoothness term to the loss (a step costs 2-2.5x)",
    )
    smart.add_argument("--adv-epsilon", type=float, default=1e-6, help="normalisation epsilon")
    smart.add_argument("--adv-step-size", type=float, default=1e-5, help="ascent step size")
    smart.add_argument(
        "--adv-noise-var", type=float, default=1e-5, help="initial noise standard deviation"
    )
    smart.add_argument("--adv-steps", type=int, default=1, help="ascent steps (K)")
    smart.add_argument("--adv-alpha", type=float, default=1.0, help="weight of the term")
    distill = parser.add_argument_group("knowledge distillation")
    distill.add_argument(
        "--soft-targets",
        metavar="FOLDER",
        help="a folder written by distill-targets: its tasks also learn the teachers' soft targets",
    )
    distill.add_argument(
        "--soft-target-weight",
        type=float,
        default=0.5,
        help="the soft targets' share of those tasks' loss (0.5: the paper's average)",
    )


def _add_data_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help="root folder of the tasks' official files (e.g. GLUE's); without it, tasks are "
        "read from tensorflow-datasets",
    )
    parser.add_argument(
        "--data-source",
        default="auto",
        choices=DATA_SOURCES,
        help="files (under --data-dir), tfds (tensorflow-datasets) or auto: files where "
        "--data-dir or a task's file is given, else tfds",
    )
    parser.add_argument(
        "--tfds-data-dir",
        help="where prepared tensorflow-datasets live (default: TFDS_DATA_DIR, else "
        "~/tensorflow_datasets); see `mtdnn-keras data prepare`",
    )


def _add_output_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output-dir",
        help=f"the run's folder (default: a new folder under {RUNS_DIR}/, named when it starts)",
    )


def _default_output_dir(args) -> str:
    """A new folder under runs/ named after the command, its tasks and the time."""
    tasks = getattr(args, "tasks", None) or getattr(args, "task", "")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", tasks)[:40].strip("-") or "run"
    base = Path(RUNS_DIR) / f"{args.command}-{slug}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder, number = base, 1
    while folder.exists():
        number += 1
        folder = base.with_name(f"{base.name}-{number}")
    return str(folder)


def _add_overwrite_flag(parser: argparse.ArgumentParser, meaning: str) -> None:
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help=f"{meaning} (without it, existing files are never replaced)",
    )


def _training_config(args, **fields):
    """A `TrainingConfig` from the flags named after its fields (TASK=VALUE lists become
    dicts), with `fields` on top."""
    from mtdnn_keras.training.training_config import TrainingConfig

    values = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainingConfig)
        if getattr(args, f.name, None) is not None
    }
    values["train_files"] = _pairs(args.train_file, "--train-file")
    values["eval_files"] = _pairs(args.eval_file, "--eval-file")
    values["max_train_examples"] = _pairs(args.max_train_examples, "--max-train-examples", int)
    values["heads"] = _pairs(args.head, "--head")
    values.update(fields)
    return TrainingConfig(**values)


def _split(value: str, flag: str) -> list[str]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise ValueError(f"{flag} is empty")
    return items


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mtdnn-keras", description="Multi-task deep neural networks for NLU."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    fit = commands.add_parser("fit", help="train one model on several tasks jointly")
    fit.add_argument(
        "--tasks",
        required=True,
        help="comma-separated tasks and groups, e.g. rte,mrpc,stsb or glue",
    )
    _add_output_dir(fit)
    fit.add_argument(
        "--encoder", default="minilm", help="minilm (default), a folder, or a keras-hub preset"
    )
    fit.add_argument(
        "--init-model", help="start from this multi-task model folder (see also finetune)"
    )
    _add_training_flags(fit)

    finetune = commands.add_parser(
        "finetune",
        help="fine-tune on one task from a multi-task model (MT-DNN) or a plain encoder (ST-DNN)",
    )
    finetune.add_argument("--task", required=True, help="the task (or comma-separated tasks)")
    _add_output_dir(finetune)
    start = finetune.add_mutually_exclusive_group(required=True)
    start.add_argument(
        "--model", help="output folder of fit: its shared encoder and the task's head"
    )
    start.add_argument(
        "--encoder", help="a plain encoder (minilm, a folder, a preset): single-task ST-DNN"
    )
    _add_training_flags(finetune)

    adapt = commands.add_parser(
        "adapt",
        help="domain adaptation: a new linear head on fractions of a task's data, over seeds",
    )
    adapt.add_argument("--task", required=True)
    _add_output_dir(adapt)
    adapt.add_argument(
        "--from",
        dest="from_models",
        action="append",
        metavar="MODEL_DIR",
        help="start from this multi-task model's shared encoder (repeatable)",
    )
    adapt.add_argument(
        "--encoder",
        dest="encoders",
        action="append",
        metavar="ENCODER",
        help="start from this plain encoder (repeatable; default minilm if no --from)",
    )
    adapt.add_argument(
        "--fractions", default="0.001,0.01,0.1,1", help="fractions of the training data"
    )
    adapt.add_argument("--seeds", type=int, default=5, help="runs per fraction (seeds 0..N-1)")
    adapt.add_argument(
        "--holdout",
        type=int,
        metavar="N",
        help="hold N examples of the training file out as the evaluation set (for data "
        "without a dev split); the rest is the pool the fractions sample",
    )
    _add_training_flags(adapt, min_steps=30)

    export = commands.add_parser("export", help="write a trained model as a portable artifact")
    export.add_argument("--model", required=True, help="output folder of fit or finetune")
    export.add_argument(
        "--format",
        required=True,
        choices=["keras-hub-preset", "keras", "saved_model", "tflite"],
        help="keras-hub-preset: the shared encoder alone, loadable by keras-hub; "
        "keras: the whole multi-task model without optimizer state; "
        "saved_model: TF Serving's OUTPUT/NAME/VERSION layout, signatures per task; "
        "tflite: the token-ids graph as one .tflite file (builtin ops only)",
    )
    export.add_argument("--output", required=True, help="folder to write")
    export.add_argument(
        "--name", help="saved_model: the served model's name (default: the folder's)"
    )
    export.add_argument("--version", type=int, default=1, help="saved_model: the version folder")
    export.add_argument(
        "--quantize",
        choices=["dynamic-int8"],
        help="tflite: int8 weights, layer inputs quantized to int8 when they run (dynamic range)",
    )
    export.add_argument(
        "--quantize-groups",
        type=int,
        metavar="N",
        help="tflite with --quantize: split each encoder layer's input width into N groups with "
        "their own scales (about a third less error on MiniLM, slower); 1: TFLite's plain "
        "dynamic range (default: 4)",
    )
    export.add_argument("--tasks", help="tflite: the heads to keep (default: all)")
    _add_overwrite_flag(export, "replace an existing --output (never the model's own folder)")

    experiment = commands.add_parser(
        "experiment", help="run a comparison from one YAML config and write its report"
    )
    experiment.add_argument("config", help="experiment YAML (see experiments/)")
    experiment.add_argument(
        "--only",
        metavar="STAGES",
        help="run only these stages (refinements, single_task, adaptation), comma-separated",
    )
    experiment.add_argument(
        "--report-only", action="store_true", help="write the report from finished runs only"
    )

    evaluate = commands.add_parser("evaluate", help="score a trained model on labeled files")
    evaluate.add_argument("--model", required=True, help="output folder of fit")
    evaluate.add_argument(
        "--tasks", help="tasks to score (default: all of the model's, or those of --eval-file)"
    )
    _add_data_flags(evaluate)
    evaluate.add_argument("--eval-file", action="append", metavar="TASK=PATH")
    evaluate.add_argument("--output", help="write the scores as JSON here")
    evaluate.add_argument("--skip-bad-rows", action="store_true")
    _add_overwrite_flag(evaluate, "replace an existing --output file")

    predict = commands.add_parser("predict", help="predict a file in a task's test format")
    predict.add_argument("--model", required=True)
    predict.add_argument("--task", required=True)
    predict.add_argument(
        "--input",
        help="a file in the task's test format, or tfds:NAME (that dataset's test split, e.g. "
        "tfds:glue/ax with MNLI's head); default: the task's test split from --data-dir or TFDS",
    )
    _add_data_flags(predict)
    predict.add_argument(
        "--output",
        required=True,
        help=".tsv for a GLUE submission file; .json for SQuAD's {id: answer} file; else JSON lines",
    )
    predict.add_argument("--skip-bad-rows", action="store_true")
    _add_overwrite_flag(predict, "replace an existing --output file")

    ensemble = commands.add_parser(
        "ensemble",
        help="score (or, with --task, predict) with the averaged ensemble of trained models",
    )
    ensemble.add_argument("--models", required=True, help="comma-separated model folders")
    ensemble.add_argument(
        "--tasks", help="tasks to score (default: every shared task an ensemble averages)"
    )
    ensemble.add_argument("--task", help="predict this task's --input instead of scoring")
    ensemble.add_argument(
        "--input", help="with --task: a file in its test format or tfds:NAME (as predict)"
    )
    _add_data_flags(ensemble)
    ensemble.add_argument("--eval-file", action="append", metavar="TASK=PATH")
    ensemble.add_argument(
        "--output", help="scores as JSON; with --task the predictions (required), as predict"
    )
    ensemble.add_argument("--skip-bad-rows", action="store_true")
    _add_overwrite_flag(ensemble, "replace an existing --output file")

    distill = commands.add_parser(
        "distill-targets",
        help="write an ensemble's soft targets on the tasks' training sets (for fit "
        "--soft-targets)",
    )
    distill.add_argument("--models", required=True, help="comma-separated teacher folders")
    distill.add_argument(
        "--tasks", help="tasks (default: every shared classification and regression task)"
    )
    distill.add_argument("--output", required=True, help="the soft-target folder to write")
    _add_data_flags(distill)
    distill.add_argument(
        "--train-file", action="append", metavar="TASK=PATH", help="a task's training file"
    )
    distill.add_argument(
        "--max-train-examples",
        action="append",
        metavar="TASK=N",
        help="sample as fit does (same --seed), e.g. sst2=8000",
    )
    distill.add_argument("--seed", type=int, default=0)
    distill.add_argument("--skip-bad-rows", action="store_true")
    _add_overwrite_flag(distill, "write into an --output folder that already holds files")

    split = commands.add_parser(
        "split-articles", help="split a SQuAD JSON file by article into train.json and dev.json"
    )
    split.add_argument("input", help="a SQuAD 1.1 or 2.0 JSON file")
    split.add_argument("--train-articles", type=int, required=True, help="articles for train.json")
    split.add_argument("--output-dir", required=True)
    _add_overwrite_flag(split, "replace existing train.json and dev.json in --output-dir")

    data = commands.add_parser("data", help="prepare the tasks' tensorflow-datasets ahead of a run")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    prepare = data_commands.add_parser(
        "prepare",
        help="download and prepare the tasks' TFDS datasets (so that a machine without a "
        "network can train on them)",
    )
    which = prepare.add_mutually_exclusive_group(required=True)
    which.add_argument("--tasks", help="the datasets of these tasks and groups, e.g. glue")
    which.add_argument("--datasets", help="TFDS dataset names, e.g. glue/rte,glue/ax")
    prepare.add_argument("--task-file", help="YAML file with further task definitions")
    prepare.add_argument("--tfds-data-dir", help="where to prepare them (default: TFDS's)")

    tasks = commands.add_parser("tasks", help="list the known tasks and their definitions")
    tasks.add_argument("--task-file", help="also list the tasks of this YAML file")
    tasks.add_argument("--json", action="store_true", help="print full definitions as JSON")
    for command in [*commands.choices.values(), prepare]:
        command.add_argument(
            "--tensorflow-logs",
            action="store_true",
            help="show TensorFlow's own start-up and log lines (hidden by default)",
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs one command. A user's mistake (a bad option, file, model or output) ends in one
    line naming it, exit 2; Ctrl-C in one line, exit 130; an unexpected internal error in
    one line naming a log with its traceback, exit 1. Never a traceback on the console."""
    args = _parser().parse_args(argv)
    quiet_tensorflow(show_tensorflow_logs=args.tensorflow_logs)
    from mtdnn_keras.error_report import (
        InternalError,
        is_users_error,
        log_internal_error,
        one_line,
    )

    try:
        return _run(args)
    except KeyboardInterrupt:
        hint = " (continue it with the same options and --resume)" if _resumable(args) else ""
        print(f"\ninterrupted{hint}", file=sys.stderr)
        return 130
    except Exception as error:
        if isinstance(error, InternalError):  # logged where it happened (a sweep's process)
            print(f"internal error: {error}", file=sys.stderr)
            return 1
        if not is_users_error(error):
            print(f"internal error: {log_internal_error(error)}", file=sys.stderr)
            return 1
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2


def _resumable(args) -> bool:
    """Whether an interrupted `fit`/`finetune` left a checkpoint to continue from."""
    from mtdnn_keras.training.checkpoint_files import has_checkpoint

    return (
        args.command in ("fit", "finetune")
        and args.output_dir is not None
        and has_checkpoint(args.output_dir)
    )


def _check_export_options(args) -> None:
    """Refuses options that the chosen format would ignore."""
    only = {
        "--name": ("saved_model", args.name is not None),
        "--version": ("saved_model", args.version != 1),
        "--quantize": ("tflite", args.quantize is not None),
        "--quantize-groups": ("tflite", args.quantize_groups is not None),
        "--tasks": ("tflite", args.tasks is not None),
    }
    for flag, (fmt, given) in only.items():
        if given and args.format != fmt:
            raise ValueError(f"{flag} is for --format {fmt}, not {args.format}")
    if args.quantize_groups is not None and args.quantize is None:
        raise ValueError("--quantize-groups takes effect with --quantize dynamic-int8 only")


def _run(args) -> int:
    if args.command == "tasks":
        from mtdnn_keras.tasks.task_registry import TaskRegistry

        registry = TaskRegistry.builtin()
        if args.task_file:
            registry = registry.with_file(args.task_file)
        if args.json:
            print(
                json.dumps(
                    {name: task.to_dict() for name, task in registry.tasks.items()}, indent=2
                )
            )
            return 0
        for name, task in registry.tasks.items():
            labels = task.kind.describe(task)
            sources = [f"files {task.files['train']}" if "train" in task.files else None]
            sources.append(f"tfds {task.tfds.name}" if task.tfds else None)
            print(
                f"{name:16} {task.type:17} {task.head:7} [{labels}]  metrics: "
                f"{', '.join(task.metrics)}  sources: {', '.join(filter(None, sources)) or '-'}"
            )
        for group, members in registry.groups.items():
            print(f"group {group}: {', '.join(members)}")
        return 0
    if args.command == "data":
        from mtdnn_keras.data.tfds_source import prepare_datasets, tfds_data_dir
        from mtdnn_keras.training.run_plan import resolve_tasks

        if args.datasets:
            names = _split(args.datasets, "--datasets")
        else:
            tasks = resolve_tasks(args.tasks, args.task_file)
            without = [task.name for task in tasks if task.tfds is None]
            if without:
                print(f"no TFDS dataset for {', '.join(without)}: these read their files only")
            names = list(dict.fromkeys(task.tfds.name for task in tasks if task.tfds))
        prepare_datasets(names, tfds_data_dir(DataOptions(tfds_data_dir=args.tfds_data_dir)))
        return 0
    if args.command in ("fit", "finetune"):
        from mtdnn_keras.training.run_plan import plan_fit

        if args.output_dir is None and args.resume:
            raise ValueError("--resume continues the run in --output-dir: give it")
        if args.output_dir is None:
            args.output_dir = _default_output_dir(args)
        if args.command == "fit":
            config = _training_config(args)
        else:
            config = _training_config(
                args, tasks=args.task, init_model=args.model, encoder=args.encoder or "minilm"
            )
        plan_fit(config)  # every check on the user's input, before TensorFlow starts
        print(f"output folder: {config.output_dir}")
        from mtdnn_keras.training.multitask_trainer import fit

        result = fit(config)
        print(
            f"trained {result.steps} steps in {result.seconds:.0f} s; results in {result.output_dir}"
        )
        return 0
    if args.command == "adapt":
        from mtdnn_keras.experiments.adapt_config import AdaptConfig
        from mtdnn_keras.models.model_files import check_model_folder
        from mtdnn_keras.training.run_plan import adaptation_data

        if args.output_dir is None:
            args.output_dir = _default_output_dir(args)
        starts = {f"refined {m}": f"model:{m}" for m in args.from_models or []}
        encoders = args.encoders or ([] if starts else ["minilm"])
        starts.update({f"encoder {e}": f"encoder:{e}" for e in encoders})
        fractions = [float(f) for f in _split(args.fractions, "--fractions")]
        config = AdaptConfig(
            task=args.task,
            output_dir=args.output_dir,
            starts=starts,
            fractions=fractions,
            seeds=args.seeds,
            holdout=args.holdout,
            training=_training_config(args, tasks=args.task),
        )
        for model in args.from_models or []:
            check_model_folder(model)
        adaptation_data(args.task, config.training, holdout=args.holdout is not None)
        print(f"output folder: {args.output_dir}")
        from mtdnn_keras.experiments.domain_adaptation import adapt

        adapt(config)
        print(f"results in {args.output_dir}/adaptation.md and adaptation.png")
        return 0
    if args.command == "export":
        from mtdnn_keras.models.model_files import check_model_folder

        _check_export_options(args)
        check_model_folder(args.model)
        if args.format == "saved_model":
            from mtdnn_keras.export.saved_model import export_saved_model

            written = export_saved_model(
                args.model, args.output, args.name, args.version, args.overwrite
            )
            description = json.loads(
                (written / "assets.extra" / "mtdnn_keras_signatures.json").read_text()
            )
            for signature, ops in sorted(description["custom_ops"].items()):
                needs = description["min_tf_serving"][signature]
                extra = f"; non-core ops {', '.join(ops)}" if ops else ""
                print(f"  signature {signature}: TF Serving {needs}{extra}")
            print(f"wrote {written} and {Path(args.output) / 'models.config'}")
            return 0
        if args.format == "tflite":
            from mtdnn_keras.export.tflite_model import DEFAULT_QUANTIZE_GROUPS, export_tflite

            tasks = _split(args.tasks, "--tasks") if args.tasks else None
            groups = args.quantize_groups
            groups = DEFAULT_QUANTIZE_GROUPS if groups is None else groups
            written = export_tflite(
                args.model, args.output, tasks, args.quantize, groups, args.overwrite
            )
            print(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB)")
            return 0
        if args.format == "keras-hub-preset":
            from mtdnn_keras.export.encoder_preset import export_encoder_preset as export
        else:
            from mtdnn_keras.export.model_folder import export_model_folder as export
        print(f"wrote {export(args.model, args.output, args.overwrite)}")
        return 0
    if args.command == "experiment":
        from mtdnn_keras.experiments.experiment_runner import run_experiment

        stages = [] if args.report_only else (_split(args.only, "--only") if args.only else None)
        report = run_experiment(args.config, stages)
        print(f"wrote {report}")
        return 0
    if args.command == "evaluate":
        from mtdnn_keras.training.run_plan import plan_evaluate

        options = DataOptions(
            data_dir=args.data_dir,
            source=args.data_source,
            tfds_data_dir=args.tfds_data_dir,
            eval_files=_pairs(args.eval_file, "--eval-file"),
        )
        plan_evaluate(args.model, args.tasks, options, args.output, args.overwrite)
        from mtdnn_keras.training.evaluator import format_table
        from mtdnn_keras.training.multitask_trainer import evaluate

        results = evaluate(
            args.model,
            args.tasks,
            output=args.output,
            skip_bad_rows=args.skip_bad_rows,
            overwrite=args.overwrite,
            data=options,
        )
        print(format_table(results))
        return 0
    if args.command == "ensemble":
        return _ensemble(args)
    if args.command == "distill-targets":
        from mtdnn_keras.training.run_plan import plan_distill_targets

        models = _split(args.models, "--models")
        options = DataOptions(
            data_dir=args.data_dir,
            source=args.data_source,
            tfds_data_dir=args.tfds_data_dir,
            train_files=_pairs(args.train_file, "--train-file"),
        )
        plan_distill_targets(models, args.tasks, options, args.output, args.overwrite)
        from mtdnn_keras.training.ensemble_runs import distill_targets

        distill_targets(
            models,
            args.output,
            args.tasks,
            options,
            _pairs(args.max_train_examples, "--max-train-examples", int),
            args.seed,
            args.skip_bad_rows,
            overwrite=args.overwrite,
        )
        print(f"wrote {args.output}")
        return 0
    if args.command == "split-articles":
        from mtdnn_keras.data.squad_articles import split_articles

        train, dev = split_articles(
            args.input, args.train_articles, args.output_dir, args.overwrite
        )
        print(f"wrote {train} and {dev}")
        return 0
    if args.command == "predict":
        from mtdnn_keras.training.run_plan import plan_predict

        options = DataOptions(
            data_dir=args.data_dir, source=args.data_source, tfds_data_dir=args.tfds_data_dir
        )
        plan_predict(args.model, args.task, args.input, args.output, args.overwrite, options)
        from mtdnn_keras.training.multitask_trainer import predict_file

        count = predict_file(
            args.model,
            args.task,
            args.input,
            args.output,
            args.skip_bad_rows,
            overwrite=args.overwrite,
            data=options,
        )
        print(f"wrote {count} predictions to {args.output}")
        return 0
    raise AssertionError(args.command)


def _ensemble(args) -> int:
    from mtdnn_keras.training.run_plan import plan_ensemble, plan_ensemble_predict

    models = _split(args.models, "--models")
    options = DataOptions(
        data_dir=args.data_dir,
        source=args.data_source,
        tfds_data_dir=args.tfds_data_dir,
        eval_files=_pairs(args.eval_file, "--eval-file"),
    )
    if args.task:
        if args.tasks or args.eval_file:
            raise ValueError(
                "--task predicts one task's --input: give --tasks/--eval-file without it"
            )
        if not args.output:
            raise ValueError("--task predicts into --output: give it")
        plan_ensemble_predict(models, args.task, args.input, args.output, args.overwrite, options)
        from mtdnn_keras.training.ensemble_runs import predict_ensemble_file

        count = predict_ensemble_file(
            models,
            args.task,
            args.input,
            args.output,
            args.skip_bad_rows,
            overwrite=args.overwrite,
            data=options,
        )
        print(f"wrote {count} predictions of the {len(models)}-model ensemble to {args.output}")
        return 0
    if args.input:
        raise ValueError("--input is what --task predicts: give --task")
    plan_ensemble(models, args.tasks, options, args.output, args.overwrite)
    from mtdnn_keras.training.ensemble_runs import evaluate_ensemble
    from mtdnn_keras.training.evaluator import format_table

    results = evaluate_ensemble(
        models, args.tasks, options, args.output, args.skip_bad_rows, overwrite=args.overwrite
    )
    table = {f"ensemble {name}": scores for name, scores in results["ensemble"].items()}
    for model, member in results["members"].items():
        table.update({f"{model} {name}": scores for name, scores in member.items()})
    print(format_table(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
