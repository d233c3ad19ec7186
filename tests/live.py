"""Live pieces for the preview and network-source tests, all on 127.0.0.1.

`CaptureProcess` runs `edge-digits capture` as a real subprocess (signals, ports, threads as a
user sees them); `MjpegCamera` is an IP camera's /stream.mjpg; `SilentPort` a camera that hangs.
"""

from __future__ import annotations

import base64
import itertools
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np


class CaptureProcess:
    """`python -m edge_digits capture ARGS`; stdout and stderr read line by line on threads."""

    def __init__(self, *args: object) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "edge_digits", "capture", *map(str, args)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.lines: queue.Queue[str] = queue.Queue()  # stdout lines as they come
        self._readers = [threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout, self.lines)),
                         threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr, None))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, into: list[str], lines: queue.Queue | None) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))
            if lines is not None:
                lines.put(line)

    def preview(self, timeout: float = 60) -> tuple[int, str | None]:
        """The preview's port and token, from the `preview: http://HOST:PORT/...` line on stderr."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.stderr):
                found = re.match(r"preview: http://[^ ]*?:(\d+)/(?:\?token=([\w-]+))?", line)
                if found:
                    return int(found[1]), found[2]
            if self.proc.poll() is not None and not any(r.is_alive() for r in self._readers):
                break
            time.sleep(0.05)
        raise AssertionError("no preview line: " + "\n".join(self.stderr))

    def next_line(self, timeout: float = 60) -> str:
        return self.lines.get(timeout=timeout)

    def finish(self, timeout: float = 60) -> int:
        """Wait for the exit; kill it if it overstays (the test then fails on the code)."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        for reader in self._readers:
            reader.join(timeout=10)
        return code

    def __enter__(self) -> CaptureProcess:
        return self

    def __exit__(self, *_exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class MjpegCamera:
    """An IP camera: loops over frames at `fps`, optional Basic credentials, `outage` to go away."""

    def __init__(self, frames: list[np.ndarray], fps: float = 20.0, credentials: str | None = None) -> None:
        self.jpegs = [cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes() for f in frames]
        self.fps, self.credentials = fps, credentials
        self.down_until = 0.0
        self.connections = 0
        self.unauthorised = 0
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                if time.monotonic() < camera.down_until:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if camera.credentials is not None:
                    expected = "Basic " + base64.b64encode(camera.credentials.encode()).decode()
                    if self.headers.get("Authorization") != expected:
                        camera.unauthorised += 1
                        self.send_response(401)
                        self.send_header("WWW-Authenticate", 'Basic realm="camera"')
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                camera.connections += 1
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                try:
                    for jpeg in itertools.cycle(camera.jpegs):
                        if time.monotonic() < camera.down_until:
                            break  # the camera drops every viewer
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                                         + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n")
                        self.wfile.flush()
                        time.sleep(1 / camera.fps)
                except OSError:
                    pass
                self.close_connection = True

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def url(self, userinfo: str = "") -> str:
        return f"http://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}/stream.mjpg"

    def outage(self, seconds: float) -> None:
        """Drop every viewer now and refuse new ones for `seconds`."""
        self.down_until = time.monotonic() + seconds

    def __enter__(self) -> MjpegCamera:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class SilentPort:
    """A port that accepts TCP connections and never answers: a camera that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def __enter__(self) -> SilentPort:
        return self

    def __exit__(self, *_exc) -> None:
        self.sock.close()
