"""Runs one training in a fresh Python process.

TensorFlow and Keras keep memory from every model a process builds (traced functions, data
pipelines, variables), even after `keras.backend.clear_session()`: a sweep of 30 MiniLM runs in
one process grew past 14 GB here. A sweep therefore runs each training in its own process
and keeps only the files it writes.
"""

from __future__ import annotations

import multiprocessing

from mtdnn_keras.error_report import InternalError, is_users_error, log_internal_error, one_line


class IsolatedRunError(RuntimeError):
    """A mistake the run in its own process reported (its one line)."""


def run_isolated(function, *args) -> None:
    """Calls `function(*args)` in a new `spawn`ed process and waits for it. `function` must be
    a module-level function and `args` picklable. The process prints no traceback: a user's
    mistake there is raised here as `IsolatedRunError` with its one line, an unexpected error
    as `InternalError` naming the log that holds its traceback, and Ctrl-C as
    `KeyboardInterrupt`."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_report_errors, args=(sender, function, args))
    process.start()
    sender.close()
    process.join()
    with receiver:
        if process.exitcode == 0:
            return
        try:
            report = receiver.recv()
        except EOFError:  # it sent nothing: killed before it could
            report = None
    if report is None:
        raise InternalError(
            f"{function.__name__} ended in its own process with exit code {process.exitcode} "
            "and no report: killed, out of memory, or (from a Python script) started without "
            "`if __name__ == '__main__':` around the script's work"
        )
    kind, message = report
    if kind == "interrupted":
        raise KeyboardInterrupt
    raise (IsolatedRunError if kind == "user" else InternalError)(message)


def _report_errors(sender, function, args) -> None:
    """The process's body: `function(*args)`, with any error sent back as one line."""
    try:
        function(*args)
    except KeyboardInterrupt:
        sender.send(("interrupted", ""))
        raise SystemExit(130) from None
    except Exception as error:
        if is_users_error(error):
            sender.send(("user", one_line(error)))
        else:
            sender.send(("internal", log_internal_error(error)))
        raise SystemExit(1) from None
    finally:
        sender.close()
