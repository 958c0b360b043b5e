"""The command line's console: TensorFlow's start-up lines off unless asked for, errors kept."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

CPP_LOG_LINE = re.compile(r"^[IWEF]\d{4} ", re.MULTILINE)

SCRIPT = """
import os, sys
from mtdnn_keras.cli.console import quiet_tensorflow
quiet_tensorflow({show})
print("level", os.environ.get("TF_CPP_MIN_LOG_LEVEL"))
import tensorflow as tf
tf.config.list_physical_devices()
print("error: ours", file=sys.stderr)
raise RuntimeError("boom")
"""


# a sweep's run: a spawned process whose main module imports the console, as cli/main.py does
SPAWNING = """
import multiprocessing, sys
from mtdnn_keras.cli.console import quiet_tensorflow

def run():
    import tensorflow as tf
    tf.config.list_physical_devices()

if __name__ == "__main__":
    quiet_tensorflow(False)
    process = multiprocessing.get_context("spawn").Process(target=run)
    process.start()
    process.join()
    sys.exit(process.exitcode)
"""


def start(code, **env):
    """`python -c code`, or `python code` when it is a file."""
    ours = ("TF_CPP_MIN_LOG_LEVEL", "PYTHONWARNINGS", "MTDNN_KERAS_QUIET_TENSORFLOW")
    environment = {k: v for k, v in os.environ.items() if k not in ours}
    environment.update(env)
    return subprocess.Popen(
        [sys.executable, *([code] if isinstance(code, Path) else ["-c", code])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


def finish(process):
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def test_tensorflow_start_up_is_quiet_and_errors_still_show(tmp_path):
    (tmp_path / "spawning.py").write_text(SPAWNING)
    quiet, shown = start(SCRIPT.format(show=False)), start(SCRIPT.format(show=True))
    spawning = start(tmp_path / "spawning.py")
    (code, out, err), (shown_code, shown_out, shown_err) = finish(quiet), finish(shown)
    spawned_code, _, spawned_err = finish(spawning)
    assert code == 1 and "level 3" in out
    assert not CPP_LOG_LINE.search(err), err
    assert "cuInit" not in err and "absl::InitializeLog" not in err and "AVX" not in err
    assert "error: ours" in err and "RuntimeError: boom" in err
    # asked for: TensorFlow's own settings, nothing set or caught by us
    assert shown_code == 1 and "level None" in shown_out
    assert CPP_LOG_LINE.search(shown_err), shown_err  # x86 builds always log oneDNN's line
    assert "error: ours" in shown_err and "RuntimeError: boom" in shown_err
    assert spawned_code == 0 and not CPP_LOG_LINE.search(spawned_err), spawned_err
    assert "absl::InitializeLog" not in spawned_err


def test_what_the_import_prints_is_written_back_but_info_and_warning_records(tmp_path):
    """A stand-in `tensorflow` package: its C++-style INFO/WARNING records (with the lines
    that continue them) are dropped, anything else comes back, and everything on failure."""
    package = tmp_path / "tensorflow"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            import os
            os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called\\n"
                        b"I0000 00:00:1.0 port.cc:153] chatter\\n"
                        b"W0000 00:00:1.0 guard.cc:1] more\\nits second line\\n"
                        b"E0000 00:00:1.0 util.cc:131] an error\\nplain text\\n")
            if os.environ.get("BREAK"):
                raise ImportError("broken")
            """
        )
    )
    code = "from mtdnn_keras.cli.console import quiet_tensorflow\nquiet_tensorflow()\nimport tensorflow"
    path = f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    (ok, _, err), (broken, _, broken_err) = (
        finish(start(code, PYTHONPATH=path)),
        finish(start(code, PYTHONPATH=path, BREAK="1")),
    )
    assert ok == 0 and err == "E0000 00:00:1.0 util.cc:131] an error\nplain text\n"
    assert broken == 1 and "I0000 00:00:1.0 port.cc:153] chatter" in broken_err
    assert "its second line" in broken_err and "ImportError: broken" in broken_err
