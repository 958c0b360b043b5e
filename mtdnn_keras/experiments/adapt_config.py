"""The options of a domain-adaptation sweep, checked without TensorFlow (the CLI and the
experiment runner check them before anything starts); `domain_adaptation` runs it."""

from __future__ import annotations

import dataclasses
import re

from mtdnn_keras.training.training_config import TrainingConfig

RESULTS_FILE = "adaptation.json"


@dataclasses.dataclass
class AdaptConfig:
    """A domain-adaptation sweep.

    Args:
        task: the task to adapt to.
        output_dir: where runs, `adaptation.json`, `adaptation.md` and `adaptation.png` go.
        starts: display name to starting point: `model:DIR` (a folder written by `fit`) or
            `encoder:SPEC` (`encoder:minilm`).
        fractions: fractions of the training pool, each sampled per seed.
        seeds: number of seeds (0, 1, ...), or an explicit list.
        holdout: when set, this many examples of the task's training file (a seeded sample,
            the same for every run) are the evaluation set and the rest the training pool;
            otherwise the pool is the training file and the task's dev set is scored.
        holdout_seed: the seed of that split.
        training: the options of every run (`tasks`, `output_dir`, `seed` are set per run).
    """

    task: str
    output_dir: str
    starts: dict[str, str]
    fractions: list[float]
    seeds: int | list[int] = 5
    holdout: int | None = None
    holdout_seed: int = 0
    training: TrainingConfig | None = None

    def __post_init__(self):
        if not self.starts:
            raise ValueError("adapt needs at least one starting point (--from or --encoder)")
        for name, spec in self.starts.items():
            kind, _, value = spec.partition(":")
            if kind not in ("model", "encoder") or not value:
                raise ValueError(
                    f"start {name!r}: expected model:DIR or encoder:SPEC, got {spec!r}"
                )
        for fraction in self.fractions:
            if not 0 < fraction <= 1:
                raise ValueError(f"fraction {fraction} is not in (0, 1]")
        for what, names in (
            ("--fractions", [f"{fraction:g}" for fraction in self.fractions]),
            ("starting points' folder names", [slug(name) for name in self.starts]),
        ):
            if len(set(names)) != len(names):  # one folder would serve two of them
                raise ValueError(f"{what} repeat one another: {', '.join(names)}")
        if isinstance(self.seeds, bool) or not (
            (isinstance(self.seeds, int) and self.seeds >= 1)
            or (
                isinstance(self.seeds, list)
                and self.seeds
                and all(isinstance(s, int) and not isinstance(s, bool) for s in self.seeds)
            )
        ):
            raise ValueError(f"seeds: expected a whole number >= 1 or a list of seeds, got {self.seeds!r}")
        if self.holdout is not None and (
            isinstance(self.holdout, bool) or not isinstance(self.holdout, int) or self.holdout < 1
        ):
            raise ValueError(f"--holdout: expected a whole number >= 1, got {self.holdout!r}")
        if self.training is None:
            self.training = TrainingConfig(tasks=self.task, output_dir=self.output_dir)

    @property
    def seed_list(self) -> list[int]:
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)


def slug(name: str) -> str:
    """A starting point's display name as a folder name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "start"
