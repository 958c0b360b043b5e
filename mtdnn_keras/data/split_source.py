"""One split of one task, from wherever it is read: the interface of the data sources."""

from __future__ import annotations

from mtdnn_keras.data.example_reader import ReadResult


class SplitSource:
    """One split of one task, from wherever it is read.

    `where` names it in messages; `problem()` says, without importing TensorFlow, why it
    cannot be read (`None` if it can); `read()` reads and checks its examples.
    """

    where: str

    def problem(self) -> str | None:
        raise NotImplementedError

    def read(self, skip_bad_rows: bool = False) -> ReadResult:
        raise NotImplementedError
