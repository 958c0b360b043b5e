"""A training run's output folder: claimed before any work, held while the run writes."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from mtdnn_keras.models.model_directory import MODEL_FILE
from mtdnn_keras.storage.output_guard import check_output
from mtdnn_keras.storage.run_lock import LOCK_FILE, check_not_held, hold_folder, holds
from mtdnn_keras.training.training_checkpoint import checkpoint_files, checkpoint_step


def check_run_folder(config) -> None:
    """Checks, writing nothing, that the run may write to `config.output_dir`: the folder is
    new or empty, or `config.overwrite` says to start anew in it, or `config.resume`
    continues the run whose checkpoint it holds; and it is not, and does not hold, the
    folder of `config.init_model`."""
    folder = Path(config.output_dir)
    check_not_held(folder)  # first: a live run is the reason its folder is not empty
    check_output(
        folder,
        overwrite=config.overwrite or config.resume,
        protected=[config.init_model] if config.init_model else [],
        option="--output-dir",
        ignored=(LOCK_FILE,),
    )
    if config.resume:
        checkpoint_step(folder)


@contextlib.contextmanager
def claim_run_folder(config) -> Iterator[Path]:
    """Holds `config.output_dir` for the run while the block runs, after `check_run_folder`
    and checking that it is writable and not held by another run (`FolderInUseError` names
    the holder). A process that holds it already re-enters. A folder it made that the run
    left empty is removed."""
    folder = Path(config.output_dir)
    if holds(folder):
        with hold_folder(folder):
            yield folder
        return
    check_run_folder(config)
    created = not folder.exists()
    _check_writable(folder)
    try:
        with hold_folder(folder):
            check_run_folder(config)  # again: another run may have written and ended since
            yield folder
    finally:
        if created and [entry.name for entry in folder.iterdir()] == [LOCK_FILE]:
            (folder / LOCK_FILE).unlink()
            folder.rmdir()


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("ok")
        probe.unlink()
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
