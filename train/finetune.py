"""Fine-tuning on a user's labelled crops: hold some back, and say what the fine-tuning changed.

`train --finetune BASE.keras --extra-data DIR` keeps `--holdout` of the labelled crops out of
training and reports accuracy on them before (the base model) and after, and on MNIST test after,
so forgetting shows. What the model was made from (the base model's sha256, each folder's size
and folder_sha256) goes into history.json; `convert` copies it into manifest.json.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np

from edge_digits.data import Digits
from edge_digits.edge.runtime import sha256_of
from edge_digits.errors import BadInput
from edge_digits.labelled import folder_sha256

from .fit import predict_labels, predict_probabilities


def hold_out(extras: list[Digits], fraction: float, seed: int) -> tuple[list[Digits], Digits | None]:
    """Each folder's crops split at random: (the rest, for training; the held-out crops, pooled)."""
    if fraction <= 0 or not extras:
        return extras, None
    rng = np.random.default_rng(seed)
    kept, held = [], []
    for digits in extras:
        order = rng.permutation(len(digits))
        n = int(round(len(digits) * fraction))
        if n == 0 or n == len(digits):
            raise BadInput(f"{digits.source}: --holdout {fraction} of {len(digits)} crops leaves none to "
                           f"{'test' if n == 0 else 'train'} on")
        held.append(Digits(digits.images[order[:n]], digits.labels[order[:n]], digits.source))
        kept.append(Digits(digits.images[order[n:]], digits.labels[order[n:]], digits.source))
    images = np.concatenate([d.images for d in held])
    labels = np.concatenate([d.labels for d in held])
    digits = labels >= 0  # `x` crops (train --not-digits) have no accuracy to report
    return kept, Digits(images[digits], labels[digits], "held-out crops")


def not_digits(folders: list[Path]) -> np.ndarray:
    """The crops labelled `x` ("not a digit") in the folders: never trained on, they set the threshold."""
    import cv2

    from edge_digits.labelled import read_labels

    images = [cv2.imread(str(Path(f) / name), cv2.IMREAD_GRAYSCALE) for f in folders
              for name, label in read_labels(f) if label == "x"]
    images = [i for i in images if i is not None and i.shape == (28, 28)]
    return np.stack(images) if images else np.zeros((0, 28, 28), np.uint8)


class _KerasScores:
    """A Keras model behind the edge classifier's `probabilities`, so edge confidence applies to it."""

    def __init__(self, model: keras.Model) -> None:
        self.model = model

    def probabilities(self, images: np.ndarray, batch_size: int = 1) -> np.ndarray:
        return predict_probabilities(self.model, images)


def edge_confidence(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """The confidence `classify` would report for each crop (agreement across variants; Keras, not int8)."""
    from edge_digits.edge.reader import agreement

    if not len(images):
        return np.zeros(0)
    probs = predict_probabilities(model, images)
    return agreement(images, probs.argmax(1), probs, _KerasScores(model))


REJECT = 0.9  # the share of `x` crops the suggested --min-confidence marks uncertain
MIN_NOT_DIGITS = 10  # fewer `x` crops than this set no threshold


def accuracy(model: keras.Model, digits: Digits) -> float:
    return float((predict_labels(model, digits.images) == digits.labels).mean())


@dataclass
class FinetuneReport:
    holdout_size: int
    holdout_before: float | None  # the base model on the held-out crops
    holdout_after: float | None
    mnist_size: int
    mnist_before: float
    mnist_after: float
    not_digits: int = 0  # x crops in the folders
    threshold: float | None = None  # the --min-confidence that marks REJECT of them uncertain
    digits_kept: float | None = None  # the share of held-out digit crops at or above it

    def lines(self) -> str:
        out = []
        if self.holdout_size:
            out.append(f"held-out crops ({self.holdout_size}): base {100 * self.holdout_before:.2f}% -> "
                       f"fine-tuned {100 * self.holdout_after:.2f}%")
        out.append(f"MNIST test ({self.mnist_size}): base {100 * self.mnist_before:.2f}% -> "
                   f"fine-tuned {100 * self.mnist_after:.2f}%")
        if self.not_digits and self.threshold is None:
            out.append(f"not-a-digit crops ({self.not_digits}): too few to set --min-confidence "
                       f"({MIN_NOT_DIGITS} needed)")
        if self.threshold is not None:
            kept = "" if self.digits_kept is None else \
                f", and passes {100 * self.digits_kept:.0f}% of the held-out digits"
            out.append(f"not-a-digit crops ({self.not_digits}): --min-confidence {self.threshold:.2f} marks "
                       f"{100 * REJECT:.0f}% of them uncertain{kept}")
        return "\n".join(out)


def report(base: keras.Model, tuned: keras.Model, holdout: Digits | None, mnist_test: Digits,
           rejects: np.ndarray | None = None) -> FinetuneReport:
    """Before/after on the held-out crops and on MNIST test; with `x` crops (`rejects`), the threshold
    that marks most of them uncertain under the fine-tuned model."""
    n = len(holdout) if holdout is not None else 0
    result = FinetuneReport(
        n, accuracy(base, holdout) if n else None, accuracy(tuned, holdout) if n else None,
        len(mnist_test), accuracy(base, mnist_test), accuracy(tuned, mnist_test),
    )
    result.not_digits = 0 if rejects is None else len(rejects)
    if result.not_digits >= MIN_NOT_DIGITS:
        result.threshold = float(np.quantile(edge_confidence(tuned, rejects), REJECT))
        if n:
            result.digits_kept = float((edge_confidence(tuned, holdout.images) >= result.threshold).mean())
    return result


def provenance(base_path: str | os.PathLike, folders: list[Path], sizes: list[int], fraction: float,
               result: FinetuneReport) -> dict:
    """history.json's `finetune` record: what the model started from and learned from, and how it did."""
    return {
        "base_model": Path(base_path).name,
        "base_sha256": sha256_of(base_path),
        "extra_data": [{"folder": str(f), "size": n, "sha256": folder_sha256(f)} for f, n in zip(folders, sizes)],
        "holdout_fraction": fraction,
        "report": asdict(result),
    }
