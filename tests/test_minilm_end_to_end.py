"""The real pretrained encoder (all-MiniLM-L6-v2 from its PyPI package), end to end."""

import json

import numpy as np
import pytest
from conftest import require_data

from mtdnn_keras.encoders.encoder_loader import EncoderError, encoder_location, load_encoder
from mtdnn_keras.training.multitask_trainer import fit
from mtdnn_keras.training.training_config import TrainingConfig


@pytest.fixture(scope="module")
def minilm():
    return load_encoder("minilm")


def test_minilm_loads_with_its_pretrained_weights(minilm):
    backbone, tokenizer = minilm
    assert backbone.num_layers == 6 and backbone.hidden_dim == 384
    from mtdnn_keras.features.text_pair_encoder import TextPairEncoder

    encoder = TextPairEncoder(tokenizer, 32)
    vectors = []
    for text in ("A man is eating food.", "A man is eating a piece of bread."):
        features = encoder.encode_batch(np.array([text]))
        tokens = np.asarray(backbone(features)["sequence_output"])[0]
        mask = np.asarray(features["padding_mask"])[0]
        pooled = tokens[mask].mean(axis=0)
        vectors.append(pooled / np.linalg.norm(pooled))
    assert float(vectors[0] @ vectors[1]) == pytest.approx(
        0.755, abs=0.01
    )  # the model card's check


def test_uncased_vocabulary_strips_accents(minilm):
    _, tokenizer = minilm
    ids = np.asarray(tokenizer(["São Paulo café"])).tolist()[0]
    unknown = tokenizer.token_to_id("[UNK]")
    assert unknown not in ids and ids == np.asarray(tokenizer(["sao paulo cafe"])).tolist()[0]


def test_unknown_encoder_folder_is_a_clear_error(tmp_path):
    with pytest.raises(EncoderError, match="does not exist"):
        load_encoder(str(tmp_path / "missing"))
    # preset names and hub handles are passed to keras-hub as they are
    assert encoder_location("bert_base_en_uncased") == "bert_base_en_uncased"
    assert (
        encoder_location("hf://google-bert/bert-base-uncased")
        == "hf://google-bert/bert-base-uncased"
    )
    assert encoder_location("minilm").endswith("model")


def test_fit_on_real_rte_with_minilm(tmp_path):
    glue = require_data("glue")
    train = tmp_path / "train.tsv"
    dev = tmp_path / "dev.tsv"
    for source, target, rows in (
        (glue / "RTE" / "train.tsv", train, 65),
        (glue / "RTE" / "dev.tsv", dev, 33),
    ):
        target.write_text("".join(source.read_text(encoding="utf-8").splitlines(True)[:rows]))
    result = fit(
        TrainingConfig(
            tasks="rte",
            output_dir=str(tmp_path / "out"),
            train_files={"rte": str(train)},
            eval_files={"rte": str(dev)},
            epochs=1,
            max_steps=2,
            batch_size=16,
            max_seq_length=128,
            verbose=0,
        )
    )
    assert result.steps == 2
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert set(metrics) == {"rte"} and 0.0 <= metrics["rte"]["accuracy"] <= 100.0
    assert result.model.backbone.hidden_dim == 384
