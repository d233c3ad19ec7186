"""Figures: the seed's history panels, a confusion matrix, and digits with their labels."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from edge_digits.atomic import atomic_path  # noqa: E402


def _save(fig, path: str | os.PathLike) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, bbox_inches="tight")
    plt.close(fig)


def plot_history(history: list[dict], path: str | os.PathLike) -> None:
    """Two panels, "Model Loss" and "Model Accuracy", train and validation per epoch."""
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, title in ((ax_loss, "loss", "Model Loss"), (ax_acc, "accuracy", "Model Accuracy")):
        ax.plot(epochs, [h[key] for h in history], "o-", label="train")
        if all(h.get(f"val_{key}") is not None for h in history):
            ax.plot(epochs, [h[f"val_{key}"] for h in history], "o-", label="validation")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_ylabel(key)
        ax.legend()
        ax.grid(alpha=0.3)
    _save(fig, path)


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """10×10 counts: row = true label, column = prediction."""
    matrix = np.zeros((10, 10), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def plot_confusion(labels: np.ndarray, predicted: np.ndarray, path: str | os.PathLike) -> None:
    """Confusion matrix as a heat map with counts."""
    matrix = confusion_matrix(labels, predicted)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    im = ax.imshow(matrix, cmap="Blues")
    for i in range(10):
        for j in range(10):
            colour = "white" if matrix[i, j] > matrix.max() / 2 else "black"
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"Confusion matrix ({np.trace(matrix)}/{matrix.sum()} right)")
    fig.colorbar(im, ax=ax)
    _save(fig, path)


def plot_digits(images: np.ndarray, titles: list[str], path: str | os.PathLike) -> None:
    """A row (or grid) of digits with a title each: the seed's last figure, and errors.png."""
    n = len(images)
    cols = min(n, 8)
    rows = max(1, (n + cols - 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.8 * cols, 2.0 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title in zip(axes.flat, images, titles):
        ax.imshow(image, cmap="gray")
        ax.set_title(title, fontsize=9)
    _save(fig, path)
