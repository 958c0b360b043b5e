"""Words of a text as character spans: a raw text's, or pre-split words joined."""

from __future__ import annotations

import re

# CoNLL-style words of a raw text: runs of non-space characters, with one quote, bracket or
# punctuation mark at a run's start and one at its end split off as words of their own; a
# final "." counts unless the run is an abbreviation ("U.S.", "a.m."). Regular expressions
# that RE2 reads too: the SavedModel's text signature of a tagging task splits words in the
# graph with the same ones (tensorflow-text's regex_split).
LEADING = "\"'([{`“‘«"
TRAILING = "\"')]},;:!?`”’»."
EDGE_PATTERN = f"^[{re.escape(LEADING)}]|[{re.escape(TRAILING)}]$"
ABBREVIATION_PATTERN = r"(?:\w\.)+"
_CHUNK = re.compile(r"\S+")
_EDGE = re.compile(EDGE_PATTERN)
_ABBREVIATION = re.compile(ABBREVIATION_PATTERN)


def text_words(text: str) -> tuple[tuple[int, int], ...]:
    """`[start, end)` character spans of the words of a raw text, split the way CoNLL-2003's
    files are: at white space, with a quote, bracket or punctuation mark at a word's start
    or end a word of its own (`"said."` is `said` and `.`; `"U.S."` stays one word)."""
    spans = []
    for chunk in _CHUNK.finditer(text):
        start, end = chunk.span()
        if _ABBREVIATION.fullmatch(chunk.group()):
            spans.append((start, end))
            continue
        cursor = start
        for edge in _EDGE.finditer(chunk.group()):
            left, right = start + edge.start(), start + edge.end()
            if left > cursor:
                spans.append((cursor, left))
            spans.append((left, right))
            cursor = right
        if cursor < end:
            spans.append((cursor, end))
    return tuple(spans)


def joined_words(words: list[str]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Pre-split words as one text, joined by single spaces, and each word's span in it."""
    spans, start = [], 0
    for word in words:
        spans.append((start, start + len(word)))
        start += len(word) + 1
    return " ".join(words), tuple(spans)
