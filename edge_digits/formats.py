"""The facts every stage shares: TFLite formats, their file names, runtimes and pixel scaling.

One table, as Ultralytics keeps one `export_formats()` for export and benchmark alike:
convert, benchmark, the edge runner and the CLI all read it, so a new format or runtime is
added in one place. Importable on the device: nothing here imports TensorFlow (nor numpy,
so `edge-digits --help` stays instant).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TFLiteFormat:
    name: str  # also the CLI flag (--int8) and the file name's suffix (digits_int8.tflite)
    quantized: bool  # weights stored in fewer bits than float32
    calibrated: bool  # needs representative images (full-integer quantization)
    help: str


TFLITE_FORMATS = (
    TFLiteFormat("float32", quantized=False, calibrated=False, help="Float32 TFLite."),
    TFLiteFormat("int8", quantized=True, calibrated=True, help="Full-integer int8 (calibrated)."),
    TFLiteFormat("dynamic", quantized=True, calibrated=False, help="Dynamic-range quantization."),
    TFLiteFormat("float16", quantized=True, calibrated=False, help="Float16 weights."),
)
FORMATS = tuple(f.name for f in TFLITE_FORMATS)
DEFAULT_FORMATS = ("float32", "int8")  # what `convert` writes when no format flag is given
MICRO_INT8 = "micro-int8"  # the int8 model trained for TensorFlow Lite Micro (--arch micro)
MICRO_INT8_FILE = "digits_micro_int8.tflite"  # the shipped micro model's file name


def format_info(name: str) -> TFLiteFormat:
    """The registry entry for a format name; ValueError for an unknown one."""
    for fmt in TFLITE_FORMATS:
        if fmt.name == name:
            return fmt
    raise ValueError(f"unknown format {name!r}; choose from {', '.join(FORMATS)}")


def tflite_file_name(stem: str, fmt: str) -> str:
    """digits + int8 → digits_int8.tflite: the name convert writes and benchmark looks for."""
    return f"{stem}_{fmt}.tflite"


def format_of_file(path: str | os.PathLike) -> str:
    """The format a file name ends with (digits_int8.tflite → int8; the micro model → micro-int8), else its stem."""
    stem = Path(path).stem
    fmt = next((f for f in FORMATS if stem.endswith(f)), stem)
    return MICRO_INT8 if fmt == "int8" and "micro" in stem else fmt


# TFLite interpreters, in the order the edge runner tries them, and the module each comes from.
RUNTIME_MODULES = {
    "litert": "ai_edge_litert.interpreter",  # ai-edge-litert: the maintained one
    "tflite-runtime": "tflite_runtime.interpreter",  # stopped at 2.14 (2023)
    "tensorflow": "tensorflow",  # tf.lite.Interpreter, scheduled for deletion
}
RUNTIMES = tuple(RUNTIME_MODULES)

# Every model takes pixels / 255 (in [0, 1]); int8 files carry that as their input scale 1/255.
PIXEL_MAX = 255.0


def scale_pixels(pixels: Any, dtype: str = "float32") -> Any:
    """uint8 pixels 0..255 → values in [0, 1], as the models take them."""
    return pixels.astype(dtype) / PIXEL_MAX


def to_inputs(images: Any) -> Any:
    """uint8 (N, 28, 28) → float32 (N, 28, 28, 1) in [0, 1]: a float model's input tensor."""
    return scale_pixels(images)[..., None]
