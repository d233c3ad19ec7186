"""The Python API: DigitReader reads files, arrays and streams exactly as classify/capture do."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from edge_digits.errors import BadInput
from tests.helpers import cli


def test_importing_edge_digits_stays_light():
    code = ("import sys, edge_digits; heavy = [m for m in ('cv2', 'tensorflow', 'ai_edge_litert', 'numpy') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_read_a_file_is_classify_json(photo_dir):
    from edge_digits import DigitReader

    reader = DigitReader()
    path = photo_dir / "photo0.jpg"
    reading = reader.read(path)
    result = cli("classify", "--json", path)
    assert result.exit_code == 0
    assert reading.as_dict() == json.loads(result.stdout)
    assert reading.text == "".join(str(d.label) for d in reading.digits)
    assert all(0 <= d.confidence <= 1 and len(d.box) == 4 for d in reading.digits)


def test_read_arrays_bgr_and_grey(photos):
    from edge_digits import DigitReader

    reader = DigitReader(min_confidence=0.5)
    bgr = reader.read(photos[1].image)
    grey = reader.read(cv2.cvtColor(photos[1].image, cv2.COLOR_BGR2GRAY))
    assert bgr.text == photos[1].text and grey.text == bgr.text
    assert bgr.source == ""


def test_stream_a_folder_and_a_video(photo_dir, photos, tmp_path):
    from edge_digits import DigitReader
    from edge_digits.photos import write_video

    reader = DigitReader()
    texts = [r.text for r in reader.stream(photo_dir)]
    assert texts == [reader.read(photo_dir / f"photo{i}.jpg").text for i in range(len(photos))]
    video = tmp_path / "v.avi"
    write_video(photos, str(video))
    assert len(list(reader.stream(video, max_frames=3))) == 3


def test_bad_input_is_our_error(tmp_path):
    from edge_digits import DigitReader

    reader = DigitReader()
    with pytest.raises(BadInput, match="no such file"):
        reader.read(tmp_path / "missing.png")
    with pytest.raises(BadInput):
        DigitReader(model=tmp_path / "missing.tflite")
    with pytest.raises(BadInput, match="no such file or folder"):
        list(reader.stream(tmp_path / "nothing.avi"))
    assert reader.read(np.full((100, 100, 3), 255, np.uint8)).text == ""
