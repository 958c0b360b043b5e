"""mtdnn-keras: Multi-Task Deep Neural Networks for NLU on Keras 3 / TensorFlow."""

__version__ = "0.1.0"

from mtdnn_keras.data.example_reader import DataError, Example, ExampleReader
from mtdnn_keras.data.mixing_strategy import MixingStrategy
from mtdnn_keras.data.multitask_data import MultiTaskData
from mtdnn_keras.encoders.encoder_loader import load_encoder
from mtdnn_keras.inference.predictor import Predictor
from mtdnn_keras.layers.san_answer_module import SANAnswerModule
from mtdnn_keras.models.model_directory import load_model_directory
from mtdnn_keras.models.mtdnn_model import MTDNNModel
from mtdnn_keras.optimizers.linear_warmup_decay import LinearWarmupDecay
from mtdnn_keras.optimizers.skip_zero_gradient import (
    SkipZeroGradientAdamax,
    SkipZeroGradientAdamW,
    make_optimizer,
)
from mtdnn_keras.tasks import TaskDefinition, TaskDefinitionError, TaskRegistry
from mtdnn_keras.training.multitask_trainer import evaluate, fit, predict_file
from mtdnn_keras.training.training_config import TrainingConfig

__all__ = [
    "DataError",
    "Example",
    "ExampleReader",
    "LinearWarmupDecay",
    "MTDNNModel",
    "MixingStrategy",
    "MultiTaskData",
    "Predictor",
    "SANAnswerModule",
    "SkipZeroGradientAdamW",
    "SkipZeroGradientAdamax",
    "TaskDefinition",
    "TaskDefinitionError",
    "TaskRegistry",
    "TrainingConfig",
    "evaluate",
    "fit",
    "load_encoder",
    "load_model_directory",
    "make_optimizer",
    "predict_file",
]
