"""Requests a served model gets wrong or at the edges (empty batches, empty texts, texts that do
not pair up, rows of no tokens), and TFLite export of a model trained in mixed precision."""

import numpy as np
import pytest
import tensorflow as tf

IDS_SIGNATURES = ("rte", "stsb", "sst2", "mnli", "squad2")
TEXT_SIGNATURES = {"rte_text": True, "stsb_text": True, "mnli_text": True, "sst2_text": False}


def ids_feed(rows: int, length: int) -> dict:
    ids = np.zeros((rows, length), np.int32)
    if length:
        ids[:, 0] = 101
        ids[:, 1:] = 2023
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}


def call(signature, feed: dict) -> dict:
    return {
        k: v.numpy() for k, v in signature(**{k: tf.constant(v) for k, v in feed.items()}).items()
    }


@pytest.fixture(scope="module")
def served(tiny_model_dir, tmp_path_factory):
    import tensorflow_text  # noqa: F401  (the text signatures' ops)
    from mtdnn_keras.export.saved_model import export_saved_model

    root = tmp_path_factory.mktemp("serving_inputs")
    version = export_saved_model(tiny_model_dir, root, name="m")
    return version, tf.saved_model.load(str(version))


@pytest.mark.parametrize("length", [7, 0])
@pytest.mark.parametrize("name", IDS_SIGNATURES)
def test_an_empty_ids_batch_gives_empty_outputs_of_every_kind(served, name, length):
    signature = served[1].signatures[name]
    full = call(signature, ids_feed(2, 7))
    empty = call(signature, ids_feed(0, length))
    assert set(empty) == set(full)
    for key, value in empty.items():
        expected = list(full[key].shape)
        expected[0] = 0
        if key in ("start_logits", "end_logits"):  # one per token
            expected[1] = length
        assert list(value.shape) == expected, key
        assert value.dtype == full[key].dtype, key


@pytest.mark.parametrize("name", ["rte", "squad2"])
def test_ids_rows_of_no_tokens_are_a_clear_error(served, name):
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"token_ids of shape.*\[3 0\].*\[CLS\]"
    ):
        call(served[1].signatures[name], ids_feed(3, 0))


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("token_ids", 30522, r"rte: token_ids must be in \[0, 30522\)"),
        ("token_ids", -1, r"rte: token_ids must be in \[0, 30522\)"),
        ("segment_ids", 2, r"rte: segment_ids must be in \[0, 2\)"),
    ],
)
def test_ids_out_of_the_vocabulary_or_segments_are_a_clear_error(served, field, value, message):
    feed = ids_feed(2, 7)
    feed[field] = feed[field].copy()
    feed[field][1, 3] = value
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        call(served[1].signatures["rte"], feed)


def test_ids_inputs_of_different_shapes_are_a_clear_error(served):
    feed = ids_feed(2, 7)
    feed["segment_ids"] = feed["segment_ids"][:, :5]
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match=r"segment_ids must have the shape \(batch, length\) of token_ids; .* \[2 7\]",
    ):
        call(served[1].signatures["rte"], feed)
    feed = ids_feed(2, 7)
    feed["padding_mask"] = feed["padding_mask"][:1]
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match=r"padding_mask must have the shape \(batch, length\) of token_ids; .* \[2 7\]",
    ):
        call(served[1].signatures["stsb"], feed)


@pytest.mark.parametrize("name", sorted(TEXT_SIGNATURES))
def test_an_empty_text_batch_gives_empty_outputs(served, name):
    signature = served[1].signatures[name]
    texts = {"text_a": ["A sentence.", "Another one."]}
    if TEXT_SIGNATURES[name]:
        texts["text_b"] = ["One more.", "And the last."]
    full = call(signature, {k: np.array(v, object) for k, v in texts.items()})
    empty = call(signature, {k: np.array([], object) for k in texts})
    assert set(empty) == set(full)
    for key, value in empty.items():
        assert value.shape == (0, *full[key].shape[1:]), key
        assert value.dtype == full[key].dtype, key


@pytest.mark.parametrize("sizes", [(2, 1), (1, 2), (0, 1), (3, 0)])
def test_text_a_and_text_b_of_different_lengths_are_a_clear_error(served, sizes):
    feed = {
        "text_a": tf.constant(["A man eats."] * sizes[0], tf.string),
        "text_b": tf.constant(["Someone eats."] * sizes[1], tf.string),
    }
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match=rf"rte_text: text_a and text_b must be as long.*\[{sizes[0]}\] \[{sizes[1]}\]",
    ):
        served[1].signatures["rte_text"](**feed)


def test_empty_strings_answer_as_cls_sep(served, tiny_model_dir):
    from mtdnn_keras.features.text_pair_encoder import TextPairEncoder
    from mtdnn_keras.models.model_directory import load_model_directory

    model, tokenizer = load_model_directory(tiny_model_dir)
    tasks = {task.name: task for task in model.tasks}
    pairs = (["", "A man eats.", ""], ["", "", "Someone eats."])
    for name, texts in (("rte", pairs), ("sst2", (["", ""], None)), ("sst2", ([""], None))):
        encoder = TextPairEncoder(tokenizer, tasks[name].max_seq_length)
        text_a = tf.constant(texts[0])
        text_b = None if texts[1] is None else tf.constant(texts[1])
        features = encoder.encode_batch(text_a, text_b)
        length = int(tf.reduce_max(tf.reduce_sum(tf.cast(features["padding_mask"], tf.int32), 1)))
        expected = model.predict({k: v.numpy()[:, :length] for k, v in features.items()}, verbose=0)
        feed = {"text_a": text_a} if text_b is None else {"text_a": text_a, "text_b": text_b}
        outputs = served[1].signatures[f"{name}_text"](**feed)
        probabilities = tf.nn.softmax(expected[name]).numpy()
        np.testing.assert_allclose(outputs["probabilities"].numpy(), probabilities, atol=1e-5)
        if texts == (["", ""], None):  # nothing but [CLS] [SEP]
            assert length == 2
            np.testing.assert_allclose(probabilities[0], probabilities[1], atol=1e-6)


def test_the_predictor_answers_no_examples_with_no_records(served):
    from mtdnn_keras.export.saved_model_predictor import SavedModelPredictor

    predictor = SavedModelPredictor(served[0], batch_size=2)
    assert predictor.predict("rte", [], []) == []
    assert predictor.predict("sst2", []) == []
    assert predictor.predict("stsb", (), ()) == []
    records = predictor.predict("sst2", ["", "", "A sentence."])
    assert len(records) == 3 and records[0] == records[1]
    with pytest.raises(TypeError, match="texts_b must be a list of strings"):
        predictor.predict("rte", ["A man eats."], [None])
    with pytest.raises(TypeError, match="texts_a must be a list of strings"):
        predictor.predict("rte", None, [])


# --- TFLite export of a model trained with --precision mixed_bfloat16 ---


@pytest.fixture(scope="module")
def bf16_model(tmp_path_factory, minilm_tokenizer):
    """A model folder saved as `fit --precision mixed_bfloat16` saves it (encoder computing in
    bfloat16, float32 weights), and a float32 model with the same weights."""
    from conftest import tiny_backbone

    from mtdnn_keras.models.model_directory import (
        MODEL_FILE,
        TOKENIZER_DIR,
        save_model_atomically,
        save_tokenizer_atomically,
    )
    from mtdnn_keras.optimizers.skip_zero_gradient import make_optimizer
    from mtdnn_keras.tasks import TaskRegistry
    from mtdnn_keras.training.starting_point import StartingPoint

    backbone = tiny_backbone(minilm_tokenizer.vocabulary_size(), seed=5)
    start = StartingPoint(
        description="tiny",
        backbone_class=type(backbone),
        backbone_config=backbone.get_config(),
        backbone_weights=backbone.get_weights(),
        tokenizer=minilm_tokenizer,
    )
    tasks = TaskRegistry.builtin().resolve("rte,stsb,mnli,squad2")
    model = start.build_model(tasks, "mean", precision="mixed_bfloat16")
    assert model.backbone.compute_dtype == "bfloat16"
    model.compile(optimizer=make_optimizer("adamax", 1e-3))
    model.optimizer.build(model.trainable_variables)
    directory = tmp_path_factory.mktemp("bf16_model")
    save_model_atomically(model, directory / MODEL_FILE)
    save_tokenizer_atomically(minilm_tokenizer, directory / TOKENIZER_DIR)
    reference = start.build_model(tasks, "mean", precision="float32")
    reference.set_weights(model.get_weights())
    return directory, reference


def token_inputs(rows: int = 24) -> dict:
    rng = np.random.default_rng(0)
    length = 12
    ids = rng.integers(1000, 8000, (rows, length)).astype(np.int32)
    ids[:, 0] = 101
    ends = rng.integers(4, length + 1, rows)
    middles = np.maximum(ends // 2, 2)
    position = np.arange(length)[None, :]
    ids[position == (middles - 1)[:, None]] = 102
    ids[position == (ends - 1)[:, None]] = 102
    ids[position >= ends[:, None]] = 0
    segments = ((position >= middles[:, None]) & (position < ends[:, None])).astype(np.int32)
    return {"token_ids": ids, "segment_ids": segments, "padding_mask": (ids != 0).astype(np.int32)}


def run_tflite(path, feed):
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_path=str(path)).get_signature_runner()(**feed)


@pytest.fixture(scope="module")
def reference_outputs(bf16_model):
    feed = token_inputs()
    return bf16_model[1].predict({**feed, "padding_mask": feed["padding_mask"] != 0}, verbose=0)


def test_a_mixed_bfloat16_model_exports_to_float_tflite(bf16_model, reference_outputs, tmp_path):
    from mtdnn_keras.export.tflite_model import export_tflite

    path = export_tflite(bf16_model[0], tmp_path / "bf16.tflite")
    outputs = run_tflite(path, token_inputs())
    assert set(outputs) == {"rte", "stsb", "mnli", "squad2"}
    for name, value in outputs.items():
        assert value.dtype == np.float32
        np.testing.assert_allclose(value, reference_outputs[name], atol=1e-4, err_msg=name)


def test_a_mixed_bfloat16_model_exports_to_int8_tflite(bf16_model, reference_outputs, tmp_path):
    from mtdnn_keras.export.tflite_model import export_tflite

    path = export_tflite(
        bf16_model[0], tmp_path / "bf16_int8.tflite", ["rte", "mnli"], "dynamic-int8"
    )
    outputs = run_tflite(path, token_inputs())
    assert set(outputs) == {"rte", "mnli"}
    for name in ("rte", "mnli"):
        np.testing.assert_allclose(outputs[name], reference_outputs[name], atol=0.1)
        agree = (outputs[name].argmax(-1) == reference_outputs[name].argmax(-1)).mean()
        assert agree >= 0.8, (name, agree)


def test_an_expected_conversion_failure_is_one_line_without_converter_output(capfd):
    from mtdnn_keras.export.tflite_model import TFLiteConversionError, convert_to_tflite

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
    def needs_flex(matrix):
        return tf.linalg.inv(matrix)

    concrete = needs_flex.get_concrete_function()
    capfd.readouterr()
    with pytest.raises(TFLiteConversionError) as caught:
        convert_to_tflite(concrete, tf.Module(), None, "model-x")
    printed = capfd.readouterr()
    assert "\n" not in str(caught.value) and "MatrixInverse" in str(caught.value)
    assert "MatrixInverse" in caught.value.details  # the converter's report, kept for debugging
    assert "loc(" not in printed.err and len(printed.err.splitlines()) < 5, printed.err[:2000]
