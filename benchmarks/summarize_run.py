"""Prints a training run's dev scores per epoch as a Markdown table (for docs/results.md).

python benchmarks/summarize_run.py runs/glue6
"""

import json
import sys
from pathlib import Path


def main(run_dir: str) -> None:
    run = Path(run_dir)
    history = json.loads((run / "eval_history.json").read_text())
    best = json.loads((run / "metrics.json").read_text())
    config = json.loads((run / "training_config.json").read_text())
    columns = [
        (task, metric) for task, metrics in history[0]["metrics"].items() for metric in metrics
    ]
    header = ["epoch", "step", *(f"{task} {metric}" for task, metric in columns), "selection mean"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for epoch in history:
        marker = " (best)" if epoch["metrics"] == best else ""
        cells = [f"{epoch['epoch']}{marker}", str(epoch["step"])]
        cells += [f"{epoch['metrics'][task][metric]:.2f}" for task, metric in columns]
        cells.append(f"{epoch['mean']:.2f}")
        print("| " + " | ".join(cells) + " |")
    print()
    print(
        f"training examples: {config['train_examples']}; batches per epoch: {config['batch_counts']}"
    )


if __name__ == "__main__":
    main(sys.argv[1])
