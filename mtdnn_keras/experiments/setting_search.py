"""A grid of training settings tried at one seed, the best kept by its dev score.

The experiment runner's `single_task.search` gives every single-task method (ST-DNN and each
refinement's fine-tuning) the same search, so that a comparison of methods is not a
comparison of budgets: each task's grid runs at `seed`, the setting with the best dev score
is kept (`search.json` records the grid's scores and the choice), and the task's seeds run
at that setting. A search seed that is also one of the task's seeds reuses the search's own
run of the best setting as that seed's run; that number is then the best of the grid on the
same dev set, so a search seed apart from the reported seeds keeps the spread honest.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

from mtdnn_keras.models.model_files import HISTORY_FILE, kept_entry
from mtdnn_keras.storage.atomic_writes import write_json_atomically

SEARCH_FILE = "search.json"  # a task's grid scores and the chosen setting
# set by the runner for every run: a grid cannot vary them
FIXED_OPTIONS = ("tasks", "output_dir", "seed", "init_model", "save_model", "resume", "overwrite")


@dataclasses.dataclass(frozen=True)
class SettingSearch:
    """A grid search of training options.

    Args:
        grid: training option to the values tried (every combination; the options' order
            does not matter).
        seed: the seed every setting runs at.
    """

    grid: dict[str, list]
    seed: int = 0

    def __post_init__(self):
        if not self.grid:
            raise ValueError("grid: expected at least one training option and its values")
        for option, values in self.grid.items():
            if option in FIXED_OPTIONS:
                raise ValueError(f"grid: {option} is set for each run; it cannot be searched")
            if not isinstance(values, list) or not values:
                raise ValueError(f"grid.{option}: expected a list of values, got {values!r}")
            if any(not isinstance(value, bool | int | float | str | None) for value in values):
                raise ValueError(f"grid.{option}: expected plain values (numbers, text, null)")
            texts = [_text(value) for value in values]
            if any("/" in text or "\\" in text for text in texts):
                raise ValueError(
                    f"grid.{option}: a value names a folder of the search, so it cannot hold "
                    f"a path: {values}"
                )
            if len(set(texts)) != len(values):
                raise ValueError(f"grid.{option}: values repeat one another: {values}")

    @classmethod
    def from_block(cls, block: dict | None) -> SettingSearch | None:
        """The search of an experiment file's `single_task.search` (`{seed, grid}`), or
        `None` without one."""
        return cls(grid=block["grid"], seed=block.get("seed", 0)) if block else None

    def settings(self) -> list[dict]:
        """Every combination of the grid's values, options in name order, the first varying
        slowest."""
        options = sorted(self.grid)
        values = [self.grid[option] for option in options]
        return [dict(zip(options, combination)) for combination in itertools.product(*values)]

    def folder(self, task_folder: Path, setting: dict) -> Path:
        """Where the run of `setting` lives: `search/epochs-3_learning_rate-0.0001`."""
        name = "_".join(f"{option}-{_text(setting[option])}" for option in sorted(setting))
        return Path(task_folder) / "search" / name

    def choose(self, task_folder: Path, finished: str) -> dict | None:
        """The setting with the best dev score (the first of a tie), once every setting's run
        has its `finished` file, recorded in `search.json` beside the grid's scores; `None`
        while runs are missing."""
        rows = []
        for setting in self.settings():
            folder = self.folder(task_folder, setting)
            if not (folder / finished).is_file():
                return None
            history = json.loads((folder / HISTORY_FILE).read_text(encoding="utf-8"))
            kept = kept_entry(history)  # as the run's own selection
            rows.append(
                {
                    "setting": setting,
                    "score": kept["mean"],
                    "epoch": kept["epoch"],
                    "metrics": kept["metrics"],
                    "run": json.loads((folder / finished).read_text(encoding="utf-8")),
                }
            )
        best = max(rows, key=lambda row: row["score"])  # max keeps the first of equals
        record = {"seed": self.seed, "grid": self.grid, "runs": rows, "best": best["setting"]}
        path = Path(task_folder) / SEARCH_FILE
        if not path.is_file() or json.loads(path.read_text(encoding="utf-8")) != record:
            write_json_atomically(record, path)
        return best["setting"]

    def record(self, task_folder: Path) -> dict | None:
        """`search.json` of this search (`None` before it finished, or when it records another
        grid or seed)."""
        path = Path(task_folder) / SEARCH_FILE
        if not path.is_file():
            return None
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("grid") != self.grid or record.get("seed") != self.seed:
            return None
        return record

    def run_folder(self, task_folder: Path, seed: int) -> Path | None:
        """Where a task's run of `seed` lives: the best setting's search run for the search's
        seed (`None` before the search finished), else `seed-N` at that setting."""
        if seed != self.seed:
            return Path(task_folder) / f"seed-{seed}"
        record = self.record(task_folder)
        return None if record is None else self.folder(task_folder, record["best"])


def _text(value) -> str:
    if value is None:
        return "null"
    return f"{value:g}" if isinstance(value, float) else str(value)
