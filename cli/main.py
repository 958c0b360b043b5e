"""The `mtdnn-keras` command: a thin layer over the Python API."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys


def _pairs(values: list[str] | None, flag: str, cast=str) -> dict:
    result = {}
    for value in values or []:
        for item in value.split(","):
            name, sep, rest = item.partition("=")
            if not sep or not name or not rest:
                raise SystemExit(f"error: {flag} expects TASK=VALUE, got {item!r}")
            try:
                result[name.strip()] = cast(rest.strip())
            except ValueError:
                raise SystemExit(f"error: {flag} {item!r}: {rest!r} is not a valid value") from None
    return result


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
    fit.add_argument("--output-dir", required=True)
    fit.add_argument("--data-dir", help="root folder of the task files (e.g. GLUE's folder)")
    fit.add_argument("--task-file", help="YAML file with further task definitions")
    fit.add_argument(
        "--train-file", action="append", metavar="TASK=PATH", help="a task's training file"
    )
    fit.add_argument(
        "--eval-file", action="append", metavar="TASK=PATH", help="a task's labeled dev file"
    )
    fit.add_argument(
        "--encoder", default="minilm", help="minilm (default), a folder, or a keras-hub preset"
    )
    fit.add_argument("--epochs", type=int, default=3)
    fit.add_argument("--max-steps", type=int)
    fit.add_argument("--batch-size", type=int, default=32)
    fit.add_argument("--max-seq-length", type=int)
    fit.add_argument(
        "--max-train-examples",
        action="append",
        metavar="TASK=N",
        help="sample N training examples of TASK (seeded), e.g. sst2=8000",
    )
    fit.add_argument(
        "--mixing",
        default="proportional",
        help="proportional | uniform | temperature:T | weights:task=w,...",
    )
    fit.add_argument("--padding", default="bucket", choices=["bucket", "batch", "max"])
    fit.add_argument(
        "--pooling",
        default="auto",
        choices=["auto", "cls", "mean"],
        help="what linear heads read: [CLS] (paper) or mean of tokens; auto: mean for minilm",
    )
    fit.add_argument("--optimizer", default="adamax", choices=["adamax", "adamw"])
    fit.add_argument("--learning-rate", type=float, default=5e-5)
    fit.add_argument("--warmup-fraction", type=float, default=0.1)
    fit.add_argument("--weight-decay", type=float, default=0.01)
    fit.add_argument(
        "--clipnorm", type=float, default=1.0, help="clip the global gradient norm to this"
    )
    fit.add_argument("--eval-batch-size", type=int, default=64)
    fit.add_argument(
        "--select-by",
        metavar="TASKS",
        help="dev sets whose mean picks the best epoch (default: all)",
    )
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--skip-bad-rows", action="store_true", help="skip and count unreadable rows")
    fit.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2])

    evaluate = commands.add_parser("evaluate", help="score a trained model on labeled files")
    evaluate.add_argument("--model", required=True, help="output folder of fit")
    evaluate.add_argument(
        "--tasks", help="tasks to score (default: all of the model's, or those of --eval-file)"
    )
    evaluate.add_argument("--data-dir")
    evaluate.add_argument("--eval-file", action="append", metavar="TASK=PATH")
    evaluate.add_argument("--output", help="write the scores as JSON here")
    evaluate.add_argument("--skip-bad-rows", action="store_true")

    predict = commands.add_parser("predict", help="predict a file in a task's test format")
    predict.add_argument("--model", required=True)
    predict.add_argument("--task", required=True)
    predict.add_argument("--input", required=True)
    predict.add_argument(
        "--output", required=True, help=".tsv for a GLUE submission file, else JSON lines"
    )
    predict.add_argument("--skip-bad-rows", action="store_true")

    tasks = commands.add_parser("tasks", help="list the known tasks and their definitions")
    tasks.add_argument("--task-file", help="also list the tasks of this YAML file")
    tasks.add_argument("--json", action="store_true", help="print full definitions as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    from mtdnn_keras.data.example_reader import DataError
    from mtdnn_keras.encoders.encoder_loader import EncoderError
    from mtdnn_keras.tasks.task_definition import TaskDefinitionError

    try:
        return _run(args)
    except (
        DataError,
        TaskDefinitionError,
        EncoderError,
        FileNotFoundError,
        OSError,
        ValueError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


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
            labels = ", ".join(task.labels) if task.labels else "score"
            print(
                f"{name:14} {task.type:15} {task.head:7} [{labels}]  metrics: {', '.join(task.metrics)}"
            )
        for group, members in registry.groups.items():
            print(f"group {group}: {', '.join(members)}")
        return 0
    if args.command == "fit":
        from mtdnn_keras.training.multitask_trainer import fit
        from mtdnn_keras.training.training_config import TrainingConfig

        # the flags are named after TrainingConfig's fields; TASK=VALUE lists become dicts
        values = {
            f.name: getattr(args, f.name)
            for f in dataclasses.fields(TrainingConfig)
            if hasattr(args, f.name)
        }
        values["train_files"] = _pairs(args.train_file, "--train-file")
        values["eval_files"] = _pairs(args.eval_file, "--eval-file")
        values["max_train_examples"] = _pairs(args.max_train_examples, "--max-train-examples", int)
        config = TrainingConfig(**values)
        result = fit(config)
        print(
            f"trained {result.steps} steps in {result.seconds:.0f} s; model in {result.output_dir}"
        )
        return 0
    if args.command == "evaluate":
        from mtdnn_keras.training.evaluator import format_table
        from mtdnn_keras.training.multitask_trainer import evaluate

        results = evaluate(
            args.model,
            args.tasks,
            args.data_dir,
            _pairs(args.eval_file, "--eval-file"),
            args.output,
            args.skip_bad_rows,
        )
        print(format_table(results))
        return 0
    if args.command == "predict":
        from mtdnn_keras.training.multitask_trainer import predict_file

        count = predict_file(args.model, args.task, args.input, args.output, args.skip_bad_rows)
        print(f"wrote {count} predictions to {args.output}")
        return 0
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
