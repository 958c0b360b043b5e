"""Span extraction: the answer to a question as a span of its context (SQuAD)."""

from __future__ import annotations

import numpy as np

from mtdnn_keras.task_types.task_type import LabelField, PreparedInputs, TaskType

SPAN_FIELDS = (
    "doc_stride",
    "max_query_length",
    "max_answer_length",
    "n_best_size",
    "allow_no_answer",
    "null_score_threshold",
)


class SpanExtraction(TaskType):
    """Start and end logits per token `(batch, length, 2)` (padding at -10000); contexts
    longer than `max_seq_length` are read in windows `doc_stride` apart, and `[CLS]` stands
    for "no answer". Metrics: SQuAD's `exact` and `f1`, scored by the official rules at the
    task's `null_score_threshold`, with `HasAns_*` / `NoAns_*` breakdowns and the threshold
    tuned on the set (`best_exact`, `best_f1`, `best_f1_thresh`), which `fit` stores with the
    best model."""

    name = "span"
    metrics = ("exact", "f1")
    default_metrics = ("exact", "f1")
    has_labels = False
    reader_formats = ("squad",)
    own_fields = SPAN_FIELDS
    label_fields = {"span": LabelField((2,), "int32")}

    def check(self, task, fail) -> None:
        super().check(task, fail)
        if task.max_query_length + 3 >= task.max_seq_length:
            raise fail(
                "max_query_length",
                f"{task.max_query_length} leaves no room for the context in "
                f"max_seq_length {task.max_seq_length}",
            )

    def with_max_seq_length(self, task, length):
        # the question keeps at most half of it
        query = min(task.max_query_length, length // 2)
        return {**task.to_dict(), "max_seq_length": length, "max_query_length": query}

    def describe(self, task) -> str:
        return "answer span"

    def num_outputs(self, task) -> int:
        return 2

    def is_pair(self, task) -> bool:
        return True

    def head_output(self, task, dropout, head, encoded, inputs):
        from keras import ops

        out = head(dropout(encoded["sequence_output"]))
        mask = ops.expand_dims(inputs["padding_mask"], -1)
        return ops.where(mask, out, ops.full_like(out, -10000.0))

    def loss(self, task, output, y):
        from mtdnn_keras.losses.cross_entropy import summed_cross_entropy

        positions = y["span"]
        return summed_cross_entropy(positions[:, 0], output[..., 0]) + summed_cross_entropy(
            positions[:, 1], output[..., 1]
        )

    def train_batches(self, task, examples, batcher, index):
        import tensorflow as tf

        from mtdnn_keras.features.span_features import SpanFeaturizer
        from mtdnn_keras.features.text_pair_encoder import cut_to_length

        features = SpanFeaturizer.for_task(batcher.tokenizer, task).featurize(examples)
        encoded = tf.data.Dataset.from_tensor_slices(
            (features.inputs(), {"span": features.positions})
        ).map(cut_to_length)
        lengths = features.padding_mask.sum(axis=1)
        return batcher.length_batches(index, task, encoded.cache(), lengths)

    def prediction_inputs(self, task, examples, tokenizer, batch_size):
        import tensorflow as tf

        from mtdnn_keras.features.span_features import SpanFeaturizer

        features = SpanFeaturizer.for_task(tokenizer, task).featurize(examples)
        batches = tf.data.Dataset.from_tensor_slices(features.inputs()).batch(batch_size)
        return PreparedInputs(batches, features)

    def decode(self, task, outputs, examples, prepared):
        from mtdnn_keras.task_types.span_decoding import decode_spans

        return decode_spans(
            examples,
            prepared.state,
            np.concatenate(outputs),
            task.max_answer_length,
            task.n_best_size,
            task.null_score_threshold,
            task.allow_no_answer,
        )

    def records(self, task, predictions, examples):
        return [
            {
                "answer": span.answer,
                "best_span": span.best_span,
                "null_score_diff": float(span.null_score_diff),
            }
            for span in predictions
        ]

    def submission_value(self, task, record) -> str:
        return record["answer"]

    def official_json(self, task, examples, records):
        return {example.id: record["answer"] for example, record in zip(examples, records)}

    def scores(self, task, predictions, examples):
        from mtdnn_keras.metrics.squad_metrics import squad_scores

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
        return scores

    def tuned_fields(self, scores):
        if "best_f1_thresh" not in scores:
            return {}
        return {"null_score_threshold": scores["best_f1_thresh"]}

    def serving_outputs(self, task, output, inputs):
        """Logits, and the answer of a one-window question as `decode_spans` finds it: the
        best span of context tokens (segment 1, not `[SEP]`) with start <= end and at most
        `max_answer_length` tokens, searched over all pairs; `null_score_diff` = `[CLS]` score
        - span score; `has_answer` unless that exceeds the task's tuned threshold."""
        import tensorflow as tf

        token_ids, segment_ids, padding_mask, sep_token_id = inputs
        logits = tf.cast(output, tf.float32)
        start_logits, end_logits = logits[..., 0], logits[..., 1]
        context = (segment_ids == 1) & (padding_mask != 0) & (token_ids != sep_token_id)
        position = tf.range(tf.shape(token_ids)[1])
        gap = position[None, :] - position[:, None]  # end - start, (start, end)
        allowed = (gap >= 0) & (gap < task.max_answer_length)
        allowed = allowed[None] & context[:, :, None] & context[:, None, :]
        scores = start_logits[:, :, None] + end_logits[:, None, :]
        scores = tf.where(allowed, scores, tf.fill(tf.shape(scores), -1e30))
        length = tf.shape(token_ids)[1]
        best = tf.argmax(
            tf.reshape(scores, [tf.shape(scores)[0], -1]), axis=-1, output_type=tf.int32
        )
        span_score = tf.reduce_max(scores, axis=[1, 2])
        null_score_diff = start_logits[:, 0] + end_logits[:, 0] - span_score
        has_answer = tf.reduce_any(context, axis=1)
        if task.allow_no_answer:
            has_answer &= null_score_diff <= task.null_score_threshold
        return {
            "start_logits": start_logits,
            "end_logits": end_logits,
            "start_index": best // length,
            "end_index": best % length,
            "null_score_diff": null_score_diff,
            "has_answer": has_answer,
        }

    def per_token_outputs(self):
        return ("start_logits", "end_logits")

    def has_text_signature(self, task) -> bool:
        return False  # its text form needs windows: the ids signature only
