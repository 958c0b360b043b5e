"""How long a user waits for the one-line error of a mistaken command.

Each case runs the CLI in a fresh process (as a user's shell would), REPEATS times, and the
median wall time to its exit is reported with the exit status, the number of lines printed
and whether TensorFlow was imported on the way. `--source DIR` runs the CLI of another
checkout (e.g. a `git worktree` of an earlier commit) for a before/after in the same run.

    python benchmarks/time_to_error.py --data-dir ../shared/data/glue \
        [--source /tmp/before --label before] [--output docs/time_to_error.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEATS = 3
# runs the CLI, then says whether TensorFlow was imported; no host is reachable, as offline
PROBE = """
import sys
try:
    from mtdnn_keras.data import tfds_source
    tfds_source._reachable = lambda host: False
except ImportError:
    pass
try:
    from mtdnn_keras.cli.main import main
except ImportError:
    from cli.main import main
code = main(sys.argv[1:])
print("tensorflow imported:", "tensorflow" in sys.modules, file=sys.stderr)
sys.exit(code)
"""


def cases(data_dir: str, scratch: Path) -> dict[str, list[str]]:
    busy = scratch / "busy"
    busy.mkdir(exist_ok=True)
    (busy / "notes.txt").write_text("someone else's file")
    empty = scratch / "empty_tfds"
    empty.mkdir(exist_ok=True)
    out = str(scratch / "out")
    return {
        "missing dataset (fit --tasks glue, no data)": [  # TFDS_DATA_DIR: an empty folder
            "fit", "--tasks", "glue", "--output-dir", out,
        ],
        "missing file": [
            "fit", "--tasks", "rte", "--data-dir", data_dir, "--train-file",
            "rte=/nonexistent/train.tsv", "--output-dir", out,
        ],
        "unknown task": ["fit", "--tasks", "nosuch", "--data-dir", data_dir, "--output-dir", out],
        "bad option": [
            "fit", "--tasks", "rte", "--data-dir", data_dir, "--output-dir", out,
            "--learning-rate", "nan",
        ],
        "output folder in use": [
            "fit", "--tasks", "rte", "--data-dir", data_dir, "--output-dir", str(busy),
        ],
        "missing model (evaluate)": ["evaluate", "--model", "/nonexistent/model"],
    }  # fmt: skip


def run_case(argv: list[str], source: str | None, scratch: Path) -> dict:
    env = dict(os.environ, TFDS_DATA_DIR=str(scratch / "empty_tfds"))
    cwd = None
    if source:
        env["PYTHONPATH"] = source
        cwd = source
    seconds, result = [], None
    for _ in range(REPEATS):
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env,
            cwd=cwd,
        )  # fmt: skip
        seconds.append(time.perf_counter() - started)
    lines = [line for line in result.stderr.splitlines() + result.stdout.splitlines() if line]
    imported = any(line == "tensorflow imported: True" for line in lines)
    shown = [line for line in lines if not line.startswith("tensorflow imported:")]
    return {
        "seconds": round(statistics.median(seconds), 2),
        "exit": result.returncode,
        "lines": len(shown),
        "tensorflow_imported": imported,
        "error": next((line for line in shown if line.startswith("error:")), shown[-1:]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="GLUE's folder")
    parser.add_argument("--source", action="append", default=[], help="another checkout")
    parser.add_argument("--label", action="append", default=[], help="names of --source")
    parser.add_argument("--output", help="write the figures as JSON here")
    args = parser.parse_args()
    data_dir = str(Path(args.data_dir).resolve())
    sources = [("this tree", None)] + list(
        zip(args.label or [f"source {i}" for i in range(len(args.source))], args.source)
    )
    report = {"cpus": os.cpu_count(), "repeats": REPEATS, "runs": {}}
    with tempfile.TemporaryDirectory() as scratch:
        for label, source in sources:
            report["runs"][label] = {}
            for name, argv in cases(data_dir, Path(scratch)).items():
                figures = run_case(argv, source and str(Path(source).resolve()), Path(scratch))
                report["runs"][label][name] = figures
                print(
                    f"{label:10} {name:45} {figures['seconds']:6.2f} s  exit {figures['exit']}  "
                    f"{figures['lines']} line(s)  tensorflow imported: "
                    f"{figures['tensorflow_imported']}"
                )
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
