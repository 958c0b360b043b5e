"""The span type's decoding: from start/end logits over windows to answer strings."""

from __future__ import annotations

import dataclasses

import numpy as np

from mtdnn_keras.features.example import Example
from mtdnn_keras.features.span_features import NO_SPAN, SpanFeatures


@dataclasses.dataclass(frozen=True)
class SpanPrediction:
    """The decoded answer of one question.

    Attributes:
        best_span: the highest-scoring non-empty span (`""` if no window offers one).
        span_score: its start + end logit.
        null_score: the lowest `[CLS]` start + end logit over the question's windows.
        null_score_diff: `null_score - span_score`, the "no answer" evidence; the answer is
            empty when it exceeds the threshold.
        answer: `best_span`, or `""` for "no answer".
    """

    best_span: str
    span_score: float
    null_score: float
    null_score_diff: float
    answer: str


def decode_spans(
    examples: list[Example],
    features: SpanFeatures,
    logits: np.ndarray,
    max_answer_length: int = 30,
    n_best_size: int = 20,
    null_score_threshold: float = 0.0,
    allow_no_answer: bool = True,
) -> list[SpanPrediction]:
    """Best answers for `examples` from `logits` `(windows, length, 2)` of their `features`.

    Per window, the `n_best_size` best starts and ends are paired into spans of context
    tokens with start ≤ end, at most `max_answer_length` tokens, starting where the window
    gives the start token its most context. The best span over all windows is mapped back to
    the context's characters; it is the answer unless `allow_no_answer` and the null score
    beats it by more than `null_score_threshold`.
    """
    if len(logits) != len(features):
        raise ValueError(f"{len(logits)} rows of logits for {len(features)} windows")
    best = [(-np.inf, None) for _ in examples]  # (score, (window, start, end))
    null = [np.inf for _ in examples]
    length = min(logits.shape[1], features.char_spans.shape[1])
    for window in range(len(features)):
        index = features.example_index[window]
        start_logits = logits[window, :length, 0]
        end_logits = logits[window, :length, 1]
        null[index] = min(null[index], float(start_logits[0] + end_logits[0]))
        in_context = features.char_spans[window, :length, 0] != NO_SPAN
        starts = _top(start_logits, in_context & features.max_context[window, :length], n_best_size)
        ends = _top(end_logits, in_context, n_best_size)
        for start in starts:
            for end in ends:
                if end < start or end - start + 1 > max_answer_length:
                    continue
                score = float(start_logits[start] + end_logits[end])
                if score > best[index][0]:
                    best[index] = (score, (window, start, end))
    predictions = []
    for index, example in enumerate(examples):
        score, where = best[index]
        if where is None:
            text, score = "", -np.inf
        else:
            window, start, end = where
            begin = features.char_spans[window, start, 0]
            finish = features.char_spans[window, end, 1]
            text = example.text_b[begin:finish]
        diff = null[index] - score
        empty = allow_no_answer and (where is None or diff > null_score_threshold)
        predictions.append(SpanPrediction(text, score, null[index], diff, "" if empty else text))
    return predictions


def _top(values: np.ndarray, allowed: np.ndarray, count: int) -> np.ndarray:
    candidates = np.flatnonzero(allowed)
    if len(candidates) > count:
        candidates = candidates[np.argsort(-values[candidates], kind="stable")[:count]]
    return candidates
