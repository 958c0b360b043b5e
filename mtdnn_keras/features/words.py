"""Words of a text as character spans: a raw text's, or pre-split words joined."""

from __future__ import annotations

import re

# Words of a raw text: runs of characters between ASCII white space, with the quotes and
# brackets that open a run, and one quote, bracket or punctuation mark that ends it, split
# off as words of their own; a final "." counts unless the run is an abbreviation ("U.S.",
# "a.m."). Regular expressions that RE2 reads the same: the SavedModel's text signature of a
# tagging task splits words in the graph with them (tensorflow-text's regex_split).
SPACE_PATTERN = r"[ \t\n\r\f\v]+"
LEADING = "\"'([{`“‘«"
TRAILING = "\"')]},;:!?`”’»."
EDGE_PATTERN = f"^[{re.escape(LEADING)}]+|[{re.escape(TRAILING)}]$"
ABBREVIATION_PATTERN = r"(?:[A-Za-z0-9]\.)+"
_CHUNK = re.compile(r"[^ \t\n\r\f\v]+")
_EDGE = re.compile(EDGE_PATTERN)
_ABBREVIATION = re.compile(ABBREVIATION_PATTERN)


def text_words(text: str) -> tuple[tuple[int, int], ...]:
    """`[start, end)` character spans of the words of a raw text, split much as CoNLL-2003's
    files are: at white space, with opening quotes and brackets and a closing mark words of
    their own (`"said."` is `said` and `.`; `"U.S."` stays one word; unlike CoNLL, `'s` and
    `n't` stay on their word)."""
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
