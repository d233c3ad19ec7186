"""The seed's CNN and a micro CNN for microcontrollers, written out layer by layer.

The Kaggle seed omitted the Flatten before the first Dense and put a sigmoid on a
categorical cross-entropy output; here the stack ends in Flatten → Dense → softmax.
Input is 28×28×1 in [0, 1] (pixels / 255, done in the data pipeline, not in the model,
so converted int8 models get the standard scale 1/255 on their input).
"""

from __future__ import annotations

import keras
from keras import layers

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def build_model() -> keras.Model:
    """Conv(32,5×5) → pool → Conv(64,3×3) → Conv(64,3×3) → pool → Dense(256) → Dropout → softmax."""
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            layers.Conv2D(32, kernel_size=(5, 5), padding="same", activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), padding="same", activation="relu"),
            layers.Conv2D(64, kernel_size=(3, 3), padding="same", activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2), strides=(2, 2)),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="digits_cnn",
    )


def build_micro_model() -> keras.Model:
    """A CNN for Cortex-M (TFLite Micro with CMSIS-NN kernels): 33,882 parameters, 1.85 M MACs.

    Few channels (16-32-64, multiples of 4 as CMSIS-NN's int8 kernels like), 3×3 convolutions
    only, the first with stride 2 so no layer runs at the full 28×28, and a single 1024→10
    Dense instead of a large one. BatchNormalization trains it faster and folds into the
    convolutions on conversion; no bias on the convolutions for that reason. The largest pair
    of int8 activations is 14×14×16 + 14×14×32 bytes, so the TFLM arena stays small.
    """
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            layers.Conv2D(16, kernel_size=(3, 3), strides=(2, 2), padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Conv2D(32, kernel_size=(3, 3), padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.MaxPooling2D(pool_size=(2, 2), padding="same"),  # 7×7 → 4×4: keeps the last row and column
            layers.Flatten(),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="digits_micro",
    )


ARCHITECTURES = {"seed": build_model, "micro": build_micro_model}


def build(arch: str = "seed") -> keras.Model:
    """The named architecture (`train --arch`): the seed CNN by default."""
    return ARCHITECTURES[arch]()


def make_optimizer(name: str, learning_rate: float | None = None) -> keras.optimizers.Optimizer:
    """The seed's RMSprop by default; Adam and Adadelta as alternatives."""
    choices = {
        "rmsprop": (keras.optimizers.RMSprop, 1e-3),
        "adam": (keras.optimizers.Adam, 1e-3),
        "adadelta": (keras.optimizers.Adadelta, 1.0),
    }
    cls, default_lr = choices[name]
    return cls(learning_rate=learning_rate or default_lr)
