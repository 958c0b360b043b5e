"""A grid of training settings tried at one seed, the best kept by its dev score.

The experiment runner's `single_task.search` gives every single-task method (ST-DNN and each
refinement's fine-tuning) the same search, so that a comparison of methods is not a
comparison of budgets: each task's grid runs at `seed`, the setting with the best dev score
is kept (`search.json` records the grid's scores and the choice), and the task's other seeds
run at that setting. The search's own run of the best setting is that seed's run.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

from mtdnn_keras.storage.atomic_writes import write_json_atomically

SEARCH_FILE = "search.json"  # a task's grid scores and the chosen setting
# set by the runner for every run: a grid cannot vary them
FIXED_OPTIONS = ("tasks", "output_dir", "seed", "init_model", "save_model", "resume", "overwrite")


@dataclasses.dataclass(frozen=True)
class SettingSearch:
    """A grid search of training options.

    Args:
        grid: training option to the values tried (every combination, in order).
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
            if any(not isinstance(value, bool | int | float | str) for value in values):
                raise ValueError(f"grid.{option}: expected plain values (numbers, text)")
            if len({_text(value) for value in values}) != len(values):
                raise ValueError(f"grid.{option}: values repeat one another: {values}")

    def settings(self) -> list[dict]:
        """Every combination of the grid's values, the first option varying slowest."""
        options = list(self.grid)
        return [dict(zip(options, values)) for values in itertools.product(*self.grid.values())]

    def folder(self, task_folder: Path, setting: dict) -> Path:
        """Where the run of `setting` lives: `search/learning_rate-0.0001_epochs-3`."""
        name = "_".join(f"{option}-{_text(value)}" for option, value in setting.items())
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
            history = json.loads((folder / "eval_history.json").read_text(encoding="utf-8"))
            kept = max(history, key=lambda entry: entry["mean"])  # as the run's own selection
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

    def run_folder(self, task_folder: Path, seed: int) -> Path:
        """Where a task's run of `seed` lives: the best setting's search run for the search's
        seed (`search/` itself before the search finished), else `seed-N` at that setting."""
        if seed != self.seed:
            return Path(task_folder) / f"seed-{seed}"
        record = self.record(task_folder)
        if record is None:
            return Path(task_folder) / "search"
        return self.folder(task_folder, record["best"])


def _text(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
