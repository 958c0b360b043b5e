"""Divergences between two outputs of a head, summed over a batch's examples: SMART's
smoothness term and distillation's soft-target loss."""

from keras import ops


def symmetric_kl(logits_a, logits_b):
    """`KL(p_b || p_a) + KL(p_a || p_b)` of the softmaxes over the last axis, summed over the
    rest, each direction with its target side held constant: the reference's
    `SymKlCriterion` (namisan/mt-dnn `mt_dnn/loss.py`), which sends gradient to `a` through
    the first term and to `b` through the second. Log-probabilities may stand for logits
    (their softmax is the same distribution)."""
    log_a = ops.log_softmax(ops.cast(logits_a, "float32"), axis=-1)
    log_b = ops.log_softmax(ops.cast(logits_b, "float32"), axis=-1)
    fixed_a, fixed_b = ops.stop_gradient(log_a), ops.stop_gradient(log_b)
    return ops.sum(ops.exp(fixed_b) * (fixed_b - log_a)) + ops.sum(
        ops.exp(fixed_a) * (fixed_a - log_b)
    )


def soft_cross_entropy(probabilities, logits):
    """Cross-entropy of target distributions `probabilities` under `logits` (or
    log-probabilities), summed over the batch."""
    return -ops.sum(
        ops.cast(probabilities, "float32") * ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    )
