"""How the batches of several tasks are mixed into one stream."""

from __future__ import annotations

import dataclasses
import math

STRATEGIES = ("proportional", "uniform", "temperature", "weights")


@dataclasses.dataclass(frozen=True)
class MixingStrategy:
    """The probability of drawing the next batch from each task.

    - `proportional` (default): the paper's Algorithm 1. Every epoch takes each task's batches
      once, drawn in proportion to the tasks' batch counts, so an epoch is the merge of all
      tasks' batches in random order.
    - `uniform`: every task equally often.
    - `temperature:T`: in proportion to `batches ** (1 / T)` (T = 1 is proportional, large T
      tends to uniform).
    - `weights:rte=0.5,mrpc=0.3,...`: fixed weights (normalised; tasks not named get 0).

    For all but `proportional`, tasks' batches repeat (each reshuffled) and an epoch has as
    many steps as all tasks' batches together.

    Examples:
    ```python
    MixingStrategy.parse("temperature:2").weights({"rte": 78, "sst2": 2105})
    ```
    """

    kind: str = "proportional"
    temperature: float = 1.0
    task_weights: tuple[tuple[str, float], ...] = ()

    @classmethod
    def parse(cls, text: str) -> MixingStrategy:
        kind, _, argument = text.strip().partition(":")
        if kind not in STRATEGIES:
            raise ValueError(
                f"unknown mixing strategy {text!r}; expected one of {', '.join(STRATEGIES)}"
            )
        if kind == "temperature":
            try:
                temperature = float(argument)
            except ValueError:
                raise ValueError(
                    f"mixing 'temperature:T' needs a number T, got {argument!r}"
                ) from None
            if not 1e-3 <= temperature <= 1e3:  # beyond, batch counts' powers overflow
                raise ValueError(f"mixing temperature must be in [0.001, 1000], got {temperature}")
            return cls(kind, temperature=temperature)
        if kind == "weights":
            pairs = []
            for item in filter(None, argument.split(",")):
                name, _, value = item.partition("=")
                try:
                    weight = float(value)
                except ValueError:
                    raise ValueError(
                        f"mixing weight for {name!r} is not a number: {value!r}"
                    ) from None
                if not math.isfinite(weight) or weight < 0:
                    raise ValueError(
                        f"mixing weight for {name!r} must be a finite number >= 0, got {weight}"
                    )
                pairs.append((name.strip(), weight))
            if not pairs or sum(w for _, w in pairs) <= 0:
                raise ValueError("mixing 'weights:' needs task=weight pairs with a positive sum")
            return cls(kind, task_weights=tuple(pairs))
        if argument:
            raise ValueError(f"mixing strategy {kind!r} takes no argument, got {argument!r}")
        return cls(kind)

    @property
    def repeats(self) -> bool:
        """Whether tasks' batches repeat within an epoch (all strategies but proportional)."""
        return self.kind != "proportional"

    def weights(self, batch_counts: dict[str, int]) -> dict[str, float]:
        """Normalised sampling weights for tasks with these batch counts per epoch."""
        if self.kind == "proportional":
            raw = {name: float(count) for name, count in batch_counts.items()}
        elif self.kind == "uniform":
            raw = {name: 1.0 for name in batch_counts}
        elif self.kind == "temperature":
            raw = {name: count ** (1.0 / self.temperature) for name, count in batch_counts.items()}
        else:
            given = dict(self.task_weights)
            unknown = set(given) - set(batch_counts)
            if unknown:
                raise ValueError(f"mixing weights name tasks not being trained: {sorted(unknown)}")
            raw = {name: given.get(name, 0.0) for name in batch_counts}
        total = sum(raw.values())
        return {name: value / total for name, value in raw.items()}

    def __str__(self) -> str:
        if self.kind == "temperature":
            return f"temperature:{self.temperature:g}"
        if self.kind == "weights":
            return "weights:" + ",".join(f"{n}={w:g}" for n, w in self.task_weights)
        return self.kind
