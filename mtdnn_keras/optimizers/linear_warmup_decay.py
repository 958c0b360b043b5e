"""Linear warm-up then linear decay, the learning-rate schedule of BERT and MT-DNN."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mtdnn_keras")
class LinearWarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Rises linearly from 0 to `peak_learning_rate` over `warmup_steps`, then falls linearly
    to 0 at `total_steps` (and stays there).

    Args:
        peak_learning_rate: float. The rate at the end of warm-up.
        total_steps: int. The step at which the rate reaches 0.
        warmup_steps: int. Length of the warm-up (paper: 10% of `total_steps`).
    """

    def __init__(self, peak_learning_rate, total_steps, warmup_steps):
        self.peak_learning_rate = float(peak_learning_rate)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = ops.maximum(float(self.warmup_steps), 1.0)
        rising = step / warmup
        falling = (self.total_steps - step) / ops.maximum(
            float(self.total_steps - self.warmup_steps), 1.0
        )
        fraction = ops.where(step < self.warmup_steps, rising, falling)
        return self.peak_learning_rate * ops.clip(fraction, 0.0, 1.0)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
        }
