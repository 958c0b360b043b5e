"""The domain-adaptation sweep as a Markdown table and a plot like the paper's Figure 2."""

from __future__ import annotations

import math
from pathlib import Path

from mtdnn_keras.storage.atomic_writes import atomic_file, write_text_atomically

REPORT_FILES = ("adaptation.md", "adaptation.png")


def markdown_table(task: str, metric: str, summary: list[dict]) -> str:
    """Rows: training examples (fraction); columns: starting points; cells: mean ± std."""
    starts = list(dict.fromkeys(row["start"] for row in summary))
    fractions = sorted({row["fraction"] for row in summary})
    cells = {(row["start"], row["fraction"]): row for row in summary}
    lines = [
        f"| {task} training examples (fraction) | "
        + " | ".join(f"{start}: {metric}, mean ± std (seeds)" for start in starts)
        + " |",
        "|---|" + "---|" * len(starts),
    ]
    for fraction in fractions:
        examples = next(row["examples"] for row in summary if row["fraction"] == fraction)
        values = []
        for start in starts:
            row = cells.get((start, fraction))
            if row is None:
                values.append("–")
            elif math.isnan(row["std"]):
                values.append(f"{row['mean']:.2f} ({row['seeds']})")
            else:
                values.append(f"{row['mean']:.2f} ± {row['std']:.2f} ({row['seeds']})")
        lines.append(f"| {examples} ({fraction:g}) | " + " | ".join(values) + " |")
    return "\n".join(lines) + "\n"


def plot(task: str, metric: str, summary: list[dict], path: Path) -> None:
    """Metric against training examples (log scale), one line with error bars per start."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(5.5, 4))
    for start in dict.fromkeys(row["start"] for row in summary):
        rows = sorted((r for r in summary if r["start"] == start), key=lambda r: r["examples"])
        axes.errorbar(
            [r["examples"] for r in rows],
            [r["mean"] for r in rows],
            yerr=[0 if math.isnan(r["std"]) else r["std"] for r in rows],
            marker="o",
            capsize=3,
            label=start,
        )
    axes.set_xscale("log")
    axes.set_xlabel(f"{task} training examples")
    axes.set_ylabel(f"{task} {metric}")
    axes.set_title(f"Domain adaptation to {task}")
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    with atomic_file(path, suffix=path.suffix) as temporary:
        figure.savefig(temporary, dpi=120)
    pyplot.close(figure)


def write_report(task: str, metric: str, summary: list[dict], output_dir: Path) -> None:
    """`adaptation.md` and `adaptation.png` in `output_dir` (`REPORT_FILES`)."""
    table = markdown_table(task, metric, summary)
    write_text_atomically(table, output_dir / REPORT_FILES[0])
    plot(task, metric, summary, output_dir / REPORT_FILES[1])
    print(table)
