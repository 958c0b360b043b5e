"""Which TensorFlow ops each signature of a SavedModel runs, and which are not core ops."""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

# The first TF Serving release that links every tensorflow-text op keras-hub's tokenizer and
# packer emit (2.12-2.19 lack TFText>RoundRobinTrim: tensorflow/serving#2267).
TEXT_OPS_MIN_TF_SERVING = "2.20"


def signature_ops(saved_model_dir: str | Path) -> dict[str, list[str]]:
    """Signature name to the sorted op types it runs (through every called function)."""
    model = saved_model_pb2.SavedModel()
    model.ParseFromString((Path(saved_model_dir) / "saved_model.pb").read_bytes())
    graph = model.meta_graphs[0].graph_def
    functions = {function.signature.name: function for function in graph.library.function}
    nodes = {node.name: node for node in graph.node}
    result = {}
    for name, signature in model.meta_graphs[0].signature_def.items():
        ops, seen_functions = set(), set()
        seen_nodes = {output.name.split(":")[0] for output in signature.outputs.values()}
        pending = [nodes[name] for name in seen_nodes]
        while pending:
            node = pending.pop()
            ops.add(node.op)
            for function in _called_functions(node):
                if function in functions and function not in seen_functions:
                    seen_functions.add(function)
                    pending.extend(functions[function].node_def)
            for source in node.input:  # graph-level inputs (inside functions: local names)
                source = source.lstrip("^").split(":")[0]
                if source in nodes and source not in seen_nodes:
                    seen_nodes.add(source)
                    pending.append(nodes[source])
        result[name] = sorted(ops)
    return result


def custom_ops(ops: list[str]) -> list[str]:
    """The ops of `ops` that core TensorFlow does not define (tensorflow-text's, for example)."""
    return [op for op in ops if not hasattr(tf.raw_ops, op)]


def _called_functions(node) -> list[str]:
    names = []
    for value in node.attr.values():
        if value.HasField("func"):
            names.append(value.func.name)
        names.extend(function.name for function in value.list.func)
    return names
