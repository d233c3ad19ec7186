"""Accuracy on generated photographs through the edge preprocessing, single digits and numbers.

    python -m edge_digits.benchmarks.photo_accuracy [--model models/digits_int8.tflite]
        [--single 1000] [--multi 500] [--seed 12345]

The photographs are MNIST *test* digits rendered as ink on paper (edge_digits.edge.photos);
the default seed was never used while tuning the preprocessing.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from edge_digits.data import load_mnist
from edge_digits.edge.photos import make_photos
from edge_digits.edge.reader import read_frame
from edge_digits.edge.runtime import Classifier
from edge_digits.paths import default_model


def photo_accuracy(classifier: Classifier, count: int, seed: int, digits: tuple[int, int]) -> dict:
    """Share of photos read exactly, share with the right digit count, and per-digit accuracy."""
    test = load_mnist("test")
    photos = make_photos(test.images, test.labels, count, seed=seed, digits_per_photo=digits)
    exact = counted = digit_right = digit_total = 0
    for photo in photos:
        text = read_frame(photo.image, classifier).text
        exact += text == photo.text
        counted += len(text) == len(photo.text)
        if len(text) == len(photo.text):
            digit_right += sum(a == b for a, b in zip(text, photo.text))
        digit_total += len(photo.text)
    return {"photos": count, "exact": exact / count, "right_count": counted / count,
            "digits_right": digit_right / digit_total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_model())
    parser.add_argument("--single", type=int, default=1000)
    parser.add_argument("--multi", type=int, default=500)
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args()
    classifier = Classifier(args.model)
    start = time.perf_counter()
    for name, count, seed, digits in (("single digits", args.single, args.seed, (1, 1)),
                                      ("2-4 digit numbers", args.multi, args.seed + 1, (2, 4))):
        if count:
            r = photo_accuracy(classifier, count, seed, digits)
            print(f"{name:<18} {r['photos']:>5} photos (seed {seed}): {100 * r['exact']:.1f}% read exactly, "
                  f"{100 * r['right_count']:.1f}% right digit count, {100 * r['digits_right']:.2f}% digits right")
    print(f"model {args.model.name}, {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
