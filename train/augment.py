"""Augmentation as in the seed (rotation ±10°, zoom 0.1, shifts 0.1), in the tf.data pipeline.

Keras 3 has no ImageDataGenerator; its preprocessing layers do the same job. They run in
`Dataset.map`, never inside the model, so the exported graph has no random ops (TFLite's
converter cannot handle them, and the device must not augment).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from edge_digits.formats import to_inputs


def augmenter(seed: int, strength: float = 1.0) -> keras.Sequential:
    """Random rotation (±10° × strength), zoom and width/height shift (10% × strength)."""
    return keras.Sequential(
        [
            layers.RandomRotation(10 / 360 * strength, fill_mode="constant", seed=seed),
            layers.RandomZoom(0.1 * strength, fill_mode="constant", seed=seed + 1),
            layers.RandomTranslation(0.1 * strength, 0.1 * strength, fill_mode="constant", seed=seed + 2),
        ],
        name="augment",
    )


def dataset(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    augment: bool,
    seed: int,
    shuffle: bool = True,
    strength: float = 1.0,
) -> tf.data.Dataset:
    """Batches of (x in [0,1], one-hot y), shuffled and augmented for training.

    A negative label (a crop that is no digit, edge_digits.labelled.NOT_A_DIGIT) gets the flat
    target 0.1 everywhere: the model learns to be unsure of it (outlier exposure).
    """
    x = to_inputs(images)
    labels = np.asarray(labels)
    y = np.full((len(labels), 10), 0.1, np.float32)
    digit = labels >= 0
    y[digit] = keras.utils.to_categorical(labels[digit], 10)
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augment:
        aug = augmenter(seed, strength)
        ds = ds.map(lambda a, b: (aug(a, training=True), b), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
