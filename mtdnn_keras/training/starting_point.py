"""Where a training run starts: a plain encoder, or a trained multi-task model."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from mtdnn_keras.encoders.encoder_loader import (
    PACKAGED_ENCODERS,
    encoder_location,
    exported_pooling,
    load_encoder,
)
from mtdnn_keras.models.model_directory import load_model_directory
from mtdnn_keras.models.mtdnn_model import MTDNNModel
from mtdnn_keras.tasks.task_definition import TaskDefinition
from mtdnn_keras.training.run_plan import starting_definitions


@dataclasses.dataclass
class StartingPoint:
    """The weights a run starts from, kept as arrays so that many runs can each build a fresh
    copy (domain adaptation trains dozens of models from one starting point).

    Attributes:
        description: `encoder minilm` or `model runs/mtl`, for reports.
        backbone_class / backbone_config / backbone_weights: the shared encoder.
        tokenizer: its keras-hub tokenizer.
        pooling: what the starting model's linear heads read (`None` for a plain encoder:
            the run's own `--pooling` decides).
        tasks / head_weights: the starting model's task definitions and head weights, by name
            (empty for a plain encoder).
    """

    description: str
    backbone_class: type
    backbone_config: dict
    backbone_weights: list[np.ndarray]
    tokenizer: object
    pooling: str | None = None
    tasks: dict[str, TaskDefinition] = dataclasses.field(default_factory=dict)
    head_weights: dict[str, list[np.ndarray]] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_encoder(cls, spec: str) -> StartingPoint:
        """A plain pre-trained encoder (`minilm`, a folder or a keras-hub preset)."""
        backbone, tokenizer = load_encoder(spec)
        return cls(
            description=f"encoder {spec}",
            backbone_class=type(backbone),
            backbone_config=backbone.get_config(),
            backbone_weights=backbone.get_weights(),
            tokenizer=tokenizer,
            # a refined encoder exported as a preset keeps the pooling it was trained with
            pooling=exported_pooling(encoder_location(spec)),
        )

    @classmethod
    def from_model(cls, directory: str | Path) -> StartingPoint:
        """A model folder written by `fit` (the refined shared encoder and its heads)."""
        model, tokenizer = load_model_directory(directory)
        return cls(
            description=f"model {directory}",
            backbone_class=type(model.backbone),
            backbone_config=model.backbone.get_config(),
            backbone_weights=model.backbone.get_weights(),
            tokenizer=tokenizer,
            pooling=model.pooling,
            tasks={task.name: task for task in model.tasks},
            head_weights={name: head.get_weights() for name, head in model.task_heads.items()},
        )

    @classmethod
    def for_config(cls, config) -> StartingPoint:
        """The start a `TrainingConfig` names: its `init_model` if set, else its `encoder`."""
        if config.init_model:
            return cls.from_model(config.init_model)
        return cls.from_encoder(config.encoder)

    def default_pooling(self, requested: str, encoder: str) -> str:
        """`requested` unless it is `auto`: then the starting model's own, or the encoder's."""
        if requested != "auto":
            return requested
        if self.pooling is not None:
            return self.pooling
        return "mean" if encoder.lower() in PACKAGED_ENCODERS else "cls"

    def task_definitions(self, tasks: list[TaskDefinition]) -> list[TaskDefinition]:
        """`tasks`, with the starting model's definition of those it already has a head for
        (its head layout and labels must match the weights), keeping the run's length limit,
        which the encoder must have room for."""
        self.check_lengths(tasks)
        return starting_definitions(tasks, self.tasks)

    def check_lengths(self, tasks: list[TaskDefinition]) -> None:
        """Refuses a task whose length limit exceeds the positions the encoder has."""
        limit = self.backbone_config.get("max_sequence_length")
        for task in tasks:
            if limit is not None and task.max_seq_length > limit:
                raise ValueError(
                    f"task {task.name}: max_seq_length {task.max_seq_length} (--max-seq-length "
                    f"or its task file) exceeds the {limit} positions of {self.description}"
                )

    def build_model(
        self,
        tasks: list[TaskDefinition],
        pooling: str,
        reuse_heads: bool = True,
        keep_other_heads: bool = True,
        precision: str = "float32",
    ) -> MTDNNModel:
        """A fresh model: a copy of the starting encoder and a head for each of `tasks`.

        With `reuse_heads`, a task the starting model has keeps its trained head (fine-tuning);
        otherwise every head of `tasks` starts new (domain adaptation). With
        `keep_other_heads`, the starting model's other heads come along unchanged after
        `tasks` (so the task ids of `tasks` are their positions, as `MultiTaskData` numbers
        them), and the saved model still answers every task it could before.

        `precision` is the encoder's Keras dtype policy (`mixed_bfloat16`: bfloat16 compute,
        float32 weights); the heads compute in float32 whatever it is.
        """
        backbone = self.backbone_class.from_config({**self.backbone_config, "dtype": precision})
        backbone.set_weights(self.backbone_weights)
        names = {task.name for task in tasks}
        others = [t for n, t in self.tasks.items() if n not in names] if keep_other_heads else []
        model = MTDNNModel(backbone, [*tasks, *others], pooling=pooling)
        for task in [*tasks, *others]:
            reused = reuse_heads or task.name not in names
            if reused and task.name in self.head_weights:
                model.task_heads[task.name].set_weights(self.head_weights[task.name])
        return model
