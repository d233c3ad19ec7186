"""`capture --source http://...`: a real MJPEG camera on 127.0.0.1, read through OpenCV's FFmpeg backend.

The camera asks for credentials, which must never show in any output.
"""

from __future__ import annotations

import json
import threading
import time

import cv2
import pytest

from tests.helpers import cli, one_line_error
from tests.live import CaptureProcess, MjpegCamera, SilentPort

SECRET = "s3cret-pw"
USER = f"alice:{SECRET}"


@pytest.fixture
def camera(live_photos):
    with MjpegCamera([p.image for p in live_photos], fps=20, credentials=USER) as cam:
        yield cam


def no_secret(*outputs: object) -> None:
    for output in outputs:
        text = output if isinstance(output, str) else "\n".join(output)
        assert SECRET not in text and "alice" not in text


def test_redact():
    from edge_digits.edge.stream import redact

    assert redact("rtsp://admin:hunter2@10.0.0.5:554/live") == "rtsp://***@10.0.0.5:554/live"
    assert redact("rtsps://token@cam/x?u=1") == "rtsps://***@cam/x?u=1"
    assert redact("error for http://a:b@h/s.mjpg and https://c:d@e/") == "error for http://***@h/s.mjpg and https://***@e/"
    assert redact("http://h/x?mail=a@b") == "http://h/x?mail=a@b"  # an @ after the host is not a credential
    assert redact("rtsp://u:p@ss@cam:554/x") == "rtsp://***@cam:554/x"  # an unescaped @ in the password
    assert redact("video.avi") == "video.avi"


def test_http_camera_read_and_reconnected_after_a_drop(camera, live_photos, tmp_path):
    out = tmp_path / "net.avi"
    with CaptureProcess("--source", camera.url(USER), "--headless", "--json", "--max-frames", "60",
                        "--reconnect", "20", "--save", out) as capture:
        for _ in range(15):
            capture.next_line()
        camera.outage(1.5)  # the camera drops its viewers and refuses new ones
        assert capture.finish(timeout=90) == 0, capture.stderr
    records = [json.loads(line) for line in capture.stdout]
    assert [r["frame"] for r in records] == list(range(60))
    texts = {r["text"] for r in records}
    assert {p.text for p in live_photos} <= texts  # every photograph read right at least once
    assert camera.connections == 2 and camera.unauthorised >= 2  # FFmpeg answered the Basic challenge
    summary = capture.stderr[-1]
    assert summary.startswith("60 frames, ") and "stopped by --max-frames" in summary
    assert " 1 reconnection (" in summary and "stale frame" in summary
    assert capture.stderr[-2] == f"reading http://***@127.0.0.1:{camera.port}/stream.mjpg"
    assert int(cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT)) == 60
    no_secret(capture.stdout, capture.stderr)


def test_camera_gone_for_good_stops_cleanly_with_exit_3(camera, tmp_path):
    out = tmp_path / "net.avi"
    with CaptureProcess("--source", camera.url(USER), "--headless", "--json", "--reconnect", "1",
                        "--save", out) as capture:
        for _ in range(5):
            capture.next_line()
        camera.outage(120)
        assert capture.finish(timeout=60) == 3
    records = [json.loads(line) for line in capture.stdout]  # every line whole
    frames = [r["frame"] for r in records]
    assert frames == list(range(len(frames))) and len(frames) >= 5
    assert capture.stderr[-2].startswith(f"{len(frames)} frames, ")
    assert capture.stderr[-1] == (f"Error: http://***@127.0.0.1:{camera.port}/stream.mjpg: stream lost, "
                                  "no reconnection within 1 s")
    assert int(cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT)) == len(frames)
    no_secret(capture.stdout, capture.stderr)


def test_url_that_never_answers_exits_3_within_the_timeout():
    with SilentPort() as port:
        url = f"http://{USER}@127.0.0.1:{port.port}/stream.mjpg"
        start = time.monotonic()
        with CaptureProcess("--source", url, "--connect-timeout", "2", "--json") as capture:
            assert capture.finish(timeout=60) == 3
        elapsed = time.monotonic() - start
    assert capture.stdout == []
    assert capture.stderr[-1] == f"Error: http://***@127.0.0.1:{port.port}/stream.mjpg could not be opened within 2 s"
    assert elapsed < 2 + 15  # the time-out plus start-up (model load), not FFmpeg's own 30 s
    no_secret(capture.stdout, capture.stderr)


def test_stream_with_serve_and_without_json_never_shows_credentials(camera):
    """The text outputs, the preview's JSON and its events: no credential anywhere."""
    with CaptureProcess("--source", camera.url(USER), "--headless", "--max-frames", "40",
                        "--serve", "127.0.0.1:0") as capture:
        port, _ = capture.preview()
        from tests.test_serve import get, sse_records

        records = sse_records(get(port, "/api/events"), 3)
        reading = get(port, "/api/reading").read().decode()
        assert capture.finish(timeout=60) == 0
    assert capture.stdout == []
    no_secret(capture.stderr, json.dumps(records), reading)


def test_bad_urls_and_devices(tmp_path):
    result = cli("capture", "--source", f"ftp://{USER}@127.0.0.1/x")
    assert result.exit_code == 2
    assert one_line_error(result) == ("Error: ftp://***@127.0.0.1/x: unsupported URL scheme "
                                      "(use rtsp, rtsps, http, https)")
    result = cli("capture", "--source", "/dev/video97")
    assert result.exit_code == 3 and one_line_error(result) == "Error: camera /dev/video97 could not be opened"


def test_grabber_hands_over_the_newest_frame_and_counts_the_rest():
    """A consumer slower than the source sees only fresh frames; the others are counted, not queued."""
    import numpy as np

    from edge_digits.edge.stream import LiveSource, StreamLost

    class Counter:  # a capture that numbers its frames, 200 a second, 100 in all
        def __init__(self):
            self.n = 0

        def isOpened(self):  # noqa: N802
            return True

        def read(self):
            time.sleep(0.005)
            self.n += 1
            return (self.n <= 100), np.full((2, 2), self.n % 256, np.uint8)

        def release(self):
            pass

    source = LiveSource("counter", lambda _t: Counter())
    seen = []
    with pytest.raises(StreamLost, match="^counter stopped delivering frames$"):
        for frame in source:
            if frame is not None:
                seen.append(int(frame[0, 0]))
                time.sleep(0.05)  # ten times slower than the source
    source.close()
    assert seen == sorted(seen) and len(seen) < 30
    assert source.dropped + len(seen) == 100
    assert "grabber" not in [t.name for t in threading.enumerate()]


def test_rtsp_camera(tmp_path, live_photos):
    """A real RTSP session (tests/live.py's server, RTP/JPEG packets made by Debian's ffmpeg)."""
    import shutil

    from edge_digits.photos import write_video
    from tests.live import RtspCamera

    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is missing: .ci/run installs it (apt-get)")
    video = tmp_path / "camera.avi"
    write_video(live_photos, str(video), fps=10)
    with RtspCamera(str(video)) as camera:
        url = camera.url().replace("rtsp://", f"rtsp://{USER}@")
        with CaptureProcess("--source", url, "--headless", "--json", "--max-frames", "30") as capture:
            assert capture.finish(timeout=90) == 0, capture.stderr
    assert {"DESCRIBE", "SETUP", "PLAY"} <= set(camera.requests)
    records = [json.loads(line) for line in capture.stdout]
    assert [r["frame"] for r in records] == list(range(30))
    assert len({p.text for p in live_photos} & {r["text"] for r in records}) >= 4
    assert capture.stderr[-2] == f"reading rtsp://***@127.0.0.1:{camera.port}/live"
    no_secret(capture.stdout, capture.stderr)


def test_digit_reader_stream_names_the_source_without_credentials(camera):
    from edge_digits import DigitReader

    readings = list(DigitReader().stream(camera.url(USER), max_frames=3))
    assert len(readings) == 3
    assert {r.source for r in readings} == {f"http://***@127.0.0.1:{camera.port}/stream.mjpg"}
    no_secret(*(json.dumps(r.as_dict()) for r in readings))
