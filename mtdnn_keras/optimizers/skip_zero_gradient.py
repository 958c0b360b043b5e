"""Optimizers that leave a variable untouched when its gradient is all zero.

In a multi-task step only the active task's head receives a gradient. MT-DNN's PyTorch code
skips the other heads (their gradient is `None`); Keras' Adam-family optimizers would still move
them through momentum and weight decay. These optimizers skip them, so an inactive head stays
bit-identical. Bias correction still counts the optimizer's global step.
"""

import keras
import tensorflow as tf
from keras import ops


class SkipZeroGradientMixin:
    """Applies the update step, weight decay included, only where the gradient is non-zero.

    Biases and layer-norm scales and offsets are excluded from weight decay, as in BERT.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])

    def _apply_weight_decay(self, variables):
        pass  # applied per variable inside `update_step`, under the same condition

    def update_step(self, gradient, variable, learning_rate):
        def apply():
            if self.weight_decay is not None and self._use_weight_decay(variable):
                lr = ops.cast(learning_rate, variable.dtype)
                wd = ops.cast(self.weight_decay, variable.dtype)
                variable.assign(variable - variable * wd * lr)
            super(SkipZeroGradientMixin, self).update_step(gradient, variable, learning_rate)
            return tf.constant(True)

        active = tf.reduce_any(tf.not_equal(gradient, 0))
        tf.cond(active, apply, lambda: tf.constant(False))


@keras.saving.register_keras_serializable(package="mtdnn_keras")
class SkipZeroGradientAdamax(SkipZeroGradientMixin, keras.optimizers.Adamax):
    """`keras.optimizers.Adamax` (the paper's optimizer) that skips all-zero gradients."""


@keras.saving.register_keras_serializable(package="mtdnn_keras")
class SkipZeroGradientAdamW(SkipZeroGradientMixin, keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` that skips all-zero gradients."""


def make_optimizer(name, learning_rate, weight_decay=0.01, clipnorm=1.0):
    """The optimizer called `name` (`adamax` or `adamw`), gradients clipped to a global norm."""
    classes = {"adamax": SkipZeroGradientAdamax, "adamw": SkipZeroGradientAdamW}
    if name not in classes:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {', '.join(classes)}")
    return classes[name](
        learning_rate=learning_rate,
        weight_decay=weight_decay or None,
        global_clipnorm=clipnorm,
    )
