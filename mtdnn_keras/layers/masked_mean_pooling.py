"""Mean of the token vectors of real (non-padding) tokens."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mtdnn_keras")
class MaskedMeanPooling(keras.layers.Layer):
    """Averages `sequence_output` over the positions where `padding_mask` is true.

    The pooling that sentence-embedding encoders such as all-MiniLM-L6-v2 were trained with;
    their `[CLS]` vector carries little on its own.

    Examples:
    ```python
    pooled = MaskedMeanPooling()(sequence_output, padding_mask)  # (batch, hidden)
    ```
    """

    def call(self, sequence, padding_mask):
        weights = ops.cast(ops.expand_dims(padding_mask, -1), sequence.dtype)
        total = ops.sum(sequence * weights, axis=1)
        return total / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def compute_output_shape(self, sequence_shape, padding_mask_shape=None):
        return (sequence_shape[0], sequence_shape[-1])
