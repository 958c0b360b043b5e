"""SavedModel export for TF Serving: layout, signatures, and outputs in a fresh process."""

import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

PAIRS = (
    ["A man is eating food.", "The Normans settled in Normandy in the 10th century.", ""],
    ["Someone eats.", "Normandy is in France, and the Normans came from the north.", "x"],
)

# Runs in a fresh interpreter: TF Serving needs only TensorFlow and tensorflow-text's ops.
LOAD_AND_RUN = """
import json, sys
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the ops of the text signatures)
assert "mtdnn_keras" not in sys.modules and "keras_hub" not in sys.modules
path, inputs_file, outputs_file = sys.argv[1:]
loaded = tf.saved_model.load(path, tags=["serve"])
inputs = json.load(open(inputs_file))
results = {"signatures": sorted(loaded.signatures)}
for name, feed in inputs.items():
    signature = loaded.signatures[name]
    tensors = {k: tf.constant(v, dtype=signature.structured_input_signature[1][k].dtype)
               for k, v in feed.items()}
    results[name] = {k: v.numpy().tolist() for k, v in signature(**tensors).items()}
json.dump(results, open(outputs_file, "w"))
"""


@pytest.fixture(scope="module")
def exported(tiny_model_dir, tmp_path_factory):
    from mtdnn_keras.export.saved_model import export_saved_model

    root = tmp_path_factory.mktemp("serving")
    return root, export_saved_model(tiny_model_dir, root, name="mtdnn", version=3)


def test_tf_serving_layout_and_signatures(exported, minilm_tokenizer):
    root, version_dir = exported
    assert version_dir == root / "mtdnn" / "3"
    assert (version_dir / "saved_model.pb").is_file()
    assert (version_dir / "variables" / "variables.index").is_file()
    vocab = (version_dir / "assets" / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert vocab == minilm_tokenizer.get_vocabulary()
    description = json.loads(
        (version_dir / "assets.extra" / "mtdnn_keras_signatures.json").read_text()
    )
    assert description["default_task"] == "rte"
    # no temporary folder left behind, beside the model and its models.config
    assert sorted(root.iterdir()) == [root / "models.config", root / "mtdnn"]
    assert sorted((root / "mtdnn").iterdir()) == [version_dir]


def test_every_weight_is_stored_once(exported, tiny_model_dir):
    from mtdnn_keras.models.model_directory import load_model_directory

    model, _ = load_model_directory(tiny_model_dir)
    reader = tf.train.load_checkpoint(str(exported[1] / "variables" / "variables"))
    stored = sum(
        int(np.prod(shape))
        for name, shape in reader.get_variable_to_shape_map().items()
        if "VARIABLE_VALUE" in name
    )
    # keras-team/keras#23553 stored every weight twice; beyond the weights, only the dropout
    # layers' seed states (2 integers each) are kept
    assert model.count_params() <= stored < model.count_params() + 100


def test_outputs_equal_the_keras_model_in_a_fresh_process(exported, tiny_model_dir, tmp_path):
    from mtdnn_keras.features.text_pair_encoder import TextPairEncoder
    from mtdnn_keras.models.model_directory import load_model_directory

    model, tokenizer = load_model_directory(tiny_model_dir)
    task = {t.name: t for t in model.tasks}["rte"]
    features = TextPairEncoder(tokenizer, task.max_seq_length).encode_batch(
        tf.constant(PAIRS[0]), tf.constant(PAIRS[1])
    )
    length = int(tf.reduce_max(tf.reduce_sum(tf.cast(features["padding_mask"], tf.int32), 1)))
    ids = {k: v.numpy()[:, :length] for k, v in features.items()}
    expected = model.predict({**ids}, verbose=0)
    feed = {k: v.astype("int32").tolist() for k, v in ids.items()}
    inputs = {
        "rte": feed,
        "stsb": feed,
        "squad2": feed,
        "serving_default": feed,
        "rte_text": {"text_a": PAIRS[0], "text_b": PAIRS[1]},
        "stsb_text": {"text_a": PAIRS[0], "text_b": PAIRS[1]},
        "sst2_text": {"text_a": PAIRS[0]},
    }
    (tmp_path / "inputs.json").write_text(json.dumps(inputs))
    subprocess.run(
        [
            sys.executable,
            "-c",
            LOAD_AND_RUN,
            str(exported[1]),
            str(tmp_path / "inputs.json"),
            str(tmp_path / "outputs.json"),
        ],
        check=True,
    )
    results = json.loads((tmp_path / "outputs.json").read_text())
    assert results["signatures"] == sorted(
        [
            "serving_default",
            "rte",
            "stsb",
            "sst2",
            "mnli",
            "squad2",
            "rte_text",
            "stsb_text",
            "sst2_text",
            "mnli_text",
        ]
    )
    probabilities = tf.nn.softmax(expected["rte"]).numpy()
    for name in ("rte", "rte_text", "serving_default"):
        np.testing.assert_allclose(results[name]["probabilities"], probabilities, atol=1e-5)
        assert results[name]["label_ids"] == probabilities.argmax(-1).tolist()
    for name in ("stsb", "stsb_text"):
        np.testing.assert_allclose(results[name]["scores"], expected["stsb"], atol=1e-5)
    np.testing.assert_allclose(
        results["squad2"]["start_logits"], expected["squad2"][..., 0], atol=1e-5
    )
    np.testing.assert_allclose(
        results["squad2"]["end_logits"], expected["squad2"][..., 1], atol=1e-5
    )
    single = TextPairEncoder(tokenizer, 128).encode_batch(tf.constant(PAIRS[0]))
    sst2 = model.predict({k: v.numpy() for k, v in single.items()}, verbose=0)["sst2"]
    np.testing.assert_allclose(
        results["sst2_text"]["probabilities"], tf.nn.softmax(sst2).numpy(), atol=1e-5
    )


def test_cli_export_and_bad_version(tiny_model_dir, tmp_path):
    from mtdnn_keras.cli.main import main

    assert (
        main(
            [
                "export",
                "--model",
                str(tiny_model_dir),
                "--format",
                "saved_model",
                "--output",
                str(tmp_path),
                "--name",
                "m",
                "--version",
                "2",
            ]
        )
        == 0
    )
    assert (tmp_path / "m" / "2" / "saved_model.pb").is_file()
    assert (
        main(
            [
                "export",
                "--model",
                str(tiny_model_dir),
                "--format",
                "saved_model",
                "--output",
                str(tmp_path),
                "--version",
                "0",
            ]
        )
        == 2
    )


def test_warmup_requests_replay_through_their_signatures(exported):
    from mtdnn_keras.export.serving_files import read_warmup_requests

    root, version_dir = exported
    logs = read_warmup_requests(version_dir / "assets.extra" / "tf_serving_warmup_requests")
    loaded = tf.saved_model.load(str(version_dir))
    names = [log.predict_log.request.model_spec.signature_name for log in logs]
    assert sorted(names) == sorted(set(loaded.signatures) - {"serving_default"})
    for log in logs:
        request = log.predict_log.request
        assert request.model_spec.name == "mtdnn"
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        outputs = loaded.signatures[request.model_spec.signature_name](**inputs)
        assert all(value.shape[0] == 2 for value in outputs.values())  # both rows answered
    config = (root / "models.config").read_text()
    assert 'name: "mtdnn"' in config and 'base_path: "/models/mtdnn"' in config
    assert "versions: 3" in config


def test_op_audit_separates_core_and_text_signatures(exported):
    description = json.loads(
        (exported[1] / "assets.extra" / "mtdnn_keras_signatures.json").read_text()
    )
    ops = description["custom_ops"]
    for name in ("rte", "stsb", "squad2", "serving_default"):
        assert ops[name] == []  # token ids in: core TensorFlow only, any TF Serving
        assert description["min_tf_serving"][name] == "any"
    for name in ("rte_text", "sst2_text"):
        assert "TFText>RoundRobinTrim" in ops[name]  # keras-hub's packer
        assert "FastWordpieceTokenizeWithOffsets" in ops[name]
        assert description["min_tf_serving"][name] == "2.20"


PREDICT_WITHOUT_KERAS = """
import json, sys
from mtdnn_keras.export.saved_model_predictor import SavedModelPredictor
predictor = SavedModelPredictor(sys.argv[1], batch_size=2)
assert "keras_hub" not in sys.modules and "mtdnn_keras.models" not in sys.modules
a, b = json.loads(sys.argv[2])
print(json.dumps({"rte": predictor.predict("rte", a, b), "sst2": predictor.predict("sst2", a),
                  "stsb": predictor.predict("stsb", a, b)}))
"""


def test_saved_model_predictor_answers_like_the_keras_predictor(exported, tiny_model_dir):
    from mtdnn_keras.inference.predictor import Predictor

    texts_a = [*PAIRS[0], "word " * 300]  # batches of 2; one text past max_seq_length
    texts_b = [*PAIRS[1], "short"]
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            PREDICT_WITHOUT_KERAS,
            str(exported[1]),
            json.dumps([texts_a, texts_b]),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    served = json.loads(run.stdout.strip().splitlines()[-1])
    keras_predictor = Predictor.load(str(tiny_model_dir))
    for task, pair in (("rte", True), ("sst2", False), ("stsb", True)):
        expected = keras_predictor.predict(task, texts_a, texts_b if pair else None)
        for got, want in zip(served[task], expected, strict=True):
            if "score" in want:
                assert got["score"] == pytest.approx(want["score"], abs=1e-5)
            else:
                assert got["label"] == want["label"]
                for label, p in want["probabilities"].items():
                    assert got["probabilities"][label] == pytest.approx(p, abs=1e-5)


def test_saved_model_predictor_rejects_bad_requests(exported):
    from mtdnn_keras.export.saved_model_predictor import SavedModelPredictor

    predictor = SavedModelPredictor(exported[1])
    with pytest.raises(ValueError, match="takes pairs"):
        predictor.predict("rte", ["only one text"])
    with pytest.raises(ValueError, match="no text signature"):
        predictor.predict("squad2", ["q"], ["c"])
    with pytest.raises(TypeError, match="list of strings"):
        predictor.predict("sst2", "a string")
    with pytest.raises(KeyError, match="no task 'cola'"):
        predictor.predict("cola", ["x"])
    with pytest.raises(FileNotFoundError, match="not a mtdnn-keras SavedModel export"):
        SavedModelPredictor(exported[0])


@pytest.fixture(scope="module")
def served(exported):
    import tensorflow_text  # noqa: F401

    return tf.saved_model.load(str(exported[1]), tags=["serve"])


def test_rest_row_and_columnar_bodies(served, tiny_model_dir):
    import base64

    from serving_contract import rest_predict

    from mtdnn_keras.inference.predictor import Predictor

    expected = Predictor.load(str(tiny_model_dir)).predict("rte", PAIRS[0][:2], PAIRS[1][:2])
    rows = rest_predict(
        served,
        json.dumps(
            {
                "signature_name": "rte_text",
                "instances": [
                    {"text_a": a, "text_b": b} for a, b in zip(PAIRS[0][:2], PAIRS[1][:2])
                ],
            }
        ),
    )
    assert [set(p) for p in rows["predictions"]] == [{"probabilities", "label_ids"}] * 2
    columns = rest_predict(
        served,
        json.dumps(
            {
                "signature_name": "rte_text",
                "inputs": {
                    "text_a": [
                        {"b64": base64.b64encode(a.encode()).decode()} for a in PAIRS[0][:2]
                    ],
                    "text_b": PAIRS[1][:2],
                },
            }
        ),
    )
    assert len(columns["outputs"]["probabilities"]) == 2
    for i, want in enumerate(expected):
        probabilities = [want["probabilities"][k] for k in ("entailment", "not_entailment")]
        np.testing.assert_allclose(
            rows["predictions"][i]["probabilities"], probabilities, atol=1e-5
        )
        np.testing.assert_allclose(columns["outputs"]["probabilities"][i], probabilities, atol=1e-5)
    ids = rest_predict(
        served,
        json.dumps(
            {
                "instances": [
                    {
                        "token_ids": [101, 2054, 102],
                        "segment_ids": [0, 0, 0],
                        "padding_mask": [1, 1, 1],
                    }
                ]
            }
        ),
    )  # serving_default: the first task's ids signature
    assert len(ids["predictions"][0]["probabilities"]) == 2


@pytest.mark.parametrize(
    "body, message",
    [
        (
            {
                "signature_name": "rte",
                "instances": [{"token_ids": ["a"], "segment_ids": [0], "padding_mask": [1]}],
            },
            "token_ids",
        ),
        (
            {"signature_name": "rte", "instances": [{"token_ids": [101], "segment_ids": [0]}]},
            "Missing input: padding_mask",
        ),
        (
            {
                "signature_name": "rte",
                "inputs": {
                    "token_ids": [[101, 102], [101]],
                    "segment_ids": [[0, 0], [0]],
                    "padding_mask": [[1, 1], [1]],
                },
            },
            "non-rectangular",
        ),
        ({"signature_name": "rte_text", "inputs": {"text_a": ["a"]}}, "Missing input: text_b"),
        ({"signature_name": "nope", "instances": []}, "not found"),
    ],
)
def test_bad_requests_get_errors_and_the_model_keeps_serving(served, body, message):
    from serving_contract import RestError, rest_predict

    with pytest.raises(RestError, match=message):
        rest_predict(served, json.dumps(body))
    ok = rest_predict(
        served,
        json.dumps(
            {
                "signature_name": "sst2_text",
                "instances": [{"text_a": ""}, {"text_a": "word " * 1000}],
            }
        ),
    )
    assert len(ok["predictions"]) == 2  # empty and over-long texts: [CLS] [SEP], and truncated


def test_saved_model_cli_wrapper_shows_and_runs_the_text_signatures(exported, tiny_model_dir):
    from mtdnn_keras.inference.predictor import Predictor

    command = [sys.executable, "-m", "mtdnn_keras.export.saved_model_cli"]
    shown = subprocess.run(
        [*command, "show", "--dir", str(exported[1]), "--all"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for signature in ("serving_default", "rte", "rte_text", "sst2_text", "stsb_text"):
        assert f"signature_def['{signature}']" in shown
    ran = subprocess.run(
        [
            *command,
            "run",
            "--dir",
            str(exported[1]),
            "--tag_set",
            "serve",
            "--signature_def",
            "stsb_text",
            "--input_exprs",
            f"text_a=[{PAIRS[0][0].encode()!r}];text_b=[{PAIRS[1][0].encode()!r}]",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    printed = ran.split("Result for output key scores:")[1].strip()
    score = float(printed.strip("[]").split()[0])
    expected = Predictor.load(str(tiny_model_dir)).predict("stsb", [PAIRS[0][0]], [PAIRS[1][0]])
    assert score == pytest.approx(expected[0]["score"], abs=1e-4)  # printed to 7 digits


def test_span_signature_gives_the_answer_decode_spans_gives(served, tiny_model_dir):

    from mtdnn_keras.data.example_reader import Example
    from mtdnn_keras.features.span_features import SpanFeaturizer
    from mtdnn_keras.models.model_directory import load_model_directory
    from mtdnn_keras.task_types.span_decoding import decode_spans

    model, tokenizer = load_model_directory(tiny_model_dir)
    task = next(task for task in model.tasks if task.name == "squad2")
    questions = ["Where did the Normans settle?", "When?", "Who came from the north?"]
    contexts = [PAIRS[1][1], "In the 10th century, after 911.", "The Normans (Norse men) did."]
    examples = [Example(q, c, None, str(i), i) for i, (q, c) in enumerate(zip(questions, contexts))]
    features = SpanFeaturizer.for_task(tokenizer, task).featurize(examples)
    assert len(features) == len(examples)  # one window each
    signature = served.signatures["squad2"]
    feed = {k: tf.constant(v, tf.int32) for k, v in features.inputs().items()}
    out = {k: v.numpy() for k, v in signature(**feed).items()}
    logits = np.stack([out["start_logits"], out["end_logits"]], axis=-1)
    expected = decode_spans(
        examples,
        features,
        logits,
        task.max_answer_length,
        n_best_size=10_000,  # every pair, as the graph searches
        null_score_threshold=task.null_score_threshold,
    )
    for i, prediction in enumerate(expected):
        start, end = out["start_index"][i], out["end_index"][i]
        spans = features.char_spans[i]
        assert contexts[i][spans[start, 0] : spans[end, 1]] == prediction.best_span
        assert 0 <= end - start < task.max_answer_length
        assert out["null_score_diff"][i] == pytest.approx(prediction.null_score_diff, abs=1e-4)
        assert bool(out["has_answer"][i]) == (prediction.answer != "")
