"""Training throughput on the GLUE small-task mix: dynamic padding vs padding to 128.

Trains MT-DNN on a sample of the six small GLUE tasks (rte, mrpc, stsb, cola, sst2, wnli),
once untimed (tracing) and once timed, for each padding mode, and prints JSON: examples/s and
real (non-padding) tokens/s over the wall time of the whole timed pass. `--mix natural` (the
default) samples `--fraction` of each training set, SST-2 first cut to 8,000 as in
docs/results.md, so tasks keep the proportions of a real run; `--mix equal` takes
`--examples-per-task` of each.

    python benchmarks/padding_throughput.py --data-dir ../shared/data/glue
"""

import argparse
import json
import os
import platform
import random
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from mtdnn_keras.data.data_options import DataOptions  # noqa: E402
from mtdnn_keras.data.data_source import source_for  # noqa: E402
from mtdnn_keras.data.mixing_strategy import MixingStrategy  # noqa: E402
from mtdnn_keras.data.multitask_data import MultiTaskData  # noqa: E402
from mtdnn_keras.encoders.encoder_loader import load_encoder  # noqa: E402
from mtdnn_keras.models.mtdnn_model import MTDNNModel  # noqa: E402
from mtdnn_keras.optimizers.skip_zero_gradient import make_optimizer  # noqa: E402
from mtdnn_keras.tasks import TaskRegistry  # noqa: E402

TASKS = "rte,mrpc,stsb,cola,sst2,wnli"
SST2_CAP = 8000


def measure(tasks, train, encoder, padding, batch_size, seed):
    keras.utils.set_random_seed(seed)
    backbone, tokenizer = load_encoder(encoder)
    model = MTDNNModel(backbone, tasks)
    model.compile(optimizer=make_optimizer("adamax", 5e-5))
    data = MultiTaskData(tasks, train, tokenizer, batch_size, MixingStrategy(), padding, seed)
    steps = data.steps_per_epoch
    real_tokens = padded_tokens = examples = 0
    for x, _ in data.dataset().take(steps).as_numpy_iterator():  # the same batches fit sees
        real_tokens += int(x["padding_mask"].sum())
        padded_tokens += int(x["padding_mask"].size)
        examples += x["padding_mask"].shape[0]
    model.fit(data.dataset(), steps_per_epoch=steps, epochs=1, verbose=0)  # tracing pass
    start = time.perf_counter()
    model.fit(data.dataset(), steps_per_epoch=steps, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    return {
        "padding": padding,
        "steps": steps,
        "examples": examples,
        "seconds": round(seconds, 2),
        "examples_per_second": round(examples / seconds, 2),
        "real_tokens_per_second": round(real_tokens / seconds, 1),
        "padded_tokens_per_second": round(padded_tokens / seconds, 1),
        "padding_fraction": round(1 - real_tokens / padded_tokens, 3),
    }


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default="../shared/data/glue")
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--mix", choices=["natural", "equal"], default="natural")
    parser.add_argument("--fraction", type=float, default=0.06)
    parser.add_argument("--examples-per-task", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--paddings", default="bucket,batch,max")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    tasks = TaskRegistry.builtin().resolve(TASKS)
    train = {}
    for task in tasks:
        examples = source_for(task, "train", DataOptions(data_dir=args.data_dir)).read().examples
        if args.mix == "natural":
            count = round(
                args.fraction
                * min(len(examples), SST2_CAP if task.name == "sst2" else len(examples))
            )
        else:
            count = args.examples_per_task
        train[task.name] = random.Random(args.seed).sample(examples, min(count, len(examples)))
    results = [
        measure(tasks, train, args.encoder, padding, args.batch_size, args.seed)
        for padding in args.paddings.split(",")
    ]
    by_mode = {r["padding"]: r for r in results}
    report = {
        "benchmark": "padding_throughput",
        "encoder": args.encoder,
        "tasks": TASKS,
        "mix": args.mix,
        "train_examples": {name: len(examples) for name, examples in train.items()},
        "batch_size": args.batch_size,
        "max_seq_length": 128,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "results": results,
    }
    if "max" in by_mode:
        report["speedup_vs_max"] = {
            mode: round(r["examples_per_second"] / by_mode["max"]["examples_per_second"], 2)
            for mode, r in by_mode.items()
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
