"""Everything the benchmark times, behind one small interface.

A runner classifies one image (batch-1 latency) and many (accuracy, throughput). Keras is
timed both ways: `predict` (the seed's way, with its per-call overhead) and a direct call.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_digits.edge.runtime import Classifier
from edge_digits.formats import to_inputs


@dataclass
class Runner:
    name: str
    format: str
    runtime: str
    threads: int
    size_bytes: int
    load_s: float

    def one(self, image: np.ndarray) -> np.ndarray:  # (1, 28, 28) uint8 → (1, 10)
        raise NotImplementedError

    def many(self, images: np.ndarray) -> np.ndarray:  # (N, 28, 28) uint8 → (N, 10)
        raise NotImplementedError


class TFLiteRunner(Runner):
    def __init__(self, path: Path, fmt: str, runtime: str, threads: int, batch: int = 256):
        start = time.perf_counter()
        self.classifier = Classifier(path, runtime=runtime, threads=threads)
        load_s = time.perf_counter() - start
        super().__init__(f"tflite-{fmt}", fmt, self.classifier.runtime, threads, path.stat().st_size, load_s)
        self.batch = batch

    def one(self, image):
        return self.classifier.probabilities(image)

    def many(self, images):
        probs = self.classifier.probabilities(images, batch_size=self.batch)
        self.classifier.probabilities(images[:1])  # back to batch 1 for the latency runs
        return probs


class KerasRunner(Runner):
    """`model.predict` (how = "predict") or `model(x, training=False)` (how = "call")."""

    def __init__(self, path: Path, how: str):
        from edge_digits.train.keras_io import load_model

        start = time.perf_counter()
        self.model = load_model(path)
        load_s = time.perf_counter() - start
        super().__init__(f"keras-{how}", "keras", f"keras {how}", os.cpu_count() or 1, path.stat().st_size, load_s)
        self.how = how

    def one(self, image):
        x = to_inputs(image)
        if self.how == "predict":
            return self.model.predict(x, verbose=0)
        return np.asarray(self.model(x, training=False))

    def many(self, images):
        from edge_digits.train.fit import predict_probabilities

        if self.how == "predict":
            return self.model.predict(to_inputs(images), batch_size=256, verbose=0)
        return predict_probabilities(self.model, images, batch_size=256)
