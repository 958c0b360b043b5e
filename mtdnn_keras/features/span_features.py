"""Question + context windows for span extraction, with each token's place in the context."""

from __future__ import annotations

import dataclasses
import unicodedata

import numpy as np

from mtdnn_keras.features.example import Example
from mtdnn_keras.features.text_pair_encoder import piece_ids

NO_SPAN = -1


@dataclasses.dataclass
class SpanFeatures:
    """The windows of a list of span examples, as arrays (one row per window).

    Attributes:
        token_ids, segment_ids: `(windows, max_seq_length)` int32, padded with 0.
        padding_mask: `(windows, max_seq_length)` bool.
        positions: `(windows, 2)` int32. The answer's first and last token in the window,
            `(0, 0)` (`[CLS]`) when the window holds no answer (or the example is unlabeled).
        example_index: `(windows,)` int. The example each window comes from.
        char_spans: `(windows, max_seq_length, 2)` int32. The context characters
            `[start, end)` of each context token; `NO_SPAN` for other tokens.
        max_context: `(windows, max_seq_length)` bool. Whether this window is the one where
            the token has the most context on both sides (BERT's rule: a token in several
            windows is predicted from that one only).
    """

    token_ids: np.ndarray
    segment_ids: np.ndarray
    padding_mask: np.ndarray
    positions: np.ndarray
    example_index: np.ndarray
    char_spans: np.ndarray
    max_context: np.ndarray

    def __len__(self) -> int:
        return len(self.example_index)

    def inputs(self) -> dict[str, np.ndarray]:
        return {
            "token_ids": self.token_ids,
            "segment_ids": self.segment_ids,
            "padding_mask": self.padding_mask,
        }


class SpanFeaturizer:
    """Splits each question + context into `[CLS] question [SEP] window [SEP]` windows.

    Contexts are split into words at white space and punctuation, and each word is
    tokenised with the encoder's keras-hub tokenizer, so each token knows the characters it
    came from. Questions are cut to `max_query_length` tokens; a context longer than the rest
    of `max_seq_length` is read in windows whose starts are `doc_stride` tokens apart (BERT's
    `run_squad.py` rule). Training labels point at the first reference answer's tokens in
    each window that holds all of it, else at `[CLS]`.

    Args:
        tokenizer: `keras_hub.models.BertTokenizer`.
        max_seq_length: int. Window length, special tokens included.
        doc_stride: int. Tokens between the starts of consecutive windows.
        max_query_length: int. Longest question, in tokens.
    """

    def __init__(self, tokenizer, max_seq_length=384, doc_stride=128, max_query_length=64):
        if max_query_length + 3 >= max_seq_length:
            raise ValueError(
                f"max_query_length {max_query_length} leaves no room for the context in "
                f"max_seq_length {max_seq_length}"
            )
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        self.doc_stride = doc_stride
        self.max_query_length = max_query_length

    @classmethod
    def for_task(cls, tokenizer, task) -> SpanFeaturizer:
        return cls(tokenizer, task.max_seq_length, task.doc_stride, task.max_query_length)

    def featurize(self, examples: list[Example]) -> SpanFeatures:
        contexts = list(dict.fromkeys(example.text_b for example in examples))
        words = {context: split_words(context) for context in contexts}
        pieces = piece_ids(
            self.tokenizer,
            [context[s:e] for context in contexts for s, e in words[context]]
            + [example.text_a for example in examples],
        )
        documents = {}  # context -> (token ids, char spans)
        cursor = 0
        for context in contexts:
            ids, spans = [], []
            for span in words[context]:
                ids.extend(pieces[cursor])
                spans.extend([span] * len(pieces[cursor]))
                cursor += 1
            documents[context] = (ids, spans)
        rows = []
        for index, example in enumerate(examples):
            question = pieces[cursor + index][: self.max_query_length]
            rows.extend(self._windows(index, example, question, *documents[example.text_b]))
        return self._stack(rows)

    def _windows(self, index, example, question, doc_ids, doc_spans):
        room = self.max_seq_length - len(question) - 3
        starts = [0]
        while starts[-1] + room < len(doc_ids):
            starts.append(starts[-1] + min(room, self.doc_stride))
        answer = _answer_tokens(example, doc_spans)
        offset = len(question) + 2
        tokenizer = self.tokenizer
        rows = []
        for start in starts:
            length = min(room, len(doc_ids) - start)
            ids = [tokenizer.cls_token_id, *question, tokenizer.sep_token_id]
            ids += [*doc_ids[start : start + length], tokenizer.sep_token_id]
            segments = [0] * offset + [1] * (length + 1)
            spans = np.full((len(ids), 2), NO_SPAN, np.int32)
            spans[offset : offset + length] = doc_spans[start : start + length]
            max_context = np.zeros(len(ids), bool)
            for i in range(length):
                max_context[offset + i] = _is_max_context(
                    starts, room, len(doc_ids), start, start + i
                )
            positions = (0, 0)
            if answer is not None and start <= answer[0] and answer[1] < start + length:
                positions = (answer[0] - start + offset, answer[1] - start + offset)
            rows.append((index, ids, segments, spans, max_context, positions))
        return rows

    def _stack(self, rows) -> SpanFeatures:
        n, length = len(rows), self.max_seq_length
        features = SpanFeatures(
            token_ids=np.zeros((n, length), np.int32),
            segment_ids=np.zeros((n, length), np.int32),
            padding_mask=np.zeros((n, length), bool),
            positions=np.zeros((n, 2), np.int32),
            example_index=np.zeros(n, np.int64),
            char_spans=np.full((n, length, 2), NO_SPAN, np.int32),
            max_context=np.zeros((n, length), bool),
        )
        for row, (index, ids, segments, spans, max_context, positions) in enumerate(rows):
            size = len(ids)
            features.token_ids[row, :size] = ids
            features.segment_ids[row, :size] = segments
            features.padding_mask[row, :size] = True
            features.char_spans[row, :size] = spans
            features.max_context[row, :size] = max_context
            features.positions[row] = positions
            features.example_index[row] = index
        return features


def split_words(text: str) -> list[tuple[int, int]]:
    """`[start, end)` character spans of the words of `text`: runs of characters split at
    white space, with each punctuation mark and CJK character a word of its own (BERT's
    basic tokenisation, before WordPiece)."""
    spans = []
    start = None
    for i, char in enumerate(text):
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf"):
            if start is not None:
                spans.append((start, i))
                start = None
        elif _is_punctuation(char) or _is_cjk(char):
            if start is not None:
                spans.append((start, i))
                start = None
            spans.append((i, i + 1))
        elif start is None:
            start = i
    if start is not None:
        spans.append((start, len(text)))
    return spans


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


def _answer_tokens(example: Example, doc_spans) -> tuple[int, int] | None:
    """The first and last context token of the first reference answer (`None`: no answer)."""
    if not example.answers:
        return None
    answer = example.answers[0]
    begin, end = answer.start, answer.start + len(answer.text)
    covering = [i for i, (s, e) in enumerate(doc_spans) if s < end and e > begin]
    if not covering:
        return None  # the answer is made only of characters the tokenizer drops
    return covering[0], covering[-1]


def _is_max_context(starts, room, doc_length, window_start, position) -> bool:
    """Whether the window at `window_start` gives `position` the most context (BERT's score:
    the smaller of the tokens on its left and right, plus 0.01 per token of window)."""
    best_score, best_start = None, None
    for start in starts:
        length = min(room, doc_length - start)
        end = start + length - 1
        if not start <= position <= end:
            continue
        score = min(position - start, end - position) + 0.01 * length
        if best_score is None or score > best_score:
            best_score, best_start = score, start
    return best_start == window_start
