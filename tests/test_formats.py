"""The registry of formats, runtimes and pixel scaling that every stage reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_digits.formats import (
    DEFAULT_FORMATS,
    FORMATS,
    RUNTIMES,
    format_info,
    format_of_file,
    scale_pixels,
    tflite_file_name,
    to_inputs,
)


def test_formats_and_runtimes_in_their_order():
    assert FORMATS == ("float32", "int8", "dynamic", "float16")
    assert DEFAULT_FORMATS == ("float32", "int8")
    assert RUNTIMES == ("litert", "tflite-runtime", "tensorflow")
    assert [f for f in FORMATS if format_info(f).quantized] == ["int8", "dynamic", "float16"]
    assert [f for f in FORMATS if format_info(f).calibrated] == ["int8"]
    with pytest.raises(ValueError, match="unknown format 'int4'; choose from float32, int8, dynamic, float16"):
        format_info("int4")


@pytest.mark.parametrize(("name", "fmt"), [
    ("digits_int8.tflite", "int8"), ("models/digits_float16.tflite", "float16"),
    ("digits_micro_int8.tflite", "micro-int8"), ("mine.tflite", "mine"),
])
def test_file_names_say_their_format(name, fmt):
    assert format_of_file(Path(name)) == fmt


def test_file_name_round_trips():
    assert [format_of_file(tflite_file_name("digits", f)) for f in FORMATS] == list(FORMATS)


def test_pixels_scale_to_the_unit_interval():
    images = np.array([[[0, 51, 255]]], np.uint8)
    x = to_inputs(images)
    assert x.dtype == np.float32 and x.shape == (1, 1, 3, 1)
    assert x[0, 0, :, 0].tolist() == [0.0, np.float32(0.2), 1.0]
    assert scale_pixels(np.arange(256), "float64").tolist() == [v / 255 for v in range(256)]
