"""Sequence labelling: the CoNLL reader, IOB tags, word pieces in windows, seqeval scores,
entity offsets, and a tagging task trained with others."""

import numpy as np
import pytest
from conftest import require_data, write_lines

from mtdnn_keras.data.example_reader import DataError, ExampleReader
from mtdnn_keras.features.example import Example
from mtdnn_keras.features.words import joined_words, text_words
from mtdnn_keras.task_types.sequence_labeling import entities, iob1_to_iob2
from mtdnn_keras.tasks import TaskRegistry

TASKS = TaskRegistry.builtin().tasks
NER = TASKS["conll2003_ner"]


def test_conll_reader_on_the_real_files():
    conll = require_data("conll2003")
    train = ExampleReader(NER).read(conll / "eng.train").examples
    dev = ExampleReader(NER).read(conll / "eng.testa", split="dev").examples
    # the official counts
    assert (len(train), sum(len(e.words) for e in train)) == (14041, 203621)
    assert (len(dev), sum(len(e.words) for e in dev)) == (3250, 51362)
    assert not any("-DOCSTART-" in e.text_a for e in train + dev)
    first = train[0]
    assert first.word_texts() == "EU rejects German call to boycott British lamb .".split()
    assert [NER.labels[i] for i in first.label] == [
        "B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "O", "O"
    ]  # fmt: skip
    assert first.line == 3  # line 1 is -DOCSTART-, line 2 blank
    pos = ExampleReader(TASKS["conll2003_pos"]).read(conll / "eng.testa").examples
    assert [TASKS["conll2003_pos"].labels[i] for i in pos[0].label][:2] == ["NNP", ":"]  # CRICKET -


def test_conll_reader_names_the_file_and_line_of_a_bad_word(tmp_path):
    path = write_lines(
        tmp_path / "bad.conll",
        ["-DOCSTART- -X- O O", "", "EU NNP I-NP I-ORG", "rejects VBZ I-VP O", "", "Peter NNP",
         "Smith NNP I-NP I-PER"],
    )  # fmt: skip
    with pytest.raises(DataError, match=r"bad\.conll, line 6: expected at least 4"):
        ExampleReader(NER).read(path)
    path = write_lines(tmp_path / "tag.conll", ["EU NNP I-NP I-ORG", "x NN I-NP I-FOO"])
    with pytest.raises(DataError, match=r"tag\.conll, line 2, field '3': unknown tag 'I-FOO'"):
        ExampleReader(NER).read(path)
    path = tmp_path / "bytes.conll"
    path.write_bytes(b"EU NNP I-NP I-ORG\n\n\xff\xfe NNP I-NP O\n\nrejects VBZ I-VP O\n")
    with pytest.raises(DataError, match=r"bytes\.conll, line 3: not UTF-8 text"):
        ExampleReader(NER).read(path)
    result = ExampleReader(NER, skip_bad_rows=True).read(
        write_lines(tmp_path / "skip.conll", ["a NN I-NP O", "", "b NN", "", "c NN I-NP I-PER"])
    )
    assert len(result.examples) == 2 and result.skipped["wrong column count"] == 1


@pytest.mark.parametrize(
    "iob1, iob2",
    [
        (["I-PER", "I-PER", "O"], ["B-PER", "I-PER", "O"]),
        (["I-PER", "B-PER", "I-PER"], ["B-PER", "B-PER", "I-PER"]),  # two adjacent entities
        (["I-ORG", "I-LOC", "I-LOC"], ["B-ORG", "B-LOC", "I-LOC"]),  # type change
        (["O", "I-MISC", "O", "I-MISC"], ["O", "B-MISC", "O", "B-MISC"]),
        ([], []),
    ],
)
def test_iob1_to_iob2(iob1, iob2):
    assert iob1_to_iob2(iob1) == iob2


def test_seqeval_scores_by_entity_on_a_hand_computed_case():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    predicted = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O"]]
    # PER right, ORG (second sentence) right, LOC missed, ORG (first) spurious:
    # precision 2/3, recall 2/3; PER 1/1, LOC recall 0, ORG precision 1/2 recall 1
    examples = [_tagged(tags) for tags in gold]
    predictions = [[NER.labels.index(t) for t in tags] for tags in predicted]
    scores = NER.kind.scores(NER, predictions, examples)
    assert scores["precision"] == pytest.approx(200 / 3)
    assert scores["recall"] == pytest.approx(200 / 3)
    assert scores["f1"] == pytest.approx(200 / 3)
    assert scores["PER_f1"] == 100.0 and scores["LOC_f1"] == 0.0
    assert scores["ORG_precision"] == 50.0 and scores["ORG_recall"] == 100.0
    # conlleval's rule: an I- tag after O begins an entity (not dropped as invalid)
    lenient = NER.kind.scores(NER, [[NER.labels.index("I-LOC")]], [_tagged(["B-LOC"])])
    assert lenient["f1"] == 100.0


def test_token_accuracy_for_part_of_speech():
    pos = TASKS["conll2003_pos"]
    examples = [_tagged(["NN", "VB", "DT"], pos)]
    predictions = [[pos.labels.index(t) for t in ["NN", "VB", "NN"]]]
    assert pos.kind.scores(pos, predictions, examples) == {"accuracy": pytest.approx(200 / 3)}


def _tagged(tags, task=NER):
    text, words = joined_words([f"w{i}" for i in range(len(tags))])
    return Example(text, None, tuple(task.labels.index(t) for t in tags), "0", 1, words=words)


def test_raw_text_words_and_entity_offsets_cut_the_right_characters():
    text = 'Peter Blackburn (of the U.S.) said: "EU rejects it." Fine.'
    words = text_words(text)
    assert [text[s:e] for s, e in words] == [
        "Peter", "Blackburn", "(", "of", "the", "U.S.", ")", "said", ":", '"', "EU", "rejects",
        "it.", '"', "Fine", ".",
    ]  # fmt: skip
    tags = ["B-PER", "I-PER", "O", "O", "O", "B-LOC", "O", "O", "O", "O", "B-ORG", "O", "O",
            "O", "O", "O"]  # fmt: skip
    found = entities(text, words, tags)
    assert [(e["text"], e["type"]) for e in found] == [
        ("Peter Blackburn", "PER"), ("U.S.", "LOC"), ("EU", "ORG")
    ]  # fmt: skip
    for entity in found:
        assert text[entity["start"] : entity["end"]] == entity["text"]


def test_first_pieces_and_windows_give_back_every_word_exactly(minilm_tokenizer):
    """Real sentences longer than the window: each word's tag sits on its first piece of
    exactly one window, and stitching the windows gives every word's tag back."""
    from mtdnn_keras.features.word_windows import NO_WORD, WordWindower

    conll = require_data("conll2003")
    examples = ExampleReader(NER).read(conll / "eng.testa").examples
    long = sorted(examples, key=lambda e: -len(e.words))[:20]
    windower = WordWindower(minilm_tokenizer, 24)
    windows = windower.windows(long)
    assert len(windows) > len(long)  # the long ones take several windows
    assert windows.lengths().max() <= 24
    for index, example in enumerate(long):
        rows = np.flatnonzero(windows.example_index == index)
        seen = windows.word_index[rows][windows.word_index[rows] != NO_WORD]
        assert sorted(seen.tolist()) == list(range(len(example.words)))  # each word once
        firsts = windows.tags[rows][windows.word_index[rows] != NO_WORD]
        assert sorted(zip(seen, firsts)) == list(enumerate(example.label))
    # a word's first piece is where its pieces start: the tokenizer's own pieces of it
    word = long[0].word_texts()[0]
    row = np.flatnonzero(windows.example_index == 0)[0]
    assert windows.token_ids[row, 1] == np.asarray(minilm_tokenizer(word))[0]
    # the model predicting each window's gold tags puts every word's tag back
    outputs = [np.eye(len(NER.labels))[np.maximum(windows.tags, 0)]]
    scores = windows.word_scores(outputs, [np.arange(len(windows))], long, len(NER.labels))
    for example, values in zip(long, scores):
        assert values.argmax(-1).tolist() == list(example.label)


def test_prediction_engine_decodes_windows_in_any_batch_order(minilm_tokenizer):
    """Windows run sorted by length in batches of 3; decoding maps them back."""
    conll = require_data("conll2003")
    examples = ExampleReader(NER).read(conll / "eng.testa").examples[:40]
    task = NER.kind.with_max_seq_length(NER, 16)
    task = type(NER).from_dict(NER.name, task)
    prepared = task.kind.prediction_inputs(task, examples, minilm_tokenizer, 3)
    windows, rows = prepared.state
    # outputs that copy each window's gold tags, batch by batch in the prepared order
    outputs = []
    for batch, indices in zip(prepared.inputs.as_numpy_iterator(), rows):
        length = batch["token_ids"].shape[1]
        outputs.append(np.eye(task.num_outputs)[np.maximum(windows.tags[indices, :length], 0)])
    predictions = task.kind.decode(task, outputs, examples, prepared)
    assert [p.tolist() for p in predictions] == [list(e.label) for e in examples]
    assert task.kind.scores(task, predictions, examples)["f1"] == 100.0


@pytest.fixture(scope="module")
def tagging_run(tmp_path_factory, tiny_encoder_dir, small_glue):
    """NER trained jointly with RTE on a tiny encoder, through the command line."""
    conll = require_data("conll2003")
    root = tmp_path_factory.mktemp("ner")
    from conftest import head

    head(conll / "eng.train", root / "conll2003" / "eng.train", 400)
    head(conll / "eng.testa", root / "conll2003" / "eng.testa", 200)
    from mtdnn_keras.cli.main import main

    output = root / "run"
    status = main(
        [
            "fit", "--tasks", "conll2003_ner,rte", "--encoder", str(tiny_encoder_dir),
            "--data-dir", str(small_glue),
            "--train-file", f"conll2003_ner={root / 'conll2003' / 'eng.train'}",
            "--eval-file", f"conll2003_ner={root / 'conll2003' / 'eng.testa'}",
            "--output-dir", str(output), "--epochs", "2", "--batch-size", "8",
            "--learning-rate", "1e-3",
        ]
    )  # fmt: skip
    assert status == 0
    return root, output


def test_tagging_trains_with_other_tasks_and_predicts_entities(tagging_run, cli):
    import json

    root, output = tagging_run
    metrics = json.loads((output / "metrics.json").read_text())
    assert {"f1", "precision", "recall", "PER_f1"} <= set(metrics["conll2003_ner"])
    assert "accuracy" in metrics["rte"]
    history = json.loads((output / "eval_history.json").read_text())
    assert len(history) == 2
    status, out, _ = cli(
        "evaluate", "--model", output, "--tasks", "conll2003_ner",
        "--eval-file", f"conll2003_ner={root / 'conll2003' / 'eng.testa'}",
    )  # fmt: skip
    assert status == 0 and "conll2003_ner" in out
    predictions = root / "predictions.jsonl"
    status, _, _ = cli(
        "predict", "--model", output, "--task", "conll2003_ner",
        "--input", root / "conll2003" / "eng.testa", "--output", predictions,
    )  # fmt: skip
    assert status == 0
    records = [json.loads(line) for line in predictions.read_text().splitlines()]
    examples = ExampleReader(NER).read(root / "conll2003" / "eng.testa", split="test").examples
    assert len(records) == len(examples)
    for record, example in zip(records, examples):
        assert record["words"] == example.word_texts()
        assert len(record["tags"]) == len(example.words)
        for entity in record["entities"]:
            assert example.text_a[entity["start"] : entity["end"]] == entity["text"]


def test_predictor_tags_raw_text(tagging_run):
    from mtdnn_keras.inference.predictor import Predictor

    _, output = tagging_run
    predictor = Predictor.load(str(output))
    text = "Peter Blackburn went to Brussels on Friday."
    (record,) = predictor.predict("conll2003_ner", [text])
    assert record["words"] == ["Peter", "Blackburn", "went", "to", "Brussels", "on", "Friday", "."]
    assert len(record["tags"]) == 8 and set(record["tags"]) <= set(NER.labels)
    for entity in record["entities"]:
        assert text[entity["start"] : entity["end"]] == entity["text"]
    with pytest.raises(ValueError, match="tags single texts"):
        predictor.predict("conll2003_ner", [text], [text])
    assert predictor.predict("conll2003_ner", [""]) == [{"words": [], "tags": [], "entities": []}]


def test_tagging_saved_model_returns_tag_ids_per_token(tagging_run, tmp_path):
    import tensorflow as tf
    from mtdnn_keras.export.saved_model import export_saved_model

    from mtdnn_keras.models.model_directory import load_model_directory

    _, output = tagging_run
    version = export_saved_model(output, tmp_path / "serving", name="ner")
    loaded = tf.saved_model.load(str(version))
    assert {"conll2003_ner", "conll2003_ner_text"} <= set(loaded.signatures)
    model, tokenizer = load_model_directory(output)
    ids = np.array([[2, 2001, 2002, 2003, 3, 0]], np.int32)
    ids[0, 0], ids[0, 4] = tokenizer.cls_token_id, tokenizer.sep_token_id
    mask = (ids != 0).astype(np.int32)
    served = loaded.signatures["conll2003_ner"](
        token_ids=tf.constant(ids), segment_ids=tf.zeros_like(ids), padding_mask=tf.constant(mask)
    )
    expected = model.predict(
        {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask > 0}, verbose=0
    )["conll2003_ner"]
    assert served["tag_ids"].shape == (1, 6)
    assert served["tag_ids"].numpy().tolist() == expected.argmax(-1).tolist()
    np.testing.assert_allclose(
        served["probabilities"].numpy(), tf.nn.softmax(expected).numpy(), atol=1e-5
    )


def test_tagging_text_signature_splits_words_as_the_predictor(tagging_run, tmp_path):
    import tensorflow_text  # noqa: F401  (the text signature's ops)
    from mtdnn_keras.export.saved_model import export_saved_model
    from mtdnn_keras.export.saved_model_predictor import SavedModelPredictor

    from mtdnn_keras.inference.predictor import Predictor

    _, output = tagging_run
    version = export_saved_model(output, tmp_path / "serving", name="ner")
    texts = [
        'Peter Blackburn (of the U.S.) said: "EU rejects it."',
        "São Paulo’s mayor met Zoë Müller in Zürich on Friday.",
        "",
        "a \u200b b",  # a word of no word piece: [UNK] stands in
        '"(hello)" ((a)) é.t. x\u00a0y U.S.) Z.',  # edge marks, non-ASCII, a no-break space
        "a " * 200 + "end",  # longer than one window: the served text keeps its first pieces
    ]
    served = SavedModelPredictor(version).predict("conll2003_ner", texts)
    local = Predictor.load(str(output)).predict("conll2003_ner", texts)
    for text, got, expected in zip(texts, served, local):
        assert got["words"] == expected["words"]
        kept = [tag for tag in got["tags"] if tag]
        assert kept == expected["tags"][: len(kept)]
        if len(text) < 100:
            assert got == expected
    assert len(served[3]["tags"]) == 3 and all(served[3]["tags"])
    assert served[4]["words"] == ['"(', "hello)", '"', "((", "a)", ")", "é.t", ".", "x\u00a0y",
                                  "U.S.", ")", "Z."]  # fmt: skip
    assert len([t for t in served[5]["tags"] if t]) == 126  # max_seq_length 128 - 2 specials


def test_tagging_tflite_matches_keras_per_token(tagging_run, tmp_path):
    from ai_edge_litert.interpreter import Interpreter
    from mtdnn_keras.export.tflite_model import export_tflite

    from mtdnn_keras.models.model_directory import load_model_directory

    _, output = tagging_run
    path = export_tflite(output, tmp_path / "ner.tflite", tasks=["conll2003_ner"])
    model, tokenizer = load_model_directory(output)
    ids = np.array([[tokenizer.cls_token_id, 2001, 2002, 2003, tokenizer.sep_token_id]] * 2)
    feed = {
        "token_ids": ids.astype(np.int32),
        "segment_ids": np.zeros_like(ids, np.int32),
        "padding_mask": np.ones_like(ids, np.int32),
    }
    got = Interpreter(model_path=str(path)).get_signature_runner()(**feed)["conll2003_ner"]
    expected = model.predict({**feed, "padding_mask": feed["padding_mask"] > 0}, verbose=0)
    assert got.shape == (2, 5, len(NER.labels))
    np.testing.assert_allclose(got, expected["conll2003_ner"], atol=1e-4)
