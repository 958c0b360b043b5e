"""Values read from a user's files (task YAML, data JSON, experiment files, options): how
an error message quotes them, and the checks every reader of them shares."""

from __future__ import annotations

import math
import reprlib
from typing import Any

_SHORT = reprlib.Repr()  # short however large, and safe for deeply nested values
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 3, 60, 60


def show(value: Any) -> str:
    """`value` as an error message quotes it: its repr, cut short."""
    return _SHORT.repr(value)


def is_scalar(value: Any) -> bool:
    """Text or a number (not true/false, null, a list or a mapping): a label, an id."""
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    """A number (not true/false) that is not NaN, infinite or too large for a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False
