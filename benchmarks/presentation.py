"""How the reader copes with the way pictures are handed over (edge_digits.presentations):

    python -m edge_digits.benchmarks.presentation [--model models/digits_int8.tflite]
        [--count 200] [--seed 4242]

A digit filling a small square frame, several rows on a page, a number small in a big photo,
field photos of lines tilted 8° (next to the same photos upright), a digit stretched to fill
a small square frame both ways, field photos taken in dim light (next to the same photos in
full light), a card lying on a darker desk, a sheet held up to a webcam, a number in a ring or
a wide box, a number on a form between lines of print, and field photos thresholded to black
and white (next to the same photos in grey). MNIST *test* digits; the default seed was not used
while developing.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from edge_digits.data import load_mnist
from edge_digits.edge.reader import read_digits
from edge_digits.edge.runtime import Classifier
from edge_digits.paths import default_model
from edge_digits.presentations import KINDS, PAIRS, make_presentations

# The first photo of each pair, read too: the same photos upright, in full light, in grey.
FIRST_OF_PAIR = {"tilted": "tilted, upright", "dim": "dim, full light", "black-and-white": "black-and-white, grey"}


def presentation_accuracy(classifier: Classifier, count: int, seed: int) -> dict[str, float]:
    """Share of pictures read exactly, per kind; `tilted` also upright, `dim` also in full light
    and `black-and-white` also in grey (the same photos)."""
    test = load_mnist("test")
    scores = {}
    for n, kind in enumerate(KINDS):
        pictures = make_presentations(test.images, test.labels, kind, count, seed + n)
        scores[kind] = sum(read_digits(p.image, classifier).text == p.text for p in pictures) / count
        if kind in PAIRS:
            first = (photo for photo, _ in PAIRS[kind](test.images, test.labels, count, seed + n))
            scores[FIRST_OF_PAIR[kind]] = sum(read_digits(p.image, classifier).text == p.text for p in first) / count
    return scores


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=default_model, show_default=True,
              help="The .tflite model (default: the shipped int8 model).")
@click.option("--count", type=click.IntRange(min=1), default=200, show_default=True, help="Pictures of each kind.")
@click.option("--seed", type=int, default=4242, show_default=True, help="Kind k uses seed + k.")
def main(model_path: Path | None, count: int, seed: int) -> None:
    """Exact-read rate per way of handing a picture over."""
    from edge_digits.errors import BadInput

    if model_path is None:
        raise BadInput("no shipped model in this install: give --model FILE.tflite")
    classifier = Classifier(model_path)
    start = time.perf_counter()
    scores = presentation_accuracy(classifier, count, seed)
    click.echo(f"{'':22}{'pictures':>9}{'exact':>8}")
    for kind, exact in scores.items():
        click.echo(f"{kind:22}{count:9d}{100 * exact:7.1f}%")
    click.echo(f"model {Path(model_path).name}, {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
