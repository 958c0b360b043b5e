"""Words as word pieces in windows of the encoder's length, with one label a word."""

from __future__ import annotations

import dataclasses

import numpy as np

from mtdnn_keras.features.example import Example
from mtdnn_keras.features.text_pair_encoder import piece_ids

NO_WORD = -1  # the word index of special tokens, padding and a word's later pieces


@dataclasses.dataclass
class WordWindows:
    """The windows of a list of examples, as arrays (one row per window).

    Attributes:
        token_ids: `(windows, length)` int32, `[CLS] pieces [SEP]`, padded with the pad id.
        padding_mask: `(windows, length)` bool.
        tags: `(windows, length)` int32. Each word's tag on its first piece; -1 elsewhere
            (and everywhere for unlabeled examples).
        word_index: `(windows, length)` int32. The word (in its example) whose first piece
            the token is; `NO_WORD` elsewhere.
        example_index: `(windows,)` int. The example each window comes from.
    """

    token_ids: np.ndarray
    padding_mask: np.ndarray
    tags: np.ndarray
    word_index: np.ndarray
    example_index: np.ndarray

    def __len__(self) -> int:
        return len(self.example_index)

    def lengths(self) -> np.ndarray:
        return self.padding_mask.sum(axis=1)

    def inputs(self, rows=slice(None)) -> dict[str, np.ndarray]:
        """The encoder inputs of `rows`."""
        token_ids = self.token_ids[rows]
        return {
            "token_ids": token_ids,
            "segment_ids": np.zeros_like(token_ids),
            "padding_mask": self.padding_mask[rows],
        }

    def word_scores(self, outputs, rows, examples, width: int) -> list[np.ndarray]:
        """Each example's per-word outputs `(words, width)`, put back together from the
        per-token outputs of its windows: `outputs[i]` are those of the windows `rows[i]`."""
        results = [np.zeros((len(example.words), width), np.float32) for example in examples]
        for batch, indices in zip(outputs, rows):
            for values, row in zip(batch, indices):
                words = self.word_index[row, : values.shape[0]]
                found = words != NO_WORD
                results[self.example_index[row]][words[found]] = values[found]
        return results


class WordWindower:
    """Cuts examples' words into word pieces (the encoder's tokenizer) and the pieces into
    windows of at most `max_seq_length` tokens, specials included. A window holds whole
    words (a word longer than a window alone keeps its first pieces); a sentence longer than
    one window takes several, and each word is predicted in the one window that holds it.

    Args:
        tokenizer: the encoder's keras-hub tokenizer.
        max_seq_length: int.
    """

    def __init__(self, tokenizer, max_seq_length: int):
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length

    def windows(self, examples: list[Example]) -> WordWindows:
        words = [word for example in examples for word in example.word_texts()]
        pieces = piece_ids(self.tokenizer, words)
        room = self.max_seq_length - 2
        rows = []  # (example, [(word, pieces)...])
        cursor = 0
        for index, example in enumerate(examples):
            current, used = [], 0
            for word in range(len(example.words)):
                ids = pieces[cursor][:room] or [self._unknown_id]
                cursor += 1
                if current and used + len(ids) > room:
                    rows.append((index, current))
                    current, used = [], 0
                current.append((word, ids))
                used += len(ids)
            rows.append((index, current))
        return self._stack(rows, examples)

    @property
    def _unknown_id(self) -> int:
        return self.tokenizer.token_to_id(self.tokenizer.oov_token)

    def _stack(self, rows, examples) -> WordWindows:
        n = len(rows)
        length = max((2 + sum(len(ids) for _, ids in words) for _, words in rows), default=2)
        windows = WordWindows(
            token_ids=np.full((n, length), self.tokenizer.pad_token_id, np.int32),
            padding_mask=np.zeros((n, length), bool),
            tags=np.full((n, length), -1, np.int32),
            word_index=np.full((n, length), NO_WORD, np.int32),
            example_index=np.zeros(n, np.int64),
        )
        for row, (index, words) in enumerate(rows):
            labels = examples[index].label
            ids = [self.tokenizer.cls_token_id]
            for word, pieces in words:
                position = len(ids)
                windows.word_index[row, position] = word
                if labels is not None:
                    windows.tags[row, position] = labels[word]
                ids.extend(pieces)
            ids.append(self.tokenizer.sep_token_id)
            windows.token_ids[row, : len(ids)] = ids
            windows.padding_mask[row, : len(ids)] = True
            windows.example_index[row] = index
        return windows
