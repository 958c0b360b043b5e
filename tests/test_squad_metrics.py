"""SQuAD scoring against cases computed by hand with the official script's rules."""

import pytest

from mtdnn_keras.metrics.squad_metrics import (
    best_threshold,
    exact_match,
    normalize_answer,
    question_scores,
    squad_scores,
    token_f1,
)


def test_normalisation_drops_case_articles_punctuation_and_spacing():
    assert normalize_answer("The  Norman-Conquest, of AN England!") == "normanconquest of england"
    assert normalize_answer("a") == ""
    assert normalize_answer("Theory") == "theory"  # "the" only as a whole word
    assert exact_match("the Eiffel Tower.", "Eiffel tower") == 1.0
    assert exact_match("Eiffel", "Eiffel Tower") == 0.0


def test_token_f1_by_hand():
    # prediction "in the 10th century" -> [in, 10th, century]; reference [10th, 11th, centuries]
    # common {10th}: precision 1/3, recall 1/3, F1 1/3
    assert token_f1("in the 10th century", "10th and 11th centuries") == pytest.approx(
        2 * (1 / 3) * (1 / 4) / (1 / 3 + 1 / 4)
    )
    # repeated tokens count as often as both sides have them: [a, b, b] vs [b, b, b]
    assert token_f1("x y y", "y y y") == pytest.approx(2 * (2 / 3) * (2 / 3) / (4 / 3))
    assert token_f1("", "") == 1.0
    assert token_f1("", "France") == 0.0
    assert token_f1("France", "") == 0.0


def test_best_of_several_references():
    references = ["10th and 11th centuries", "in the 10th and 11th centuries"]
    assert question_scores("in the 10th and 11th centuries", references) == (1.0, 1.0)
    exact, f1 = question_scores("10th and 11th", references)
    assert exact == 0.0
    assert f1 == pytest.approx(2 * 1.0 * 0.75 / 1.75)  # 3 of 4 tokens of the first reference


def test_empty_prediction_against_answerable_and_unanswerable():
    assert question_scores("", []) == (1.0, 1.0)  # unanswerable, no answer given
    assert question_scores("Paris", []) == (0.0, 0.0)  # unanswerable, an answer given
    assert question_scores("", ["Paris"]) == (0.0, 0.0)
    # a reference that normalises to nothing counts as no reference
    assert question_scores("", ["the"]) == (1.0, 1.0)


def test_scores_with_has_and_no_answer_breakdown():
    references = {"q1": ["France"], "q2": ["1066", "in 1066"], "q3": [], "q4": []}
    predictions = {"q1": "france", "q2": "1066 AD", "q3": "", "q4": "Rollo"}
    scores = squad_scores(predictions, references)
    # q1 exact 1 f1 1; q2 exact 0 f1 max(2*.5*1/1.5, 2*.5*.5/1) = 2/3; q3 1/1; q4 0/0
    assert scores["exact"] == pytest.approx(100 * 2 / 4)
    assert scores["f1"] == pytest.approx(100 * (1 + 2 / 3 + 1) / 4)
    assert scores["HasAns_exact"] == pytest.approx(50.0)
    assert scores["HasAns_f1"] == pytest.approx(100 * (1 + 2 / 3) / 2)
    assert scores["NoAns_exact"] == scores["NoAns_f1"] == pytest.approx(50.0)
    assert scores["HasAns_total"] == scores["NoAns_total"] == 2


def test_missing_prediction_is_an_error():
    with pytest.raises(ValueError, match="no prediction for 1 questions"):
        squad_scores({"q1": "x"}, {"q1": ["x"], "q2": ["y"]})


def test_null_threshold_is_tuned_as_the_official_script_does():
    # best spans and their null-score differences (higher: more sure there is no answer)
    has_answer = {"a": True, "b": True, "c": False, "d": False}
    spans = {"a": "x", "b": "y", "c": "z", "d": "w"}
    span_scores = {"a": 1.0, "b": 0.5, "c": 0.0, "d": 0.0}
    null = {"a": -2.0, "b": 1.0, "c": 0.0, "d": 3.0}
    # answering in order a(-2) c(0) b(1) d(3) from "no answer to all" (score 2):
    # a: 3, c: 2, b: 2.5, d: 1.5 -> best 3 at threshold -2
    best, threshold = best_threshold(span_scores, spans, null, has_answer)
    assert best == pytest.approx(100 * 3 / 4)
    assert threshold == -2.0
    # answering nothing is best when every span is wrong: the threshold is below every score
    best, threshold = best_threshold(
        {k: 0.0 for k in spans}, spans, null, {k: False for k in spans}
    )
    assert best == 100.0 and threshold < -2.0
    scores = squad_scores(
        {k: "" for k in spans}, {"a": ["x"], "b": ["y"], "c": [], "d": []}, null, spans
    )
    assert scores["best_exact"] == pytest.approx(75.0)
    assert scores["best_f1_thresh"] == -2.0
