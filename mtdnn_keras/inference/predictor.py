"""Predictions from raw text with a trained multi-task model."""

from __future__ import annotations

import numpy as np

from mtdnn_keras.data.example_reader import Example
from mtdnn_keras.metrics.glue_metrics import predicted_labels
from mtdnn_keras.models.model_directory import load_model_directory
from mtdnn_keras.training.evaluator import Evaluator


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
    ```
    """

    def __init__(self, model, tokenizer, batch_size: int = 64):
        self.model = model
        self.tokenizer = tokenizer
        self.tasks = {task.name: task for task in model.tasks}
        self._evaluator = Evaluator([], tokenizer, batch_size)

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
        contexts), or `label`, `choice` and `probabilities` (multiple choice: `texts_a` the
        contexts, `texts_b` the optional starts of the endings, `choices` the endings)."""
        if task_name not in self.tasks:
            raise KeyError(f"no task {task_name!r} in this model; it has {sorted(self.tasks)}")
        task = self.tasks[task_name]
        if isinstance(texts_a, str):
            raise TypeError("texts_a must be a list of strings, not one string")
        if task.type == "multiple_choice":
            if choices is None or len(choices) != len(texts_a):
                raise ValueError(f"task '{task_name}' needs choices: a list of endings per context")
            wrong = [i for i, c in enumerate(choices) if len(c) != task.num_choices]
            if wrong:
                raise ValueError(
                    f"task '{task_name}' scores {task.num_choices} choices; input {wrong[0]} has "
                    f"{len(choices[wrong[0]])}"
                )
            examples = [
                Example(a, texts_b[i] if texts_b else None, None, str(i), i, choices=tuple(c))
                for i, (a, c) in enumerate(zip(texts_a, choices))
            ]
            return self.predict_examples(task_name, examples)
        if task.is_pair_task and (texts_b is None or len(texts_b) != len(texts_a)):
            raise ValueError(
                f"task '{task_name}' takes sentence pairs: give texts_b, one for each of texts_a"
            )
        if not task.is_pair_task and texts_b is not None:
            raise ValueError(f"task '{task_name}' takes single sentences: texts_b must be None")
        examples = [
            Example(a, texts_b[i] if texts_b is not None else None, None, str(i), i)
            for i, a in enumerate(texts_a)
        ]
        return self.predict_examples(task_name, examples)

    def predict_examples(self, task_name: str, examples: list[Example]) -> list[dict]:
        """As `predict`, for examples read from a file."""
        task = self.tasks[task_name]
        if not examples:
            return []
        if task.type == "span":
            spans = self._evaluator.answer_spans(self.model, task, examples)
            self._evaluator.forget_span_features()
            return [
                {
                    "answer": span.answer,
                    "best_span": span.best_span,
                    "null_score_diff": float(span.null_score_diff),
                }
                for span in spans
            ]
        outputs = self._evaluator.predict(self.model, task, examples)
        predictions = predicted_labels(task, outputs)
        results = []
        for example, output, prediction in zip(examples, outputs, predictions):
            if task.type == "regression":
                results.append({"score": float(prediction)})
            elif task.type == "ranking":
                results.append({"label": task.labels[int(prediction)], "relevance": float(output)})
            elif task.type == "multiple_choice":
                probabilities = np.exp(output - output.max())
                probabilities /= probabilities.sum()
                results.append(
                    {
                        "label": int(prediction),
                        "choice": example.choices[int(prediction)],
                        "probabilities": [float(p) for p in probabilities],
                    }
                )
            else:
                probabilities = np.exp(output - output.max())
                probabilities /= probabilities.sum()
                results.append(
                    {
                        "label": task.labels[int(prediction)],
                        "probabilities": dict(zip(task.labels, map(float, probabilities))),
                    }
                )
        return results
