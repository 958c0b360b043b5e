"""A quiet console: TensorFlow's start-up chatter off, errors that matter still shown.

What prints without it (TensorFlow 2.21, CPU machine), and what silences each line, measured
on `import tensorflow; tf.config.list_physical_devices()` and a one-step `fit`:

- `I... cpu_feature_guard.cc] This TensorFlow binary is optimized ...` and its second line
  `To enable the following instructions: AVX2 AVX512F ...`: TF_CPP_MIN_LOG_LEVEL=2 (or 3).
- `E... cuda_platform.cc:52] failed call to cuInit ...` (the first device query) and
  `E... util.cc:131] oneDNN supports DT_INT64 only on platforms with AVX-512 ...` (during
  training): TF_CPP_MIN_LOG_LEVEL=3 only. Level 3 also hides TensorFlow's other C++ ERROR
  lines; the errors a run stops on still arrive as Python exceptions.
- `WARNING: All log messages before absl::InitializeLog() is called are written to STDERR`,
  `I... port.cc:153] oneDNN custom operations are on ...` and `I... cudart_stub.cc:31] Could
  not find cuda drivers ...`, each printed twice (libtensorflow_framework.so and the profiler
  plugin's own copy): no setting. They are absl LOG(INFO) calls in static initializers that run
  while the libraries load, before TensorFlow applies TF_CPP_MIN_LOG_LEVEL; absl reads no
  environment variable (TF_CPP_MIN_LOG_LEVEL=3, TF_CPP_MAX_VLOG_LEVEL, GLOG_minloglevel,
  GLOG_stderrthreshold, ABSL_MIN_LOG_LEVEL: all measured, none removes them). So while
  `import tensorflow` runs (whatever imports it first: `quiet_tensorflow` installs an import
  hook and imports nothing heavy itself), file descriptor 2 goes to a temporary file, and
  everything captured is written back except C++ INFO/WARNING records (with the lines that
  continue them) and the absl notice; all of it if the import fails. TF_ENABLE_ONEDNN_OPTS=0
  would drop the oneDNN line but changes numerics: not used. No GPU is hidden.
- Python `warnings` (unless -W or PYTHONWARNINGS sets them) and the `tensorflow` and `absl`
  Python loggers below ERROR.

A process spawned by a quiet one (a sweep's run, `mtdnn_keras.experiments.isolated_run`)
inherits the environment but not the hook: this module, imported by the spawned process's
main module (`cli/main.py`) before it unpickles its work, quiets it too.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile
import warnings

_CHATTER = re.compile(r"[IW]\d{4} |WARNING: All log messages before absl::InitializeLog\(\)")
_RECORD = re.compile(r"[IWEF]\d{4} ")
_INHERITED = "MTDNN_KERAS_QUIET_TENSORFLOW"  # tells a spawned process (a sweep's run) to be quiet


def quiet_tensorflow(show_tensorflow_logs: bool = False) -> None:
    """Call before anything imports TensorFlow. With `show_tensorflow_logs` it changes nothing;
    otherwise it sets what the module docstring lists, a user's own environment settings first."""
    if show_tensorflow_logs:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ[_INHERITED] = "1"
    if not sys.warnoptions:
        warnings.simplefilter("ignore")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.ERROR)
    if "tensorflow" not in sys.modules and not any(
        isinstance(finder, _QuietImport) for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _QuietImport())


class _QuietImport(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` with a loader that runs its import with fd 2 captured."""

    finding = False  # True while it asks the other finders

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" or self.finding:
            return None
        self.finding = True
        try:
            spec = importlib.util.find_spec(name)  # the finders after this one
        finally:
            self.finding = False
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader, self)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader, finder):
        self.loader, self.finder = loader, finder

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)
        module.__loader__ = module.__spec__.loader = self.loader  # the real one from here on
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (AttributeError, OSError, ValueError):  # no usable stderr: nothing to quiet
            return self.loader.exec_module(module)
        with tempfile.TemporaryFile() as captured:
            os.dup2(captured.fileno(), 2)
            failed = False
            try:
                self.loader.exec_module(module)
            except Exception:
                failed = True  # all of it, then: it may say why
                raise
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                captured.seek(0)
                _replay(captured.read().decode(errors="replace"), everything=failed)


def _replay(text: str, everything: bool) -> None:
    """Writes `text` to stderr without C++ INFO/WARNING records (lines that continue a record
    go with it) unless `everything`."""
    keep, kept = True, []
    for line in text.splitlines(keepends=True):
        if _CHATTER.match(line) or _RECORD.match(line):
            keep = everything or not _CHATTER.match(line)
        if keep:
            kept.append(line)
    if kept:
        sys.stderr.write("".join(kept))
        sys.stderr.flush()


if os.environ.get(_INHERITED) == "1":  # a process spawned by a quiet one imports this first
    quiet_tensorflow()
