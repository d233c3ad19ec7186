"""Property-based tests (hypothesis): the CSV loader and find_digits on inputs nobody thought of.

Each property either holds exactly (the rows written are the rows read) or the code answers with
our one-line error (BadInput): never another exception. Bounded so the file runs in seconds.
"""

from __future__ import annotations

import gzip
import io
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from edge_digits.data import PIXELS, load_csv
from edge_digits.edge.preprocess import find_digits
from edge_digits.errors import BadInput

BOUNDED = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# One folder for the whole module, removed when the session ends: hypothesis runs each property
# a hundred times, and a folder per example left hundreds behind in /tmp on every run.
_FOLDER = tempfile.TemporaryDirectory(prefix="edge-digits-prop-")


def _write(data: bytes, name: str = "digits.csv") -> Path:
    path = Path(_FOLDER.name) / name
    path.write_bytes(data)
    return path


def _load_or_bad_input(path: Path):
    try:
        return load_csv(path, need_labels=False)
    except BadInput as error:
        assert "\n" not in error.message and error.message.startswith(f"{path}:"), error.message
        return None


@st.composite
def tables(draw):
    """A small valid table and the many ways it can be written: header, BOM, newlines, blanks, compression."""
    n = draw(st.integers(1, 4))
    labelled = draw(st.booleans())
    fill = draw(st.integers(0, 255))
    pixels = np.full((n, PIXELS), fill, np.int64)
    for r, c, v in draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, PIXELS - 1), st.integers(0, 255)),
                                 max_size=12)):
        pixels[r, c] = v
    labels = np.array(draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)), np.int64)
    values = np.column_stack([labels, pixels]) if labelled else pixels
    lines = [",".join(map(str, r)) for r in values]
    blanks = draw(st.lists(st.tuples(st.integers(1, n), st.sampled_from(["", "  ", "\t"])), max_size=3))
    for at, blank in sorted(blanks, reverse=True):
        lines.insert(at, blank)  # never before the first row: line 1 is the header or first row
    if draw(st.booleans()):
        header = (["label"] if labelled else []) + [f"pixel{i}" for i in range(PIXELS)]
        lines.insert(0, ",".join(header))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    data = (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + text.encode()
    return values, labelled, draw(st.sampled_from(["plain", "gzip", "zip"])), data


def _pack(kind: str, data: bytes) -> bytes:
    if kind == "gzip":
        return gzip.compress(data)
    if kind == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr("train.csv", data)
        return buffer.getvalue()
    return data


@BOUNDED
@given(tables())
def test_any_valid_table_loads_exactly_the_rows_written(table):
    values, labelled, kind, data = table
    digits = load_csv(_write(_pack(kind, data)), need_labels=labelled)
    pixels = values[:, 1:] if labelled else values
    assert digits.images.dtype == np.uint8
    assert np.array_equal(digits.images.reshape(len(digits), -1), pixels)
    assert (digits.labels is None) == (not labelled)
    if labelled:
        assert digits.labels.tolist() == values[:, 0].tolist()


BAD_CELLS = st.sampled_from(["", "NaN", "nan", "x", "1.5", "256", "-1", "99999999999999999999", "NULL", '"', "1e3"])


@BOUNDED
@given(tables(), st.data())
def test_one_bad_cell_is_named_by_physical_line_and_column(table, data):
    values, labelled, kind, raw = table
    text = raw.decode("utf-8-sig")
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(newline)
    rows = [i for i, line in enumerate(lines) if line.strip() and not line.startswith(("label", "pixel"))]
    line_index = data.draw(st.sampled_from(rows[1:] or rows))
    column = data.draw(st.integers(1, len(lines[line_index].split(","))))
    cell = data.draw(BAD_CELLS)
    cells = lines[line_index].split(",")
    cells[column - 1] = cell
    lines[line_index] = ",".join(cells)
    path = _write(_pack(kind, newline.join(lines).encode()))
    try:
        load_csv(path, need_labels=labelled)
    except BadInput as error:
        message = error.message
    else:
        raise AssertionError(f"{cell!r} at line {line_index + 1}, column {column} was accepted")
    assert "\n" not in message
    assert message.startswith(f"{path}: line {line_index + 1}"), (cell, message)


@BOUNDED
@given(st.binary(max_size=3000), st.sampled_from(["plain", "gzip", "zip"]))
def test_arbitrary_bytes_load_or_give_our_one_line_error(data, kind):
    digits = _load_or_bad_input(_write(_pack(kind, data)))
    if digits is not None:
        assert digits.images.dtype == np.uint8 and digits.images.shape[1:] == (28, 28) and len(digits) >= 1


@BOUNDED
@given(tables(), st.data())
def test_damaged_valid_files_load_or_give_our_one_line_error(table, data):
    _, _, kind, raw = table
    packed = bytearray(_pack(kind, raw))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(packed) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            packed[at] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del packed[at:]
            if not packed:
                break
        else:
            packed[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    _load_or_bad_input(_write(bytes(packed)))


FRAME_DTYPES = st.sampled_from([np.uint8, np.int8, np.uint16, np.int16, np.int32, np.int64, np.uint64,
                                np.float16, np.float32, np.float64, np.bool_, np.complex64, np.object_])


@st.composite
def frames(draw):
    dtype = np.dtype(draw(FRAME_DTYPES))
    ndim = draw(st.integers(0, 4))
    shape = tuple(draw(st.lists(st.integers(0, 40), min_size=ndim, max_size=ndim)))
    if dtype.kind == "O":
        return np.empty(shape, dtype)
    if dtype.kind == "f":
        elements = st.floats(allow_nan=True, allow_infinity=True, width=8 * dtype.itemsize)
    elif dtype.kind == "c":
        elements = st.complex_numbers(allow_nan=True, width=8 * dtype.itemsize)
    else:
        elements = None
    return draw(hnp.arrays(dtype, shape, elements=elements))


@BOUNDED
@given(frames(), st.one_of(st.none(), st.tuples(*[st.integers(-20, 50)] * 4)))
def test_find_digits_on_any_array_finds_crops_or_gives_our_error(frame, roi):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy on all-NaN slices: not an error
        try:
            crops = find_digits(frame, roi=roi)
        except BadInput as error:
            assert "\n" not in error.message
            return
    for crop in crops:
        assert crop.image.shape == (28, 28) and crop.image.dtype == np.uint8
