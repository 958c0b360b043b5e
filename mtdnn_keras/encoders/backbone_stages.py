"""The shared encoder in two stages, embeddings and the layers above them, run with the
backbone's own layers: for methods that perturb the embeddings (SMART)."""

from __future__ import annotations


def embedding_output(backbone, token_ids, segment_ids):
    """The encoder's embeddings after their layer norm (before dropout): token, position and
    segment embeddings added once, as the backbone adds them."""
    tokens = backbone.token_embedding(token_ids)
    positions = backbone.position_embedding(tokens)
    segments = backbone.segment_embedding(segment_ids)
    return backbone.embeddings_layer_norm(backbone.embeddings_add((tokens, positions, segments)))


def encode_embeddings(backbone, embeddings, padding_mask) -> dict:
    """The backbone's outputs (`sequence_output`, `pooled_output`) from `embedding_output`'s
    (perturbed or not): the rest of the backbone's own forward pass."""
    x = backbone.embeddings_dropout(embeddings)
    for layer in backbone.transformer_layers:
        x = layer(x, padding_mask=padding_mask)
    pooled = backbone.pooled_dense(x[:, backbone.cls_token_index, :])
    return {"sequence_output": x, "pooled_output": pooled}
