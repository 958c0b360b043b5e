"""Domain adaptation: fraction sampling, the sweep over starts/fractions/seeds, its report."""

import json

import pytest

from mtdnn_keras.experiments.domain_adaptation import (
    AdaptConfig,
    adapt,
    fraction_count,
    sample_fraction,
    split_holdout,
)
from mtdnn_keras.training.training_config import TrainingConfig


@pytest.mark.parametrize(
    "fraction, total, count",
    [(0.01, 2490, 25), (0.1, 2490, 249), (1.0, 2490, 2490), (0.001, 2490, 2), (0.0001, 50, 1)],
)
def test_fraction_count(fraction, total, count):
    assert fraction_count(fraction, total) == count


def test_fraction_samples_are_reproducible_per_seed():
    pool = list(range(1000))
    first = sample_fraction(pool, 0.025, seed=3)
    assert len(first) == 25 and len(set(first)) == 25
    assert first == sorted(first)  # file order kept
    assert sample_fraction(pool, 0.025, seed=3) == first
    assert sample_fraction(pool, 0.025, seed=4) != first
    assert sample_fraction(pool, 1.0, seed=3) == pool


def test_holdout_split_is_disjoint_and_fixed():
    examples = list(range(100))
    pool, held = split_holdout(examples, 27, seed=0)
    assert len(held) == 27 and len(pool) == 73
    assert set(pool) | set(held) == set(examples) and not set(pool) & set(held)
    assert split_holdout(examples, 27, seed=0) == (pool, held)
    with pytest.raises(ValueError, match="holdout 100"):
        split_holdout(examples, 100, seed=0)


def test_bad_configs_are_refused(tmp_path):
    with pytest.raises(ValueError, match="at least one starting point"):
        AdaptConfig(task="rte", output_dir=str(tmp_path), starts={}, fractions=[1.0])
    with pytest.raises(ValueError, match="not in"):
        AdaptConfig(task="rte", output_dir=str(tmp_path), starts={"a": "encoder:x"}, fractions=[2])
    with pytest.raises(ValueError, match="model:DIR or encoder:SPEC"):
        AdaptConfig(task="rte", output_dir=str(tmp_path), starts={"a": "x"}, fractions=[1])


def test_adaptation_sweep_from_encoder_and_model(small_glue, tiny_encoder_dir, tmp_path):
    from mtdnn_keras import fit

    refined = tmp_path / "refined"
    fit(
        TrainingConfig(
            tasks="stsb", output_dir=str(refined), data_dir=str(small_glue),
            encoder=str(tiny_encoder_dir), max_steps=2, batch_size=8, max_seq_length=64, verbose=0,
        )
    )  # fmt: skip
    out = tmp_path / "adapt"
    config = AdaptConfig(
        task="rte",
        output_dir=str(out),
        starts={"plain": f"encoder:{tiny_encoder_dir}", "refined": f"model:{refined}"},
        fractions=[0.1, 1.0],
        seeds=2,
        training=TrainingConfig(
            tasks="rte", output_dir=str(out), data_dir=str(small_glue), max_steps=3,
            batch_size=8, max_seq_length=64, learning_rate=1e-3, verbose=0,
        ),
    )  # fmt: skip
    records = adapt(config)
    assert len(records) == 8
    result = json.loads((out / "adaptation.json").read_text())
    assert result["pool_examples"] == 60 and result["eval_examples"] == 30  # RTE train / dev
    summary = {(row["start"], row["fraction"]): row for row in result["summary"]}
    assert set(summary) == {(s, f) for s in ("plain", "refined") for f in (0.1, 1.0)}
    assert summary["plain", 0.1]["examples"] == 6 and summary["plain", 1.0]["examples"] == 60
    assert all(row["seeds"] == 2 for row in summary.values())
    run = out / "runs" / "refined" / "fraction-0.1" / "seed-1"
    saved = json.loads((run / "training_config.json").read_text())
    assert saved["train_examples"] == {"rte": 6} and saved["seed"] == 1
    assert saved["init_model"] == str(refined) and saved["selection"] == "last"
    assert not (run / "model.keras").exists()  # sweeps keep scores, not models
    table = (out / "adaptation.md").read_text()
    assert "| 6 (0.1) |" in table and "| 60 (1) |" in table
    assert (out / "adaptation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # resuming retrains nothing and gives the same records
    stamps = {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("metrics.json")}
    assert adapt(config) == records
    assert {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("metrics.json")} == stamps
