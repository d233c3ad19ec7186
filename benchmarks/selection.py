"""Which models a benchmark run measures: the Keras reference and the TFLite files.

A file the user named with `--tflite` must run: a missing, damaged or wrong-shape file is an
error (BadInput, exit 2), not a quiet "skipped" row that lets `--min-accuracy` pass, unless the
user asked to skip failures. Files found beside the Keras model are only candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from edge_digits.errors import BadInput
from edge_digits.formats import FORMATS, MICRO_INT8, MICRO_INT8_FILE, format_of_file, tflite_file_name
from edge_digits.paths import models_dir


@dataclass
class ModelSet:
    keras: Path | None
    reference: str  # one line for the table's header: which Keras model, or that there is none
    tflite: dict[str, Path] = field(default_factory=dict)  # format (or stem) → file
    failed: dict[str, str] = field(default_factory=dict)  # format (or stem) → why it cannot run


def check_tflite(path: Path) -> str | None:
    """None when the file loads as a digit classifier, else the one-line reason."""
    from edge_digits.edge.runtime import Classifier

    try:
        Classifier(path)
    except BadInput as error:
        return error.message
    return None


def select_models(keras_path: Path | None, tflite_paths: Sequence[Path], skip_failures: bool = False,
                  default_keras: Path | None = None) -> ModelSet:
    """The Keras reference (the default model when none is named) and the TFLite files to compare."""
    default_keras = default_keras or models_dir() / "digits.keras"
    if keras_path is not None and not keras_path.is_file():
        raise BadInput(f"{keras_path}: no such model file")
    if keras_path is None and default_keras.is_file():
        keras_path = default_keras
    if keras_path is None and not tflite_paths:
        raise BadInput(f"{default_keras}: no such model file (name one with --model or --tflite)")
    if keras_path is None:
        reference = "no Keras reference was given (--model): no Δ Keras or agreement"
    else:
        reference = f"Keras reference: {keras_path}" + (" (default)" if keras_path == default_keras else "")
    models = ModelSet(keras_path, reference)
    if not tflite_paths:
        assert keras_path is not None
        found = {f: keras_path.parent / tflite_file_name(keras_path.stem, f) for f in FORMATS}
        found[MICRO_INT8] = keras_path.parent / MICRO_INT8_FILE  # the shipped micro model
        models.tflite = {f: p for f, p in found.items() if p.is_file()}
        return models
    for path in tflite_paths:
        name = format_of_file(path)
        name = name if name not in models.tflite and name not in models.failed else path.stem
        why = check_tflite(path)
        if why is None:
            models.tflite[name] = path
        elif skip_failures:
            models.failed[name] = why
        else:
            raise BadInput(f"{why} (--skip-failures to benchmark the others)")
    return models
