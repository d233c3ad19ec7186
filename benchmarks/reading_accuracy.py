"""How well whole pictures are read: the real development set and the field generator.

Per image the question is "was the number read exactly?". Three rates answer it:
- exact: share of images read exactly (every digit, nothing more);
- right count: share with the right number of digits;
- confident exact: among images whose every digit clears `threshold`, the share read exactly,
  with the share of images that clear it. This is what `--min-confidence` promises a user.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from edge_digits.edge.reader import Reading, load_image, read_digits
from edge_digits.edge.runtime import Classifier

REAL_SET = Path(__file__).resolve().parent.parent / "tests" / "data" / "real"
THRESHOLD = 0.9


def score(pairs: Iterable[tuple[str, Reading]], threshold: float = THRESHOLD) -> dict:
    """Exact, right-count and confident-exact rates of (true text, reading) pairs."""
    n = exact = counted = confident = confident_exact = 0
    for truth, reading in pairs:
        n += 1
        exact += reading.text == truth
        counted += len(reading.text) == len(truth)
        if reading.digits and all(d.confidence >= threshold for d in reading.digits):
            confident += 1
            confident_exact += reading.text == truth
    return {
        "images": n,
        "exact": exact / n if n else None,
        "right_count": counted / n if n else None,
        "confident_share": confident / n if n else None,
        "confident_exact": confident_exact / confident if confident else None,
        "threshold": threshold,
    }


def real_images(folder: str | Path = REAL_SET) -> list[dict]:
    """The real development set's rows: file (a Path), text, source, split."""
    folder = Path(folder)
    with open(folder / "labels.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [{**row, "file": folder / row["file"]} for row in rows]


def real_accuracy(classifier: Classifier, folder: str | Path = REAL_SET,
                  threshold: float = THRESHOLD) -> dict[str, dict]:
    """Scores on the real development set: per split (`tune`, `report`) and for all images."""
    by_split: dict[str, list[tuple[str, Reading]]] = defaultdict(list)
    for row in real_images(folder):
        reading = read_digits(load_image(row["file"]), classifier, source=str(row["file"].name))
        by_split[row["split"]].append((row["text"], reading))
        by_split["all"].append((row["text"], reading))
    return {split: score(pairs, threshold) for split, pairs in sorted(by_split.items())}


def field_accuracy(classifier: Classifier, count: int, seed: int, threshold: float = THRESHOLD) -> dict[str, dict]:
    """Scores on generated field photos of MNIST *test* digits: all, and per failure class."""
    from edge_digits.data import load_mnist
    from edge_digits.field_photos import make_field_photos

    test = load_mnist("test")
    by_scene: dict[str, list[tuple[str, Reading]]] = defaultdict(list)
    for photo in make_field_photos(test.images, test.labels, count, seed=seed):
        pair = (photo.text, read_digits(photo.image, classifier))
        by_scene["all"].append(pair)
        for scene in photo.scenes or ["plain"]:
            by_scene[scene].append(pair)
    return {scene: score(pairs, threshold) for scene, pairs in sorted(by_scene.items())}


def table(scores: dict[str, dict]) -> str:
    """One row per set or class: images, exact, right count, confident share and exact."""
    lines = [f"{'':<14} {'images':>6} {'exact':>7} {'count':>7} {'conf.share':>10} {'conf.exact':>10}"]
    for name, s in scores.items():
        pct = lambda v: "-" if v is None else f"{100 * v:.1f}%"  # noqa: E731
        lines.append(f"{name:<14} {s['images']:>6} {pct(s['exact']):>7} {pct(s['right_count']):>7} "
                     f"{pct(s['confident_share']):>10} {pct(s['confident_exact']):>10}")
    return "\n".join(lines)
