"""How an error reaches the user: one line for a mistake in what they gave, one line naming a
log with the traceback for an error nobody foresaw. The command line and the processes a
sweep starts (`experiments.isolated_run`) report the same way."""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


class InternalError(RuntimeError):
    """An unexpected error, already logged: its message names the log."""


def is_users_error(error: BaseException) -> bool:
    """The package's own error classes, errors its own code raises (a ValueError naming an
    option), and the system's file errors; not a ValueError or RuntimeError from inside
    TensorFlow, Keras or another library, which is an internal error."""
    if isinstance(error, InternalError):
        return False
    if type(error).__module__.split(".")[0] == "mtdnn_keras" or isinstance(error, OSError):
        return True
    if not isinstance(error, (ValueError, RuntimeError)):
        return False
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and any(
        Path(frames[-1].filename).resolve().is_relative_to(root) for root in _package_roots()
    )


def _package_roots() -> list[Path]:
    """Where the package's code lies: `mtdnn_keras/`, and in a source checkout `cli/` and
    `export/`, which install as its subpackages."""
    import mtdnn_keras.cli
    import mtdnn_keras.export

    return [
        _PACKAGE,
        *(Path(path).resolve() for package in (mtdnn_keras.cli, mtdnn_keras.export)
          for path in package.__path__),
    ]  # fmt: skip


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def log_internal_error(error: BaseException) -> str:
    """Writes `error`'s traceback to a new log under `~/.cache/mtdnn-keras/` (or
    `$XDG_CACHE_HOME`, else the temporary folder) and returns the one line that names it."""
    text = "".join(traceback.format_exception(error))
    try:
        folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mtdnn-keras"
        folder.mkdir(parents=True, exist_ok=True)
        handle, path = tempfile.mkstemp(
            dir=folder, prefix=time.strftime("error-%Y%m%d-%H%M%S-"), suffix=".log"
        )
    except (OSError, RuntimeError):  # no home, or one that cannot be written
        handle, path = tempfile.mkstemp(prefix="mtdnn-keras-error-", suffix=".log")
    with os.fdopen(handle, "w", encoding="utf-8", errors="backslashreplace") as log:
        log.write(f"mtdnn-keras {' '.join(sys.argv[1:])}\n{text}")
    return (
        f"{type(error).__name__}: {one_line(error)[:300]} (traceback in {path}; please report it)"
    )
