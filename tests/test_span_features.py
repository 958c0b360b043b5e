"""Windows over long contexts, their character offsets, and decoding answers back."""

import numpy as np
import pytest
from conftest import require_data

from mtdnn_keras.data.example_reader import Answer, Example, ExampleReader
from mtdnn_keras.features.span_features import NO_SPAN, SpanFeaturizer, split_words
from mtdnn_keras.task_types.span_decoding import decode_spans
from mtdnn_keras.tasks import TaskRegistry

SQUAD2 = TaskRegistry.builtin().tasks["squad2"]


def long_example(answer_word_index: int):
    words = [f"word{i}" for i in range(120)]
    words[answer_word_index : answer_word_index + 3] = ["Duke", "William's", "army."]
    context = " ".join(words)
    answer = "Duke William's army"
    return Example(
        "Who crossed the channel?",
        context,
        None,
        "q",
        1,
        answers=(Answer(answer, context.index(answer)),),
    )


def window_text(example, features, row):
    start, end = features.positions[row]
    spans = features.char_spans[row]
    return example.text_b[spans[start, 0] : spans[end, 1]]


def test_split_words_keeps_character_offsets():
    text = "Normandy (French: Normandie) — 10th-century, São Paulo."
    words = [text[s:e] for s, e in split_words(text)]
    assert words == [
        "Normandy",
        "(",
        "French",
        ":",
        "Normandie",
        ")",
        "—",
        "10th",
        "-",
        "century",
        ",",
        "São",
        "Paulo",
        ".",
    ]


@pytest.mark.parametrize("answer_word", [0, 20, 37, 55, 117])
def test_windows_recover_the_exact_answer_across_window_edges(minilm_tokenizer, answer_word):
    example = long_example(answer_word)
    featurizer = SpanFeaturizer(
        minilm_tokenizer, max_seq_length=48, doc_stride=16, max_query_length=12
    )
    features = featurizer.featurize([example])
    assert len(features) > 5  # a long context read in many windows
    assert features.token_ids.shape == (len(features), 48)
    labeled = [row for row in range(len(features)) if features.positions[row, 0] != 0]
    assert labeled, "some window holds the whole answer"
    for row in labeled:
        assert window_text(example, features, row) == "Duke William's army"
        assert features.segment_ids[row, features.positions[row, 0]] == 1
    # each context token is predicted from exactly one window (its most-context one)
    whole = featurizer.__class__(minilm_tokenizer, 512, 16, 12).featurize([example])
    assert len(whole) == 1
    context_tokens = int((whole.char_spans[0, :, 0] != NO_SPAN).sum())
    assert int(features.max_context.sum()) == context_tokens


def test_an_answer_cut_by_a_window_edge_is_labeled_only_where_whole(minilm_tokenizer):
    featurizer = SpanFeaturizer(minilm_tokenizer, 48, 16, 12)
    cut = 0
    for answer_word in range(30, 50):  # answers at many offsets from the window edges
        example = long_example(answer_word)
        features = featurizer.featurize([example])
        answer = example.answers[0]
        for row in range(len(features)):
            spans = features.char_spans[row][features.char_spans[row, :, 0] != NO_SPAN]
            first, last = spans[0, 0], spans[-1, 1]
            crosses = first < answer.start + len(answer.text) and last > answer.start
            whole = first <= answer.start and last >= answer.start + len(answer.text)
            if crosses and not whole:
                cut += 1
                assert tuple(features.positions[row]) == (0, 0)
            if whole:
                assert window_text(example, features, row) == answer.text
    assert cut >= 5, "the test needs windows that cut the answer"


def test_unanswerable_questions_point_at_cls(minilm_tokenizer):
    example = Example("Why?", "A short context.", None, "q", 1, answers=())
    features = SpanFeaturizer(minilm_tokenizer, 32, 8, 8).featurize([example])
    assert features.positions.tolist() == [[0, 0]]


def test_real_squad_answers_map_back_exactly(minilm_tokenizer):
    path = require_data("squad2", "dev-v2.0.articles-01-12.json")
    examples = ExampleReader(SQUAD2).read(path, "dev").examples
    features = SpanFeaturizer.for_task(minilm_tokenizer, SQUAD2).featurize(examples)
    rows = [row for row in range(len(features)) if features.positions[row, 0] != 0]
    exact = sum(
        window_text(examples[features.example_index[row]], features, row)
        == examples[features.example_index[row]].answers[0].text
        for row in rows
    )
    answerable = sum(1 for e in examples if e.answers)
    assert len(rows) >= answerable  # every answerable question is labeled in some window
    assert exact / len(rows) > 0.995  # the rest are answers ending inside a word ("90" of "90°")


def decoded(logits_by_position, threshold=0.0, allow_no_answer=True, max_answer_length=30):
    """One window `[CLS] q [SEP] ctx... [SEP]` with given (start, end) logits by position."""
    example = Example("q", "Rollo led the Normans in 911 .", None, "q", 1)
    spans = split_words(example.text_b)
    length = 3 + len(spans) + 1
    from mtdnn_keras.features.span_features import SpanFeatures

    char_spans = np.full((1, length, 2), NO_SPAN, np.int32)
    char_spans[0, 3 : 3 + len(spans)] = spans
    features = SpanFeatures(
        token_ids=np.zeros((1, length), np.int32),
        segment_ids=np.zeros((1, length), np.int32),
        padding_mask=np.ones((1, length), bool),
        positions=np.zeros((1, 2), np.int32),
        example_index=np.zeros(1, np.int64),
        char_spans=char_spans,
        max_context=char_spans[..., 0] != NO_SPAN,
    )
    logits = np.zeros((1, length, 2), np.float32)
    for position, (start, end) in logits_by_position.items():
        logits[0, position] = (start, end)
    return decode_spans(
        [example], features, logits, max_answer_length, 20, threshold, allow_no_answer
    )[0]


def test_decoder_maps_the_best_span_to_characters():
    # tokens: 3 Rollo, 4 led, 5 the, 6 Normans, 7 in, 8 911, 9 .
    prediction = decoded({0: (1.0, 1.0), 3: (5.0, 0.0), 6: (0.0, 4.0), 8: (0.0, 4.5)})
    assert prediction.best_span == "Rollo led the Normans in 911"  # 5 + 4.5 beats 5 + 4
    assert prediction.span_score == pytest.approx(9.5)
    assert prediction.null_score == pytest.approx(2.0)
    assert prediction.null_score_diff == pytest.approx(-7.5)
    assert prediction.answer == prediction.best_span


def test_decoder_respects_order_and_maximum_length():
    # the best end comes before the best start: not a span
    # (start 8 + end 4 = 10 would win if order were not checked)
    assert decoded({8: (5.0, 0.0), 4: (0.0, 5.0), 6: (3.0, 3.0)}).best_span == "Normans"
    short = decoded({3: (5.0, 0.0), 8: (0.0, 5.0), 4: (0.0, 1.0)}, max_answer_length=2)
    assert short.best_span == "Rollo led"


def test_no_answer_threshold():
    logits = {0: (3.0, 3.0), 3: (2.0, 2.0)}  # null 6, best span "Rollo" 4: diff 2
    assert decoded(logits, threshold=0.0).answer == ""
    assert decoded(logits, threshold=1.99).answer == ""
    assert decoded(logits, threshold=2.0).answer == "Rollo"  # null must beat it by more
    assert decoded(logits, threshold=5.0).answer == "Rollo"
    # SQuAD 1.1: every question has an answer, whatever the null score
    assert decoded(logits, threshold=0.0, allow_no_answer=False).answer == "Rollo"
