"""Keras → TFLite in four formats, builtin ops only, with a fixed batch of 1.

A fixed batch dimension keeps the legacy tflite-runtime at full speed (it is ~4× slower
on int8 with a dynamic batch dim); the interpreter can still resize it for batched
evaluation. Dense layers in dynamic-range models are quantized per tensor, because
per-channel FULLY_CONNECTED needs an op version tflite-runtime 2.14 lacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import keras
import numpy as np
import tensorflow as tf

from edge_digits.formats import FORMATS, to_inputs

IO_TYPES = {"int8": tf.int8, "uint8": tf.uint8, "float32": tf.float32}


def _inference(model: keras.Model) -> Callable:
    """The forward pass in inference mode, with Flatten written as reshape(-1, features).

    Keras would bake the batch size into Flatten's reshape ([1, 3136]); a -1 there keeps
    the fixed-batch file resizable, so the same file runs batch 1 on the device at full
    speed and batches of 500 for evaluation.
    """
    if not isinstance(model, keras.Sequential):
        return lambda image: model(image, training=False)

    def forward(image):
        x = image
        for layer in model.layers:
            if isinstance(layer, keras.layers.Flatten):
                x = tf.reshape(x, [-1, int(np.prod(x.shape[1:]))])
            else:
                x = layer(x, training=False)
        return x

    return forward


def _concrete_function(model: keras.Model):
    """The inference function for one image: no training-mode ops, batch fixed at 1."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    spec = tf.TensorSpec([1, 28, 28, 1], tf.float32, name="image")
    function = tf.function(_inference(model)).get_concrete_function(spec)
    return convert_variables_to_constants_v2(function)  # weights as constants: no READ_VARIABLE ops


def representative_data(images: np.ndarray, progress: Callable[[int], None] | None = None) -> Callable[[], Iterator]:
    """A representative dataset for int8 calibration: one image (pixels / 255) per step."""

    def generate() -> Iterator[list[np.ndarray]]:
        for image in images:
            yield [to_inputs(image[None])]
            if progress is not None:
                progress(1)

    return generate


def convert(
    model: keras.Model,
    fmt: str,
    calibration: np.ndarray | None = None,
    io_type: str = "int8",
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """The .tflite FlatBuffer for `fmt` (float32, int8, dynamic, float16)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    converter = tf.lite.TFLiteConverter.from_concrete_functions([_concrete_function(model)], model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if fmt == "int8":
        if calibration is None or len(calibration) == 0:
            raise ValueError("int8 needs calibration images")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_data(calibration, progress)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = IO_TYPES[io_type]
        converter.inference_output_type = IO_TYPES[io_type]
    elif fmt == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    elif fmt == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def balanced_sample(labels: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """Indices of `count` rows, as equal per class as the data allows (calibration set)."""
    rng = np.random.default_rng(seed)
    per_class = [rng.permutation(np.flatnonzero(labels == d)) for d in range(10)]
    chosen: list[int] = []
    depth = 0
    while len(chosen) < count and any(depth < len(c) for c in per_class):
        for rows in per_class:
            if depth < len(rows) and len(chosen) < count:
                chosen.append(int(rows[depth]))
        depth += 1
    return rng.permutation(np.array(chosen, dtype=np.int64))
