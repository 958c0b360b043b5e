"""The pairwise ranking loss of MT-DNN (QNLI as ranking)."""

from keras import ops


def listwise_ranking_loss(relevance, labels, group_size, gamma=1.0, reduction="mean"):
    """Mean over groups of `-log(exp(gamma Rel(Q, A+)) / sum_A' exp(gamma Rel(Q, A')))`.

    Args:
        relevance: float tensor (groups * group_size,). `Rel(Q, A)` for each candidate, the
            candidates of one query consecutive.
        labels: tensor (groups * group_size,). 1 for the relevant candidate of each group, 0
            for the others.
        group_size: int. Candidates per query.
        gamma: float. Smoothing factor.
        reduction: `"mean"` over groups, or `"none"` for each group's loss `(groups,)`.
    """
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction must be 'mean' or 'none', not {reduction!r}")
    scores = ops.reshape(ops.cast(relevance, "float32") * gamma, (-1, group_size))
    positives = ops.argmax(ops.reshape(labels, (-1, group_size)), axis=-1)
    log_probabilities = ops.log_softmax(scores, axis=-1)
    picked = ops.take_along_axis(log_probabilities, ops.expand_dims(positives, -1), axis=-1)
    losses = -ops.squeeze(picked, -1)
    return ops.mean(losses) if reduction == "mean" else losses
