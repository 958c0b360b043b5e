"""Sequence labelling: a tag for every word (named entities, part of speech, chunks)."""

from __future__ import annotations

import numpy as np

from mtdnn_keras.features.example import LabelError
from mtdnn_keras.task_types.task_type import LabelField, PreparedInputs, TaskType

TAG_SCHEMES = ("iob1", "iob2")
ENTITY_METRICS = ("f1", "precision", "recall")


class SequenceLabeling(TaskType):
    """A tag for every word: a dense layer on every token vector, read at each word's first
    word piece (the other pieces are masked out of the loss and the scores); sentences
    longer than `max_seq_length` are read in windows of whole words and put back together.

    `labels` are the tags the model predicts. With `tag_scheme: iob2` they are entity tags
    (`O`, `B-X`, `I-X`), scored by entity with seqeval in its CoNLL-compatible mode: `f1`,
    `precision`, `recall`, overall and per entity type (`PER_f1`, ...). With `tag_scheme:
    iob1` the files hold IOB1 (CoNLL-2003's own: `I-X` starts an entity unless it follows
    an `X`), converted to IOB2 as they are read. Without a scheme the tags are plain labels
    (part of speech), scored by token `accuracy`. Predictions give every word's tag and, for
    entity tags, the entities with their character offsets in the text.
    """

    name = "sequence_labeling"
    metrics = ("f1", "precision", "recall", "accuracy")
    reader_formats = ("conll",)
    own_fields = ("tag_scheme",)
    label_fields = {"tags": LabelField((None,), "int32", -1)}

    def metric_defaults(self, fields):
        return ENTITY_METRICS if fields.get("tag_scheme") else ("accuracy",)

    def check(self, task, fail) -> None:
        super().check(task, fail)
        if task.reader.text_b is not None:
            raise fail("reader.text_b", "a sequence-labelling task reads one sentence")
        if task.tag_scheme is not None and task.tag_scheme not in TAG_SCHEMES:
            raise fail(
                "tag_scheme",
                f"expected one of {', '.join(TAG_SCHEMES)} (or none for plain tags), "
                f"got {task.tag_scheme!r}",
            )
        if task.tag_scheme is None:
            entity = [m for m in task.metrics if m in ENTITY_METRICS]
            if entity:
                raise fail(
                    "metrics",
                    f"{entity[0]} scores entities: it needs tag_scheme iob1 or iob2; plain "
                    "tags are scored by accuracy",
                )
            return
        for label in task.labels:
            if label != "O" and not (label[:2] in ("B-", "I-") and len(label) > 2):
                raise fail("labels", f"{label!r} is not an IOB tag (O, B-TYPE or I-TYPE)")
            if label.startswith("I-") and f"B-{label[2:]}" not in task.labels:
                raise fail("labels", f"{label!r} has no B-{label[2:]} to begin its entities")
        if "O" not in task.labels:
            raise fail("labels", "IOB tags include O (outside any entity)")

    def describe(self, task) -> str:
        return f"{len(task.labels)} tags"

    def num_outputs(self, task) -> int:
        return len(task.labels)

    def parse_label(self, task, value):
        """`value`: the tags of a sentence's words, as written in the file."""
        tags = iob1_to_iob2(value) if task.tag_scheme == "iob1" else list(value)
        indices = []
        for position, tag in enumerate(tags):
            if tag not in task.labels:
                raise LabelError(
                    "unknown label",
                    f"unknown tag {value[position]!r}"
                    + (f" (IOB2: {tag!r})" if tag != value[position] else "")
                    + f"; expected one of {list(task.labels)}",
                    position,
                )
            indices.append(task.labels.index(tag))
        return tuple(indices)

    def examples_from_text(self, task, texts_a, texts_b=None, choices=None):
        from mtdnn_keras.features.example import Example
        from mtdnn_keras.features.words import text_words

        if texts_b is not None or choices is not None:
            raise ValueError(f"task '{task.name}' tags single texts: give texts_a only")
        return [
            Example(a, None, None, str(i), i, words=text_words(a)) for i, a in enumerate(texts_a)
        ]

    def head_output(self, task, dropout, head, encoded, inputs):
        return head(dropout(encoded["sequence_output"]))

    def loss(self, task, output, y):
        from mtdnn_keras.losses.cross_entropy import masked_token_cross_entropy

        return masked_token_cross_entropy(y["tags"], output)

    def train_batches(self, task, examples, batcher, index):
        import tensorflow as tf

        from mtdnn_keras.features.text_pair_encoder import cut_to_length
        from mtdnn_keras.features.word_windows import WordWindower

        windows = WordWindower(batcher.tokenizer, task.max_seq_length).windows(examples)
        rows = tf.data.Dataset.from_tensor_slices({**windows.inputs(), "tags": windows.tags})

        def cut(row):  # every row to its own length, its tags too
            tags = row.pop("tags")
            inputs, _ = cut_to_length(row, None)
            return inputs, {"tags": tags[: tf.shape(inputs["token_ids"])[0]]}

        encoded = rows.map(cut)
        return batcher.length_batches(index, task, encoded.cache(), windows.lengths())

    def prediction_inputs(self, task, examples, tokenizer, batch_size):
        """Windows by length, each batch padded to its longest."""
        import tensorflow as tf

        from mtdnn_keras.features.text_pair_encoder import cut_to_length
        from mtdnn_keras.features.word_windows import WordWindower

        windows = WordWindower(tokenizer, task.max_seq_length).windows(examples)
        order = np.argsort(windows.lengths(), kind="stable")
        rows = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        batches = (
            tf.data.Dataset.from_tensor_slices(windows.inputs(order))
            .map(lambda inputs: cut_to_length(inputs, None)[0])
            .padded_batch(batch_size)
        )
        return PreparedInputs(batches, (windows, rows))

    def decode(self, task, outputs, examples, prepared):
        """Each example's tag index for every word."""
        windows, rows = prepared.state
        scores = windows.word_scores(outputs, rows, examples, len(task.labels))
        return [
            np.argmax(values, axis=-1) if len(values) else np.zeros(0, int) for values in scores
        ]

    def _tags(self, task, predicted) -> list[str]:
        return [task.labels[int(i)] for i in predicted]

    def records(self, task, predictions, examples):
        records = []
        for example, predicted in zip(examples, predictions):
            tags = self._tags(task, predicted)
            record = {"words": example.word_texts(), "tags": tags}
            if task.tag_scheme is not None:
                record["entities"] = entities(example.text_a, example.words, tags)
            records.append(record)
        return records

    def submission_value(self, task, record) -> str:
        return " ".join(record["tags"])

    def scores(self, task, predictions, examples):
        gold = [self._tags(task, example.label) for example in examples]
        predicted = [self._tags(task, p) for p in predictions]
        results = {}
        if "accuracy" in task.metrics:
            from seqeval.metrics import accuracy_score

            results["accuracy"] = 100.0 * float(accuracy_score(gold, predicted))
        if task.tag_scheme is not None:
            from seqeval.metrics import classification_report

            # seqeval's default mode is conlleval's: an I-X after O begins an entity
            report = classification_report(gold, predicted, output_dict=True, zero_division=0)
            overall = report["micro avg"]
            for metric in ENTITY_METRICS:
                results[metric] = 100.0 * float(
                    overall[f"{metric}-score" if metric == "f1" else metric]
                )
            for kind, values in sorted(report.items()):
                if kind.endswith(" avg"):
                    continue
                results[f"{kind}_f1"] = 100.0 * float(values["f1-score"])
                results[f"{kind}_precision"] = 100.0 * float(values["precision"])
                results[f"{kind}_recall"] = 100.0 * float(values["recall"])
        return results

    def serving_outputs(self, task, output, inputs):
        import tensorflow as tf

        probabilities = tf.nn.softmax(tf.cast(output, tf.float32), axis=-1)
        return {
            "probabilities": probabilities,
            "tag_ids": tf.argmax(probabilities, axis=-1, output_type=tf.int32),
        }

    def per_token_outputs(self):
        return ("probabilities", "tag_ids")

    def text_features(self, task, tokenizer, text_a, text_b=None):
        """Raw texts split into words in the graph as `Predictor` splits them (see
        `mtdnn_keras.features.words`), the words into word pieces, packed `[CLS] pieces [SEP]`
        (a text longer than one window keeps its first `max_seq_length - 2` pieces: later
        words get no tag); besides, each word's text, character offsets and first piece."""
        import tensorflow as tf
        import tensorflow_text as tf_text

        from mtdnn_keras.features.words import ABBREVIATION_PATTERN, EDGE_PATTERN, SPACE_PATTERN

        chunks, chunk_starts, _ = tf_text.regex_split_with_offsets(text_a, SPACE_PATTERN)
        flat = chunks.flat_values
        whole = tf.strings.regex_full_match(flat, ABBREVIATION_PATTERN)
        # an abbreviation stays one word: split a stand-in that gives one piece instead
        split, starts, ends = tf_text.regex_split_with_offsets(
            tf.where(whole, tf.fill(tf.shape(flat), "a"), flat), EDGE_PATTERN, EDGE_PATTERN
        )
        chunk = split.value_rowids()
        whole = tf.gather(whole, chunk)
        texts = tf.where(whole, tf.gather(flat, chunk), split.flat_values)
        ends = tf.where(whole, tf.cast(tf.strings.length(texts), tf.int64), ends.flat_values)
        offset = tf.gather(chunk_starts.flat_values, chunk)
        words = chunks.with_flat_values(split.with_flat_values(texts)).merge_dims(1, 2)
        row = words.value_rowids()
        offset = tf.cast(offset, tf.int64)
        byte_starts = offset + tf.cast(starts.flat_values, tf.int64)
        byte_ends = offset + tf.cast(ends, tf.int64)
        source = tf.gather(text_a, row)
        char_starts = tf.strings.length(
            tf.strings.substr(source, tf.zeros_like(byte_starts), byte_starts), "UTF8_CHAR"
        )
        char_ends = tf.strings.length(
            tf.strings.substr(source, tf.zeros_like(byte_ends), byte_ends), "UTF8_CHAR"
        )

        pieces = tokenizer(texts)
        if not isinstance(pieces, tf.RaggedTensor):
            pieces = tf.RaggedTensor.from_tensor(pieces, padding=tokenizer.pad_token_id)
        unknown = tf.cast(tf.equal(pieces.row_lengths(), 0), tf.int64)  # no piece: [UNK]
        filler = tf.RaggedTensor.from_row_lengths(
            tf.fill([tf.reduce_sum(unknown)], tokenizer.token_to_id(tokenizer.oov_token)),
            unknown,
        )
        pieces = tf.concat([tf.cast(pieces, tf.int32), tf.cast(filler, tf.int32)], axis=1)
        # each word's first piece in its row: after [CLS] and the row's earlier words' pieces
        before = tf.cumsum(tf.cast(pieces.row_lengths(), tf.int32), exclusive=True)
        row_start = tf.gather(tf.concat([before, [0]], 0), words.row_splits[:-1])
        first = words.with_flat_values(1 + before - tf.gather(row_start, row))
        room = task.max_seq_length - 2
        ids = words.with_flat_values(pieces).merge_dims(1, 2)[:, :room]
        rows = tf.shape(text_a)[0]
        ids = tf.concat(
            [
                tf.fill([rows, 1], tokenizer.cls_token_id),
                ids,
                tf.fill([rows, 1], tokenizer.sep_token_id),
            ],
            axis=1,
        )
        features = {
            "token_ids": ids.to_tensor(tokenizer.pad_token_id, shape=[None, task.max_seq_length]),
            "padding_mask": tf.sequence_mask(ids.row_lengths(), task.max_seq_length),
        }
        features["segment_ids"] = tf.zeros_like(features["token_ids"])
        kept = first.with_flat_values(tf.where(first.flat_values <= room, first.flat_values, -1))
        placed = words.with_flat_values
        return features, {
            "words": words,
            "starts": placed(tf.cast(char_starts, tf.int32)),
            "ends": placed(tf.cast(char_ends, tf.int32)),
            "first": kept,
        }

    def text_outputs(self, task, output, inputs, words):
        """Each word's tag (`""` past the window) and `[start, end)` character offsets;
        `(batch, words)`, padded with `""` and -1."""
        import tensorflow as tf

        first = words["first"].to_tensor(-1)
        # the request's rows (an empty request ran one row of padding)
        tag_ids = tf.argmax(tf.cast(output, tf.float32), axis=-1, output_type=tf.int32)
        tag_ids = tag_ids[: tf.shape(first)[0]]
        found = tf.gather(tag_ids, tf.maximum(first, 0), batch_dims=1)
        labels = tf.constant(list(task.labels))
        return {
            "words": words["words"].to_tensor(""),
            "tags": tf.where(first >= 0, tf.gather(labels, found), tf.fill(tf.shape(first), "")),
            "starts": words["starts"].to_tensor(-1),
            "ends": words["ends"].to_tensor(-1),
        }

    def serving_records(self, task, outputs, texts=None):
        records = []
        for row, words in enumerate(outputs["words"]):
            count = int(sum(1 for w in words if w))
            tags = [t.decode() for t in outputs["tags"][row][:count]]
            starts, ends = outputs["starts"][row][:count], outputs["ends"][row][:count]
            spans = [(int(start), int(end)) for start, end in zip(starts, ends)]
            record = {"words": [w.decode() for w in words[:count]], "tags": tags}
            if task.tag_scheme is not None and texts is not None:
                record["entities"] = entities(texts[row], spans, [t or "O" for t in tags])
            records.append(record)
        return records


def iob1_to_iob2(tags: list[str]) -> list[str]:
    """IOB1 tags (an `I-X` begins an entity unless it follows an `X`; `B-X` only between two
    adjacent `X` entities) as IOB2 (every entity begins with `B-X`)."""
    converted = []
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
            converted.append(f"B-{tag[2:]}")
        else:
            converted.append(tag)
        previous = tag
    return converted


def entities(text: str, words, tags: list[str]) -> list[dict]:
    """The entities of IOB2 `tags` (one a word of `text`, whose character spans are `words`)
    as `{text, type, start, end}`, `[start, end)` characters of `text`."""
    from seqeval.metrics.sequence_labeling import get_entities

    found = []
    for kind, first, last in get_entities(tags):
        start, end = words[first][0], words[last][1]
        found.append({"text": text[start:end], "type": kind, "start": start, "end": end})
    return found
