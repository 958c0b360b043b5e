"""mtdnn-keras: Multi-Task Deep Neural Networks for NLU on Keras 3 / TensorFlow.

The public names below are imported on first use, so that `import mtdnn_keras` (and the
command line's `--help`) does not start TensorFlow.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "DataError": "mtdnn_keras.data.example_reader",
    "Example": "mtdnn_keras.features.example",
    "ExampleReader": "mtdnn_keras.data.example_reader",
    "MixingStrategy": "mtdnn_keras.data.mixing_strategy",
    "MultiTaskData": "mtdnn_keras.data.multitask_data",
    "distribute_batches": "mtdnn_keras.distribute.replica_batches",
    "make_strategy": "mtdnn_keras.distribute.strategy",
    "load_encoder": "mtdnn_keras.encoders.encoder_loader",
    "AdaptConfig": "mtdnn_keras.experiments.domain_adaptation",
    "adapt": "mtdnn_keras.experiments.domain_adaptation",
    "run_experiment": "mtdnn_keras.experiments.experiment_runner",
    "export_encoder_preset": "mtdnn_keras.export.encoder_preset",
    "export_model_folder": "mtdnn_keras.export.model_folder",
    "export_saved_model": "mtdnn_keras.export.saved_model",
    "SavedModelPredictor": "mtdnn_keras.export.saved_model_predictor",
    "Predictor": "mtdnn_keras.inference.predictor",
    "MaskedMeanPooling": "mtdnn_keras.layers.masked_mean_pooling",
    "SANAnswerModule": "mtdnn_keras.layers.san_answer_module",
    "load_model_directory": "mtdnn_keras.models.model_directory",
    "MTDNNModel": "mtdnn_keras.models.mtdnn_model",
    "LinearWarmupDecay": "mtdnn_keras.optimizers.linear_warmup_decay",
    "SkipZeroGradientAdamax": "mtdnn_keras.optimizers.skip_zero_gradient",
    "SkipZeroGradientAdamW": "mtdnn_keras.optimizers.skip_zero_gradient",
    "make_optimizer": "mtdnn_keras.optimizers.skip_zero_gradient",
    "TaskDefinition": "mtdnn_keras.tasks.task_definition",
    "TaskDefinitionError": "mtdnn_keras.tasks.task_definition",
    "TaskRegistry": "mtdnn_keras.tasks.task_registry",
    "evaluate": "mtdnn_keras.training.multitask_trainer",
    "fit": "mtdnn_keras.training.multitask_trainer",
    "predict_file": "mtdnn_keras.training.multitask_trainer",
    "train": "mtdnn_keras.training.multitask_trainer",
    "StartingPoint": "mtdnn_keras.training.starting_point",
    "TrainingConfig": "mtdnn_keras.training.training_config",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mtdnn_keras' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
