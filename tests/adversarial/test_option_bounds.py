"""Options that cannot work, alone or together, are refused in one line naming the option,
before anything is read, built or written."""

import pytest
from adversarial_helpers import fit_arguments
from conftest import tiny_backbone

# (extra fit options, what the one-line error must say)
BAD_FIT_OPTIONS = [
    (["--batch-size", "0"], "--batch-size: expected a whole number in [1, 1048576], got 0"),
    (["--batch-size", "-4"], "--batch-size"),
    (["--batch-size", str(2**63)], "--batch-size"),
    (["--epochs", "0"], "--epochs: expected a whole number in [1, 100000], got 0"),
    (["--epochs", "-1"], "--epochs"),
    (["--max-steps", "0"], "--max-steps: expected a whole number in [1, 10000000000], got 0"),
    (["--min-steps", "0"], "--min-steps"),
    (["--max-steps", "2", "--min-steps", "5"], "--max-steps 2 is below --min-steps 5"),
    (["--eval-batch-size", "0"], "--eval-batch-size"),
    (["--learning-rate", "nan"], "--learning-rate: expected a finite number in [0, inf), got nan"),
    (["--learning-rate", "inf"], "--learning-rate"),
    (["--learning-rate", "-0.001"], "--learning-rate"),
    (["--warmup-fraction", "1.5"], "--warmup-fraction: expected a finite number in [0, 1]"),
    (["--warmup-fraction", "-0.1"], "--warmup-fraction"),
    (["--warmup-fraction", "nan"], "--warmup-fraction"),
    (["--weight-decay", "-1"], "--weight-decay"),
    (["--weight-decay", "inf"], "--weight-decay"),
    (["--clipnorm", "0"], "--clipnorm"),
    (["--clipnorm", "nan"], "--clipnorm"),
    (["--seed", "-1"], "--seed"),
    (["--seed", str(2**40)], "--seed"),
    (["--checkpoint-every", "-1"], "--checkpoint-every"),
    (["--gradient-accumulation-steps", "0"], "--gradient-accumulation-steps"),
    (["--max-seq-length", "1"], "--max-seq-length: expected a whole number in [8, 512], got 1"),
    (["--max-seq-length", "7"], "--max-seq-length"),
    (["--max-seq-length", "513"], "--max-seq-length"),
    (["--max-seq-length", "1024"], "--max-seq-length"),
    (["--max-seq-length", "100000"], "--max-seq-length"),
    (["--max-train-examples", "rte=0"], "--max-train-examples: expected rte=: a whole number"),
    (["--max-train-examples", "rtee=5"], "--max-train-examples names rtee, not a task of this run"),
    (["--train-file", "rtee=x.tsv"], "--train-file names rtee, not a task of this run"),
    (["--eval-file", "rtee=x.tsv"], "--eval-file names rtee, not a task of this run"),
    (["--main-task", "mrpc", "--mixing", "uniform"], "--main-task mrpc is not a task of this run"),
    (["--resume", "--overwrite"], "give one of them"),
    (["--mixing", "weights:rte"], "--mixing: expected a mixing strategy"),
    (["--mixing", "temperature:nan"], "--mixing: expected a mixing strategy"),
    (["--mixing", "temperature:1e-320"], "mixing temperature must be in [0.001, 1000]"),
    (["--mixing", "weights:rte=inf,stsb=1"], "must be a finite number >= 0"),
    (["--mixing", "weights:rtee=1,stsb=1"], "--mixing weights name rtee, not a task of this run"),
    (["--main-task", "rte"], "--main-task ends the epochs of fixed-weight sampling"),
    (["--train-file", "rte"], "--train-file expects TASK=VALUE"),
]


@pytest.mark.parametrize(
    "extra, message", BAD_FIT_OPTIONS, ids=[" ".join(e) for e, _ in BAD_FIT_OPTIONS]
)
def test_a_bad_fit_option_is_refused_before_any_work(cli, tmp_path, extra, message):
    output = tmp_path / "run"
    status, _, err = cli(*fit_arguments("no-such-encoder", tmp_path / "no-data", output, *extra))
    assert status == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err
    assert not output.exists()  # refused before the folder, the encoder or the data


def test_a_length_beyond_the_encoders_positions_is_refused_before_training(
    cli, small_glue, minilm_tokenizer, tmp_path
):
    encoder = tmp_path / "short-encoder"  # 64 positions
    backbone = tiny_backbone(minilm_tokenizer.vocabulary_size())
    short = type(backbone).from_config({**backbone.get_config(), "max_sequence_length": 64})
    short.save_to_preset(str(encoder))
    minilm_tokenizer.save_to_preset(str(encoder))
    output = tmp_path / "run"
    status, out, err = cli(
        *fit_arguments(encoder, small_glue, output, "--max-seq-length", "128")
    )
    assert status == 2
    assert "task rte: max_seq_length 128 (--max-seq-length or its task file) exceeds the 64" in err
    assert "training " not in out and not (output / "model.keras").exists()


def test_accumulating_more_batches_than_the_run_has_is_refused(
    cli, small_glue, tiny_encoder_dir, tmp_path
):
    output = tmp_path / "run"
    arguments = fit_arguments(tiny_encoder_dir, small_glue, output, "--max-steps", "3")
    status, _, err = cli(*arguments, "--gradient-accumulation-steps", "4")
    assert status == 2 and "exceeds the run's 3 steps: the weights would never be updated" in err
    assert not (output / "model.keras").exists() and not (output / "tokenizer").exists()


def test_a_length_the_loader_accepts_trains_and_loads_back(cli, small_glue, tiny_encoder_dir, tmp_path):
    from mtdnn_keras.models.model_directory import load_model_directory

    output = tmp_path / "run"
    arguments = fit_arguments(tiny_encoder_dir, small_glue, output, "--max-steps", "2")
    arguments[arguments.index("--max-seq-length") + 1] = "512"
    assert cli(*arguments)[0] == 0
    model, _ = load_model_directory(output)
    assert {task.max_seq_length for task in model.tasks} == {512}


BAD_EXPORT_OPTIONS = [
    (["--format", "keras", "--quantize", "dynamic-int8"], "--quantize is for --format tflite"),
    (["--format", "keras", "--name", "x"], "--name is for --format saved_model"),
    (["--format", "tflite", "--version", "2"], "--version is for --format saved_model"),
    (["--format", "saved_model", "--tasks", "rte"], "--tasks is for --format tflite"),
    (["--format", "tflite", "--quantize-groups", "2"], "--quantize-groups takes effect with"),
    (["--format", "tflite", "--quantize", "dynamic-int8", "--quantize-groups", "0"], "quantize_groups"),
    (["--format", "saved_model", "--version", "0"], "a TF Serving version is a positive integer"),
    (["--format", "saved_model", "--name", ".."], "--name '..'"),
    (["--format", "saved_model", "--name", 'a"b'], "a served model's name is letters"),
    (["--format", "tflite", "--tasks", "nope"], "the model has no task ['nope']"),
]


@pytest.mark.parametrize(
    "extra, message", BAD_EXPORT_OPTIONS, ids=[" ".join(e) for e, _ in BAD_EXPORT_OPTIONS]
)
def test_a_bad_export_option_is_refused(cli, tiny_model_dir, tmp_path, extra, message):
    output = tmp_path / "export"
    status, _, err = cli("export", "--model", tiny_model_dir, "--output", output, *extra)
    assert status == 2 and err.count("\n") == 1 and message in err, err
    assert not output.exists()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["predict", "--task", "rte,stsb", "--input", "x.tsv", "--output", "p.jsonl"], "--task names one task"),
        (["adapt", "--task", "glue", "--fractions", "0.1,0.10"], "--fractions repeat one another"),
        (["adapt", "--task", "glue", "--seeds", "0"], "seeds: expected a whole number >= 1"),
    ],
    ids=["predict two tasks", "adapt same fraction twice", "adapt no seeds"],
)
def test_commands_that_take_one_task_or_distinct_values_say_so(
    cli, tiny_model_dir, small_glue, tmp_path, arguments, message
):
    command, *rest = arguments
    where = ["--model", tiny_model_dir] if command == "predict" else ["--output-dir", tmp_path / "a"]
    rest = [str(tmp_path / a) if a.endswith((".tsv", ".jsonl")) else a for a in rest]
    if command == "predict":
        (tmp_path / "x.tsv").write_text((small_glue / "RTE" / "test.tsv").read_text())
    status, _, err = cli(command, *where, *rest)
    assert status == 2 and message in err, err
