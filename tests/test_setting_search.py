"""`SettingSearch`: the grid's settings and folders, the choice on dev scores, its record."""

import json
from pathlib import Path

import pytest

from mtdnn_keras.experiments.setting_search import SEARCH_FILE, SettingSearch

GRID = {"learning_rate": [5.0e-5, 1.0e-4], "epochs": [2, 5]}


def finish(folder, means, seconds=10.0):
    """A finished run's files: its per-epoch dev history and its run record."""
    folder.mkdir(parents=True)
    history = [
        {"epoch": epoch, "step": epoch, "mean": mean, "metrics": {"rte": {"accuracy": mean}}}
        for epoch, mean in enumerate(means, start=1)
    ]
    (folder / "eval_history.json").write_text(json.dumps(history))
    (folder / "run.json").write_text(json.dumps({"seconds": seconds, "steps": 4}))


def test_settings_and_their_folders():
    search = SettingSearch(GRID, seed=3)
    assert search.settings() == [  # options in name order, the first varying slowest
        {"epochs": 2, "learning_rate": 5.0e-5},
        {"epochs": 2, "learning_rate": 1.0e-4},
        {"epochs": 5, "learning_rate": 5.0e-5},
        {"epochs": 5, "learning_rate": 1.0e-4},
    ]
    folder = search.folder("runs/rte", {"learning_rate": 1.0e-4, "epochs": 5})
    assert str(folder) == "runs/rte/search/epochs-5_learning_rate-0.0001"
    reordered = SettingSearch({"epochs": [2, 5], "learning_rate": [5.0e-5, 1.0e-4]}, seed=3)
    assert reordered.settings() == search.settings()  # the same runs, in the same folders
    nulls = SettingSearch({"max_steps": [None, 100]})
    assert nulls.folder("t", nulls.settings()[0]) == Path("t/search/max_steps-null")


def test_the_best_dev_score_is_kept_and_recorded(tmp_path):
    search = SettingSearch(GRID, seed=0)
    scores = [[50.0, 61.0], [58.0, 60.0, 59.0], [63.5, 40.0], [63.5, 63.0]]
    settings = search.settings()
    for setting, means in zip(settings[:-1], scores):
        finish(search.folder(tmp_path, setting), means)
    assert search.choose(tmp_path, "run.json") is None  # a setting still to run
    assert search.run_folder(tmp_path, 0) is None  # the best setting is not known yet
    finish(search.folder(tmp_path, settings[-1]), scores[-1])

    best = search.choose(tmp_path, "run.json")
    assert best == settings[2]  # 63.5 at its first epoch; the later 63.5 is a tie, not better
    record = json.loads((tmp_path / SEARCH_FILE).read_text())
    assert [row["score"] for row in record["runs"]] == [61.0, 60.0, 63.5, 63.5]
    assert record["runs"][0]["epoch"] == 2 and record["best"] == best
    assert search.record(tmp_path) == record
    # the search's seed is the best setting's search run; other seeds run apart
    assert search.run_folder(tmp_path, 0) == search.folder(tmp_path, best)
    assert search.run_folder(tmp_path, 1) == tmp_path / "seed-1"
    # the grid written in another order is the same search; another grid or seed is not
    assert SettingSearch(dict(reversed(GRID.items()))).record(tmp_path) == record
    assert SettingSearch({"epochs": [2, 5]}).record(tmp_path) is None
    assert SettingSearch(GRID, seed=1).record(tmp_path) is None


@pytest.mark.parametrize(
    "grid, message",
    [
        ({}, "at least one training option"),
        ({"epochs": []}, "expected a list of values"),
        ({"output_dir": ["a"]}, "output_dir is set for each run"),
        ({"max_train_examples": [{"rte": 10}]}, "expected plain values"),
        ({"learning_rate": [1e-4, 0.0001]}, "values repeat one another"),
        ({"encoder": ["minilm", "presets/bert"]}, "cannot hold a path"),
    ],
)
def test_grids_that_cannot_be_searched(grid, message):
    with pytest.raises(ValueError, match=message):
        SettingSearch(grid)
