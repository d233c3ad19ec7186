"""`capture --serve`: real HTTP against a running capture subprocess, and a real browser.

Every request goes to 127.0.0.1. The shipped int8 model reads generated videos played at their
frame rate (`--realtime`), as a camera would deliver them.
"""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import socket
import time

import cv2
import numpy as np
import pytest

from tests.live import CaptureProcess

FPS = 10


@pytest.fixture(scope="module")
def video(tmp_path_factory, live_photos):
    """8 s at 10 frames/s: time to connect and watch."""
    from edge_digits.photos import write_video

    path = tmp_path_factory.mktemp("serve") / "digits.avi"
    write_video(live_photos * 10, str(path), fps=FPS)
    return path


def get(port: int, path: str, headers: dict | None = None, timeout: float = 10) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", path, headers=headers or {})
    return conn.getresponse()


def jpeg_parts(response: http.client.HTTPResponse, count: int) -> list[bytes]:
    """The first `count` JPEG parts of a multipart/x-mixed-replace response."""
    boundary = response.getheader("Content-Type").split("boundary=")[1].encode()
    parts = []
    while len(parts) < count:
        line = response.readline()
        if line.strip() != b"--" + boundary:
            continue
        headers = {}
        while (line := response.readline().strip()):
            key, value = line.decode().split(":", 1)
            headers[key.lower()] = value.strip()
        assert headers["content-type"] == "image/jpeg"
        parts.append(response.read(int(headers["content-length"])))
    return parts


def sse_records(response: http.client.HTTPResponse, count: int) -> list[dict]:
    records, fields = [], {}
    while len(records) < count:
        line = response.readline().decode()
        if not line:
            break
        if line == "\n":
            assert fields["event"] == "reading"
            record = json.loads(fields["data"])
            assert int(fields["id"]) == record["frame"]
            records.append(record)
            fields = {}
        elif not line.startswith(":"):
            key, value = line.rstrip("\n").split(": ", 1)
            fields[key] = value
    return records


def test_stream_json_and_events_match_the_json_lines(video, live_photos):
    with CaptureProcess("--source", video, "--realtime", "--headless", "--json", "--smooth", "3",
                        "--serve", "127.0.0.1:0") as capture:
        port, token = capture.preview()
        assert token is None  # loopback: no token needed
        assert json.loads(get(port, "/healthz").read())["status"] == "ok"
        stream = get(port, "/stream.mjpg")
        assert stream.status == 200
        assert stream.getheader("Content-Type") == "multipart/x-mixed-replace; boundary=frame"
        images = [cv2.imdecode(np.frombuffer(part, np.uint8), cv2.IMREAD_COLOR) for part in jpeg_parts(stream, 3)]
        events = get(port, "/api/events")
        assert events.getheader("Content-Type") == "text/event-stream"
        streamed = sse_records(events, 5)
        reading = get(port, "/api/reading")
        assert reading.status == 200 and reading.getheader("Content-Type") == "application/json"
        latest = json.loads(reading.read())
        page = get(port, "/").read().decode()
        assert get(port, "/nothing").status == 404
        assert capture.finish() == 0, capture.stderr
    for image in images:
        assert image is not None and image.shape == live_photos[0].image.shape
        assert image.std() > 20  # a photograph with boxes drawn, not a blank frame
    lines = {r["frame"]: r for r in map(json.loads, capture.stdout)}
    assert sorted(lines) == list(range(len(live_photos) * 10))
    frames = [r["frame"] for r in streamed]
    assert frames == sorted(set(frames)) and len(frames) == 5
    for record in [*streamed, latest]:
        assert record == lines[record["frame"]]
    assert {"text", "stable", "digits", "frame", "ms", "source"} == set(latest)
    assert '<img id="live"' in page and "EventSource" in page
    assert "<script src" not in page and "https://" not in page and "http://" not in page  # offline: no CDN


def test_token_required_off_loopback(video):
    from edge_digits.edge.serve import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("127.0.0.2") and is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("192.168.1.20")
    # Bound to every interface; we only ever talk to it through 127.0.0.1.
    with CaptureProcess("--source", video, "--realtime", "--headless", "--serve", "0.0.0.0:0",
                        "--token", "sesame") as capture:
        port, token = capture.preview()
        assert token is None  # a chosen token is never printed
        assert any(line.endswith("/?token=<your --token>") for line in capture.stderr)
        for path in ("/", "/healthz", "/api/reading", "/api/events", "/stream.mjpg"):
            denied = get(port, path)
            assert (denied.status, denied.read()) == (401, b"token required: add ?token=...\n"), path
        assert get(port, "/healthz?token=wrong").status == 401
        assert get(port, "/healthz?token=sesame").status == 200
        assert get(port, "/healthz", {"Authorization": "Bearer sesame"}).status == 200
        capture.proc.send_signal(signal.SIGTERM)
        assert capture.finish() == 0
    with CaptureProcess("--source", video, "--realtime", "--headless", "--serve", "0.0.0.0:0") as capture:
        port, token = capture.preview()
        assert token and len(token) >= 20  # generated, printed once
        assert sum(token in line for line in capture.stderr) == 1
        assert get(port, "/healthz").status == 401
        assert get(port, f"/healthz?token={token}").status == 200
        capture.proc.send_signal(signal.SIGTERM)
        assert capture.finish() == 0
        assert sum(token in line for line in capture.stderr) == 1


def open_stream(port: int) -> tuple[socket.socket, bytes]:
    """A raw viewer on /stream.mjpg: the socket and its status line."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    status = b""
    while not status.endswith(b"\r\n"):
        status += sock.recv(1)
    return sock, status


def test_ninth_viewer_gets_503_and_a_freed_slot_is_reused(video):
    with CaptureProcess("--source", video, "--realtime", "--headless", "--serve", "127.0.0.1:0") as capture:
        port, _ = capture.preview()
        viewers = [open_stream(port) for _ in range(8)]
        assert all(status.startswith(b"HTTP/1.0 200") for _, status in viewers)
        ninth, status = open_stream(port)
        assert status.startswith(b"HTTP/1.0 503"), status
        ninth.close()
        assert get(port, "/healthz").status == 200  # short requests still answered
        viewers.pop()[0].close()
        deadline = time.monotonic() + 5
        while (status := open_stream(port)[1]).startswith(b"HTTP/1.0 503") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert status.startswith(b"HTTP/1.0 200")
        capture.proc.send_signal(signal.SIGTERM)
        assert capture.finish() == 0
        for sock, _ in viewers:
            sock.close()


def test_stalled_viewer_does_not_hold_up_capture(tmp_path, live_photos):
    """A viewer that never reads: capture still delivers every frame and exits when the video ends."""
    from edge_digits.photos import write_video

    video = tmp_path / "fast.avi"
    write_video(live_photos * 15, str(video), fps=40)  # 120 frames, 3 s
    with CaptureProcess("--source", video, "--realtime", "--headless", "--json", "--serve", "127.0.0.1:0") as capture:
        port, _ = capture.preview()
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", port))
        stalled.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        reader = get(port, "/stream.mjpg")
        assert len(jpeg_parts(reader, 10)) == 10  # a live viewer keeps getting frames meanwhile
        assert capture.finish(timeout=60) == 0, capture.stderr
        stalled.close()
    assert [json.loads(line)["frame"] for line in capture.stdout] == list(range(120))


def test_stop_waits_for_every_viewer_thread():
    """A viewer thread still inside OpenCV's JPEG encoder when the process exits aborts it
    ("terminate called without an active exception", exit -6): stop() ends and joins them all."""
    import threading

    from edge_digits.edge.serve import PreviewServer

    preview = PreviewServer("127.0.0.1", 0).start()
    reader = get(preview.port, "/stream.mjpg")
    drain = threading.Thread(target=lambda: [None for _ in iter(lambda: reader.read(65536), b"")], daemon=True)
    drain.start()  # a viewer that keeps reading
    try:
        frame = np.full((480, 640, 3), 128, np.uint8)
        for i in range(100):
            preview.publish(frame, {"frame": i})
            time.sleep(0.01)
        assert preview.viewer_count() == 1
        threads = [t for t in threading.enumerate() if "process_request" in t.name]  # the handler's thread
        # A frame whose JPEG takes a while: the viewer's thread is encoding it as capture stops.
        noise = np.random.default_rng(0).integers(0, 256, (6000, 8000, 3), dtype=np.uint8)  # 0.25 s to encode
        preview.publish(noise, {"frame": 100})
        time.sleep(0.08)  # past the viewer's frame interval: it is encoding now
        preview.stop()
        assert threads and not [t.name for t in threads if t.is_alive()]
    finally:
        preview.stop()
        reader.close()


@pytest.mark.parametrize("signum, reason", [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "Ctrl-C")])
def test_signal_stops_server_and_frees_the_port(video, signum, reason):
    with CaptureProcess("--source", video, "--realtime", "--headless", "--json", "--serve", "127.0.0.1:0") as capture:
        port, _ = capture.preview()
        viewer = get(port, "/stream.mjpg")
        jpeg_parts(viewer, 1)
        capture.proc.send_signal(signum)
        assert capture.finish(timeout=30) == 0
    assert f"stopped by {reason}" in capture.stderr[-1]
    with pytest.raises(OSError):
        get(port, "/healthz", timeout=2)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as every server does, ours too
    listener.bind(("127.0.0.1", port))  # fails while anything still listens there
    listener.listen()
    listener.close()


def test_bad_serve_addresses_are_one_line_errors(video):
    from tests.helpers import cli, one_line_error

    result = cli("capture", "--source", video, "--token", "sesame")
    assert result.exit_code == 2 and one_line_error(result) == "Error: --token only applies with --serve"
    result = cli("capture", "--source", video, "--serve", "localhost:http")
    assert result.exit_code == 2
    assert one_line_error(result) == "Error: --serve localhost:http: expected [HOST:]PORT, e.g. 8000 or 0.0.0.0:8000"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("capture", "--source", video, "--serve", str(port))
    assert result.exit_code == 2
    assert one_line_error(result) == f"Error: --serve 127.0.0.1:{port}: cannot listen there (Address already in use)"


CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture
def browser(tmp_path):
    """Debian's headless Chromium through its own chromedriver (never a downloaded one)."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("chromium and chromium-driver are missing: .ci/run installs them (apt-get)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1200,800", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    # An explicit driver path: Selenium Manager (which downloads drivers) is never run.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def test_browser_shows_the_live_reading(video, browser, tmp_path):
    """The page, opened with its token from a non-loopback bind, plays: text changes, image not blank."""
    with CaptureProcess("--source", video, "--realtime", "--headless", "--smooth", "3", "--serve", "0.0.0.0:0",
                        "--token", "sesame") as capture:
        port, _ = capture.preview()
        browser.get(f"http://127.0.0.1:{port}/?token=sesame")
        seen, deadline = set(), time.monotonic() + 30
        while len(seen) < 3 and time.monotonic() < deadline:
            seen.add(browser.find_element("id", "current").text)
            time.sleep(0.1)
        seen.discard("-")
        assert len(seen) >= 3, seen  # the reading follows the video
        assert float(browser.find_element("id", "fps").text) > 0
        assert browser.find_elements("css selector", "#history li")
        size = "const i = document.getElementById('live'); return [i.naturalWidth, i.naturalHeight];"
        assert browser.execute_script(size) == [640, 480]
        shot = cv2.imdecode(np.frombuffer(browser.get_screenshot_as_png(), np.uint8), cv2.IMREAD_COLOR)
        capture.proc.send_signal(signal.SIGTERM)
        assert capture.finish() == 0
    cv2.imwrite(str(tmp_path / "page.png"), shot)
    live = shot[:480, :640]
    assert live.std() > 20 and len(np.unique(live.reshape(-1, 3), axis=0)) > 100  # a photograph, not blank
