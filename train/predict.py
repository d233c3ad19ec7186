"""Predict a Kaggle test.csv into a submission, and evaluate a model on labelled digits."""

from __future__ import annotations

import os
from dataclasses import dataclass

import keras
import numpy as np

from edge_digits.data import Digits, write_submission

from .fit import per_class_table, predict_probabilities


def predict_submission(model: keras.Model, digits: Digits, out_csv: str | os.PathLike) -> np.ndarray:
    """Write `ImageId,Label` for every row; returns the predicted labels."""
    labels = predict_probabilities(model, digits.images).argmax(axis=1)
    write_submission(out_csv, labels)
    return labels


def plot_predictions(digits: Digits, predicted: np.ndarray, n: int, path: str | os.PathLike) -> None:
    """The first n digits with their predicted labels (the seed's last figure)."""
    from . import plots  # matplotlib only when a plot is asked for

    n = min(n, len(digits))
    plots.plot_digits(digits.images[:n], [f"predicted {p}" for p in predicted[:n]], path)


@dataclass
class Evaluation:
    accuracy: float
    labels: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    errors: np.ndarray  # indices of wrong predictions, most confident first

    def report(self, top: int = 10) -> str:
        lines = [
            f"accuracy: {100 * self.accuracy:.2f}% ({int((self.labels == self.predicted).sum())}/{len(self.labels)})",
            "",
            per_class_table(self.labels, self.predicted),
            "",
            f"most confident errors ({len(self.errors)} errors in all):",
        ]
        for i in self.errors[:top]:
            lines.append(
                f"  row {i + 1:>6}: true {self.labels[i]}  predicted {self.predicted[i]}  "
                f"confidence {self.confidence[i]:.3f}"
            )
        return "\n".join(lines)


def evaluate(model: keras.Model, digits: Digits) -> Evaluation:
    """Accuracy, per-class figures and the most confident errors on labelled digits."""
    probs = predict_probabilities(model, digits.images)
    predicted = probs.argmax(axis=1)
    confidence = probs.max(axis=1)
    wrong = np.flatnonzero(predicted != digits.labels)
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")]
    accuracy = float((predicted == digits.labels).mean()) if len(digits) else 0.0
    return Evaluation(accuracy, digits.labels, predicted, confidence, wrong)


def plot_errors(digits: Digits, evaluation: Evaluation, path: str | os.PathLike, n: int = 16) -> None:
    """The n most confident errors, titled `true→predicted (confidence)`."""
    from . import plots

    idx = evaluation.errors[:n]
    titles = [
        f"{evaluation.labels[i]}→{evaluation.predicted[i]} ({evaluation.confidence[i]:.2f})" for i in idx
    ]
    plots.plot_digits(digits.images[idx], titles, path)
