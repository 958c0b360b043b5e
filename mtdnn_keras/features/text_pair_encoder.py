"""Turns texts and text pairs into BERT inputs inside `tf.data`."""

import math

import keras_hub
import tensorflow as tf

from mtdnn_keras.features.example import Example

# Tokenise this many examples per call: the tokenizer is much faster on batches.
_TOKENIZE_BATCH = 512


class TextPairEncoder:
    """`[CLS] A [SEP] B [SEP]` token ids, segment ids and padding mask, unpadded.

    Tokenises with the encoder's keras-hub tokenizer and packs with keras-hub's
    `MultiSegmentPacker` (round-robin truncation to `max_seq_length`), then cuts each example
    to its own length so that batches can be padded to their own longest example.

    Args:
        tokenizer: `keras_hub.models.BertTokenizer`.
        max_seq_length: int. Longest packed sequence, special tokens included.
    """

    def __init__(self, tokenizer, max_seq_length):
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        self.packer = keras_hub.layers.MultiSegmentPacker(
            sequence_length=max_seq_length,
            start_value=tokenizer.cls_token_id,
            end_value=tokenizer.sep_token_id,
            pad_value=tokenizer.pad_token_id,
            truncate="round_robin",
        )

    def encode_batch(self, text_a, text_b=None):
        """Dense `(batch, max_seq_length)` features for string tensors `text_a` (and `text_b`)."""
        segments = (self.tokenizer(text_a),)
        if text_b is not None:
            segments += (self.tokenizer(text_b),)
        token_ids, segment_ids = self.packer(segments)
        return {
            "token_ids": tf.cast(token_ids, tf.int32),
            "segment_ids": tf.cast(segment_ids, tf.int32),
            "padding_mask": tf.not_equal(token_ids, self.tokenizer.pad_token_id),
        }

    def dataset(self, examples: list[Example], pair: bool) -> tf.data.Dataset:
        """Unbatched `(features, label)` with features cut to each example's length.

        Unlabeled examples get label 0.
        """
        columns = {
            "text_a": [e.text_a for e in examples],
            "label": [float(e.label) if e.label is not None else 0.0 for e in examples],
        }
        if pair:
            columns["text_b"] = [e.text_b or "" for e in examples]
        dataset = tf.data.Dataset.from_tensor_slices(columns).batch(_TOKENIZE_BATCH)

        def encode(batch):
            features = self.encode_batch(batch["text_a"], batch.get("text_b"))
            return features, tf.cast(batch["label"], tf.float32)

        dataset = dataset.map(encode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return dataset.unbatch().map(cut_to_length)


def piece_ids(tokenizer, texts: list[str]) -> list[list[int]]:
    """The word-piece ids of each text, as lists, tokenised in one call."""
    if not texts:
        return []
    ids = tokenizer(tf.constant(texts))
    return ids.to_list() if hasattr(ids, "to_list") else [list(map(int, row)) for row in ids]


def cut_to_length(features, label):
    length = tf.reduce_sum(tf.cast(features["padding_mask"], tf.int32))
    return {name: value[:length] for name, value in features.items()}, label


def sequence_length(features, label=None):
    return tf.shape(features["token_ids"])[0]


def text_batches(
    examples: list[Example], tokenizer, max_seq_length: int, pair: bool, batch_size: int = 64
) -> tf.data.Dataset:
    """Batches of encoder inputs in example order (no labels), padded to each batch's
    longest."""
    features = ("token_ids", "segment_ids", "padding_mask")
    return (
        TextPairEncoder(tokenizer, max_seq_length)
        .dataset(examples, pair=pair)
        .map(lambda inputs, label: inputs)
        .padded_batch(batch_size, padded_shapes={k: [None] for k in features})
        .apply(tf.data.experimental.assert_cardinality(math.ceil(len(examples) / batch_size)))
        .prefetch(tf.data.AUTOTUNE)
    )
