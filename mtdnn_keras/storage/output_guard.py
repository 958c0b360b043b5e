"""The one rule every command that writes follows: it never deletes or replaces what it did
not make, unless the user says `--overwrite`, and never the model it is reading."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from mtdnn_keras.storage.run_lock import check_not_held


def _same_file(first: Path, second: Path) -> bool:
    """Whether two existing paths are one (a case-insensitive file system, a hard link)."""
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


class OutputCollisionError(ValueError):
    """An output path that the command may not write: it exists, or it holds the input."""


def check_output(
    target: str | Path,
    *,
    overwrite: bool = False,
    protected: Iterable[str | Path] = (),
    option: str = "--output",
    kind: str = "folder",
    ignored: Iterable[str] = (),
) -> Path:
    """Checks that `target` (a `kind`, "folder" or "file") may be written, before any work.

    Refused always: a target that is, holds, or lies inside one of the `protected` paths
    (the model or input a command reads), and a folder that a live run holds
    (`FolderInUseError`). Refused without `overwrite`: an existing file, or a folder holding
    anything but the `ignored` names. Returns `target` as a Path.
    """
    target = Path(target)
    resolved = target.resolve()
    exists = target.exists() or target.is_symlink()
    for source in protected:
        source = Path(source).resolve()
        if resolved == source or source.is_relative_to(resolved) or _same_file(target, source):
            raise OutputCollisionError(
                f"{option} {target} holds {source}, which this command reads; "
                f"choose another {option} (--overwrite never replaces the input)"
            )
        if resolved.is_relative_to(source):
            raise OutputCollisionError(
                f"{option} {target} is inside {source}, which this command reads; "
                f"choose another {option} (--overwrite never writes into the input)"
            )
    if not exists:
        return target
    if target.is_dir():
        check_not_held(target)  # a live run's folder is never written over
    if kind == "folder" and not target.is_dir():
        raise OutputCollisionError(f"{option} {target} is a file; expected a folder")
    if kind == "file" and target.is_dir():
        raise OutputCollisionError(f"{option} {target} is a folder; expected a file name")
    if overwrite:
        return target
    skip = set(ignored)
    if target.is_dir() and not [entry for entry in target.iterdir() if entry.name not in skip]:
        return target  # an empty folder is the user's, but holds nothing to lose
    raise OutputCollisionError(
        f"{option} {target} already exists"
        + (" and is not empty" if target.is_dir() else "")
        + f"; choose another {option}, or pass --overwrite to replace it"
    )
