"""Predictions from raw text with a trained multi-task model."""

from __future__ import annotations

from mtdnn_keras.features.example import Example
from mtdnn_keras.inference.prediction_engine import PredictionEngine
from mtdnn_keras.models.model_directory import load_model_directory


class Predictor:
    """Answers raw sentences or sentence pairs for any task of a trained model.

    Args:
        model: `MTDNNModel`.
        tokenizer: its keras-hub tokenizer.
        batch_size: int. Prediction batch size.

    Examples:
    ```python
    predictor = Predictor.load("runs/glue6")
    predictor.predict("rte", ["A man is eating."], ["Someone eats."])
    # [{"label": "entailment", "probabilities": {"entailment": 0.91, "not_entailment": 0.09}}]
    predictor.predict("stsb", ["A plane takes off."], ["An airplane is taking off."])
    # [{"score": 4.6}]
    predictor.predict("squad2", ["Where is Normandy?"], ["Normandy is a region in France."])
    # [{"answer": "France", "best_span": "France", "null_score_diff": -3.1}]
    predictor.predict("swag", ["A man sits at a piano."], ["He"],
                      choices=[["plays a song.", "eats the piano.", "flies.", "is a piano."]])
    # [{"label": 0, "choice": "plays a song.", "probabilities": [0.7, 0.1, 0.1, 0.1]}]
    predictor.predict("conll2003_ner", ["EU rejects German call."])
    # [{"words": ["EU", "rejects", "German", "call", "."], "tags": ["B-ORG", "O", "B-MISC",
    #   "O", "O"], "entities": [{"text": "EU", "type": "ORG", "start": 0, "end": 2}, ...]}]
    ```
    """

    def __init__(self, model, tokenizer, batch_size: int = 64):
        self.model = model
        self.tokenizer = tokenizer
        self.tasks = {task.name: task for task in model.tasks}
        self._engine = PredictionEngine(model, tokenizer, batch_size)

    @classmethod
    def load(cls, model_dir: str, batch_size: int = 64) -> Predictor:
        """A predictor for the model that `fit` wrote to `model_dir`."""
        model, tokenizer = load_model_directory(model_dir)
        return cls(model, tokenizer, batch_size)

    def predict(
        self,
        task_name: str,
        texts_a: list[str],
        texts_b: list[str] | None = None,
        choices: list[list[str]] | None = None,
    ) -> list[dict]:
        """One dict per input: `label` and `probabilities` (classification), `score`
        (regression), `label` and `relevance` (ranking), `answer` (`""` for no answer),
        `best_span` and `null_score_diff` (span: `texts_a` the questions, `texts_b` the
        contexts), `label`, `choice` and `probabilities` (multiple choice: `texts_a` the
        contexts, `texts_b` the optional starts of the endings, `choices` the endings), or
        `words`, their `tags` and, for entity tags, `entities` with their character offsets
        `[start, end)` in the text (sequence labelling: `texts_a` raw texts)."""
        task = self._task(task_name)
        if isinstance(texts_a, str):
            raise TypeError("texts_a must be a list of strings, not one string")
        examples = task.kind.examples_from_text(task, texts_a, texts_b, choices)
        return self.predict_examples(task_name, examples)

    def predict_examples(self, task_name: str, examples: list[Example]) -> list[dict]:
        """As `predict`, for examples read from a file."""
        task = self._task(task_name)
        if not examples:
            return []
        return self._engine.records(task, examples)

    def _task(self, task_name: str):
        if task_name not in self.tasks:
            raise KeyError(f"no task {task_name!r} in this model; it has {sorted(self.tasks)}")
        return self.tasks[task_name]
