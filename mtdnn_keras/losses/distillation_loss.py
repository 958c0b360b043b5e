"""Multi-task knowledge distillation's loss: hard labels and an ensemble's soft targets."""

from __future__ import annotations

import dataclasses

# the training batches' `y` entry of the soft targets `(batch, width)`: zeros for a task
# without them (`MultiTaskData`, `TaskType.train_batches`)
SOFT_TARGET_FIELD = "soft_target"


@dataclasses.dataclass(frozen=True)
class DistillationLoss:
    """The loss of MT-DNN-KD ([Liu et al., 2019, "Improving Multi-Task Deep Neural Networks
    via Knowledge Distillation for Natural Language
    Understanding"](https://arxiv.org/abs/1904.09482)) for the tasks with soft targets:
    `(1 - weight) * hard + weight * soft`, where `hard` is the task's own loss on its labels
    and `soft` its type's loss against the teachers' soft targets
    (`TaskType.soft_target_loss`: cross-entropy against the ensemble's mean class
    probabilities, squared error against its mean score for regression). The paper's rule is
    the average of the two (`weight` 0.5); at `weight` 0 a task trains exactly as without
    soft targets. Other tasks keep their own loss.

    Args:
        tasks: the names of the tasks with soft targets.
        weight: float in [0, 1]. The soft targets' share of the loss.
    """

    tasks: frozenset
    weight: float = 0.5

    def covers(self, task, labels: dict) -> bool:
        return task.name in self.tasks and SOFT_TARGET_FIELD in labels

    def loss(self, task, output, labels: dict, hard):
        """The task's loss, summed over the batch's examples (`output` float32)."""
        soft = labels[SOFT_TARGET_FIELD][:, : task.kind.soft_target_width(task)]
        return (1.0 - self.weight) * hard + self.weight * task.kind.soft_target_loss(
            task, output, soft
        )
