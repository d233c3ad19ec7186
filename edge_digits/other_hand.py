"""A generated "other hand": one writer whose digits the stock model reads badly, to try the labelling loop on.

The writer's digits are narrow, slanted well forward, and a little wobbly: MNIST digits at half
their width, sheared by 0.5 (about 27°), with elastic distortion. Unchanged, MNIST test digits
0-1499 are read at 99.3% by the shipped int8 model; in this hand, at 71.8% (as clean crops, seed 5). Photos
of them are rendered like `data photos` with the true digits and boxes kept, so the crops
`classify --save-uncertain` keeps can be labelled from the truth:

    python -m edge_digits.other_hand photos --out DIR --count N --seed S [--split train|test]
    python -m edge_digits.other_hand label FIELD_DIR --truth DIR.truth.json
    python -m edge_digits.other_hand score READINGS.jsonl... --truth DIR.truth.json

(`label` stands in for the person: it writes FIELD_DIR/labels.csv as `edge-digits label` would.)
Draw the photos you fine-tune on from MNIST *train* and those you test on from MNIST *test*.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import cv2
import numpy as np

from edge_digits.atomic import atomic_path, write_text
from edge_digits.errors import BadInput

WIDTH, HEIGHT, SHEAR, ELASTIC = 0.5, 1.0, 0.5, 2.0

def truth_path(out_dir: Path) -> Path:
    """Where the truth of a photo folder goes: beside it (DIR.truth.json), so classify DIR reads photos only."""
    return out_dir.with_name(out_dir.name + ".truth.json")

MATCH_IOU = 0.5  # a saved crop takes the label of the true digit box it overlaps this much


def restyle(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """MNIST digits (N, 28, 28) as the other hand writes them, MNIST-normalised again."""
    from edge_digits.edge.preprocess import normalise_digit
    from edge_digits.field_photos import _elastic

    rng = np.random.default_rng(seed)
    m = np.float32([[WIDTH, SHEAR, 56 - (WIDTH + SHEAR) * 56], [0, HEIGHT, 56 - HEIGHT * 56]])
    out = np.empty_like(images)
    for k, digit in enumerate(images):
        d = _elastic(digit, rng, alpha=ELASTIC, sigma=4.0)
        big = cv2.resize(d, (112, 112), interpolation=cv2.INTER_LINEAR)
        out[k] = normalise_digit(cv2.warpAffine(big, m, (112, 112), flags=cv2.INTER_LINEAR))
    return out


def write_photos(out_dir: Path, count: int, seed: int, split: str = "test") -> dict:
    """`count` photos of 1-4 of the other hand's digits as JPEGs, and DIR.truth.json (text and boxes per file)."""
    from edge_digits.data import load_mnist
    from edge_digits.photos import iter_photos

    digits = load_mnist(split)
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(digits))[: min(len(digits), 4 * count)]
    styled = restyle(digits.images[idx], seed)
    truth = {}
    for i, photo in enumerate(iter_photos(styled, digits.labels[idx], count, seed=seed, digits_per_photo=(1, 4))):
        name = f"hand{i:04d}_{photo.text}.jpg"
        with atomic_path(out_dir / name) as tmp:
            cv2.imwrite(str(tmp), photo.image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        truth[name] = {"text": photo.text, "boxes": [list(map(int, b)) for b in photo.boxes]}
    write_text(truth_path(out_dir), json.dumps(truth, indent=1) + "\n")
    return truth


def truth_labels(records: list[dict], truth: dict) -> list[tuple[str, str]]:
    """(file, label) for saved crops: the true digit the crop's box overlaps best, else x (a mark,
    a piece of a digit, two digits glued): what a careful person would answer."""
    from edge_digits.field_photos import _iou

    rows = []
    for record in records:
        photo = truth.get(Path(record["source"]).name)
        if photo is None:
            continue
        scores = [(_iou(record["box"], box), d) for box, d in zip(photo["boxes"], photo["text"])]
        best, digit = max(scores) if scores else (0.0, "x")
        rows.append((record["file"], digit if best >= MATCH_IOU else "x"))
    return rows


def score(readings: list[dict], truth: dict) -> dict:
    """Digits read right (a found box matching a true digit box, with its label) and photos read exactly."""
    from edge_digits.field_photos import _iou

    right = total = exact = 0
    for reading in readings:
        photo = truth[Path(reading["source"]).name]
        total += len(photo["text"])
        exact += reading["text"] == photo["text"]
        for box, digit in zip(photo["boxes"], photo["text"]):
            found = [d for d in reading["digits"] if _iou(d["box"], box) >= MATCH_IOU]
            right += any(str(d["label"]) == digit for d in found[:1])
    return {"photos": len(readings), "digits": total, "digits_read": right / max(1, total),
            "photos_exact": exact / max(1, len(readings))}


@click.group()
def main() -> None:
    """Photos in another hand, and labels from their truth (see the module docstring)."""


@main.command("photos")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
@click.option("--count", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--split", type=click.Choice(["train", "test"]), default="test", show_default=True,
              help="MNIST split the digits come from (fine-tune on train, test on test).")
def photos_command(out_dir: Path, count: int, seed: int, split: str) -> None:
    truth = write_photos(out_dir, count, seed, split)
    click.echo(f"{count} photos ({sum(len(t['text']) for t in truth.values())} digits) in {out_dir}")


@main.command("label")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--truth", "truth_file", type=click.Path(path_type=Path), required=True)
def label_command(folder: Path, truth_file: Path) -> None:
    """Answer for the person: label FOLDER's saved crops from the photos' truth."""
    from edge_digits.edge.uncertain import read_pending
    from edge_digits.labelled import write_labels

    if not truth_file.is_file():
        raise BadInput(f"{truth_file}: no such file")
    rows = truth_labels(read_pending(folder), json.loads(truth_file.read_text()))
    write_labels(folder, rows)
    click.echo(f"{len(rows)} crops labelled in {folder / 'labels.csv'} "
               f"({sum(label == 'x' for _, label in rows)} not a digit)")


@main.command("score")
@click.argument("jsonl_files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--truth", "truth_file", type=click.Path(path_type=Path), required=True)
def score_command(jsonl_files: tuple[Path, ...], truth_file: Path) -> None:
    """Digits read and photos read exactly, for each `classify --json` output of the truth's photos."""
    truth = json.loads(truth_file.read_text())
    for path in jsonl_files:
        result = score([json.loads(line) for line in path.read_text().splitlines() if line.strip()], truth)
        click.echo(f"{path}: {100 * result['digits_read']:.1f}% of {result['digits']} digits read, "
                   f"{100 * result['photos_exact']:.1f}% of {result['photos']} photos read exactly")


if __name__ == "__main__":
    main()
