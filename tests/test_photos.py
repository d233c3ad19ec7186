"""The synthetic photographs: deterministic, well-formed, and writable as video."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from edge_digits.photos import Photo, make_photos, render_photo, write_video


@pytest.fixture(scope="module")
def digits(mnist_test):
    return mnist_test.images[:500], mnist_test.labels[:500]


def test_same_seed_same_photos(digits):
    a = make_photos(*digits, count=4, seed=7, digits_per_photo=(1, 3))
    b = make_photos(*digits, count=4, seed=7, digits_per_photo=(1, 3))
    for pa, pb in zip(a, b):
        assert np.array_equal(pa.image, pb.image)
        assert pa.text == pb.text and pa.boxes == pb.boxes


def test_different_seeds_differ(digits):
    a = make_photos(*digits, count=3, seed=1)
    b = make_photos(*digits, count=3, seed=2)
    assert any(not np.array_equal(pa.image, pb.image) for pa, pb in zip(a, b))


def test_shapes_dtypes_and_truth(digits):
    images, labels = digits
    photos = make_photos(images, labels, count=12, seed=3, digits_per_photo=(2, 4))
    for photo in photos:
        assert isinstance(photo, Photo)
        assert photo.image.shape == (480, 640, 3) and photo.image.dtype == np.uint8
        assert 2 <= len(photo.text) <= 4 and photo.text.isdigit()
        assert len(photo.boxes) == len(photo.text)
        xs = [b[0] for b in photo.boxes]
        assert xs == sorted(xs), "boxes are left to right"
        for x, y, w, h in photo.boxes:
            assert w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= 640 and y + h <= 480


def test_size_is_configurable(digits):
    (photo,) = make_photos(*digits, count=1, seed=0, size=(320, 240))
    assert photo.image.shape == (240, 320, 3)


def test_digit_heights_span_the_range(digits):
    heights = [p.boxes[0][3] for p in make_photos(*digits, count=60, seed=4)]
    assert min(heights) < 60 and max(heights) > 150


@pytest.mark.parametrize("conditions", ["mixed", "paper", "board", "clean"])
def test_conditions(digits, conditions):
    images, labels = digits
    photo = render_photo([images[0], images[1]], [int(labels[0]), int(labels[1])],
                         np.random.default_rng(0), conditions=conditions)
    assert photo.image.shape == (480, 640, 3)
    assert photo.text == f"{labels[0]}{labels[1]}"
    grey = cv2.cvtColor(photo.image, cv2.COLOR_BGR2GRAY)
    inside = np.concatenate([grey[y:y + h, x:x + w].ravel() for x, y, w, h in photo.boxes])
    background = np.median(grey)
    if conditions == "board":
        assert inside.max() > background + 40, "chalk is lighter than the board"
    else:
        assert inside.min() < background - 40, "ink is darker than the paper"


def test_bad_arguments(digits):
    images, labels = digits
    with pytest.raises(ValueError):
        render_photo([images[0]], [1], np.random.default_rng(0), conditions="fog")
    with pytest.raises(ValueError):
        render_photo([images[0]], [1, 2], np.random.default_rng(0))
    with pytest.raises(ValueError):
        make_photos(images, labels, count=1, digits_per_photo=(3, 2))


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_write_video_reads_back(tmp_path, digits, suffix):
    photos = make_photos(*digits, count=5, seed=6, size=(320, 240))
    path = tmp_path / f"clip{suffix}"
    write_video(photos, str(path), fps=10)
    assert sorted(os.listdir(tmp_path)) == [path.name], "no temp files left behind"
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened()
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == 5
    assert frames[0].shape == (240, 320, 3)


def test_write_video_rejects_unknown_suffix(tmp_path, digits):
    photos = make_photos(*digits, count=1, seed=0)
    with pytest.raises(ValueError):
        write_video(photos, str(tmp_path / "clip.mkv"))
    with pytest.raises(ValueError):
        write_video([], str(tmp_path / "clip.avi"))
    assert os.listdir(tmp_path) == []


def test_data_photos_streams_to_disk_with_ordinary_file_modes(tmp_path):
    """Peak memory does not grow with --count (it grew ~0.93 MB a photo), and the video is 0644 like the JPEGs."""
    from tests.helpers import peak_rss_mb

    peaks = {}
    for count in (5, 125):
        out = tmp_path / str(count)
        peaks[count], stdout = peak_rss_mb("data", "photos", "--out", out, "--count", count, "--seed", 3,
                                           "--video", out / "clip.avi")
        assert stdout.startswith(f"{count} photographs in {out} (true digits in the file names)\nvideo: ")
        files = sorted(os.listdir(out))
        assert len(files) == count + 1 and files[0] == "clip.avi"
        umask = os.umask(0)
        os.umask(umask)
        assert {(out / f).stat().st_mode & 0o777 for f in files} == {0o666 & ~umask}
    assert peaks[125] - peaks[5] < 40, peaks
    first = sorted(os.listdir(tmp_path / "125"))[:6]
    assert first == sorted(os.listdir(tmp_path / "5"))  # same seed, same photos, in the same order
