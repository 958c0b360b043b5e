"""Optimizers that leave a variable untouched when its gradient is all zero.

In a multi-task step only the active task's head receives a gradient. MT-DNN's PyTorch code
skips the other heads (their gradient is `None`): no momentum, no weight decay, and each
parameter counts its own steps for bias correction. Keras' Adam-family optimizers would move
every head through momentum and weight decay, and bias-correct with the global step, which
mis-sizes the early updates of a head whose task is rarely drawn. These optimizers keep the
reference semantics, so an inactive head stays bit-identical.
"""

import keras
import tensorflow as tf
from keras import ops


class SkipZeroGradientOptimizer:
    """Mixin: updates (weight decay included) only where the gradient is non-zero, with a
    step count per variable for bias correction. Biases and layer-norm scales and offsets are
    excluded from weight decay, as in BERT."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._variable_steps = [
            self.add_variable(shape=(), dtype="int64", initializer="zeros", name="variable_step")
            for _ in var_list
        ]

    def _clip_gradients(self, grads):
        """Clips the gradient summed over replicas, as on one device. Keras clips each
        replica's gradient before the optimizer sums them, which, with the global norm
        clipped to 1 as MT-DNN's is, makes mirrored training differ from one device."""
        context = tf.distribute.get_replica_context()
        if not self.global_clipnorm or context is None or context.num_replicas_in_sync == 1:
            return super()._clip_gradients(grads)
        summed = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
        norm = tf.linalg.global_norm(summed)
        scale = tf.minimum(1.0, self.global_clipnorm / tf.maximum(norm, 1e-12))
        return [gradient * tf.cast(scale, gradient.dtype) for gradient in grads]

    def _apply_weight_decay(self, variables):
        pass  # applied per variable inside `update_step`, under the same condition

    def update_step(self, gradient, variable, learning_rate):
        def apply():
            step = self._variable_steps[self._get_variable_index(variable)]
            self.assign_add(step, ops.ones((), "int64"))
            lr = ops.cast(learning_rate, variable.dtype)
            if self.weight_decay and self._use_weight_decay(variable):
                wd = ops.cast(self.weight_decay, variable.dtype)
                self.assign_sub(variable, variable * wd * lr)
            self._update(
                ops.cast(gradient, variable.dtype), variable, lr, ops.cast(step, variable.dtype)
            )
            return tf.constant(True)

        tf.cond(tf.reduce_any(tf.not_equal(gradient, 0)), apply, lambda: tf.constant(False))


@keras.saving.register_keras_serializable(package="mtdnn_keras")
class SkipZeroGradientAdamax(SkipZeroGradientOptimizer, keras.optimizers.Adamax):
    """`keras.optimizers.Adamax` (the paper's optimizer) that skips all-zero gradients."""

    def _update(self, gradient, variable, lr, step):
        index = self._get_variable_index(variable)
        m, u = self._m[index], self._u[index]
        self.assign_add(m, (gradient - m) * (1 - self.beta_1))
        self.assign(u, ops.maximum(self.beta_2 * u, ops.abs(gradient)))
        correction = 1 - ops.power(ops.cast(self.beta_1, variable.dtype), step)
        self.assign_sub(variable, lr * m / (correction * (u + self.epsilon)))


@keras.saving.register_keras_serializable(package="mtdnn_keras")
class SkipZeroGradientAdamW(SkipZeroGradientOptimizer, keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` that skips all-zero gradients (`amsgrad` is not supported)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.amsgrad:
            raise ValueError("SkipZeroGradientAdamW does not support amsgrad")

    def _update(self, gradient, variable, lr, step):
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        beta_1_power = ops.power(ops.cast(self.beta_1, variable.dtype), step)
        beta_2_power = ops.power(ops.cast(self.beta_2, variable.dtype), step)
        alpha = lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        self.assign_add(m, (gradient - m) * (1 - self.beta_1))
        self.assign_add(v, (ops.square(gradient) - v) * (1 - self.beta_2))
        self.assign_sub(variable, m * alpha / (ops.sqrt(v) + self.epsilon))


def make_optimizer(
    name, learning_rate, weight_decay=0.01, clipnorm=1.0, gradient_accumulation_steps=1
):
    """The optimizer called `name` (`adamax` or `adamw`), gradients clipped to a global norm.

    With `gradient_accumulation_steps` N > 1 it updates the weights every N batches, with the
    mean of their gradients (Keras' own accumulation; a head none of the N batches trained
    is still skipped). The learning-rate schedule counts batches."""
    classes = {"adamax": SkipZeroGradientAdamax, "adamw": SkipZeroGradientAdamW}
    if name not in classes:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {', '.join(classes)}")
    if gradient_accumulation_steps < 1:
        raise ValueError(
            f"gradient_accumulation_steps must be at least 1, not {gradient_accumulation_steps}"
        )
    return classes[name](
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        global_clipnorm=clipnorm,
        gradient_accumulation_steps=gradient_accumulation_steps
        if gradient_accumulation_steps > 1
        else None,
    )
