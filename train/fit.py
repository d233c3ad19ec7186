"""Fit the seed CNN: split, augment, train with ReduceLROnPlateau, keep the best epoch, report.

Order follows the keras-io MNIST example: data, model, training, evaluation.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import keras
import numpy as np

from edge_digits.atomic import move_in, staging_dir, write_text
from edge_digits.data import Digits
from edge_digits.edge.runtime import sha256_of
from edge_digits.formats import to_inputs

from . import augment, distribute
from .keras_io import load_model, save_model
from .model import build, make_optimizer


@dataclass
class TrainConfig:
    """The recipe. Defaults are the seed's: RMSprop, batch 128, 30 epochs, augmentation on."""

    epochs: int = 30
    batch_size: int = 128
    optimizer: str = "rmsprop"
    learning_rate: float | None = None
    schedule: str = "plateau"  # plateau: ReduceLROnPlateau (seed); cosine: cosine decay to 0
    augment: bool = True
    augment_strength: float = 1.0
    validation_split: float = 0.1
    limit: int | None = None
    seed: int = 0
    finetune: str | None = None  # start from this .keras model's weights instead of a fresh one
    arch: str = "seed"  # train/model.py ARCHITECTURES: seed (default) or micro


@dataclass
class TrainResult:
    model: keras.Model
    history: list[dict]
    best_epoch: int
    val_labels: np.ndarray | None = None
    val_predicted: np.ndarray | None = None
    outputs: dict[str, Path] = field(default_factory=dict)
    distribution: dict | None = None  # strategy, replicas, batches, LR: only when a strategy was given
    finetune: dict | None = None  # base model, field data and before/after (train/finetune.py)


class _EpochLog(keras.callbacks.Callback):
    """Record loss/accuracy/val and the learning rate per epoch; keep the best weights."""

    def __init__(self, monitor: str):
        super().__init__()
        self.monitor = monitor
        self.rows: list[dict] = []
        self.best = -math.inf
        self.best_epoch = 0
        self.best_weights: list[np.ndarray] | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        row = {"epoch": epoch + 1, "learning_rate": lr}
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            row[key] = float(logs[key]) if key in logs else None
        self.rows.append(row)
        # Higher is better: validation accuracy, or minus the training loss without validation.
        score = -float(logs["loss"]) if self.monitor == "loss" else float(logs[self.monitor])
        if score > self.best:
            self.best, self.best_epoch = score, epoch + 1
            self.best_weights = self.model.get_weights()


def split(digits: Digits, fraction: float, seed: int) -> tuple[Digits, Digits | None]:
    """Random train/validation split, reproducible by seed."""
    if fraction <= 0:
        return digits, None
    order = np.random.default_rng(seed).permutation(len(digits))
    n_val = max(1, int(round(len(digits) * fraction)))
    val, tr = order[:n_val], order[n_val:]
    return (
        Digits(digits.images[tr], digits.labels[tr], digits.source),
        Digits(digits.images[val], digits.labels[val], digits.source),
    )


def lr_callbacks(config: TrainConfig, has_val: bool, steps_per_epoch: int) -> list:
    """ReduceLROnPlateau (the seed's) or nothing (cosine decay lives in the optimizer)."""
    if config.schedule == "plateau":
        return [
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_accuracy" if has_val else "loss", patience=3, factor=0.5,
                min_lr=1e-5, verbose=0,
            )
        ]
    return []


def compile_model(model: keras.Model, config: TrainConfig, steps_per_epoch: int) -> None:
    lr = config.learning_rate
    if config.schedule == "cosine":
        base = lr or make_optimizer(config.optimizer).learning_rate
        lr = keras.optimizers.schedules.CosineDecay(
            float(keras.ops.convert_to_numpy(base)), decay_steps=config.epochs * steps_per_epoch
        )
    model.compile(
        optimizer=make_optimizer(config.optimizer, lr),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )


def distribute_dataset(ds, strategy):  # (tf.data.Dataset, tf.distribute.Strategy | None) -> tf.data.Dataset
    """Shard by worker: each worker keeps its share of every global batch (tf.data DATA sharding).

    DATA (not FILE) because the data come from memory, not files; every worker shuffles with the
    same seed, so the shares are disjoint and together cover the epoch.
    """
    if strategy is None:
        return ds
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)


def scaling(config: TrainConfig, strategy=None) -> distribute.Scaling:
    """The replicas, global batch and learning rate a run trains with (linear rule; 1 replica: as given)."""
    base_lr = config.learning_rate or float(keras.ops.convert_to_numpy(make_optimizer(config.optimizer).learning_rate))
    replicas = int(strategy.num_replicas_in_sync) if strategy is not None else 1
    return distribute.scale(distribute.strategy_name(strategy), replicas, config.batch_size, base_lr)


def fit(digits: Digits, config: TrainConfig, verbose: int | None = None, strategy=None,
        backup_dir: str | os.PathLike | None = None) -> TrainResult:
    """Train on labelled digits; returns the model with the best epoch's weights.

    With a tf.distribute `strategy`, `config.batch_size` is per replica: the global batch and the
    learning rate are scaled by the number of replicas (see `scaling`). Without one, nothing changes.
    With `backup_dir`, each epoch is backed up there and an interrupted run resumes from the last one.
    """
    if digits.labels is None:
        raise ValueError("training needs labels")
    keras.utils.set_random_seed(config.seed)
    plan = None
    if strategy is not None:
        plan = scaling(config, strategy)
        config = replace(config, batch_size=plan.global_batch, learning_rate=plan.learning_rate)
    digits = digits.head(config.limit)
    train_set, val_set = split(digits, config.validation_split, config.seed)
    train_ds = augment.dataset(
        train_set.images, train_set.labels, config.batch_size, config.augment, config.seed,
        strength=config.augment_strength,
    )
    train_ds = distribute_dataset(train_ds, strategy)
    val_ds = None
    if val_set is not None:
        val_ds = augment.dataset(val_set.images, val_set.labels, 512, False, config.seed, shuffle=False)
        val_ds = distribute_dataset(val_ds, strategy)
    steps = math.ceil(len(train_set) / config.batch_size)

    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = load_model(config.finetune) if config.finetune else build(config.arch)
        compile_model(model, config, steps)
    if strategy is not None:
        distribute.patch_keras(model, strategy)
    log = _EpochLog("val_accuracy" if val_set is not None else "loss")
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2  # one line per epoch in CI logs
    backup = [keras.callbacks.BackupAndRestore(os.fspath(backup_dir))] if backup_dir is not None else []
    model.fit(
        train_ds, validation_data=val_ds, epochs=config.epochs, verbose=verbose, shuffle=False,
        callbacks=[*backup, *lr_callbacks(config, val_set is not None, steps), log],
    )
    if log.best_weights is not None:
        model.set_weights(log.best_weights)
    result = TrainResult(model, log.rows, log.best_epoch)
    if plan is not None:
        result.distribution = asdict(plan)
    if val_set is not None:
        result.val_labels = val_set.labels
        result.val_predicted = predict_labels(model, val_set.images)
    return result


def predict_probabilities(model: keras.Model, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Softmax outputs (N, 10) for uint8 images, by direct calls (no predict() overhead)."""
    out = []
    for start in range(0, len(images), batch_size):
        x = to_inputs(images[start : start + batch_size])
        out.append(keras.ops.convert_to_numpy(model(x, training=False)))
    return np.concatenate(out) if out else np.zeros((0, 10), np.float32)


def predict_labels(model: keras.Model, images: np.ndarray) -> np.ndarray:
    return predict_probabilities(model, images).argmax(axis=1)


def per_class_table(labels: np.ndarray, predicted: np.ndarray) -> str:
    """A printable per-class accuracy table."""
    lines = ["class  count  right  accuracy"]
    for d in range(10):
        mask = labels == d
        n, right = int(mask.sum()), int((predicted[mask] == d).sum())
        acc = f"{100 * right / n:7.2f}%" if n else "      -"
        lines.append(f"{d:>5}  {n:>5}  {right:>5}  {acc}")
    total = float((labels == predicted).mean()) * 100 if len(labels) else 0.0
    lines.append(f"  all  {len(labels):>5}  {int((labels == predicted).sum()):>5}  {total:7.2f}%")
    return "\n".join(lines)


OUTPUT_NAMES = {"model": "model.keras", "history": "history.json", "history_plot": "history.png",
                "confusion": "confusion.png"}


def write_outputs(result: TrainResult, config: TrainConfig, out_dir: str | os.PathLike) -> dict[str, Path]:
    """model.keras, history.json, history.png and (with validation) confusion.png, as one set.

    They are written into a staging folder and moved in together (Ctrl-C and SIGTERM wait for
    the move), so the folder never mixes two runs' files: an interrupted save leaves the previous
    set whole, and a run without validation removes the previous run's confusion.png.
    """
    from . import plots  # matplotlib: only where plots are written, not to train or predict

    out = Path(out_dir)
    record = {"config": asdict(config), "best_epoch": result.best_epoch, "epochs": result.history}
    if result.distribution is not None:
        record["distribution"] = result.distribution
    with staging_dir(out, "train") as staging:
        save_model(result.model, staging / OUTPUT_NAMES["model"])
        if result.finetune is not None:  # convert copies it into the manifest when the sha256 matches
            record["finetune"] = {**result.finetune, "model_sha256": sha256_of(staging / OUTPUT_NAMES["model"])}
        write_text(staging / OUTPUT_NAMES["history"], json.dumps(record, indent=2) + "\n")
        plots.plot_history(result.history, staging / OUTPUT_NAMES["history_plot"])
        if result.val_labels is not None:
            plots.plot_confusion(result.val_labels, result.val_predicted, staging / OUTPUT_NAMES["confusion"])
        made = [key for key, name in OUTPUT_NAMES.items() if (staging / name).is_file()]
        move_in(staging, out, [OUTPUT_NAMES[k] for k in made],
                remove=[name for key, name in OUTPUT_NAMES.items() if key not in made])
    paths = {key: out / OUTPUT_NAMES[key] for key in made}
    result.outputs = paths
    return paths
