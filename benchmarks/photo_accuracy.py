"""Accuracy on photographs through the edge pipeline: generated ones, field ones and real ones.

    python -m edge_digits.benchmarks.photo_accuracy [--model models/digits_int8.tflite]
        [--single 1000] [--multi 500] [--field 1000] [--seed 12345]

The generated photographs are MNIST *test* digits rendered as ink on paper (edge_digits.photos),
the field photos the same digits drawn the way real pictures fail (edge_digits.field_photos);
the default seed was never used while tuning. Then the real development set (tests/data/real),
its `tune` half (looked at while tuning) and its `report` half (not looked at) apart.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from edge_digits.data import load_mnist
from edge_digits.edge.reader import read_digits
from edge_digits.edge.runtime import Classifier
from edge_digits.paths import default_model
from edge_digits.photos import make_photos


def photo_accuracy(classifier: Classifier, count: int, seed: int, digits: tuple[int, int]) -> dict:
    """Share of photos read exactly, share with the right digit count, and per-digit accuracy."""
    test = load_mnist("test")
    photos = make_photos(test.images, test.labels, count, seed=seed, digits_per_photo=digits)
    exact = counted = digit_right = digit_total = 0
    for photo in photos:
        text = read_digits(photo.image, classifier).text
        exact += text == photo.text
        counted += len(text) == len(photo.text)
        if len(text) == len(photo.text):
            digit_right += sum(a == b for a, b in zip(text, photo.text))
        digit_total += len(photo.text)
    return {"photos": count, "exact": exact / count, "right_count": counted / count,
            "digits_right": digit_right / digit_total}


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=default_model, show_default=True,
              help="The .tflite model (default: the shipped int8 model).")
@click.option("--single", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Photographs of one digit.")
@click.option("--multi", type=click.IntRange(min=0), default=500, show_default=True,
              help="Photographs of 2-4 digit numbers.")
@click.option("--field", "field", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Field photos (the failure classes of real pictures), reported per class; seed + 2.")
@click.option("--real/--no-real", default=True, show_default=True, help="The real development set, per half.")
@click.option("--seed", type=int, default=12345, show_default=True, help="The numbers use seed + 1.")
def main(model_path: Path | None, single: int, multi: int, field: int, real: bool, seed: int) -> None:
    """Accuracy on generated photographs through the edge preprocessing."""
    from edge_digits.errors import BadInput

    if model_path is None:
        raise BadInput("no shipped model in this install: give --model FILE.tflite")
    classifier = Classifier(model_path)
    start = time.perf_counter()
    for name, count, seed_, digits in (("single digits", single, seed, (1, 1)),
                                       ("2-4 digit numbers", multi, seed + 1, (2, 4))):
        if count:
            r = photo_accuracy(classifier, count, seed_, digits)
            click.echo(f"{name:<18} {r['photos']:>5} photos (seed {seed_}): {100 * r['exact']:.1f}% read exactly, "
                       f"{100 * r['right_count']:.1f}% right digit count, {100 * r['digits_right']:.2f}% digits right")
    from .reading_accuracy import REAL_SET, field_accuracy, real_accuracy, table

    if field:
        click.echo(f"\nfield photos (seed {seed + 2}), per failure class:")
        click.echo(table(field_accuracy(classifier, field, seed + 2)))
    if real and (REAL_SET / "labels.csv").is_file():
        click.echo("\nreal development set (tests/data/real):")
        click.echo(table(real_accuracy(classifier)))
    click.echo(f"model {model_path.name}, {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
