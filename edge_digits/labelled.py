"""The labelled-folder format: 28×28 crops and a labels.csv, how field data reaches training.

A folder holds 28×28 PNG crops (white ink on black, as `classify --save-crops` writes them)
and `labels.csv` with the header `file,label`: file names relative to the folder, labels 0–9
(`x`, "not a digit", is left out of digit training unless `train --not-digits` asks to train
it towards no digit). Any tool may write it; `train --extra-data` reads it. Written as a set:
the crops first, labels.csv last and atomically.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from pathlib import Path

import numpy as np

from edge_digits.atomic import write_text
from edge_digits.data import Digits
from edge_digits.errors import BadInput

LABELS = "labels.csv"
DIGIT_LABELS = frozenset("0123456789")
NOT_A_DIGIT = -1  # an `x` crop's label in Digits, when it is trained on


def write_folder(folder: str | os.PathLike, images: np.ndarray, labels: np.ndarray, prefix: str = "") -> Path:
    """Write crops as `<prefix>NNNNNN.png` and labels.csv (NOT_A_DIGIT as `x`); returns the folder."""
    import cv2

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (image, label) in enumerate(zip(images, labels)):
        name = f"{prefix}{i:06d}.png"
        if not cv2.imwrite(str(folder / name), image):
            raise BadInput(f"cannot write {folder / name}")
        rows.append((name, "x" if label == NOT_A_DIGIT else str(label)))
    write_labels(folder, rows)
    return folder


def write_labels(folder: str | os.PathLike, rows: list[tuple[str, str]]) -> Path:
    """labels.csv (`file,label`) written atomically: a reader sees the old list or the new one."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["file", "label"])
    writer.writerows(rows)
    path = Path(folder) / LABELS
    write_text(path, text.getvalue())
    return path


def read_labels(folder: str | os.PathLike) -> list[tuple[str, str]]:
    """labels.csv's rows as (file, label), label 0-9 or x; BadInput names the first bad row or
    missing digit crop. A folder without labels.csv has no rows yet."""
    folder = Path(folder)
    path = folder / LABELS
    if not folder.is_dir():
        raise BadInput(f"{folder}: not a folder")
    if not path.is_file():
        return []
    rows = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header[:2]] != ["file", "label"]:
            raise BadInput(f"{path}: line 1: the header must be file,label")
        for row in reader:
            line = reader.line_num
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2:
                raise BadInput(f"{path}: line {line}: expected file,label")
            name, label = row[0].strip(), row[1].strip().lower()
            if label not in DIGIT_LABELS and label != "x":
                raise BadInput(f"{path}: line {line}: label {label!r} is not 0-9 or x")
            if label != "x" and not (folder / name).is_file():  # an x crop is never trained on
                raise BadInput(f"{path}: line {line}: {name} is missing or not an image")
            rows.append((name, label))
    return rows


def read_folder(folder: str | os.PathLike, not_digits: bool = False) -> Digits:
    """The digit crops of a labelled folder (labels 0–9; with `not_digits` also the `x` crops, as
    NOT_A_DIGIT); BadInput names the first bad row."""
    import cv2

    folder = Path(folder)
    path = folder / LABELS
    if folder.is_dir() and not path.is_file():
        raise BadInput(f"{folder}: no {LABELS} (a labelled folder holds 28x28 PNG crops and {LABELS})")
    images, labels = [], []
    for name, label in read_labels(folder):
        if label == "x" and not not_digits:
            continue
        image = cv2.imread(str(folder / name), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise BadInput(f"{path}: {name} is missing or not an image")
        if image.shape != (28, 28):
            raise BadInput(f"{path}: {name} is {image.shape[1]}x{image.shape[0]}, not 28x28")
        images.append(image)
        labels.append(NOT_A_DIGIT if label == "x" else int(label))
    if not images:
        raise BadInput(f"{path}: no labelled digits")
    return Digits(np.stack(images), np.asarray(labels, np.int64), f"folder:{folder}")


def folder_sha256(folder: str | os.PathLike) -> str:
    """A hash of labels.csv and every crop it names: what a model trained on the folder saw."""
    folder = Path(folder)
    digest = hashlib.sha256((folder / LABELS).read_bytes())
    with open(folder / LABELS, newline="", encoding="utf-8-sig") as f:
        for row in list(csv.reader(f))[1:]:
            if row and (folder / row[0]).is_file():
                digest.update((folder / row[0]).read_bytes())
    return digest.hexdigest()


def mixed(base: Digits, extras: list[Digits], repeat: int = 1, seed: int = 0) -> Digits:
    """`base` with every extra set repeated `repeat` times (oversampled field data), shuffled."""
    if not extras:
        return base
    images = [base.images] + [d.images for d in extras for _ in range(repeat)]
    labels = [base.labels] + [d.labels for d in extras for _ in range(repeat)]
    order = np.random.default_rng(seed).permutation(sum(len(i) for i in images))
    names = "+".join([base.source] + [d.source for d in extras])
    return Digits(np.concatenate(images)[order], np.concatenate(labels)[order], names)
