"""`classify` and `capture` end to end: real OpenCV files, real LiteRT, real failures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers import cli, loaded_after, one_line_error

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def int8_model(converted):
    return converted[0] / "digits_int8.tflite"


def test_classify_prints_one_line_per_image(photo_dir, int8_model, photos):
    result = cli("classify", "--model", int8_model, photo_dir)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(photos)
    right = 0
    for line, photo in zip(lines, photos):
        name, rest = line.split(": ", 1)
        assert name.endswith(".jpg")
        text = rest.split("  (")[0]
        right += text == photo.text
        confidences = rest.split("(")[1].rstrip(")").split()
        assert len(confidences) == len(text)
    assert right >= len(photos) // 2  # a one-epoch model; accuracy floors live in test_preprocess


def test_classify_json_contract_crops_and_uncertain(photo_dir, int8_model, tmp_path):
    result = cli("classify", "--model", int8_model, "--json", "--save-crops", tmp_path / "crops",
                 "--min-confidence", "0.999", photo_dir / "photo0.jpg")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert set(record) == {"source", "text", "digits"}
    assert record["text"] == "".join(str(d["label"]) for d in record["digits"])
    for digit in record["digits"]:
        assert 0 <= digit["label"] <= 9 and 0 < digit["confidence"] <= 1
        assert len(digit["box"]) == 4 and all(isinstance(v, int) for v in digit["box"])
        assert digit.get("uncertain") is (digit["confidence"] < 0.999 or None)
    crops = sorted((tmp_path / "crops").glob("*.png"))
    assert len(crops) == len(record["digits"])
    assert cv2.imread(str(crops[0]), cv2.IMREAD_UNCHANGED).shape == (28, 28)


def test_classify_bad_files_each_get_a_line_and_exit_2(tmp_path, photos, int8_model):
    folder = tmp_path / "mixed"
    folder.mkdir()
    cv2.imwrite(str(folder / "a_good.png"), photos[0].image)
    (folder / "b_empty.png").write_bytes(b"")
    (folder / "c_corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    cv2.imwrite(str(folder / "d_tiny.png"), np.zeros((1, 1), np.uint8))
    (folder / "e_notes.txt").write_text("not an image")
    grey16 = (cv2.cvtColor(photos[1].image, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257)
    cv2.imwrite(str(folder / "f_grey16.png"), grey16)
    bgra = cv2.cvtColor(photos[2].image, cv2.COLOR_BGR2BGRA)
    cv2.imwrite(str(folder / "g_alpha.png"), bgra)
    result = cli("classify", "--model", int8_model, folder)
    assert result.exit_code == 2
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 4 and all(line.startswith("Error: ") for line in errors)
    assert "empty file" in result.stderr and "too small" in result.stderr
    out = {line.split(": ")[0].split("/")[-1]: line.split(": ", 1)[1] for line in result.stdout.splitlines()}
    assert set(out) == {"a_good.png", "f_grey16.png", "g_alpha.png"}
    assert "no digits" not in out["f_grey16.png"] and "no digits" not in out["g_alpha.png"]


def _jpeg_with_orientation(image: np.ndarray, orientation: int) -> bytes:
    """A JPEG carrying an EXIF orientation tag, as a phone writes one (an APP1 segment after JFIF's APP0)."""
    import struct

    jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    tiff = b"MM\x00\x2a\x00\x00\x00\x08" + struct.pack(">HHHIHHI", 1, 0x0112, 3, 1, orientation, 0, 0)
    app1 = b"Exif\x00\x00" + tiff
    end_of_app0 = 4 + struct.unpack(">H", jpeg[4:6])[0]
    return jpeg[:end_of_app0] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[end_of_app0:]


def test_a_phone_photo_stored_sideways_is_turned_by_its_exif_tag(tmp_path, photos, int8_model):
    """Phones store an upright photo sideways with a tag (6: turn 90° clockwise to view). Read as
    stored, every digit lay on its side."""
    from edge_digits.edge.reader import load_image

    upright = photos[0].image
    (tmp_path / "upright.jpg").write_bytes(_jpeg_with_orientation(upright, 1))
    (tmp_path / "phone.jpg").write_bytes(_jpeg_with_orientation(np.ascontiguousarray(np.rot90(upright)), 6))
    turned = load_image(tmp_path / "phone.jpg")
    assert turned.shape == upright.shape
    assert np.abs(turned.astype(int) - upright).mean() < 3
    result = cli("classify", "--model", int8_model, "--json", tmp_path / "upright.jpg", tmp_path / "phone.jpg")
    assert result.exit_code == 0, result.output
    texts = [json.loads(line)["text"] for line in result.stdout.splitlines()]
    assert texts[0] == texts[1] and len(texts[1]) == len(photos[0].text), texts


def test_classify_huge_image_is_downscaled(tmp_path, photos, int8_model):
    big = cv2.resize(photos[0].image, (10000, 10000), interpolation=cv2.INTER_LINEAR)
    cv2.imwrite(str(tmp_path / "big.jpg"), big, [cv2.IMWRITE_JPEG_QUALITY, 50])
    result = cli("classify", "--model", int8_model, "--json", tmp_path / "big.jpg")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["text"]) == len(photos[0].text)


def test_bad_models_are_one_line_errors(tmp_path, int8_model, photo_dir):
    import shutil

    (tmp_path / "text.tflite").write_text("hello, not a flatbuffer")
    truncated = tmp_path / "truncated.tflite"
    truncated.write_bytes(int8_model.read_bytes()[:5000])
    tampered_dir = tmp_path / "tampered"
    tampered_dir.mkdir()
    shutil.copy(int8_model, tampered_dir / int8_model.name)
    shutil.copy(int8_model.parent / "manifest.json", tampered_dir / "manifest.json")
    data = bytearray((tampered_dir / int8_model.name).read_bytes())
    data[-100] ^= 0xFF
    (tampered_dir / int8_model.name).write_bytes(bytes(data))
    cases = {
        tmp_path / "text.tflite": "not a TFLite model",
        truncated: "damaged or unsupported",
        tampered_dir / int8_model.name: "sha256 does not match",
        tmp_path / "missing.tflite": "no such model file",
    }
    for model, expected in cases.items():
        result = cli("classify", "--model", model, photo_dir / "photo0.jpg")
        assert result.exit_code == 2, model
        assert expected in one_line_error(result)


def test_wrong_input_shape_model(tmp_path, photo_dir):
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    (tmp_path / "wrong.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    result = cli("classify", "--model", tmp_path / "wrong.tflite", photo_dir / "photo0.jpg")
    assert result.exit_code == 2 and "input shape" in one_line_error(result)


@pytest.fixture(scope="module")
def video(tmp_path_factory, photos):
    from edge_digits.photos import write_video

    path = tmp_path_factory.mktemp("video") / "digits.avi"
    write_video(photos * 3, str(path))
    return path


def test_capture_video_json_and_annotated_output(video, int8_model, tmp_path, photos):
    out = tmp_path / "annotated.avi"
    result = cli("capture", "--source", video, "--model", int8_model, "--json", "--save", out, "--smooth", "3",
                 "--headless")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["frame"] for r in records] == list(range(len(photos) * 3))
    assert all({"source", "text", "digits", "frame", "ms", "stable"} <= set(r) for r in records)
    assert "frames/s" in result.stderr
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == len(photos) * 3
    ok, frame = cap.read()
    assert ok and frame.shape == photos[0].image.shape


def test_capture_image_folder_max_frames_and_mp4(photo_dir, int8_model, tmp_path):
    out = tmp_path / "annotated.mp4"
    result = cli("capture", "--source", photo_dir, "--model", int8_model, "--max-frames", "3", "--json",
                 "--save", out)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 3
    assert int(cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT)) == 3


def test_capture_failures(int8_model, tmp_path):
    result = cli("capture", "--camera", "97", "--model", int8_model)
    assert result.exit_code == 3 and "camera 97 could not be opened" in one_line_error(result)
    result = cli("capture", "--model", int8_model)
    assert result.exit_code == 2 and "exactly one of" in one_line_error(result)
    result = cli("capture", "--source", tmp_path / "nothing.avi", "--model", int8_model)
    assert result.exit_code == 2 and "no such file" in one_line_error(result)
    (tmp_path / "junk.avi").write_bytes(b"junk" * 100)
    result = cli("capture", "--source", tmp_path / "junk.avi", "--model", int8_model)
    assert result.exit_code == 2 and "not a readable video" in one_line_error(result)


class _DyingCamera:
    """A camera that opens, sends two frames, then nothing (no camera exists on this machine)."""

    def __init__(self, frame):
        self.frame, self.reads = frame, 0

    def isOpened(self):
        return True

    def read(self):
        self.reads += 1
        return (True, self.frame) if self.reads <= 2 else (False, None)

    def release(self):
        pass


def test_camera_that_stops_sending_ends_cleanly_with_exit_3(monkeypatch, photos, int8_model, tmp_path):
    from edge_digits.edge import capture

    monkeypatch.setattr(capture, "open_camera", lambda index: _DyingCamera(photos[0].image))
    monkeypatch.setattr(capture, "RETRY_WAIT_S", 0.001)
    result = cli("capture", "--camera", "0", "--model", int8_model, "--json", "--save", tmp_path / "out.avi")
    assert result.exit_code == 3
    # The grabber hands over the newest frame: a frame the loop had no time for is counted, not queued.
    frames = len(result.stdout.splitlines())
    dropped = int(result.stderr.split(" stale frame")[0].rsplit(", ", 1)[1])
    assert frames + dropped == 2 and frames >= 1
    assert "camera 0 stopped delivering frames" in result.stderr
    assert int(cv2.VideoCapture(str(tmp_path / "out.avi")).get(cv2.CAP_PROP_FRAME_COUNT)) == frames


def _edge_digits(python: Path) -> list[str]:
    return [str(python), "-m", "edge_digits"]


def test_sigterm_stops_capture_cleanly(tmp_path, photos, int8_model):
    from edge_digits.photos import write_video

    long_video = tmp_path / "long.avi"
    write_video(photos * 200, str(long_video))
    out = tmp_path / "out.avi"
    proc = subprocess.Popen(_edge_digits(Path(sys.executable)) + [
        "capture", "--source", str(long_video), "--model", str(int8_model), "--json", "--save", str(out),
        "--headless"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()  # wait for the first frame
    assert json.loads(first)["frame"] == 0
    proc.send_signal(signal.SIGTERM)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    lines = [first, *rest.splitlines()]
    frames = [json.loads(line)["frame"] for line in lines if line.strip()]
    assert frames == list(range(len(frames))) and len(frames) < len(photos) * 200
    assert "stopped by SIGTERM" in err
    assert int(cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT)) == len(frames)


def test_classify_never_imports_tensorflow(int8_model, photo_dir):
    assert loaded_after([["classify", "--model", int8_model, photo_dir / "photo0.jpg"]]) == []


def _edge_python() -> Path:
    """`.venv-edge` holds `pip install .[edge]` from a wheel: no TensorFlow, no pandas."""
    python = Path(os.environ.get("EDGE_DIGITS_EDGE_PYTHON", ROOT / ".venv-edge" / "bin" / "python"))
    if not python.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{python} missing: `make test` builds it")
        pytest.skip(f"{python} missing: run `make test`")
    return python


def test_edge_only_install_runs_classify_and_capture(int8_model, photo_dir, video, tmp_path):
    """`.venv-edge` holds `pip install .[edge]` from a wheel: no TensorFlow, no pandas."""
    python = _edge_python()
    check = subprocess.run([str(python), "-c", "import importlib.util as u; "
                            "print([m for m in ('tensorflow','keras','pandas','matplotlib') if u.find_spec(m)])"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert check.stdout.strip() == "[]", check.stdout + check.stderr
    run = subprocess.run(_edge_digits(python) + ["classify", "--model", str(int8_model), "--json",
                         str(photo_dir / "photo0.jpg")], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["text"]
    run = subprocess.run(_edge_digits(python) + ["capture", "--source", str(video), "--model", str(int8_model),
                         "--max-frames", "4", "--json", "--headless"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.splitlines()) == 4
    # No --model: the wheel carries the shipped int8 model, found outside the repository.
    run = subprocess.run(_edge_digits(python) + ["classify", "--json", str(photo_dir / "photo0.jpg")],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    where = subprocess.run([str(python), "-c", "from edge_digits.paths import default_model; print(default_model())"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert "site-packages" in where.stdout and where.stdout.strip().endswith("digits_int8.tflite")


# ---------------------------------------------------------------- issue 13: reliability


def test_edge_commands_print_no_runtime_chatter(int8_model, photo_dir, tmp_path):
    """LiteRT's `INFO: Created TensorFlow Lite XNNPACK delegate for CPU.` came on every run."""
    run = subprocess.run(_edge_digits(Path(sys.executable)) + ["classify", "--model", str(int8_model),
                         str(photo_dir / "photo0.jpg")], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0 and run.stderr == ""
    assert run.stdout.startswith(f"{photo_dir / 'photo0.jpg'}: ")


def test_wrong_output_shape_is_blamed_on_the_output(tmp_path, photo_dir):
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(5)])
    (tmp_path / "five.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    result = cli("classify", "--model", tmp_path / "five.tflite", photo_dir / "photo0.jpg")
    assert result.exit_code == 2
    assert one_line_error(result) == (
        f"Error: {tmp_path / 'five.tflite'}: output shape [1, 5] is not [N, 10] (one score per digit)")


def test_model_missing_from_its_manifest_gets_a_warning(tmp_path, int8_model, photo_dir):
    import shutil

    shutil.copy(int8_model, tmp_path / "renamed.tflite")
    shutil.copy(int8_model.parent / "manifest.json", tmp_path / "manifest.json")
    result = cli("classify", "--model", tmp_path / "renamed.tflite", photo_dir / "photo0.jpg")
    assert result.exit_code == 0
    assert result.stderr == (f"Warning: renamed.tflite is not listed in {tmp_path / 'manifest.json'}: "
                             "its sha256 was not checked\n")


def test_edge_only_install_names_the_extra_for_training_commands(tmp_path, tiny_model_path, eval_csv):
    python = _edge_python()
    expected = "Error: `edge-digits {}` needs the training extra: pip install 'edge-digits[train]'\n"
    for args, command in [
        (["data", "info", str(eval_csv)], None),
        (["train", "--epochs", "1"], "train"),
        (["convert", "--model", str(tiny_model_path)], "convert"),
        (["predict", "--model", str(tiny_model_path), "--csv", str(eval_csv), "--out", "s.csv"], "predict"),
        (["evaluate", "--model", str(tiny_model_path)], "evaluate"),
    ]:
        run = subprocess.run(_edge_digits(python) + args, capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert run.returncode == 2, (args, run.stderr)
        if command is None:
            assert run.stderr == "Error: reading CSV files needs the training extra: pip install 'edge-digits[train]'\n"
        else:
            assert run.stderr == expected.format(command), args
    assert list(tmp_path.iterdir()) == []


def test_classify_empty_folder_or_only_subfolders_says_so_exit_2(tmp_path, int8_model, photos):
    empty = tmp_path / "empty"
    empty.mkdir()
    nested = tmp_path / "nested"
    (nested / "inner").mkdir(parents=True)
    cv2.imwrite(str(nested / "inner" / "photo.jpg"), photos[0].image)
    for folder, note in ((empty, "empty folder"), (nested, "only subfolders, which are not searched")):
        result = cli("classify", "--model", int8_model, folder)
        assert result.exit_code == 2 and result.stdout == ""
        assert one_line_error(result) == f"Error: {folder}: no image files ({note})"
        result = cli("capture", "--model", int8_model, "--source", folder)
        assert result.exit_code == 2 and one_line_error(result) == f"Error: {folder}: no image files ({note})"


def test_save_crops_never_overwrites_crops_of_images_with_the_same_name(tmp_path, int8_model, photos):
    for folder, photo in (("a", photos[0]), ("b", photos[1])):
        (tmp_path / folder).mkdir()
        cv2.imwrite(str(tmp_path / folder / "photo001.jpg"), photo.image)
    cv2.imwrite(str(tmp_path / "a" / "photo001.png"), photos[2].image)
    result = cli("classify", "--model", int8_model, "--json", "--save-crops", tmp_path / "crops",
                 tmp_path / "a", tmp_path / "b")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    expected = {f"{stem}_{i}_{d['label']}.png"
                for stem, r in zip(["a_photo001", "a_photo001-2", "b_photo001"], records)
                for i, d in enumerate(r["digits"])}
    assert sorted(p.name for p in (tmp_path / "crops").iterdir()) == sorted(expected)
    assert len(expected) == sum(len(r["digits"]) for r in records) > 0


def test_truncated_video_reports_frames_read_against_announced(tmp_path, video, int8_model, photos):
    data = video.read_bytes()
    truncated = tmp_path / "truncated.avi"
    truncated.write_bytes(data[: len(data) * 4 // 10])
    announced = len(photos) * 3
    cap = cv2.VideoCapture(str(truncated))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == announced  # the header still says so
    run = subprocess.run(_edge_digits(Path(sys.executable)) + [
        "capture", "--source", str(truncated), "--model", str(int8_model), "--json", "--headless"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    *frames, last = [json.loads(line) for line in run.stdout.splitlines()]
    read = len(frames)
    assert 0 < read < announced and [f["frame"] for f in frames] == list(range(read))
    assert last == {"ended_early": True, "frames_read": read, "frames_announced": announced}
    (summary,) = run.stderr.splitlines()  # no FFmpeg lines about the damaged stream before it
    assert summary.startswith(f"{read} frames, ") and summary.endswith(
        f"stopped by end of input: the file ended early, {read} of {announced} announced frames read")


def test_capture_killed_mid_save_leaves_a_temp_video_the_next_run_removes(tmp_path, video, int8_model):
    out = tmp_path / "out.avi"
    proc = subprocess.Popen(_edge_digits(Path(sys.executable)) + [
        "capture", "--source", str(video), "--model", str(int8_model), "--json", "--save", str(out), "--headless"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for frame in range(3):  # the video is open once the first frame is written
        assert json.loads(proc.stdout.readline())["frame"] == frame
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert [p.name.startswith(".out.") for p in tmp_path.iterdir()] == [True]  # nothing can finish a SIGKILLed file
    result = cli("capture", "--source", video, "--model", int8_model, "--max-frames", "2", "--save", out)
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == ["out.avi"]
    assert int(cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT)) == 2
