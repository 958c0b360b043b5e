"""One example of a task, as the readers give it and the task types use it."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Answer:
    """One reference answer of a span task: its text and its first character in the context."""

    text: str
    start: int


@dataclasses.dataclass(frozen=True)
class Example:
    """One example: a text or text pair, its label and where it came from.

    `label` is the label's index in the task's `labels` (classification, ranking), the score
    (regression), the right choice's index (multiple choice), a tuple of tag indices, one per
    word (sequence labelling), or `None` for an unlabeled file. A span task's example is
    `text_a` the question and `text_b` the context, with `answers` its reference answers
    (empty: unanswerable; `None`: unlabeled). A multiple-choice example's candidates are
    `choices`, each completing `text_b` (or standing alone). A sequence-labelling example's
    `words` are `[start, end)` character spans of its words in `text_a`.
    """

    text_a: str
    text_b: str | None
    label: int | float | tuple[int, ...] | None
    id: str
    line: int
    choices: tuple[str, ...] | None = None
    answers: tuple[Answer, ...] | None = None
    words: tuple[tuple[int, int], ...] | None = None

    def choice_pairs(self) -> list[tuple[str, str]]:
        """Multiple choice: `(context, text_b + " " + choice)` for each choice."""
        return [(self.text_a, f"{self.text_b} {c}" if self.text_b else c) for c in self.choices]

    def word_texts(self) -> list[str]:
        """Sequence labelling: the text of each word."""
        return [self.text_a[start:end] for start, end in self.words]


class LabelError(ValueError):
    """A label value a task cannot take. `position` is the word, for a label per word."""

    def __init__(self, reason: str, message: str, position: int | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.position = position
