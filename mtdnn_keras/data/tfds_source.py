"""A task's split read from tensorflow-datasets (TFDS), labels matched by name.

What can go wrong with a user's setup (an unknown dataset, a split it lacks, a dataset that is
not prepared and cannot be downloaded) is found by `TfdsSplit.problem` from TFDS's builder
classes and the prepared folder's `dataset_info.json`, without importing TensorFlow (TFDS
imports it lazily). Reading and preparing need TensorFlow.
"""

from __future__ import annotations

import concurrent.futures
import functools
import json
import os
import re
import socket
import urllib.parse
from pathlib import Path

from mtdnn_keras.data.data_options import DataOptions
from mtdnn_keras.data.example_reader import DataError, ExampleReader, ReadResult
from mtdnn_keras.data.split_source import SplitSource
from mtdnn_keras.tasks.task_definition import ReaderSpec, TaskDefinition

INFO_FILE = "dataset_info.json"  # what TFDS writes last when it prepares a dataset
PROBE_TIMEOUT_S = 3.0
TFDS_MIRROR_HOST = "storage.googleapis.com"  # TFDS looks for prepared copies there first


def tfds_data_dir(options: DataOptions) -> Path:
    """Where prepared datasets live: `--tfds-data-dir`, else TFDS's own default."""
    if options.tfds_data_dir:
        return Path(options.tfds_data_dir).expanduser()
    return Path(os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets").expanduser()


class TfdsSplit(SplitSource):
    """Split `tfds_split` of `task.tfds.name`, as `task`'s `split` (`train`, `dev`, `test`).

    Examples:
    ```python
    rte = TaskRegistry.builtin().tasks["rte"]
    TfdsSplit(rte, "dev", "validation", DataOptions(tfds_data_dir="~/tfds")).read()
    ```
    """

    def __init__(self, task: TaskDefinition, split: str, tfds_split: str, options: DataOptions):
        self.task = task
        self.split = split
        self.tfds_split = tfds_split
        self.options = options
        self.data_dir = tfds_data_dir(options)
        self.where = f"tfds {task.tfds.name}, split {tfds_split}"

    def problem(self) -> str | None:
        lines = self.problems([self])
        return lines[0] if lines else None

    def unavailable(self) -> list[str] | None:
        """The hosts the dataset, not prepared, would be downloaded from, if none can be
        reached; `None` if one can."""
        hosts = download_hosts(self.task.tfds.name)
        return None if _any_reachable(hosts) else hosts

    @staticmethod
    def problems(splits: list[TfdsSplit]) -> list[str]:
        """Why each split cannot be read (none if all can), with the datasets that are
        neither prepared nor downloadable said once, in one line with the two ways out."""
        lines, missing = [], {}
        for split in splits:
            name = split.task.tfds.name
            try:
                folder = prepared_folder(name, split.data_dir)
            except ValueError as error:
                lines.append(f"task '{split.task.name}': {error}")
                continue
            try:  # from TFDS's code (or the prepared copy's info): no download, no TensorFlow
                check_features(split.task, dataset_features(name, split.data_dir), split.where)
            except DataError as error:
                lines.append(str(error))
                continue
            prepared = prepared_splits(folder)
            if prepared is not None:
                if split.tfds_split not in prepared:
                    lines.append(
                        f"{name} in {folder} has no split {split.tfds_split!r} (it has "
                        f"{', '.join(sorted(prepared))}); task '{split.task.name}' reads "
                        f"it as its {split.split} split"
                    )
                continue
            why = split.unavailable()
            if why is not None:  # else downloaded and prepared on first use
                entry = missing.setdefault(str(split.data_dir), ({}, {}))
                entry[0][name] = None
                entry[1].update(dict.fromkeys(why))
        for data_dir, (names, hosts) in missing.items():
            lines.append(_not_prepared(list(names), data_dir, list(hosts)))
        return list(dict.fromkeys(lines))

    def read(self, skip_bad_rows: bool = False) -> ReadResult:
        import tensorflow_datasets as tfds

        features = dataset_features(self.task.tfds.name, self.data_dir)
        check_features(self.task, features, self.where)  # before any download
        builder = prepare_dataset(self.task.tfds.name, self.data_dir)
        spec = self.reader_spec()
        dataset = builder.as_dataset(split=self.tfds_split, shuffle_files=False)
        rows = (
            (number, _row(example, features, spec, f"{self.tfds_split}[{number - 1}]"))
            for number, example in enumerate(tfds.as_numpy(dataset), start=1)
        )
        labeled = self.split != "test" and (spec.label is not None or spec.format == "squad")
        reader = ExampleReader(self.task, skip_bad_rows=skip_bad_rows)
        return reader.read_rows(rows, self.where, spec, labeled, unit="example")

    def reader_spec(self) -> ReaderSpec:
        """The reader of the dataset's rows: the task's format (SQuAD's records, CoNLL's
        sentences, else a mapping of features) with the dataset's feature names."""
        spec = self.task.tfds
        fmt = self.task.reader.format
        return ReaderSpec(
            format=fmt if fmt in ("squad", "conll") else "jsonl",
            text_a=spec.text_a,
            text_b=spec.text_b,
            label=spec.label,
            id=spec.id,
            skip_labels=spec.skip_labels,
            choices=spec.choices,
            label_map=spec.label_map,
        )


def check_features(task: TaskDefinition, features, where: str) -> None:
    """The features `task.tfds` names are the dataset's, and every label name of its label
    feature (a `ClassLabel`, or a sequence of them) maps, through `tfds.label_map` or as it
    is, to a label of the task."""
    import tensorflow_datasets as tfds

    spec = task.tfds
    named = [spec.text_a, spec.text_b, spec.label, spec.id, *spec.choices]
    for name in filter(None, named):
        base = name.split("[")[0] if name.endswith("]") else name
        if base not in features:
            raise DataError(
                where,
                None,
                f"tfds.{name}",
                f"task '{task.name}' names feature {name!r}, which the dataset does not have; "
                f"it has {', '.join(features.keys())}",
            )
    if spec.label is None:
        return
    feature = features[spec.label]
    if isinstance(feature, tfds.features.Sequence):
        feature = feature.feature
    if not isinstance(feature, tfds.features.ClassLabel):
        return
    unknown = [n for n in feature.names if spec.label_map.get(n, n) not in task.labels]
    if unknown:
        raise DataError(
            where,
            None,
            spec.label,
            f"the dataset's labels {unknown} are not labels of task '{task.name}' "
            f"{list(task.labels)}: map them in its tfds.label_map",
        )


def _not_prepared(names: list[str], data_dir: str, hosts: list[str]) -> str:
    these = "it" if len(names) == 1 else "them"
    return (
        f"{', '.join(names)}: not prepared in {data_dir} (no network: {', '.join(hosts)} "
        "cannot be reached); give --data-dir with the official files, or --tfds-data-dir (or "
        f"TFDS_DATA_DIR) with a folder where `mtdnn-keras data prepare --datasets "
        f"{','.join(names)}` prepared {these}"
    )


def prepare_datasets(names: list[str], data_dir: Path) -> None:
    """Downloads and prepares the datasets `names` in `data_dir` (those already prepared are
    left as they are), after checking, without TensorFlow, that each is a TFDS dataset and
    that those not prepared can be downloaded."""
    problems, missing, hosts = [], [], {}
    for name in names:
        try:
            folder = prepared_folder(name, data_dir)
        except ValueError as error:
            problems.append(str(error))
            continue
        if prepared_splits(folder) is None:
            name_hosts = download_hosts(name)
            if not _any_reachable(name_hosts):
                missing.append(name)
                hosts.update(dict.fromkeys(name_hosts))
    if missing:
        problems.append(_not_prepared(missing, str(data_dir), list(hosts)))
    if problems:
        raise DataError("data", None, None, "\n".join(problems))
    for name in names:
        prepare_dataset(name, data_dir)
        print(f"ready: {name} in {data_dir}")


def dataset_features(name: str, data_dir: Path):
    """The features of dataset `name` (a `tfds.features.FeaturesDict`), known without
    preparing it."""
    import tensorflow_datasets as tfds

    return tfds.builder(name, data_dir=str(data_dir)).info.features


def prepare_dataset(name: str, data_dir: Path):
    """The TFDS builder of `name` in `data_dir`, downloaded and prepared first if it is not
    (TFDS shows its progress). Whether it can be is `TfdsSplit.problem`'s question, which
    the commands ask first: TFDS itself retries an unreachable host for minutes."""
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=str(data_dir))
    if prepared_splits(prepared_folder(name, data_dir)) is None:
        print(f"preparing {name} in {data_dir} (once; later runs read it from there)")
        builder.download_and_prepare()
    return builder


def _parts(name: str) -> tuple[str, str | None, str | None]:
    """`glue/rte:2.0.0` as (`glue`, `rte`, `2.0.0`); a name without a version after its last
    `:` keeps it (`huggingface:imdb`)."""
    base, _, version = name.rpartition(":")
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        base, version = name, None
    dataset, _, config = base.partition("/")
    return dataset, config or None, version


@functools.cache
def _builder_class(dataset: str):
    import tensorflow_datasets as tfds

    try:
        return tfds.builder_cls(dataset)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(
            f"tensorflow-datasets {tfds.__version__} has no dataset {dataset!r}"
        ) from None


def prepared_folder(name: str, data_dir: Path) -> Path:
    """Where TFDS keeps `name` prepared in `data_dir` (`glue/rte/2.0.0`): the version is
    the one TFDS's code reads by default unless the name gives one."""
    dataset, config, version = _parts(name)
    builder = _builder_class(dataset)
    configs = {c.name: c for c in builder.BUILDER_CONFIGS or []}
    if configs and config is None:  # TFDS's default: the first config
        config = getattr(builder, "DEFAULT_BUILDER_CONFIG_NAME", None) or next(iter(configs))
    if configs and config not in configs:
        raise ValueError(
            f"tensorflow-datasets' {dataset} has no config {config!r}; it has {', '.join(configs)}"
        )
    if not configs and config:
        raise ValueError(f"tensorflow-datasets' {dataset} has no configs, not {config!r}")
    if version is None:
        config_version = getattr(configs.get(config), "version", None)
        version = str(config_version or builder.VERSION)
    return data_dir / dataset / config / version if config else data_dir / dataset / version


def prepared_splits(folder: Path) -> set[str] | None:
    """The splits of the dataset prepared in `folder`, or `None` if it is not prepared."""
    try:
        info = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {split.get("name") for split in info.get("splits", [])}


def download_hosts(name: str) -> list[str]:
    """The hosts TFDS downloads `name` from (its registered checksums' URLs); where the
    builder lists none, the host of TFDS's own mirror of prepared datasets."""
    dataset, config, _ = _parts(name)
    builder = _builder_class(dataset)
    urls = list(builder.url_infos or {})
    config_url = getattr(
        {c.name: c for c in builder.BUILDER_CONFIGS or []}.get(config), "data_url", None
    )
    if config_url:
        urls = [config_url]
    hosts = sorted({urllib.parse.urlsplit(url).hostname for url in urls} - {None})
    return hosts or [TFDS_MIRROR_HOST]


def _any_reachable(hosts: list[str]) -> bool:
    """Whether one of `hosts` answers, all probed at once: offline, where a connection
    hangs until its timeout, the wait is one timeout, not one per host."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(len(hosts), 1)) as pool:
        return any(pool.map(_reachable, hosts))


@functools.cache
def _reachable(host: str) -> bool:
    try:
        socket.create_connection((host, 443), timeout=PROBE_TIMEOUT_S).close()
        return True
    except OSError:
        return False


def _row(example: dict, features, spec: ReaderSpec, where: str) -> dict:
    """One dataset example as the reader's row of `spec.format`."""
    values = {key: _plain(value, features[key]) for key, value in example.items()}
    if spec.format == "conll":
        words = values[spec.text_a]
        tags = values[spec.label] if spec.label is not None else []
        return {"words": words, "tags": tags, "lines": [None] * len(words)}
    if spec.format == "squad":
        answers = values.get("answers") or {"text": [], "answer_start": []}
        return {
            **values,
            "is_impossible": bool(values.get("is_impossible", False)),
            "answers": [
                {"text": text, "answer_start": start}
                for text, start in zip(answers["text"], answers["answer_start"])
            ],
            "_where": where,
        }
    return values


def _plain(value, feature):
    """A TFDS value as the plain Python value a file would hold: text as `str`, a class
    label as its name (`-1`, no label, as `"-1"`), lists and mappings of those."""
    import numpy as np
    import tensorflow_datasets as tfds

    if isinstance(feature, tfds.features.ClassLabel):
        index = int(value)
        return feature.int2str(index) if index >= 0 else str(index)
    if isinstance(feature, tfds.features.Sequence):
        inner = feature.feature
        if isinstance(value, dict):
            return {key: _plain(part, inner[key]) for key, part in value.items()}
        return [_plain(item, inner) for item in value]
    if isinstance(feature, tfds.features.FeaturesDict):
        return {key: _plain(part, feature[key]) for key, part in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return [_plain(item, None) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
