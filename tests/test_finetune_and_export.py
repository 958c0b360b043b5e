"""The MT-DNN stages on a tiny encoder: multi-task fit, fine-tune one task, export artifacts."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from mtdnn_keras.cli.main import main

TINY = ["--batch-size", "8", "--max-seq-length", "64", "--verbose", "0"]


@pytest.fixture(scope="module")
def multitask_dir(small_glue, tiny_encoder_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("mtl")
    code = main(
        ["fit", "--tasks", "rte,stsb", "--data-dir", str(small_glue), "--output-dir", str(out)]
        + ["--encoder", str(tiny_encoder_dir), "--epochs", "1", "--learning-rate", "1e-3", *TINY]
    )
    assert code == 0
    return out


@pytest.fixture(scope="module")
def finetuned_dir(multitask_dir, small_glue, tmp_path_factory):
    out = tmp_path_factory.mktemp("finetuned")
    code = main(
        ["finetune", "--model", str(multitask_dir), "--task", "rte", "--output-dir", str(out)]
        + ["--data-dir", str(small_glue), "--epochs", "2", "--learning-rate", "1e-3", *TINY]
    )
    assert code == 0
    return out


def weights(model):
    backbone = model.backbone.get_weights()
    heads = {name: head.get_weights() for name, head in model.task_heads.items()}
    return backbone, heads


def test_finetune_changes_only_the_task_path(multitask_dir, finetuned_dir):
    from mtdnn_keras import load_model_directory

    before_model, _ = load_model_directory(multitask_dir)
    after_model, _ = load_model_directory(finetuned_dir)
    backbone_before, heads_before = weights(before_model)
    backbone_after, heads_after = weights(after_model)
    assert after_model.task_names == ["rte", "stsb"]  # the other head comes along
    for a, b in zip(heads_before["stsb"], heads_after["stsb"]):
        np.testing.assert_array_equal(a, b)  # bit-identical: never trained
    assert any(not np.array_equal(a, b) for a, b in zip(heads_before["rte"], heads_after["rte"]))
    assert any(not np.array_equal(a, b) for a, b in zip(backbone_before, backbone_after))
    saved = json.loads((finetuned_dir / "training_config.json").read_text())
    assert saved["init_model"] == str(multitask_dir)
    assert saved["start"] == f"model {multitask_dir}"
    assert saved["tasks"] == "rte"
    metrics = json.loads((finetuned_dir / "metrics.json").read_text())
    assert list(metrics) == ["rte"] and set(metrics["rte"]) == {"accuracy"}


def test_a_saved_model_loads_in_a_fresh_process(multitask_dir):
    """Loading needs no earlier import of the optimizer and schedule that the file names."""
    script = (
        "from mtdnn_keras.models.model_directory import load_model_directory; "
        f"model, _ = load_model_directory({str(multitask_dir)!r}); "
        "print(type(model.optimizer).__name__, model.task_names)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "SkipZeroGradientAdamax ['rte', 'stsb']" in done.stdout


def test_finetune_starts_from_the_trained_head(multitask_dir, small_glue, tmp_path):
    """Zero training steps from the multi-task model reproduce its scores exactly: the head and
    encoder really are the refined ones, not new ones."""
    from mtdnn_keras import TrainingConfig, evaluate, fit

    result = fit(
        TrainingConfig(
            tasks="rte",
            output_dir=str(tmp_path),
            data_dir=str(small_glue),
            init_model=str(multitask_dir),
            max_steps=1,
            learning_rate=0.0,
            batch_size=8,
            max_seq_length=64,
            verbose=0,
        )
    )
    original = evaluate(str(multitask_dir), "rte", str(small_glue))
    assert result.metrics["rte"] == pytest.approx(original["rte"])


def test_finetune_with_an_encoder_is_single_task_training(small_glue, tiny_encoder_dir, tmp_path):
    code = main(
        ["finetune", "--encoder", str(tiny_encoder_dir), "--task", "stsb", "--output-dir"]
        + [str(tmp_path), "--data-dir", str(small_glue), "--max-steps", "2", *TINY]
    )
    assert code == 0
    saved = json.loads((tmp_path / "training_config.json").read_text())
    assert saved["start"] == f"encoder {tiny_encoder_dir}" and saved["init_model"] is None
    assert list(json.loads((tmp_path / "metrics.json").read_text())) == ["stsb"]


def test_finetune_needs_a_model_or_an_encoder(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["finetune", "--task", "rte", "--output-dir", str(tmp_path)])
    assert "one of the arguments --model --encoder is required" in capsys.readouterr().err


def test_encoder_preset_loads_with_keras_hub_alone(multitask_dir, tmp_path):
    from mtdnn_keras import load_model_directory

    preset = tmp_path / "encoder"
    assert main(["export", "--model", str(multitask_dir), "--format", "keras-hub-preset"]
                + ["--output", str(preset)]) == 0  # fmt: skip
    assert not any(name.startswith(".") for name in os.listdir(tmp_path))  # no temporary left
    info = json.loads((preset / "mtdnn_keras.json").read_text())
    assert info["tasks"] == ["rte", "stsb"]
    from mtdnn_keras.training.starting_point import StartingPoint

    # a run that starts from the preset reads what the refined model's heads read
    start = StartingPoint.from_encoder(str(preset))
    assert start.pooling == info["pooling"] == load_model_directory(multitask_dir)[0].pooling
    assert start.default_pooling("auto", str(preset)) == info["pooling"]

    text_a, text_b = "A man is playing a guitar.", "Someone plays music."
    script = textwrap.dedent(
        f"""
        import sys, numpy as np, keras_hub
        backbone = keras_hub.models.BertBackbone.from_preset({str(preset)!r})
        tokenizer = keras_hub.models.BertTokenizer.from_preset({str(preset)!r})
        packer = keras_hub.layers.MultiSegmentPacker(
            sequence_length=32, start_value=tokenizer.cls_token_id,
            end_value=tokenizer.sep_token_id, pad_value=tokenizer.pad_token_id)
        ids, segments = packer((tokenizer([{text_a!r}]), tokenizer([{text_b!r}])))
        out = backbone({{"token_ids": ids, "segment_ids": segments, "padding_mask": ids != 0}})
        np.save({str(tmp_path / "fresh.npy")!r}, np.asarray(out["sequence_output"]))
        np.save({str(tmp_path / "ids.npy")!r}, np.asarray(ids))
        np.save({str(tmp_path / "segments.npy")!r}, np.asarray(segments))
        assert not any(m.startswith("mtdnn_keras") for m in sys.modules), "mtdnn_keras imported"
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path)
    model, _ = load_model_directory(multitask_dir)
    ids = np.load(tmp_path / "ids.npy")
    segments = np.load(tmp_path / "segments.npy")
    inside = model.backbone({"token_ids": ids, "segment_ids": segments, "padding_mask": ids != 0})
    np.testing.assert_allclose(
        np.load(tmp_path / "fresh.npy"), np.asarray(inside["sequence_output"]), atol=1e-6
    )


def test_keras_export_keeps_every_head_without_optimizer(multitask_dir, small_glue, tmp_path):
    from mtdnn_keras import evaluate

    out = tmp_path / "whole"
    assert main(["export", "--model", str(multitask_dir), "--format", "keras"]
                + ["--output", str(out)]) == 0  # fmt: skip
    assert (out / "model.keras").stat().st_size < (multitask_dir / "model.keras").stat().st_size
    assert evaluate(str(out), None, str(small_glue)) == evaluate(
        str(multitask_dir), None, str(small_glue)
    )
