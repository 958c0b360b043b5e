"""SQuAD 1.1 / 2.0 scores with the official evaluation script's rules (`evaluate-v2.0.py`)."""

from __future__ import annotations

import collections
import re
import string

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, punctuation and the articles a/an/the removed, white space collapsed."""
    text = "".join(char for char in text.lower() if char not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, reference: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(reference))


def token_f1(prediction: str, reference: str) -> float:
    """F1 of the normalised tokens; 1 when both are empty, 0 when only one is."""
    predicted = normalize_answer(prediction).split()
    gold = normalize_answer(reference).split()
    if not predicted or not gold:
        return float(predicted == gold)
    common = sum((collections.Counter(predicted) & collections.Counter(gold)).values())
    if common == 0:
        return 0.0
    precision = common / len(predicted)
    recall = common / len(gold)
    return 2 * precision * recall / (precision + recall)


def question_scores(prediction: str, references: list[str]) -> tuple[float, float]:
    """Exact match and F1 against the best of `references`; an unanswerable question's only
    reference is the empty answer."""
    references = [r for r in references if normalize_answer(r)] or [""]
    return (
        max(exact_match(prediction, r) for r in references),
        max(token_f1(prediction, r) for r in references),
    )


def squad_scores(
    predictions: dict[str, str],
    references: dict[str, list[str]],
    null_scores: dict[str, float] | None = None,
    best_spans: dict[str, str] | None = None,
) -> dict[str, float]:
    """The official script's output on the 0-100 scale.

    Args:
        predictions: question id to the predicted answer (`""` for no answer).
        references: question id to its reference answers (empty for unanswerable).
        null_scores: question id to how much the no-answer score beats the best span
            (the script's `na_prob`): with `best_spans`, also tunes the threshold.
        best_spans: question id to the best non-empty span, answered when the question's
            null score is at most the threshold.

    Returns:
        `exact`, `f1`, `total`, `HasAns_exact`, `HasAns_f1`, `HasAns_total`, `NoAns_exact`,
        `NoAns_f1`, `NoAns_total` (the breakdowns where such questions exist), and with
        `null_scores`: `best_exact`, `best_exact_thresh`, `best_f1`, `best_f1_thresh`.
    """
    missing = [qid for qid in references if qid not in predictions]
    if missing:
        raise ValueError(f"no prediction for {len(missing)} questions, e.g. {missing[0]!r}")
    exact, f1 = {}, {}
    for qid, refs in references.items():
        exact[qid], f1[qid] = question_scores(predictions[qid], refs)
    has_answer = {qid: any(normalize_answer(r) for r in refs) for qid, refs in references.items()}
    result = _mean_scores(exact, f1, list(references))
    for name, wanted in (("HasAns", True), ("NoAns", False)):
        ids = [qid for qid in references if has_answer[qid] == wanted]
        if ids:
            for key, value in _mean_scores(exact, f1, ids).items():
                result[f"{name}_{key}"] = value
    if null_scores is not None and best_spans is not None:
        for position, name in enumerate(("exact", "f1")):
            span_scores = {
                qid: question_scores(best_spans[qid], references[qid])[position]
                for qid in references
            }
            best, threshold = best_threshold(span_scores, best_spans, null_scores, has_answer)
            result[f"best_{name}"] = best
            result[f"best_{name}_thresh"] = threshold
    return result


def best_threshold(
    span_scores: dict[str, float],
    best_spans: dict[str, str],
    null_scores: dict[str, float],
    has_answer: dict[str, bool],
) -> tuple[float, float]:
    """The threshold on the null score that maximises the mean score, and that score.

    Starting from "no answer to anything", questions are answered in order of increasing
    null score; answering one adds its span's score if it has an answer and costs 1 if it has
    none (the official `find_best_thresh`). A question is answered when its null score is at
    most the returned threshold.
    """
    score = sum(1 for qid in span_scores if not has_answer[qid])
    best_score = score
    ordered = sorted(span_scores, key=lambda qid: null_scores[qid])
    threshold = null_scores[ordered[0]] - 1.0 if ordered else 0.0
    for qid in ordered:
        if has_answer[qid]:
            score += span_scores[qid]
        elif best_spans[qid]:
            score -= 1
        if score > best_score:
            best_score, threshold = score, null_scores[qid]
    return 100.0 * best_score / max(len(span_scores), 1), float(threshold)


def _mean_scores(exact, f1, ids) -> dict[str, float]:
    return {
        "exact": 100.0 * sum(exact[qid] for qid in ids) / len(ids),
        "f1": 100.0 * sum(f1[qid] for qid in ids) / len(ids),
        "total": float(len(ids)),
    }
