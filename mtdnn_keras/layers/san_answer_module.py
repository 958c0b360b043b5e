"""The stochastic answer network (SAN) answer module of MT-DNN."""

import keras
from keras import ops

_MASKED = -1e9


@keras.saving.register_keras_serializable(package="mtdnn_keras")
class SANAnswerModule(keras.layers.Layer):
    """Multi-step reasoning over premise and hypothesis memories for pairwise classification.

    From [Liu et al., 2019, "Multi-Task Deep Neural Networks for Natural Language
    Understanding"](https://arxiv.org/abs/1901.11504) and [Liu et al., 2018, "Stochastic Answer
    Networks for Natural Language Inference"](https://arxiv.org/abs/1804.07888).

    The encoder's token vectors of the second segment are the hypothesis memory `M^h`, those of
    the first segment (with `[CLS]` and its `[SEP]`) the premise memory `M^p`; padding belongs to
    neither. The initial state is `s0 = sum_j a_j M^h_j` with `a = softmax(w1 M^h)`. Each of
    `num_steps` steps attends over the premise with `b = softmax(s_{k-1} W2 M^p)`,
    `x_k = sum_j b_j M^p_j`, updates the state `s_k = GRU(s_{k-1}, x_k)` and predicts
    `P_k = softmax(W3 [s_k; x_k; |s_k - x_k|; s_k * x_k])`. The answer averages the `P_k`. In
    training, whole steps are dropped at random (stochastic prediction dropout, at least one
    step kept for each example); inference averages all steps.

    The output is the log of the averaged probabilities, which a softmax cross-entropy treats
    like logits.

    Args:
        num_classes: int. Number of classes.
        hidden_dim: int. Width of the encoder's token vectors.
        num_steps: int. Reasoning steps K (5 in the reference code).
        step_dropout: float. Rate at which whole steps are dropped in training.
        dropout: float. Dropout on the memories and the state.
        seed: int. Seed for the step dropout.

    Examples:
    ```python
    san = SANAnswerModule(num_classes=3, hidden_dim=8)
    sequence = np.random.rand(2, 6, 8).astype("float32")
    segment_ids = np.array([[0, 0, 0, 1, 1, 0], [0, 0, 1, 1, 1, 1]])
    padding_mask = np.array([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]], dtype=bool)
    log_probabilities = san(sequence, segment_ids, padding_mask)  # shape (2, 3)
    ```
    """

    def __init__(
        self,
        num_classes,
        hidden_dim,
        num_steps=5,
        step_dropout=0.1,
        dropout=0.1,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # === Layers ===
        self.hypothesis_attention = keras.layers.Dense(1, name="hypothesis_attention")
        self.premise_projection = keras.layers.Dense(
            hidden_dim, use_bias=False, name="premise_projection"
        )
        self.memory_dropout = keras.layers.Dropout(dropout, name="memory_dropout")
        self.gru = keras.layers.GRUCell(hidden_dim, name="gru")
        self.classifier = keras.layers.Dense(num_classes, name="classifier")
        self.seed_generator = keras.random.SeedGenerator(seed)
        # === Config ===
        self.num_classes = num_classes
        self.hidden_dim = hidden_dim
        self.num_steps = num_steps
        self.step_dropout = step_dropout
        self.dropout = dropout
        self.seed = seed

    def build(self, sequence_shape, segment_ids_shape=None, padding_mask_shape=None):
        hidden = self.hidden_dim
        self.hypothesis_attention.build(sequence_shape)
        self.premise_projection.build((None, hidden))
        self.gru.build((None, hidden))
        self.classifier.build((None, 4 * hidden))
        self.built = True

    def call(self, sequence, segment_ids, padding_mask, training=None):
        premise_mask, hypothesis_mask = self.memory_masks(segment_ids, padding_mask)
        memory = self.memory_dropout(sequence, training=training)

        alpha = _masked_softmax(ops.squeeze(self.hypothesis_attention(memory), -1), hypothesis_mask)
        state = ops.einsum("bl,blh->bh", alpha, memory)
        step_probabilities = []
        for _ in range(self.num_steps):
            scores = ops.einsum("bh,blh->bl", self.premise_projection(state), memory)
            beta = _masked_softmax(scores, premise_mask)
            summary = ops.einsum("bl,blh->bh", beta, memory)
            state, _ = self.gru(summary, [state], training=training)
            features = ops.concatenate(
                [state, summary, ops.abs(state - summary), state * summary], axis=-1
            )
            step_probabilities.append(ops.softmax(self.classifier(features), axis=-1))
        probabilities = ops.stack(step_probabilities, axis=1)  # (batch, steps, classes)

        if training and self.step_dropout > 0:
            batch = ops.shape(probabilities)[0]
            keep = keras.random.uniform((batch, self.num_steps), seed=self.seed_generator)
            keep = keep >= self.step_dropout
            chosen = keras.random.randint((batch,), 0, self.num_steps, seed=self.seed_generator)
            keep = ops.logical_or(keep, ops.one_hot(chosen, self.num_steps) > 0)
            weights = ops.cast(keep, probabilities.dtype)
        else:
            weights = ops.ones_like(probabilities[:, :, 0])
        weights = weights / ops.sum(weights, axis=1, keepdims=True)
        averaged = ops.einsum("bk,bkc->bc", weights, probabilities)
        return ops.log(ops.maximum(averaged, 1e-12))

    @staticmethod
    def memory_masks(segment_ids, padding_mask):
        """`(premise_mask, hypothesis_mask)`: real tokens of the first and second segment.

        A row whose segment is empty (the pair was truncated away) uses all its real tokens.
        """
        padding_mask = ops.cast(padding_mask, "bool")
        segment_ids = ops.cast(segment_ids, "int32")
        premise = ops.logical_and(padding_mask, segment_ids == 0)
        hypothesis = ops.logical_and(padding_mask, segment_ids == 1)
        return _non_empty(premise, padding_mask), _non_empty(hypothesis, padding_mask)

    def compute_output_shape(self, sequence_shape, *args):
        return (sequence_shape[0], self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "hidden_dim": self.hidden_dim,
                "num_steps": self.num_steps,
                "step_dropout": self.step_dropout,
                "dropout": self.dropout,
                "seed": self.seed,
            }
        )
        return config


def _non_empty(mask, fallback):
    """`mask`, or `fallback` for rows where `mask` selects nothing (a truncated segment)."""
    return ops.where(ops.any(mask, axis=1, keepdims=True), mask, fallback)


def _masked_softmax(scores, mask):
    scores = ops.cast(scores, "float32")
    return ops.softmax(ops.where(mask, scores, _MASKED), axis=-1)
