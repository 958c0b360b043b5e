import dataclasses
import itertools
import random

import numpy as np
import pytest
from scipy import stats

from mtdnn_keras.data.example_reader import Example
from mtdnn_keras.data.mixing_strategy import MixingStrategy
from mtdnn_keras.data.multitask_data import MultiTaskData
from mtdnn_keras.task_types.ranking import ranking_groups
from mtdnn_keras.tasks import TaskRegistry

TASKS = TaskRegistry.builtin().tasks
WORDS = "the cat sat on a mat while dogs ran far away from every noisy street corner".split()


def examples(count, pair=False, seed=0, labels=2):
    rng = random.Random(seed)

    def sentence():
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 40)))

    return [
        Example(sentence(), sentence() if pair else None, i % labels, str(i), i + 1)
        for i in range(count)
    ]


def task_ids(data, steps):
    return [
        int(y["task_id"][0]) for _, y in itertools.islice(data.dataset().as_numpy_iterator(), steps)
    ]


@pytest.fixture(scope="module")
def three_tasks(minilm_tokenizer):
    tasks = [TASKS["cola"], TASKS["rte"], TASKS["sst2"]]
    train = {
        "cola": examples(60),
        "rte": examples(120, pair=True, seed=1),
        "sst2": examples(300, seed=2),
    }
    return tasks, train, minilm_tokenizer


def test_mixing_weights():
    counts = {"a": 10, "b": 30, "c": 60}
    assert MixingStrategy.parse("proportional").weights(counts) == pytest.approx(
        {"a": 0.1, "b": 0.3, "c": 0.6}
    )
    assert MixingStrategy.parse("uniform").weights(counts) == pytest.approx(
        {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}
    )
    temperature = MixingStrategy.parse("temperature:2").weights(counts)
    roots = np.sqrt([10, 30, 60])
    assert list(temperature.values()) == pytest.approx(list(roots / roots.sum()))
    assert MixingStrategy.parse("weights:a=3,c=1").weights(counts) == pytest.approx(
        {"a": 0.75, "b": 0.0, "c": 0.25}
    )
    for bad in (
        "random",
        "temperature:x",
        "temperature:0",
        "weights:",
        "weights:a=-1",
        "uniform:3",
    ):
        with pytest.raises(ValueError):
            MixingStrategy.parse(bad)
    with pytest.raises(ValueError, match="not being trained"):
        MixingStrategy.parse("weights:zzz=1").weights(counts)


def test_proportional_epoch_takes_every_batch_once_in_proportion(three_tasks):
    tasks, train, tokenizer = three_tasks
    data = MultiTaskData(tasks, train, tokenizer, batch_size=2, padding="batch", seed=0)
    assert data.batch_counts == {"cola": 30, "rte": 60, "sst2": 150}
    ids = task_ids(data, 2 * data.steps_per_epoch)
    for epoch in (ids[:240], ids[240:]):
        assert np.bincount(epoch).tolist() == [30, 60, 150]  # each batch exactly once per epoch
    first_half = np.bincount(ids[:120], minlength=3)  # drawn in proportion to batch counts
    assert stats.chisquare(first_half, np.array([30, 60, 150]) / 2).pvalue > 0.001
    assert ids[:240] != ids[240:]  # the next epoch is shuffled anew


@pytest.mark.parametrize(
    "mixing, expected", [("uniform", [1, 1, 1]), ("temperature:2", np.sqrt([30, 60, 150]))]
)
def test_repeating_strategies_sample_their_weights(three_tasks, mixing, expected):
    tasks, train, tokenizer = three_tasks
    data = MultiTaskData(
        tasks, train, tokenizer, batch_size=2, mixing=MixingStrategy.parse(mixing), padding="batch"
    )
    ids = task_ids(data, 3 * data.steps_per_epoch)
    counts = np.bincount(ids, minlength=3)
    expected = np.asarray(expected, float) / np.sum(expected) * len(ids)
    assert stats.chisquare(counts, expected).pvalue > 0.001
    # the proportional share of the smallest task would be 1/8; uniform gives it a third
    assert counts[0] / len(ids) > 0.16


def test_same_seed_same_batches_other_seed_other_order(three_tasks):
    tasks, train, tokenizer = three_tasks
    first = task_ids(MultiTaskData(tasks, train, tokenizer, batch_size=2, seed=5), 100)
    again = task_ids(MultiTaskData(tasks, train, tokenizer, batch_size=2, seed=5), 100)
    other = task_ids(MultiTaskData(tasks, train, tokenizer, batch_size=2, seed=6), 100)
    assert first == again and first != other


@pytest.mark.parametrize("padding", ["batch", "bucket"])
def test_batches_are_padded_to_their_own_longest_example(three_tasks, padding):
    tasks, train, tokenizer = three_tasks
    data = MultiTaskData(tasks, train, tokenizer, batch_size=8, padding=padding, seed=0)
    widths, batches = set(), 0
    for x, y in itertools.islice(data.dataset().as_numpy_iterator(), data.steps_per_epoch):
        lengths = x["padding_mask"].sum(axis=1)
        assert x["token_ids"].shape[1] == lengths.max()  # no column of pure padding
        assert x["token_ids"].dtype == np.int32 and x["padding_mask"].dtype == bool
        assert y["task_id"].shape == y["label"].shape == (x["token_ids"].shape[0],)
        assert len(set(y["task_id"].tolist())) == 1
        widths.add(x["token_ids"].shape[1])
        batches += 1
    assert len(widths) > 3 and max(widths) < 128


@pytest.mark.parametrize("padding", ["bucket", "batch", "max"])
def test_batch_counts_are_exact_for_every_padding_mode(three_tasks, padding):
    tasks, train, tokenizer = three_tasks
    ranking = TASKS["qnli_ranking"]
    pool = [Example(f"question {i}", f"answer {i}", i % 2, str(i), i + 1) for i in range(50)]
    data = MultiTaskData(
        [*tasks, ranking], {**train, ranking.name: pool}, tokenizer, batch_size=8, padding=padding
    )
    for name, count in data.batch_counts.items():
        sizes = [y["label"].shape[0] for _, y in data.task_batches(name).as_numpy_iterator()]
        assert len(sizes) == count, name
        expected_rows = 2 * 25 if name == ranking.name else len(train[name])  # 25 positives
        assert sum(sizes) == expected_rows, name


def test_bucketing_pads_less_than_random_batches(three_tasks):
    tasks, train, tokenizer = three_tasks

    def padded_tokens(padding):
        data = MultiTaskData(tasks, train, tokenizer, batch_size=8, padding=padding, seed=0)
        batches = itertools.islice(data.dataset().as_numpy_iterator(), data.steps_per_epoch)
        return sum(x["token_ids"].size for x, _ in batches)

    assert padded_tokens("bucket") < padded_tokens("batch") < padded_tokens("max")


def test_ranking_groups_put_the_positive_first_with_negatives(minilm_tokenizer):
    task = TASKS["qnli_ranking"]
    pool = [
        Example("q1", "right", 0, "1", 1),
        Example("q1", "wrong", 1, "2", 2),
        Example("q2", "right2", 0, "3", 3),
        Example("q3", "other", 1, "4", 4),
    ]
    groups = ranking_groups(pool, task, random.Random(0))
    assert [[m.text_b for m in g] for g in groups][0] == ["right", "wrong"]  # same query first
    assert [m.label for g in groups for m in g] == [1.0, 0.0, 1.0, 0.0]
    # q2 has no negative of its own: another query's negative sentence, asked of q2
    assert groups[1][1].text_a == "q2" and groups[1][1].text_b in ("wrong", "other")
    data = MultiTaskData(
        [dataclasses.replace(task, group_size=2)], {task.name: pool}, minilm_tokenizer, batch_size=4
    )
    x, y = next(data.dataset().as_numpy_iterator())
    assert x["token_ids"].shape[0] == 4 and sorted(
        y["label"].reshape(-1, 2).argmax(1).tolist()
    ) == [0, 0]


def main_task_data(three_tasks, mixing="weights:cola=0.1,rte=0.8,sst2=0.1", seed=0):
    tasks, train, tokenizer = three_tasks
    return MultiTaskData(
        tasks,
        train,
        tokenizer,
        batch_size=16,
        mixing=MixingStrategy.parse(mixing),
        padding="batch",
        seed=seed,
        main_task="rte",
    )


def test_weighted_sampling_frequencies_follow_the_weights(three_tasks):
    data = main_task_data(three_tasks)
    order = np.concatenate(data.task_order(epochs=200))
    counts = np.bincount(order, minlength=3)
    expected = np.array([0.1, 0.8, 0.1]) * len(order)
    # chi-square goodness of fit: the draws follow the weights 0.1 / 0.8 / 0.1
    assert stats.chisquare(counts, expected).pvalue > 0.001
    assert counts[1] == 200 * data.batch_counts["rte"]


def test_an_epoch_ends_when_the_main_task_runs_out(three_tasks):
    data = main_task_data(three_tasks)
    orders = data.task_order(epochs=5)
    main = 1
    for order in orders:
        assert (order == main).sum() == data.batch_counts["rte"]
        assert order[-1] == main  # the epoch's last batch is the main task's last
    assert len({len(order) for order in orders}) > 1  # epochs differ in length
    assert data.epoch_ends(5) == np.cumsum([len(o) for o in orders]).tolist()
    # the same seed gives the same order; another seed another
    assert all((a == b).all() for a, b in zip(orders, main_task_data(three_tasks).task_order(5)))
    other = main_task_data(three_tasks, seed=1).task_order(5)
    assert any(len(a) != len(b) or (a != b).any() for a, b in zip(orders, other))


def test_each_epoch_takes_every_main_task_batch_once(three_tasks):
    data = main_task_data(three_tasks)
    epochs = 2
    ends = data.epoch_ends(epochs)
    batches = list(data.dataset(epochs).as_numpy_iterator())
    assert len(batches) == ends[-1]  # the stream ends with the last epoch
    for begin, end in zip([0, *ends[:-1]], ends):
        seen = []
        for x, y in batches[begin:end]:
            if y["task_id"][0] == 1:
                seen.extend(tuple(row[row != 0]) for row in x["token_ids"])
        # every RTE example exactly once in the epoch
        assert len(seen) == len(three_tasks[1]["rte"]) == len(set(seen))


def test_a_main_task_needs_fixed_weight_sampling(three_tasks):
    with pytest.raises(ValueError, match="proportional mixing already takes every batch once"):
        main_task_data(three_tasks, mixing="proportional")
    with pytest.raises(ValueError, match="sampling weight 0"):
        main_task_data(three_tasks, mixing="weights:cola=0.5,sst2=0.5")
    tasks, train, tokenizer = three_tasks
    with pytest.raises(ValueError, match="not one of the tasks"):
        MultiTaskData(
            tasks, train, tokenizer, mixing=MixingStrategy.parse("uniform"), main_task="mnli"
        )
