"""One run at a time in a folder: a second process is refused, naming the one that holds it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE = ".mtdnn-keras.lock"

_held: set[Path] = set()  # the folders this process holds


class FolderInUseError(RuntimeError):
    """Another process is writing to the folder."""


def check_not_held(folder: str | Path) -> None:
    """Raises `FolderInUseError` naming the holder if another process holds `folder` (a
    look that takes nothing: the lock, if free, is let go at once)."""
    path = Path(folder) / LOCK_FILE
    if holds(folder) or not path.is_file():
        return
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115
    except OSError:
        return  # unreadable: `hold_folder` will say
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise _in_use(folder, handle.read()) from None
        fcntl.flock(handle, fcntl.LOCK_UN)


def _in_use(folder, holder_text: str) -> FolderInUseError:
    return FolderInUseError(
        f"{folder} is in use by another run ({_describe(holder_text)}); wait for it to end "
        "or choose another folder"
    )


def holds(folder: str | Path) -> bool:
    """Whether this process holds `folder`."""
    return Path(folder).resolve() in _held


@contextlib.contextmanager
def hold_folder(folder: str | Path) -> Iterator[Path]:
    """Holds `folder` for this process while the block runs (an exclusive `flock` on
    `folder/.mtdnn-keras.lock`, which the system drops when the process ends, however it
    ends); raises `FolderInUseError` naming the holder's process, host, command and start
    time if another process holds it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = folder.resolve()
    handle = open(folder / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        error = _in_use(folder, handle.read())
        handle.close()
        raise error from None
    handle.seek(0)
    handle.truncate()
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    handle.write(json.dumps(holder) + "\n")
    handle.flush()
    _held.add(key)
    try:
        yield folder
    finally:
        _held.discard(key)
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _describe(text: str) -> str:
    try:
        holder = json.loads(text)
        return (
            f"process {holder['pid']} on {holder['host']}, started {holder['started']}: "
            f"{holder['command']}"
        )
    except (ValueError, KeyError, TypeError):
        return "a process that is still running"
