"""Cross-entropy losses summed over a batch's examples (the model divides by their count)."""

import keras
from keras import ops


def summed_cross_entropy(targets, logits):
    """Softmax cross-entropy of integer `targets` (any shape, as floats or ints) under
    `logits` (the same shape plus classes), summed."""
    return ops.sum(
        keras.losses.sparse_categorical_crossentropy(
            ops.cast(targets, "int32"), logits, from_logits=True
        )
    )


def masked_token_cross_entropy(tags, logits):
    """Cross-entropy per token over the tokens whose tag is not negative (a word's first
    piece; the others, specials and padding are -1), averaged over those tokens, times the
    batch's rows: divided by the rows, as the model divides every task's summed loss, it is
    the batch's token mean. Under a distribution strategy each replica averages its own
    tokens, so the step's loss is the replicas' token means weighted by their rows (exact
    when their token counts are in proportion, and on one device)."""
    valid = ops.greater_equal(tags, 0)
    losses = keras.losses.sparse_categorical_crossentropy(
        ops.where(valid, tags, ops.zeros_like(tags)), logits, from_logits=True
    )
    weights = ops.cast(valid, "float32")
    total = ops.sum(losses * weights)
    rows = ops.cast(ops.shape(tags)[0], "float32")
    return total / ops.maximum(ops.sum(weights), 1.0) * rows
