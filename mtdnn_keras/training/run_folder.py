"""A training run's output folder: claimed before any work, held while the run writes."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mtdnn_keras.models.model_files import CONFIG_FILE, HISTORY_FILE, MODEL_FILE, TOKENIZER_DIR
from mtdnn_keras.storage.output_guard import check_output
from mtdnn_keras.storage.run_lock import LOCK_FILE, hold_folder
from mtdnn_keras.training.checkpoint_files import (
    CHECKPOINT_DIR,
    checkpoint_files,
    checkpoint_step,
)


def check_run_folder(config) -> None:
    """Checks, writing nothing, that the run may write to `config.output_dir`: the folder is
    new or empty, or `config.overwrite` says to start anew in it, or `config.resume`
    continues the run whose checkpoint it holds; and it is not, and does not hold, the
    folder of `config.init_model`."""
    folder = Path(config.output_dir)
    check_output(  # a folder a live run holds is refused first, naming the run
        folder,
        overwrite=config.overwrite or config.resume,
        protected=[config.init_model] if config.init_model else [],
        option="--output-dir",
        ignored=(LOCK_FILE,),
    )
    if config.resume:
        checkpoint_step(folder)


# what a run writes in its folder: all that `--overwrite` removes to start anew
RUN_FILES = (MODEL_FILE, TOKENIZER_DIR, CONFIG_FILE, "metrics.json", HISTORY_FILE, "logs",
             CHECKPOINT_DIR)  # fmt: skip


@contextlib.contextmanager
def claim_run_folder(config) -> Iterator[Path]:
    """Holds `config.output_dir` for the run while the block runs, after `check_run_folder`
    and checking that it is writable and not held by another run (`FolderInUseError` names
    the holder). With `config.overwrite`, an earlier run's files (`RUN_FILES`: its model,
    tokenizer, scores, history, checkpoint, logs and record) are removed first, so that the
    folder never mixes two runs. A folder it made that the run left empty is removed."""
    folder = Path(config.output_dir)
    check_run_folder(config)
    created = not folder.exists()
    _check_writable(folder)
    with hold_folder(folder):
        try:
            check_run_folder(config)  # again: another run may have written and ended since
            if config.overwrite:
                for name in RUN_FILES:
                    path = folder / name
                    if path.is_dir() and not path.is_symlink():
                        shutil.rmtree(path)
                    elif path.exists() or path.is_symlink():
                        path.unlink()
            yield folder
        finally:
            if created and [entry.name for entry in folder.iterdir()] == [LOCK_FILE]:
                (folder / LOCK_FILE).unlink()  # while held: no other run has it
                folder.rmdir()


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test."):
            pass
    except OSError as error:
        raise OSError(f"output folder {folder} is not writable: {error.strerror}") from None


def check_free_space(output_dir: Path, model) -> None:
    """Refuses to start when the disk cannot hold what the run writes: the best model, the
    checkpoint and a file being written beside one of them, each the weights and the
    optimizer's two slots in float32. Files of the run that these replace (a resumed run's
    model and checkpoint) count as free."""
    model_bytes = 3 * 4 * model.count_params()
    needed = 3 * model_bytes
    replaced = [output_dir / MODEL_FILE, *checkpoint_files(output_dir)]
    reclaimed = sum(path.stat().st_size for path in replaced if path.is_file())
    free = shutil.disk_usage(output_dir).free
    if free + reclaimed < needed:
        raise OSError(
            f"output folder {output_dir}: {free / 1e6:.0f} MB free, but the run writes about "
            f"{needed / 1e6:.0f} MB (the best model, a checkpoint and one file being written, "
            f"{model_bytes / 1e6:.0f} MB each"
            + (f", less {reclaimed / 1e6:.0f} MB of its own files it replaces" if reclaimed else "")
            + "); free some space or choose another --output-dir"
        )


def changed_options(folder: Path, config) -> list[str] | None:
    """The options that the run recorded in `folder` (its `training_config.json`) was made
    with and that differ from `config`'s, for a sweep deciding whether a finished run is the
    one it wants (`None` when the folder holds no readable record)."""
    try:
        saved = json.loads((Path(folder) / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict):
        return None
    wanted = dataclasses.asdict(config)
    # the same training either way (tfds_data_dir: where the same data lives)
    ignored = {"output_dir", "verbose", "overwrite", "resume", "tfds_data_dir"}
    return [k for k in wanted if k not in ignored and k in saved and saved[k] != wanted[k]]
