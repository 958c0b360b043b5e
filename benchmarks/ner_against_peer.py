"""CoNLL-2003 NER with MiniLM: mtdnn-keras against the usual alternative, in one run.

Runs, one after the other on this machine,
- `mtdnn-keras fit --tasks conll2003_ner` (first-piece labels, AdamW, the options below),
- the peer, Hugging Face transformers' token-classification recipe (run_ner's: first-piece
  labels, AdamW 5e-5, 3 epochs, batch 32; benchmarks/peer_token_classification.py) on the
  same encoder and files, in the environment `benchmarks/bench_env.sh` makes (`.venv-bench`,
  torch + transformers), skipped with a note where that is missing,
and writes both dev (`eng.testa`) entity scores, overall and per type (seqeval, CoNLL's
rules), their training times and examples per second, as JSON.

    bash benchmarks/bench_env.sh        # once: the peer's environment
    python benchmarks/ner_against_peer.py --data-dir ../shared/data --output docs/ner_peer.json
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PEER = REPO / "benchmarks" / "peer_token_classification.py"
PEER_PYTHON = REPO / ".venv-bench" / "bin" / "python"
PRECISIONS = ("mixed_bfloat16", "float32")


def run_mtdnn(args, output_dir: Path) -> dict:
    command = [
        sys.executable, "-m", "mtdnn_keras.cli.main", "fit", "--tasks", "conll2003_ner",
        "--data-dir", str(args.data_dir), "--output-dir", str(output_dir), "--overwrite",
        "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
        "--learning-rate", str(args.learning_rate), "--optimizer", "adamw",
        "--warmup-fraction", "0", "--weight-decay", "0", "--selection", "last",
        "--precision", args.precision, "--seed", str(args.seed), "--verbose", "2",
    ]  # fmt: skip
    print("$", " ".join(command), flush=True)
    start = time.perf_counter()
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - start
    scores = json.loads((output_dir / "metrics.json").read_text())["conll2003_ner"]
    config = json.loads((output_dir / "training_config.json").read_text())
    return {
        "command": " ".join(command[2:]).replace("mtdnn_keras.cli.main", "mtdnn-keras"),
        "wall_seconds": round(seconds, 1),
        "train_sentences": 14041,
        "dev": _entity_scores(scores),
        "config": {k: config[k] for k in ("learning_rate", "batch_size", "epochs") if k in config},
    }


def _entity_scores(scores: dict) -> dict:
    kinds = sorted({key.split("_")[0] for key in scores if key.endswith("_f1")})
    return {
        "f1": scores["f1"],
        "precision": scores["precision"],
        "recall": scores["recall"],
        "per_type": {
            kind: {m: scores[f"{kind}_{m}"] for m in ("f1", "precision", "recall")}
            for kind in kinds
        },
    }


def run_peer(args, output: Path) -> dict:
    if not PEER_PYTHON.exists():
        return {"skipped": f"no {PEER_PYTHON}: run benchmarks/bench_env.sh to compare"}
    conll = Path(args.data_dir) / "conll2003"
    command = [
        str(PEER_PYTHON), str(PEER), "--train", str(conll / "eng.train"),
        "--dev", str(conll / "eng.testa"), "--epochs", str(args.epochs),
        "--batch-size", str(args.batch_size), "--learning-rate", "5e-5",
        "--precision", args.peer_precision, "--seed", str(args.seed),
        "--output", str(output),
    ]  # fmt: skip
    print("$", " ".join(command), flush=True)
    start = time.perf_counter()
    subprocess.run(command, check=True)
    report = json.loads(output.read_text())
    report["wall_seconds"] = round(time.perf_counter() - start, 1)
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--work-dir", default="runs/ner_benchmark")
    parser.add_argument("--output", help="also write the JSON here")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--precision", choices=PRECISIONS, default="mixed_bfloat16")
    parser.add_argument(
        "--peer-precision",
        choices=("float32", "bfloat16"),
        default="float32",
        help="the peer's own fastest here: torch's bfloat16 autocast is slower on this CPU",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args(argv)
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "ner_against_peer",
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor()},
        "data": "CoNLL-2003 eng.train (train), eng.testa (dev)",
        "encoder": "all-MiniLM-L6-v2",
        "precision": {"mtdnn_keras": args.precision, "peer": args.peer_precision},
        "mtdnn_keras": run_mtdnn(args, work / "mtdnn_keras"),
    }
    if args.skip_peer:
        report["peer"] = {"skipped": "--skip-peer"}
    else:
        report["peer"] = run_peer(args, work / "peer.json")
    print(json.dumps(report, indent=1))
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
