"""Dev-set evaluation of a multi-task model with each task's official metrics."""

from __future__ import annotations

import dataclasses

import numpy as np

from mtdnn_keras.data.example_reader import Example
from mtdnn_keras.data.multitask_data import eval_dataset
from mtdnn_keras.data.span_features import SpanFeaturizer
from mtdnn_keras.inference.span_decoder import SpanPrediction, decode_spans
from mtdnn_keras.metrics.glue_metrics import compute_metrics, predicted_labels
from mtdnn_keras.metrics.squad_metrics import squad_scores
from mtdnn_keras.tasks.task_definition import TaskDefinition


@dataclasses.dataclass
class EvalSet:
    """One labeled evaluation file; `name` is the task's name or `<task>-<key>` for extra dev sets."""

    name: str
    task: TaskDefinition
    examples: list[Example]


class Evaluator:
    """Predicts every evaluation set and scores it once over the whole set.

    A span task's set is scored by the official SQuAD rules at the task's
    `null_score_threshold` (`exact`, `f1`, and `HasAns_*` / `NoAns_*` breakdowns), and with
    the threshold tuned on the set itself (`best_exact`, `best_f1`, `best_f1_thresh`); the
    tuned thresholds of the last evaluation are in `tuned_thresholds`.

    Args:
        eval_sets: list of `EvalSet`.
        tokenizer: the encoder's tokenizer.
        batch_size: int. Prediction batch size.
    """

    def __init__(self, eval_sets: list[EvalSet], tokenizer, batch_size: int = 64):
        self.eval_sets = eval_sets
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.tuned_thresholds: dict[str, float] = {}
        self._submodels = {}
        self._span_features = {}

    @property
    def primary_metrics(self) -> dict[str, tuple[str, ...]]:
        """Set name to the metrics its task declares (those that select the best epoch)."""
        return {eval_set.name: eval_set.task.metrics for eval_set in self.eval_sets}

    def predict(self, model, task: TaskDefinition, examples: list[Example]) -> np.ndarray:
        """The raw outputs of `task`'s head for `examples`, in order: `(examples, choices)`
        scores for multiple choice, `(windows, max_seq_length, 2)` logits for a span task."""
        key = (id(model), task.name)
        if key not in self._submodels:
            self._submodels[key] = model.task_submodel(task.name)
        submodel = self._submodels[key]
        if task.type == "span":
            inputs = self.span_features(task, examples).inputs()
            return np.asarray(submodel.predict(inputs, batch_size=self.batch_size, verbose=0))
        dataset = eval_dataset(examples, task, self.tokenizer, self.batch_size)
        outputs = np.asarray(submodel.predict(dataset, verbose=0))
        if task.type == "multiple_choice":
            outputs = outputs.reshape(-1, task.num_choices)
        return outputs

    def span_features(self, task: TaskDefinition, examples: list[Example]):
        """The windows of a span task's examples, made once per list of examples."""
        key = (task.name, task.max_seq_length, task.doc_stride, id(examples))
        if key not in self._span_features:
            features = SpanFeaturizer.for_task(self.tokenizer, task).featurize(examples)
            self._span_features[key] = (examples, features)  # keeps the id's list alive
        return self._span_features[key][1]

    def forget_span_features(self) -> None:
        """Drops the cached windows (a long-lived predictor calls this after each request)."""
        self._span_features.clear()

    def answer_spans(
        self, model, task: TaskDefinition, examples: list[Example]
    ) -> list[SpanPrediction]:
        """Decoded answers of a span task, at the task's `null_score_threshold`."""
        logits = self.predict(model, task, examples)
        return decode_spans(
            examples,
            self.span_features(task, examples),
            logits,
            task.max_answer_length,
            task.n_best_size,
            task.null_score_threshold,
            task.allow_no_answer,
        )

    def evaluate(self, model) -> dict[str, dict[str, float]]:
        """`{set name: {metric: value}}`, values on the 0-100 scale."""
        results = {}
        for eval_set in self.eval_sets:
            task = eval_set.task
            if task.type == "span":
                results[eval_set.name] = self._span_scores(model, eval_set)
                continue
            outputs = self.predict(model, task, eval_set.examples)
            labels = np.array([example.label for example in eval_set.examples])
            predictions = predicted_labels(task, outputs)
            results[eval_set.name] = compute_metrics(task, predictions, labels)
        return results

    def _span_scores(self, model, eval_set: EvalSet) -> dict[str, float]:
        task, examples = eval_set.task, eval_set.examples
        predictions = self.answer_spans(model, task, examples)
        references = {e.id: [answer.text for answer in e.answers] for e in examples}
        scores = squad_scores(
            {e.id: p.answer for e, p in zip(examples, predictions)},
            references,
            {e.id: p.null_score_diff for e, p in zip(examples, predictions)}
            if task.allow_no_answer
            else None,
            {e.id: p.best_span for e, p in zip(examples, predictions)},
        )
        scores.pop("total")
        for key in [k for k in scores if k.endswith("_total")]:
            scores.pop(key)
        scores.pop("best_exact_thresh", None)
        if "best_f1_thresh" in scores:
            self.tuned_thresholds[eval_set.name] = scores["best_f1_thresh"]
        return scores


def format_table(results: dict[str, dict[str, float]]) -> str:
    """A plain-text table: one row per task, one column per metric."""
    metrics = sorted({metric for task in results.values() for metric in task})
    header = ["task", *metrics]
    rows = [
        [name, *(f"{values[m]:.2f}" if m in values else "" for m in metrics)]
        for name, values in results.items()
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
