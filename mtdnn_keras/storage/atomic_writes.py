"""Writes that land whole or not at all: a temporary beside the target, then one rename."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def umask() -> int:
    """The process's file-creation mask: from /proc where Linux shows it, else by setting it
    and back (briefly 0 for any other thread that creates a file)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_file(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yields a temporary path (ending in `suffix`) beside `path` to write; when the block
    ends without an error the file replaces `path` in one rename (readable as the umask
    allows), else it is removed. A crash never leaves a half-written file at `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o666 & ~umask())  # mkstemp's file is private; ours are not
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_text_atomically(text: str, path: str | Path) -> None:
    with atomic_file(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_json_atomically(data, path: str | Path) -> None:
    write_text_atomically(json.dumps(data, indent=2, sort_keys=False) + "\n", path)


@contextlib.contextmanager
def atomic_directory(directory: str | Path) -> Iterator[Path]:
    """Yields a temporary folder beside `directory`; when the block ends without an error it
    takes `directory`'s place in one step (an existing folder is swapped out atomically and
    then removed, so a crash leaves the old folder or the new one, never neither); on an
    error it is removed. Callers decide first whether `directory` may be replaced
    (`mtdnn_keras.storage.output_guard`)."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    os.chmod(temporary, 0o777 & ~umask())  # mkdtemp makes it private; the result is not
    try:
        yield temporary
        if directory.exists() or directory.is_symlink():
            exchange_paths(temporary, directory)  # `temporary` now holds the old folder
        else:
            os.rename(temporary, directory)
    finally:
        if temporary.is_symlink():  # a link the target was, swapped out: the link goes
            temporary.unlink()
        elif temporary.exists():
            shutil.rmtree(temporary)


_RENAME_EXCHANGE = 2  # linux/fs.h


def exchange_paths(first: str | Path, second: str | Path) -> None:
    """Swaps two existing paths in one step (Linux `renameat2(RENAME_EXCHANGE)`). Where the
    system has no such call, the old one is moved aside first, a window in which a crash
    leaves it beside `second` under a `.old` name rather than losing it."""
    renameat2 = _renameat2()
    if renameat2 is not None:
        at_cwd = -100  # AT_FDCWD
        result = renameat2(
            at_cwd, os.fsencode(first), at_cwd, os.fsencode(second), _RENAME_EXCHANGE
        )
        if result == 0:
            return
        error = ctypes.get_errno()
        if error not in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: no exchange here
            raise OSError(error, os.strerror(error), str(second))
    second = Path(second)
    aside = Path(tempfile.mkdtemp(dir=second.parent, prefix=f".{second.name}.old."))
    os.replace(second, aside / "old")
    os.replace(first, second)
    os.replace(aside / "old", first)
    aside.rmdir()


@functools.cache
def _renameat2():
    library = ctypes.util.find_library("c")
    if library is None:
        return None
    function = getattr(ctypes.CDLL(library, use_errno=True), "renameat2", None)
    if function is not None:
        function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
        function.argtypes += [ctypes.c_uint]
        function.restype = ctypes.c_int
    return function
