"""TFLite conversion of the token-ids graph, run with ai-edge-litert."""

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter


def inputs():
    ids = np.array([[101, 2054, 2003, 102, 2023, 102, 0], [101, 7592, 102, 2088, 2003, 2204, 102]])
    segments = np.array([[0, 0, 0, 0, 1, 1, 0], [0, 0, 0, 1, 1, 1, 1]])
    return {
        "token_ids": ids.astype(np.int32),
        "segment_ids": segments.astype(np.int32),
        "padding_mask": (ids != 0).astype(np.int32),
    }


def run(path, feed):
    runner = Interpreter(model_path=str(path)).get_signature_runner()
    return runner(**feed)


@pytest.fixture(scope="module")
def expected(tiny_model_dir):
    from mtdnn_keras.models.model_directory import load_model_directory

    model, _ = load_model_directory(tiny_model_dir)
    feed = inputs()
    return model.predict({**feed, "padding_mask": feed["padding_mask"].astype(bool)}, verbose=0)


def test_float_model_matches_keras(tiny_model_dir, expected, tmp_path):
    from mtdnn_keras.export.tflite_model import export_tflite

    path = export_tflite(tiny_model_dir, tmp_path / "all.tflite")
    outputs = run(path, inputs())
    assert set(outputs) == {"rte", "stsb", "sst2", "mnli", "squad2"}
    for name, value in outputs.items():
        np.testing.assert_allclose(value, expected[name], atol=1e-4)
    # another batch shape: the inputs resize
    single = {k: v[:1, :5] for k, v in inputs().items()}
    assert run(path, single)["rte"].shape == (1, 2)


def test_int8_model_is_smaller_and_close(tiny_model_dir, expected, tmp_path):
    from mtdnn_keras.export.tflite_model import export_tflite

    float_path = export_tflite(tiny_model_dir, tmp_path / "rte.tflite", tasks=["rte"])
    int8_path = export_tflite(tiny_model_dir, tmp_path / "rte_int8.tflite", ["rte"], "dynamic-int8")
    assert int8_path.stat().st_size < 0.6 * float_path.stat().st_size
    outputs = run(int8_path, inputs())
    assert set(outputs) == {"rte"}
    np.testing.assert_allclose(outputs["rte"], expected["rte"], atol=0.1)


def test_bad_options(tiny_model_dir, tmp_path):
    from mtdnn_keras.cli.main import main
    from mtdnn_keras.export.tflite_model import export_tflite

    with pytest.raises(ValueError, match="no task"):
        export_tflite(tiny_model_dir, tmp_path / "x.tflite", tasks=["cola"])
    with pytest.raises(ValueError, match="quantize"):
        export_tflite(tiny_model_dir, tmp_path / "x.tflite", quantize="int4")
    assert (
        main(
            [
                "export",
                "--model",
                str(tiny_model_dir),
                "--format",
                "tflite",
                "--tasks",
                "rte",
                "--quantize",
                "dynamic-int8",
                "--output",
                str(tmp_path / "cli.tflite"),
            ]
        )
        == 0
    )
    assert (tmp_path / "cli.tflite").stat().st_size > 0
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(
    "operation, name",
    [("matrix_inverse", "MatrixInverse"), ("svd", "Svd")],  # a Flex op; one not even Flex
)
def test_a_graph_that_needs_non_builtin_ops_fails_naming_them(operation, name):
    import tensorflow as tf
    from mtdnn_keras.export.tflite_model import TFLiteConversionError, convert_to_tflite

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
    def needs_other_ops(matrix):
        if operation == "svd":
            return tf.linalg.svd(matrix, compute_uv=False)
        return tf.linalg.inv(matrix)

    with pytest.raises(TFLiteConversionError, match=rf"model-x: .*builtins \({name}\)"):
        convert_to_tflite(needs_other_ops.get_concrete_function(), tf.Module(), None, "model-x")


def test_int8_token_embedding_is_quantized_per_row(tiny_model_dir, tmp_path):
    from mtdnn_keras.export.tflite_model import _row_quantized_lookup, export_tflite

    from mtdnn_keras.models.model_directory import load_model_directory

    path = export_tflite(tiny_model_dir, tmp_path / "sst2_int8.tflite", ["sst2"], "dynamic-int8")
    model, _ = load_model_directory(tiny_model_dir)
    table = model.backbone.token_embedding.embeddings.numpy()
    interpreter = Interpreter(model_path=str(path))
    tensors = {tuple(t["shape"]): t for t in interpreter.get_tensor_details()}
    codes = tensors[table.shape]  # the table: int8, no whole-table quantization scale
    assert codes["dtype"] == np.int8 and codes["quantization"] == (0.0, 0)
    assert tensors[(table.shape[0],)]["dtype"] == np.int32  # one fixed-point scale per row
    interpreter.allocate_tensors()
    stored = interpreter.get_tensor(codes["index"])
    assert (np.abs(stored).max(axis=1) == 127).all()  # each row uses the whole int8 range

    # the rows read back within half a step of their own range, and the layer is restored
    embedding = model.backbone.token_embedding
    ids = np.array([[0, 1, 5, table.shape[0] - 1]])
    with _row_quantized_lookup(embedding):
        rows = embedding(ids).numpy()[0]
    step = np.abs(table[ids[0]]).max(axis=1, keepdims=True) / 127
    assert (np.abs(rows - table[ids[0]]) <= step / 2 + 1e-7).all()
    np.testing.assert_array_equal(embedding(ids).numpy()[0], table[ids[0]])


def test_grouped_matmuls_keep_the_float_arithmetic(tiny_model_dir):
    from mtdnn_keras.export.tflite_model import _grouped_matmuls

    from mtdnn_keras.models.model_directory import load_model_directory

    model, _ = load_model_directory(tiny_model_dir)
    feed = {**inputs(), "padding_mask": inputs()["padding_mask"].astype(bool)}
    plain = model(feed, training=False)
    with _grouped_matmuls(model.backbone, 4):
        grouped = model(feed, training=False)
    for name in plain:
        np.testing.assert_allclose(grouped[name], plain[name], atol=1e-5)
    assert not any("call" in vars(layer) for layer in model.backbone._flatten_layers())
    # the tiny encoder's layers are 16 and 32 wide: 3 groups do not divide them
    with pytest.raises(ValueError, match=r"transformer_layer_0/.*width (16|32) .* 3 quantization"):
        with _grouped_matmuls(model.backbone, 3):
            pass
    assert not any("call" in vars(layer) for layer in model.backbone._flatten_layers())


def fully_connected_ops(path) -> int:
    details = Interpreter(model_path=str(path))._get_ops_details()
    return sum(op["op_name"] == "FULLY_CONNECTED" for op in details)


def test_quantize_groups_split_every_encoder_matmul(tiny_model_dir, tmp_path):
    from mtdnn_keras.export.tflite_model import export_tflite

    plain = export_tflite(tiny_model_dir, tmp_path / "g1.tflite", ["rte"], "dynamic-int8", 1)
    grouped = export_tflite(tiny_model_dir, tmp_path / "g4.tflite", ["rte"], "dynamic-int8", 4)
    # 2 layers x 6 matmuls and the pooler are split in 4; the head is not
    assert fully_connected_ops(grouped) - fully_connected_ops(plain) == 13 * 3
    with pytest.raises(ValueError, match="quantize_groups"):
        export_tflite(
            tiny_model_dir, tmp_path / "x.tflite", quantize="dynamic-int8", quantize_groups=0
        )


def test_quantize_groups_lower_minilm_int8_error(tmp_path):
    """On the real encoder (random heads), 4 groups quantize with less error than TFLite's
    plain dynamic range, measured against Keras on RTE dev pairs."""
    from conftest import require_data
    from mtdnn_keras.export.tflite_model import export_tflite

    from mtdnn_keras.data.data_options import DataOptions
    from mtdnn_keras.data.data_source import source_for
    from mtdnn_keras.encoders.encoder_loader import load_encoder
    from mtdnn_keras.models.model_directory import (
        MODEL_FILE,
        TOKENIZER_DIR,
        save_model_atomically,
        save_tokenizer_atomically,
    )
    from mtdnn_keras.models.mtdnn_model import MTDNNModel
    from mtdnn_keras.tasks import TaskRegistry

    glue = require_data("glue")
    backbone, tokenizer = load_encoder("minilm")
    task = TaskRegistry.builtin().resolve("rte")[0]
    model = MTDNNModel(backbone, [task])
    save_model_atomically(model, tmp_path / "model" / MODEL_FILE)
    save_tokenizer_atomically(tokenizer, tmp_path / "model" / TOKENIZER_DIR)
    examples = source_for(task, "dev", DataOptions(data_dir=glue)).read().examples[:96]
    batches = [
        {k: v.astype(np.int32) for k, v in batch.items()}
        for batch in task.kind.prediction_inputs(
            task, examples, tokenizer, 32
        ).inputs.as_numpy_iterator()
    ]
    reference = np.concatenate(
        [model({**b, "padding_mask": b["padding_mask"] > 0})["rte"] for b in batches]
    )
    errors = {}
    for groups in (1, 4):
        path = export_tflite(
            tmp_path / "model", tmp_path / f"{groups}.tflite", None, "dynamic-int8", groups
        )
        runner = Interpreter(model_path=str(path)).get_signature_runner()
        outputs = np.concatenate([runner(**batch)["rte"] for batch in batches])
        errors[groups] = float(np.abs(outputs - reference).mean())
    assert errors[4] < 0.85 * errors[1], errors
