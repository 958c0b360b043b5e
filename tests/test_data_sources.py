"""Data sources: tensorflow-datasets for every built-in task, labels by meaning, one choice.

No network: the built-in mappings are read through `tfds.testing.mock_data` (random examples
of each dataset's real features), and real RTE, MRPC, SQuAD 2.0 and CoNLL-2003 rows are
stored in TFDS's own format in a temporary folder and read back through the registered
builders, to equal what the official files give."""

import json

import pytest
from conftest import require_data

from mtdnn_keras.data.data_options import DataOptions
from mtdnn_keras.data.data_source import (
    check_sources,
    extra_dev_sources,
    input_source,
    source_for,
)
from mtdnn_keras.data.example_reader import DataError, ExampleReader
from mtdnn_keras.data.tfds_source import TfdsSplit
from mtdnn_keras.tasks.task_registry import TaskRegistry
from mtdnn_keras.training.run_plan import resolve_tasks, run_data

tfds = pytest.importorskip("tensorflow_datasets")

TASKS = TaskRegistry.builtin().tasks
WITH_TFDS = [name for name, task in TASKS.items() if task.tfds is not None]


def _files(task, split, root):
    return source_for(task, split, DataOptions(data_dir=str(root))).read().examples


def _store(data_dir, task, split_rows, shuffle=False):
    """Writes `{tfds split: [feature dicts]}` as `task`'s registered TFDS dataset."""
    dataset, _, config = task.tfds.name.partition("/")
    builder = tfds.builder(task.tfds.name)
    tfds.dataset_builders.store_as_tfds_dataset(
        name=dataset,
        config=config or getattr(builder.builder_config, "name", None),
        version=str(builder.info.version),
        features=builder.info.features,
        split_datasets={split: list(enumerate(rows)) for split, rows in split_rows.items()},
        data_dir=str(data_dir),
        disable_shuffling=not shuffle,
    )


def _pair_rows(task, examples, label_names):
    spec = task.tfds
    return [
        {
            spec.text_a: e.text_a,
            spec.text_b: e.text_b,
            spec.label: label_names.index(task.labels[e.label]) if e.label is not None else -1,
            spec.id: int(e.id) if e.id.isdigit() else i,
        }
        for i, e in enumerate(examples)
    ]


def test_every_builtin_dataset_has_the_features_and_label_names_its_task_maps():
    for name in WITH_TFDS:
        task = TASKS[name]
        features = tfds.builder(task.tfds.name).info.features
        named = [task.tfds.text_a, task.tfds.text_b, task.tfds.label, task.tfds.id]
        named += [choice.split("[")[0] for choice in task.tfds.choices]
        if task.reader.format == "squad":
            named = ["id", "question", "context", "answers"]
        for feature in filter(None, named):
            assert feature in features, (name, feature)
        label = features[task.tfds.label] if task.tfds.label else None
        label = getattr(label, "feature", label)
        if isinstance(label, tfds.features.ClassLabel):  # every name maps to a task label
            mapped = [task.tfds.label_map.get(n, n) for n in label.names]
            assert sorted(mapped) == sorted(task.labels), name


@pytest.mark.parametrize("name", WITH_TFDS)
def test_builtin_mapping_reads_mock_data_with_labels_by_name(name, tmp_path):
    task = TASKS[name]
    options = DataOptions(source="tfds", tfds_data_dir=str(tmp_path))
    with tfds.testing.mock_data(num_examples=4):
        for split, tfds_split in task.tfds.splits.items():
            source = source_for(task, split, options)
            assert isinstance(source, TfdsSplit) and source.tfds_split == tfds_split
            if task.type in ("span", "multiple_choice") and split != "test":
                # random answers are not in their random contexts, random labels are not
                # choice indices: every row is refused for its value, none for a field
                with pytest.raises(DataError, match="no usable examples") as error:
                    source.read(skip_bad_rows=True)
                assert "missing field" not in str(error.value)
                continue
            examples = source.read().examples
            raw = list(
                tfds.as_numpy(tfds.load(task.tfds.name, split=tfds_split, data_dir=str(tmp_path)))
            )
            assert len(examples) == len(raw) == 4
            features = tfds.builder(task.tfds.name, data_dir=str(tmp_path)).info.features
            for example, row in zip(examples, raw):
                words = row[task.tfds.text_a]
                if task.type == "sequence_labeling":
                    assert example.words is not None and len(example.words) == len(words)
                else:
                    assert example.text_a == words.decode().strip()
                if split == "test":  # test splits are read unlabeled
                    assert example.label is None
                elif task.type == "classification" or task.type == "ranking":
                    tfds_name = features[task.tfds.label].int2str(int(row[task.tfds.label]))
                    assert task.labels[example.label] == task.tfds.label_map.get(
                        tfds_name, tfds_name
                    )
                elif task.type == "sequence_labeling":
                    names = features[task.tfds.label].feature.names
                    tags = [names[i] for i in row[task.tfds.label]]
                    assert len(example.label) == len(tags)
                    assert all(
                        task.labels[i].split("-")[-1] == t.split("-")[-1]
                        for i, t in zip(example.label, tags)
                    )
                elif task.type == "regression":
                    assert example.label == pytest.approx(float(row[task.tfds.label]))


def test_mnli_reads_tfds_in_its_own_label_order():
    """TFDS orders MNLI entailment, neutral, contradiction; the task contradiction,
    entailment, neutral: a TFDS index is never used as the task's."""
    features = tfds.builder("glue/mnli").info.features
    assert features["label"].names == ["entailment", "neutral", "contradiction"]
    assert TASKS["mnli"].labels == ("contradiction", "entailment", "neutral")
    for name, tfds_order in (
        ("cola", ["unacceptable", "acceptable"]),
        ("wnli", ["not_entailment", "entailment"]),
    ):
        assert tfds.builder(f"glue/{name}").info.features["label"].names == tfds_order
        assert TASKS[name].labels == tuple(tfds_order)


@pytest.fixture(scope="module")
def glue_as_tfds(tmp_path_factory):
    """The real RTE and MRPC train/dev files stored as TFDS's glue/rte and glue/mrpc, with
    an unlabeled test split (label -1) and, in RTE's train, two rows without a label."""
    glue = require_data("glue", "RTE")
    glue = glue.parent
    folder = tmp_path_factory.mktemp("tfds")
    for name in ("rte", "mrpc"):
        task = TASKS[name]
        names = tfds.builder(task.tfds.name).info.features["label"].names
        train, dev = _files(task, "train", glue), _files(task, "dev", glue)
        rows = {"train": _pair_rows(task, train, names), "validation": _pair_rows(task, dev, names)}
        rows["test"] = [dict(row, label=-1) for row in rows["validation"][:7]]
        if name == "rte":
            rows["train"] += [
                dict(row, label=-1, idx=90000 + i) for i, row in enumerate(rows["train"][:2])
            ]
        _store(folder, task, rows)
    return folder, glue


def test_real_rte_and_mrpc_from_tfds_equal_the_official_files(glue_as_tfds):
    folder, glue = glue_as_tfds
    options = DataOptions(tfds_data_dir=str(folder))  # no --data-dir: TFDS
    for name in ("rte", "mrpc"):
        task = TASKS[name]
        for split in ("train", "dev"):
            result = source_for(task, split, options).read()
            files = _files(task, split, glue)
            fields = [(e.text_a, e.text_b, e.label) for e in result.examples]
            assert fields == [(e.text_a, e.text_b, e.label) for e in files]
            if name == "rte":  # RTE's files carry ids: equal too
                assert [e.id for e in result.examples] == [e.id for e in files]
        test = source_for(task, "test", options).read().examples
        assert len(test) == 7 and all(e.label is None for e in test)
    result = source_for(TASKS["rte"], "train", options).read()
    assert result.skipped == {"rows with label in skip_labels ['-1']": 2}


def test_fit_without_data_dir_trains_from_tfds(glue_as_tfds, tiny_encoder_dir, tmp_path, cli):
    folder, glue = glue_as_tfds
    out = tmp_path / "run"
    code, printed, error = cli(
        "fit",
        "--tasks",
        "rte,mrpc",
        "--tfds-data-dir",
        str(folder),
        "--output-dir",
        str(out),
        "--encoder",
        str(tiny_encoder_dir),
        "--max-steps",
        "2",
        "--batch-size",
        "8",
        "--max-seq-length",
        "32",
        "--max-train-examples",
        "rte=16,mrpc=16",
        "--verbose",
        "0",
    )
    assert code == 0, error
    assert printed.splitlines()[0] == f"output folder: {out}"
    record = json.loads((out / "training_config.json").read_text())
    assert record["data_dir"] is None and record["tfds_data_dir"] == str(folder)
    assert record["train_examples"] == {"rte": 16, "mrpc": 16}
    assert set(json.loads((out / "metrics.json").read_text())) == {"rte", "mrpc"}


def test_squad2_and_conll_from_tfds_equal_the_official_files(tmp_path):
    squad = require_data("squad2", "dev-v2.0.articles-01-12.json")
    conll = require_data("conll2003", "eng.testa")
    task = TASKS["squad2"]
    files = ExampleReader(task).read(squad, "dev").examples[:60]
    rows = [
        {
            "id": e.id,
            "title": "",
            "context": e.text_b,
            "question": e.text_a,
            "is_impossible": not e.answers,
            "answers": {
                "text": [a.text for a in e.answers],
                "answer_start": [a.start for a in e.answers],
            },
            "plausible_answers": {"text": [], "answer_start": []},
        }
        for e in files
    ]
    _store(tmp_path, task, {"validation": rows})
    read = source_for(task, "dev", DataOptions(tfds_data_dir=str(tmp_path))).read().examples
    assert [(e.id, e.text_a, e.text_b, e.answers) for e in read] == [
        (e.id, e.text_a, e.text_b, e.answers) for e in files
    ]
    ner = TASKS["conll2003_ner"]
    sentences = ExampleReader(ner).read(conll, "dev").examples[:80]
    features = tfds.builder("conll2003").info.features
    rows = []
    for e in sentences:
        words = [e.text_a[start:end] for start, end in e.words]
        tags = [ner.labels[i] for i in e.label]  # IOB2 (read); TFDS's copy is IOB2 too
        rows.append(
            {"tokens": words, "pos": ["NN"] * len(words), "chunks": ["O"] * len(words), "ner": tags}
        )
    assert features["ner"].feature.names == list(ner.labels)
    _store(tmp_path, ner, {"dev": rows})
    read = source_for(ner, "dev", DataOptions(tfds_data_dir=str(tmp_path))).read().examples
    assert [(e.text_a, e.words, e.label) for e in read] == [
        (e.text_a, e.words, e.label) for e in sentences
    ]


def test_labels_are_named_by_meaning_and_files_keep_their_values():
    glue = require_data("glue", "CoLA").parent
    cola = TASKS["cola"]
    dev = _files(cola, "dev", glue)
    raw = [line.split("\t")[1] for line in (glue / "CoLA" / "dev.tsv").read_text().splitlines()]
    assert [cola.labels[e.label] for e in dev] == [
        {"0": "unacceptable", "1": "acceptable"}[v] for v in raw
    ]
    expected = {
        "sst2": ("negative", "positive"),
        "mrpc": ("not_equivalent", "equivalent"),
        "qqp": ("not_duplicate", "duplicate"),
        "wnli": ("not_entailment", "entailment"),
    }
    for name, labels in expected.items():
        task = TASKS[name]
        assert task.labels == labels
        # a GLUE submission file writes the label as GLUE's files do
        assert task.kind.submission_value(task, {"label": labels[1]}) == "1"
        assert task.kind.submission_value(task, {"label": labels[0]}) == "0"
    mnli = TASKS["mnli"]
    assert mnli.kind.submission_value(mnli, {"label": "neutral"}) == "neutral"


def test_label_map_values_must_be_labels():
    from mtdnn_keras.tasks.task_definition import TaskDefinition, TaskDefinitionError

    with pytest.raises(TaskDefinitionError, match="tfds.label_map.*'yes'.*not one of the labels"):
        TaskDefinition.from_dict(
            "t",
            {
                "type": "classification",
                "labels": ["a", "b"],
                "tfds": {"name": "glue/rte", "text_a": "sentence1", "label_map": {"x": "yes"}},
            },
        )


def test_user_tasks_from_the_glue_samples_read_without_library_edits():
    data = require_data("glue_samples", "QQP").parent.parent
    tasks = resolve_tasks("rte,glue_samples", "experiments/glue_samples_tasks.yaml")
    planned = run_data(tasks, DataOptions(data_dir=str(require_data("glue"))))  # with GLUE's
    qqp = planned.train["qqp_sample"].read().examples
    first = json.loads((data / "glue_samples" / "QQP" / "train.jsonl").open().readline())
    assert len(qqp) == 8999 and qqp[0].text_a == first["text_a"]
    assert (
        TASKS["qqp"].labels[qqp[0].label]
        == {"0": "not_duplicate", "1": "duplicate"}[first["label"]]
    )
    assert set(planned.dev) == {t.name for t in tasks}


def test_snli_adaptation_trains_on_the_sample_and_scores_the_official_dev_lines():
    official = require_data("snli", "snli_1.0_dev.partial.jsonl")
    require_data("glue_samples", "SNLI")
    (task,) = resolve_tasks("snli_official_dev", "experiments/glue_samples_tasks.yaml")
    planned = run_data([task], DataOptions(data_dir=str(require_data("glue"))))
    train = planned.train[task.name].read().examples
    dev = planned.dev[task.name][1].read()
    lines = [json.loads(line) for line in official.read_text().splitlines()]
    labelled = [line for line in lines if line["gold_label"] != "-"]
    assert len(train) == 8999 and train[0].id == "train-0"
    assert len(dev.examples) == len(labelled) == 1273  # the 16 pairs without a gold label out
    assert dev.examples[0].text_a == labelled[0]["sentence1"]
    assert task.labels[dev.examples[0].label] == labelled[0]["gold_label"]
    assert not {e.text_a + e.text_b for e in train} & {e.text_a + e.text_b for e in dev.examples}


def test_a_user_task_defined_by_a_tfds_dataset_alone(tmp_path):
    registry = TaskRegistry.builtin().with_text(
        "tasks:\n"
        "  my_nli:\n"
        "    type: classification\n"
        "    labels: [yes, no]\n"
        "    tfds: {name: glue/rte, splits: {train: train, dev: validation}, text_a: sentence1,\n"
        "           text_b: sentence2, label: label, label_map: {entailment: 'yes',\n"
        "           not_entailment: 'no'}}\n".replace("[yes, no]", "['yes', 'no']"),
        "my.yaml",
    )
    task = registry.tasks["my_nli"]
    assert task.reader.format == "jsonl" and task.reader.text_a == "sentence1"
    with tfds.testing.mock_data(num_examples=3):
        examples = source_for(task, "train", DataOptions(tfds_data_dir=str(tmp_path))).read()
    assert {task.labels[e.label] for e in examples.examples} <= {"yes", "no"}
    with pytest.raises(DataError, match="no TFDS dataset for its test split"):
        source_for(task, "test", DataOptions())


def test_the_source_is_chosen_in_one_place(tmp_path, monkeypatch):
    rte = TASKS["rte"]
    assert isinstance(source_for(rte, "train", DataOptions()), TfdsSplit)
    assert not isinstance(source_for(rte, "train", DataOptions(data_dir="x")), TfdsSplit)
    assert isinstance(source_for(rte, "train", DataOptions(data_dir="x", source="tfds")), TfdsSplit)
    with pytest.raises(DataError, match="has no TFDS dataset"):
        source_for(TASKS["swag"], "train", DataOptions())
    with pytest.raises(DataError, match="no --data-dir given"):
        source_for(TASKS["swag"], "train", DataOptions(source="files"))
    # MNLI's mismatched dev set comes from the same source as its dev set
    assert extra_dev_sources(TASKS["mnli"], DataOptions())["mm"].tfds_split == (
        "validation_mismatched"
    )
    assert extra_dev_sources(TASKS["mnli"], DataOptions(data_dir="g"))["mm"].where == (
        "g/MNLI/dev_mismatched.tsv"
    )
    from mtdnn_keras.data import tfds_source

    monkeypatch.setattr(tfds_source, "_reachable", lambda host: False)  # offline either way
    options = DataOptions(tfds_data_dir=str(tmp_path))
    with pytest.raises(DataError) as error:
        check_sources({"mnli dev": source_for(TASKS["mnli"], "dev", options)})
    message = str(error.value)
    assert "glue/mnli: not prepared in" in message and "no network: dl.fbaipublicfiles" in message
    assert "--data-dir" in message and "mtdnn-keras data prepare --datasets glue/mnli" in message
    with pytest.raises(DataError, match="data prepare --datasets glue/ax"):
        check_sources({"ax": input_source(TASKS["mnli"], "tfds:glue/ax", options)})


def test_predict_reads_glue_ax_with_mnlis_features_and_a_tasks_own_test_split(tmp_path):
    options = DataOptions(tfds_data_dir=str(tmp_path))
    ax = input_source(TASKS["mnli"], "tfds:glue/ax", options)
    assert (ax.task.tfds.name, ax.tfds_split, ax.task.name) == ("glue/ax", "test", "mnli")
    with tfds.testing.mock_data(num_examples=3):
        examples = ax.read().examples
    assert len(examples) == 3 and all(e.label is None and e.text_b for e in examples)
    assert input_source(TASKS["rte"], None, options).tfds_split == "test"
    assert input_source(TASKS["rte"], None, DataOptions(data_dir="g")).where == "g/RTE/test.tsv"
    with pytest.raises(DataError, match="names no TFDS features"):
        input_source(TASKS["swag"], "tfds:hellaswag", options)


def test_data_prepare_finds_prepared_datasets_ready(glue_as_tfds, cli):
    folder, _ = glue_as_tfds
    code, printed, _ = cli("data", "prepare", "--tasks", "rte,mrpc,swag", "--tfds-data-dir", folder)
    assert code == 0
    assert printed.splitlines() == [
        "no TFDS dataset for swag: these read their files only",
        f"ready: glue/rte in {folder}",
        f"ready: glue/mrpc in {folder}",
    ]


def test_a_misnamed_feature_or_an_unmapped_label_is_named_before_reading(tmp_path):
    registry = TaskRegistry.builtin().with_text(
        "tasks:\n"
        "  typo:\n"
        "    type: classification\n"
        "    labels: [entailment, not_entailment]\n"
        "    tfds: {name: glue/rte, splits: {train: train}, text_a: sentense1, label: label}\n"
        "  unmapped:\n"
        "    type: classification\n"
        "    labels: [entails, other]\n"
        "    tfds: {name: glue/rte, splits: {train: train}, text_a: sentence1, label: label}\n",
        "my.yaml",
    )
    options = DataOptions(tfds_data_dir=str(tmp_path))
    typo, unmapped = (source_for(registry.tasks[n], "train", options) for n in ("typo", "unmapped"))
    # before anything is downloaded or read: from the dataset's registered features
    with pytest.raises(DataError, match="names feature 'sentense1'.*it has sentence1, sentence2"):
        check_sources({"typo train": typo})
    with pytest.raises(DataError, match=r"labels \['entailment', 'not_entailment'\] are not"):
        check_sources({"unmapped train": unmapped})
    with tfds.testing.mock_data(num_examples=2), pytest.raises(DataError, match="sentense1"):
        typo.read()  # and again where it is read


def test_models_saved_before_tfds_sources_read_tfds_with_their_own_labels(tmp_path):
    """A model saved by the release before this one (no `tfds` in its tasks; CoLA labelled
    "0"/"1") reads TFDS like a new one, each example with the index its head was trained on."""
    from mtdnn_keras.models.model_files import saved_tasks
    from mtdnn_keras.tasks.task_registry import saved_task

    release = {t.name: t for t in saved_tasks("tests/fixtures/release_model")}
    assert release["rte"].tfds == TASKS["rte"].tfds and release["squad2"].tfds is not None
    assert release["swag_jsonl"].tfds is None  # TFDS has no SWAG
    old_cola = {"name": "cola", **TASKS["cola"].to_dict(), "labels": ["0", "1"]}
    del old_cola["tfds"]
    for reader in ("reader", "test_reader"):
        old_cola[reader] = {**old_cola[reader], "label_map": {}}
    cola = saved_task(old_cola)
    assert cola.labels == ("0", "1")
    assert cola.tfds.label_map == {"unacceptable": "0", "acceptable": "1"}
    with tfds.testing.mock_data(num_examples=4):
        examples = source_for(cola, "train", DataOptions(tfds_data_dir=str(tmp_path))).read()
        raw = list(tfds.as_numpy(tfds.load("glue/cola", split="train", data_dir=str(tmp_path))))
    assert [e.label for e in examples.examples] == [int(r["label"]) for r in raw]
