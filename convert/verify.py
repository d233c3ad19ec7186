"""Check a converted model against its Keras source on held-out digits, with the device runtime."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edge_digits.edge.runtime import Classifier


@dataclass
class Verification:
    accuracy: float
    delta_vs_keras: float  # percentage points
    agreement: float  # share of labels equal to Keras's
    max_abs_prob_diff: float
    samples: int

    def as_dict(self) -> dict:
        return {k: round(v, 6) if isinstance(v, float) else v for k, v in asdict(self).items()}


def verify(model_file: str | Path, images: np.ndarray, labels: np.ndarray, keras_probs: np.ndarray,
           runtime: str | None = None) -> Verification:
    """Accuracy, Δ vs Keras, label agreement and max |Δ probability| with the LiteRT interpreter."""
    probs = Classifier(model_file, runtime=runtime, verify_manifest=False).probabilities(images, batch_size=500)
    predicted = probs.argmax(axis=1)
    keras_predicted = keras_probs.argmax(axis=1)
    accuracy = float((predicted == labels).mean())
    keras_accuracy = float((keras_predicted == labels).mean())
    return Verification(
        accuracy=accuracy,
        delta_vs_keras=100 * (accuracy - keras_accuracy),
        agreement=float((predicted == keras_predicted).mean()),
        max_abs_prob_diff=float(np.abs(probs - keras_probs).max()),
        samples=len(labels),
    )
