import pytest
from conftest import require_data, write_lines

from mtdnn_keras.data.example_reader import DataError, ExampleReader
from mtdnn_keras.tasks import TaskRegistry

TASKS = TaskRegistry.builtin().tasks


def read(task, *parts, split="train", **kwargs):
    return ExampleReader(TASKS[task], **kwargs).read(require_data(*parts), split)


def test_cola_has_no_header_and_its_test_file_has_one():
    train = read("cola", "glue", "CoLA", "train.tsv")
    assert len(train.examples) == 8551  # no header line lost
    assert train.examples[0].text_a.startswith("Our friends won't buy this analysis")
    assert {e.label for e in train.examples} == {0, 1}
    dev = read("cola", "glue", "CoLA", "dev.tsv", split="dev")
    assert len(dev.examples) == 1043  # dev has no final newline
    test = read("cola", "glue", "CoLA", "test.tsv", split="test")
    assert (
        len(test.examples) == 1063 and test.examples[0].id == "0" and test.examples[0].label is None
    )


def test_mrpc_header_with_byte_order_mark_and_stray_quotes():
    train = read("mrpc", "glue", "MRPC", "train.tsv")
    assert len(train.examples) == 3668
    first = train.examples[0]
    assert first.label == 1 and first.text_a.startswith("Amrozi accused his brother")
    assert '" the witness "' in first.text_a  # quotes kept as text, not parsed as CSV quoting
    dev = read("mrpc", "glue", "MRPC", "dev.tsv", split="dev")
    assert len(dev.examples) == 408 and dev.examples[0].text_b.startswith('" The foodservice')


def test_stsb_scores_from_the_last_of_ten_columns():
    dev = read("stsb", "glue", "STS-B", "dev.tsv", split="dev")
    assert len(dev.examples) == 1500
    assert (
        dev.examples[0].label == 5.0
        and dev.examples[0].text_b == "A man wearing a hard hat is dancing."
    )
    assert all(0.0 <= e.label <= 5.0 for e in dev.examples)


def test_other_glue_files_read_completely():
    assert len(read("rte", "glue", "RTE", "train.tsv").examples) == 2490
    assert len(read("sst2", "glue", "SST-2", "dev.tsv", split="dev").examples) == 872
    assert len(read("wnli", "glue", "WNLI", "train.tsv").examples) == 635
    qnli = read("qnli", "glue", "QNLI", "dev.tsv", split="dev")
    assert len(qnli.examples) == 5463 and qnli.examples[0].label == 0  # entailment
    qqp = ExampleReader(TASKS["qqp"]).read(require_data("glue", "QQP", "train_subset.tsv"))
    assert len(qqp.examples) == 23496


def test_snli_drops_rows_without_gold_label_and_counts_them():
    result = read("snli", "snli", "snli_1.0_dev.partial.jsonl")
    assert len(result.examples) + sum(result.skipped.values()) == 1289
    assert sum(result.skipped.values()) == 16
    assert result.examples[0].label == TASKS["snli"].labels.index("neutral")
    assert "skipped 16" in result.summary()


def test_scitail_dgem_tsv():
    result = read("scitail", "scitail", "scitail_dgem_fixture.tsv")
    assert [e.label for e in result.examples] == [1, 0, 0]  # neutral, entails, entails


# --- malformed input: every error names file, line and field ---------------------------------

HEADER = "index\tsentence1\tsentence2\tlabel"


def rte_file(tmp_path, *rows):
    return write_lines(tmp_path / "rte.tsv", [HEADER, *rows])


def test_wrong_column_count_names_file_and_line(tmp_path):
    path = rte_file(tmp_path, "0\tA.\tB.\tentailment", "1\tonly two")
    with pytest.raises(
        DataError, match=rf"{path}, line 3: expected 4 tab-separated columns, got 2"
    ):
        ExampleReader(TASKS["rte"]).read(path)


def test_unknown_label_names_the_field(tmp_path):
    path = rte_file(tmp_path, "0\tA.\tB.\tentailment", "1\tA.\tB.\tmaybe")
    with pytest.raises(DataError, match=r"line 3, field 'label': unknown label 'maybe'"):
        ExampleReader(TASKS["rte"]).read(path)


def test_skip_bad_rows_counts_each_reason(tmp_path):
    path = rte_file(
        tmp_path,
        "0\tA.\tB.\tentailment",
        "1\tshort row",
        "2\tA.\tB.\tmaybe",
        "3\t \tB.\tentailment",
        "4\tA.\tB.\tnot_entailment",
    )
    result = ExampleReader(TASKS["rte"], skip_bad_rows=True).read(path)
    assert [e.id for e in result.examples] == ["0", "4"]
    assert dict(result.skipped) == {"wrong column count": 1, "unknown label": 1, "empty text": 1}


def test_scores_must_be_numbers_in_range(tmp_path):
    header = (
        "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore"
    )
    prefix = "0\tg\tf\t2012\t0\tn\tn\tA.\tB."
    path = write_lines(tmp_path / "stsb.tsv", [header, f"{prefix}\tfive"])
    with pytest.raises(DataError, match=r"line 2, field 'score': expected a number, got 'five'"):
        ExampleReader(TASKS["stsb"]).read(path)
    path = write_lines(tmp_path / "stsb.tsv", [header, f"{prefix}\t7.5"])
    with pytest.raises(DataError, match=r"field 'score': score 7.5 outside \[0.0, 5.0\]"):
        ExampleReader(TASKS["stsb"]).read(path)


def test_empty_missing_and_headless_files(tmp_path):
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    with pytest.raises(DataError, match=rf"{empty}: the file is empty"):
        ExampleReader(TASKS["rte"]).read(empty)
    with pytest.raises(DataError, match="file not found"):
        ExampleReader(TASKS["rte"]).read(tmp_path / "absent.tsv")
    wrong_header = write_lines(
        tmp_path / "h.tsv", ["index\tpremise\thypothesis\tlabel", "0\tA\tB\tentailment"]
    )
    with pytest.raises(
        DataError, match=r"line 1, field 'sentence1': column 'sentence1' not in header"
    ):
        ExampleReader(TASKS["rte"]).read(wrong_header)


def test_invalid_utf8_and_duplicate_ids(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_bytes(
        f"{HEADER}\n0\tA.\tB.\tentailment\n1\tA \xff.\tB.\tentailment\n".encode("latin-1")
    )
    with pytest.raises(DataError, match=r"line 3: not UTF-8 text"):
        ExampleReader(TASKS["rte"]).read(path)
    path = rte_file(tmp_path, "7\tA.\tB.\tentailment", "7\tC.\tD.\tentailment")
    with pytest.raises(DataError, match=r"line 3, field 'index': id '7' also on line 2"):
        ExampleReader(TASKS["rte"]).read(path)


def test_jsonl_errors_name_line_and_field(tmp_path):
    path = write_lines(
        tmp_path / "snli.jsonl",
        [
            '{"sentence1": "A.", "sentence2": "B.", "gold_label": "neutral", "pairID": "1"}',
            "{not json",
        ],
    )
    with pytest.raises(DataError, match=r"line 2: invalid JSON"):
        ExampleReader(TASKS["snli"]).read(path)
    path = write_lines(
        tmp_path / "snli.jsonl", ['{"sentence1": "A.", "gold_label": "neutral", "pairID": "1"}']
    )
    with pytest.raises(DataError, match=r"line 1, field 'sentence2': missing text_b"):
        ExampleReader(TASKS["snli"]).read(path)


def test_jsonl_numeric_labels_match_their_label_names(tmp_path):
    path = write_lines(
        tmp_path / "numeric.jsonl",
        [
            '{"sentence1": "A.", "sentence2": "B.", "gold_label": 1, "pairID": "1"}',
            '{"sentence1": "C.", "sentence2": "D.", "gold_label": 0.0, "pairID": "2"}',
        ],
    )
    task = (
        TaskRegistry.builtin()
        .with_text(
            "tasks:\n  numeric:\n    type: classification\n    labels: ['0', '1']\n"
            "    reader: {format: jsonl, text_a: sentence1, text_b: sentence2, label: gold_label, id: pairID}\n",
            "<test>",
        )
        .tasks["numeric"]
    )
    assert [e.label for e in ExampleReader(task).read(path).examples] == [1, 0]
