"""Load and save `.keras` files safely: checked shape, safe mode, atomic writes."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import keras

from edge_digits.atomic import atomic_path
from edge_digits.errors import BadInput

from .model import INPUT_SHAPE


def load_model(path: str | os.PathLike) -> keras.Model:
    """A digits model from a `.keras` archive; BadInput if missing, not Keras, or not 28×28×1.

    Loaded in Keras safe mode: a model file cannot run arbitrary code (Lambda layers).
    """
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path}: no such model file")
    if not zipfile.is_zipfile(path):
        raise BadInput(f"{path}: not a Keras archive (.keras zip file)")
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad archive
        text = str(exc).strip()
        if "Lambda" in text and "safe_mode" in text:
            raise BadInput(f"{path}: refused: it contains a Lambda layer (Python code), which Keras safe mode "
                           "does not run; rebuild the model without Lambda layers, or load it yourself with "
                           "safe_mode=False if you trust where it came from") from None
        reason = _first_sentences(text.splitlines()[0]) if text else type(exc).__name__
        raise BadInput(f"{path}: not a loadable Keras model: {reason}") from None
    shape = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
    if shape != INPUT_SHAPE:
        raise BadInput(f"{path}: model input shape {model.input_shape} is not (None, 28, 28, 1)")
    output = tuple(model.output_shape) if not isinstance(model.output_shape, list) else None
    if output is None or len(output) != 2 or output[-1] != 10:
        raise BadInput(f"{path}: model output shape {model.output_shape} is not (None, 10) (one score per digit)")
    return model


def _first_sentences(text: str, limit: int = 300) -> str:
    """`text` whole when short, else cut at a sentence end (never mid-sentence) within `limit`."""
    if len(text) <= limit:
        return text
    end = text.rfind(". ", 0, limit)
    return text[: end + 1] if end > 0 else text[: text.rfind(" ", 0, limit)] + " …"


def save_model(model: keras.Model, path: str | os.PathLike) -> Path:
    """Save without optimizer state (smaller; the device never resumes training), atomically."""
    path = Path(path)
    clean = model.__class__.from_config(model.get_config())  # same layers, never compiled
    clean.set_weights(model.get_weights())
    with atomic_path(path, suffix=".keras") as tmp:
        clean.save(tmp)
    return path
