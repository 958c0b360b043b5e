"""The multi-task model: one shared BERT encoder, one head per task."""

import keras
import tensorflow as tf
from keras import ops

from mtdnn_keras.encoders.backbone_stages import embedding_output, encode_embeddings
from mtdnn_keras.layers.masked_mean_pooling import MaskedMeanPooling
from mtdnn_keras.tasks.task_definition import TaskDefinition
from mtdnn_keras.tasks.task_registry import saved_task

POOLINGS = ("cls", "mean")
_SEED_STATE = "dropout_seed_state_"  # saved-model keys of the dropout RNG states


@keras.saving.register_keras_serializable(package="mtdnn_keras")
class MTDNNModel(keras.Model):
    """MT-DNN: a shared keras-hub `BertBackbone` and a named head for each task.

    From [Liu et al., 2019, "Multi-Task Deep Neural Networks for Natural Language
    Understanding"](https://arxiv.org/abs/1901.11504).

    A functional model from `token_ids`, `segment_ids` and `padding_mask` to a dict keyed by
    task name. Each task's head layers, output and loss are its type's (`task.kind`, see
    `mtdnn_keras.task_types`): classification logits `(batch, num_labels)` (log-probabilities
    for a SAN head), a regression score `(batch,)`, a ranking relevance `Rel(Q, A) =
    sigmoid(w x)` `(batch,)`, a multiple-choice score `(batch,)` (one row per choice), span
    start and end logits `(batch, length, 2)` (padding at -10000), or tag logits per token
    `(batch, length, tags)`. Linear heads read the pooled `[CLS]` vector (`pooling="cls"`,
    the paper's) or the mean of the token vectors (`pooling="mean"`, for encoders trained
    that way such as MiniLM); the SAN, span and tagging heads read the token vectors.

    `fit` takes batches `(x, y)` with `y = {"task_id": (batch,), ...}` and the labels of the
    run's task types (`label`, `span`, `tags`), all rows of one batch from one task (see
    `mtdnn_keras.data.MultiTaskData`). Each step computes only that task's loss (chosen in
    the graph, so a regression score never meets a softmax), and with the package's
    skip-zero-gradient optimizers every other head stays bit-identical.

    Args:
        backbone: `keras_hub.models.BertBackbone`. The shared encoder.
        tasks: list of `TaskDefinition` (or their `to_dict()` form with a `name`).
        san_steps: int. Reasoning steps of SAN heads.
        san_step_dropout: float. Stochastic prediction dropout of SAN heads.
        pooling: str. `"cls"` (BERT's pooled `[CLS]` output) or `"mean"` (masked mean of the
            token vectors): what linear heads read.

    Examples:
    ```python
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=100, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32
    )
    tasks = TaskRegistry.builtin().resolve("rte,stsb")
    model = MTDNNModel(backbone, tasks)
    model.compile(optimizer=make_optimizer("adamax", 5e-5))
    outputs = model.predict({"token_ids": ids, "segment_ids": segments, "padding_mask": mask})
    outputs["rte"].shape  # (batch, 2)
    ```
    """

    def __init__(self, backbone, tasks, san_steps=5, san_step_dropout=0.1, pooling="cls", **kwargs):
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; expected one of {', '.join(POOLINGS)}")
        tasks = [task if isinstance(task, TaskDefinition) else saved_task(task) for task in tasks]
        # === Layers ===
        self.backbone = backbone
        self.mean_pooling = MaskedMeanPooling(name="mean_pooling") if pooling == "mean" else None
        self.task_dropouts = {}
        self.task_heads = {}
        settings = {"san_steps": san_steps, "san_step_dropout": san_step_dropout}
        for task in tasks:
            dropout, head = task.kind.build_head(task, backbone.hidden_dim, settings)
            if dropout is not None:
                self.task_dropouts[task.name] = dropout
            self.task_heads[task.name] = head

        # === Functional Model ===
        inputs = {
            "token_ids": keras.Input(shape=(None,), dtype="int32", name="token_ids"),
            "segment_ids": keras.Input(shape=(None,), dtype="int32", name="segment_ids"),
            "padding_mask": keras.Input(shape=(None,), dtype="bool", name="padding_mask"),
        }
        outputs = self._head_outputs(tasks, backbone(inputs), inputs)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.tasks = tasks
        self.san_steps = san_steps
        self.san_step_dropout = san_step_dropout
        self.pooling = pooling
        self.task_names = [task.name for task in tasks]
        self._rows_per_example = [task.rows_per_example for task in tasks]
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.task_loss_trackers = [
            keras.metrics.Mean(name=f"{name}_loss") for name in self.task_names
        ]
        # training objectives beyond the task losses, set by the trainer (not saved):
        # SMART (`mtdnn_keras.regularizers.smart_perturbation.SmartPerturbation`) and soft
        # targets (`mtdnn_keras.losses.distillation_loss.DistillationLoss`)
        self.adversarial = None
        self.distillation = None

    def _head_outputs(self, tasks, backbone_outputs, inputs):
        """Every task's output from the backbone's (`sequence_output`, `pooled_output`)."""
        sequence = backbone_outputs["sequence_output"]
        if self.mean_pooling is not None:
            pooled = self.mean_pooling(sequence, inputs["padding_mask"])
        else:
            pooled = backbone_outputs["pooled_output"]
        encoded = {"sequence_output": sequence, "pooled": pooled}
        return {
            task.name: task.kind.head_output(
                task,
                self.task_dropouts.get(task.name),
                self.task_heads[task.name],
                encoded,
                inputs,
            )
            for task in tasks
        }

    def perturbed_outputs(self, inputs, noise):
        """Every task's output with `noise` `(batch, length, hidden)` added to the encoder's
        embeddings after their layer norm, through the model's own layers (SMART)."""
        embeddings = embedding_output(self.backbone, inputs["token_ids"], inputs["segment_ids"])
        embeddings = embeddings + ops.cast(noise, embeddings.dtype)
        encoded = encode_embeddings(self.backbone, embeddings, inputs["padding_mask"])
        return self._head_outputs(self.tasks, encoded, inputs)

    def get_config(self):
        return {
            "backbone": keras.layers.serialize(self.backbone),
            "tasks": [{"name": task.name, **task.to_dict()} for task in self.tasks],
            "san_steps": self.san_steps,
            "san_step_dropout": self.san_step_dropout,
            "pooling": self.pooling,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.layers.deserialize(config["backbone"])
        return cls(**config)

    def save_own_variables(self, store):
        """Also stores the dropout layers' random-number state (Keras does not), so that a
        checkpoint resumes with the dropout masks an uninterrupted run would have drawn."""
        super().save_own_variables(store)
        for index, generator in enumerate(self._seed_generators_in_order()):
            store[f"{_SEED_STATE}{index}"] = keras.ops.convert_to_numpy(generator.state)

    def load_own_variables(self, store):
        names = list(store.keys())
        seeds = {name for name in names if name.startswith(_SEED_STATE)}
        super().load_own_variables({name: store[name] for name in names if name not in seeds})
        if seeds:  # absent from models saved before they were stored
            for index, generator in enumerate(self._seed_generators_in_order()):
                generator.state.assign(store[f"{_SEED_STATE}{index}"])

    def _seed_generators_in_order(self):
        return [
            generator
            for layer in self._flatten_layers(include_self=False, recursive=True)
            for generator in getattr(layer, "_seed_generators", [])
        ]

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Builds the optimizer's state under the model's strategy before `fit` traces.

        Overrides keras 3.15.1's TensorFlow trainer (keras is pinned to it; the override is
        tested by the mirrored and multi-worker tests): under a strategy, its version first
        averages the first batch across replicas to build state from it. Replicas' slices of a
        batch differ in shape (fails), and across workers that is a collective op
        (keras-team/keras#20585). This model is built at construction, and its metrics and
        loss need no build, so only the optimizer, which needs no data, is left."""
        if self._distribute_strategy is None:
            return  # as keras: without a strategy, the first traced step builds
        with self.distribute_strategy.scope():
            self._symbolic_build()

    @property
    def metrics(self):
        return [self.loss_tracker, *self.task_loss_trackers]

    def task_loss(self, task_id, outputs, labels):
        """The summed loss of the task numbered `task_id` (a scalar tensor) over the batch's
        examples (a ranking query's group, a question's choices: one example), computed for
        that task alone by its type. `labels` is the batch's `y` without `task_id`."""
        branches = [self._loss_fn(task, outputs[task.name], labels) for task in self.tasks]
        if len(branches) == 1:
            return branches[0]()
        return tf.switch_case(task_id, branches)

    def _loss_fn(self, task, output, labels):
        def loss():
            output32 = ops.cast(output, "float32")
            value = task.kind.loss(task, output32, labels)
            if self.distillation is not None and self.distillation.covers(task, labels):
                value = self.distillation.loss(task, output32, labels, value)
            return value

        return loss

    def _step_loss(self, data, training):
        """The step's task, this replica's share of the loss, and the loss.

        The loss is the mean over the examples of the whole (global) batch. A replica holds
        a slice of it, maybe none (`mtdnn_keras.distribute.replica_batches`): its share is its
        examples' summed loss over the global count, so that shares, and their gradients,
        sum over replicas to the global mean, however unevenly the batch was split."""
        x, y = data[0], data[1]  # (x, y), or (x, y, None) from train_on_batch
        context = tf.distribute.get_replica_context()
        distributed = context is not None and context.num_replicas_in_sync > 1
        # rows of each task in the batch: the task is the one present (a batch holds one)
        rows = ops.sum(ops.one_hot(ops.cast(y["task_id"], "int32"), len(self.tasks)), axis=0)
        if distributed:
            rows = context.all_reduce(tf.distribute.ReduceOp.SUM, rows)
        task_id = ops.cast(ops.argmax(rows), "int32")
        examples = ops.sum(rows) / ops.take(ops.array(self._rows_per_example, "float32"), task_id)
        outputs = self(x, training=training)
        labels = {name: value for name, value in y.items() if name != "task_id"}
        if "label" in labels:
            labels["label"] = ops.cast(labels["label"], "float32")
        summed = self.task_loss(task_id, outputs, labels)
        if training and self.adversarial is not None:
            summed = summed + self.adversarial.term(self, x, outputs, task_id)
        share = summed / ops.maximum(examples, 1.0)
        loss = context.all_reduce(tf.distribute.ReduceOp.SUM, share) if distributed else share
        return task_id, share, loss

    def _track(self, task_id, loss):
        self.loss_tracker.update_state(loss)
        for index, tracker in enumerate(self.task_loss_trackers):
            active = ops.equal(task_id, index)
            # where, not only a zero weight: NaN * 0 is NaN, and would blame every task
            tracker.update_state(
                ops.where(active, loss, 0.0), sample_weight=ops.cast(active, "float32")
            )
        results = {metric.name: metric.result() for metric in self.metrics}
        # Every replica holds the same (global) figures. keras 3.15.1 averages step outputs
        # across workers with `reduce(MEAN, axis=0)`, which fails on scalars
        # (keras-team/keras#20329): there, give them the axis it reduces.
        if getattr(tf.distribute.get_strategy().extended, "_in_multi_worker_mode", bool)():
            results = {name: ops.expand_dims(value, 0) for name, value in results.items()}
        return results

    def train_step(self, data):
        with tf.GradientTape() as tape:
            task_id, share, loss = self._step_loss(data, training=True)
            scaled = self.optimizer.scale_loss(share)  # a float16 loss scale, if any
        variables = self.trainable_variables
        # the optimizer sums the replicas' gradients: of their shares, the global mean's
        gradients = tape.gradient(scaled, variables)
        gradients = [ops.zeros_like(v) if g is None else g for g, v in zip(gradients, variables)]
        self.optimizer.apply(gradients, variables)
        # A step that leaves a weight NaN or infinite (a finite loss, then an overflowing
        # update) counts as a non-finite loss of its task: `NonFiniteLossGuard` stops there,
        # before anything evaluates or saves the broken weights.
        finite = ops.all(ops.stack([ops.all(ops.isfinite(v)) for v in variables]))
        return self._track(task_id, ops.where(finite, loss, float("nan")))

    def test_step(self, data):
        task_id, _, loss = self._step_loss(data, training=False)
        return self._track(task_id, loss)

    def task_submodel(self, task_name):
        """A model from the same inputs to one task's output, sharing this model's weights."""
        if task_name not in self.task_names:
            raise KeyError(f"no task {task_name!r} in this model; it has {self.task_names}")
        return keras.Model(self.input, self.output[task_name])
