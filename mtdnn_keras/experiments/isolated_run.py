"""Runs one training in a fresh Python process.

TensorFlow and Keras keep memory from every model a process builds (traced functions, data
pipelines, variables), even after `keras.backend.clear_session()`: a sweep of 30 MiniLM runs in
one process grew past 14 GB here. A sweep therefore runs each training in its own process
and keeps only the files it writes.
"""

from __future__ import annotations

import multiprocessing


def run_isolated(function, *args) -> None:
    """Calls `function(*args)` in a new `spawn`ed process and waits for it. `function` must be
    a module-level function and `args` picklable. Raises `RuntimeError` if it fails."""
    process = multiprocessing.get_context("spawn").Process(target=function, args=args)
    process.start()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(
            f"{function.__name__} failed in its own process (exit code {process.exitcode}); "
            "its error is printed above"
        )
