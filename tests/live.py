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


class RtspCamera:
    """An RTSP camera on 127.0.0.1: this small RTSP server answers the session (OPTIONS, DESCRIBE,
    SETUP over UDP, PLAY, TEARDOWN) and relays the RTP/JPEG packets (RFC 2435) that Debian's
    ffmpeg makes from a video looped in real time. Debian has no RTSP server package (no
    mediamtx), and ffmpeg alone only listens for published streams.
    """

    def __init__(self, video: str) -> None:
        self.rtp_in = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp_in.bind(("127.0.0.1", 0))
        self.rtp_in.settimeout(0.2)
        self.ffmpeg = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", video, "-an",
             "-c:v", "mjpeg", "-huffman", "default", "-pix_fmt", "yuvj420p", "-q:v", "5",
             "-f", "rtp", f"rtp://127.0.0.1:{self.rtp_in.getsockname()[1]}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.clients: list[tuple[str, int]] = []  # where PLAYing clients want RTP
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True),
                         threading.Thread(target=self._relay, daemon=True)]

    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/live"

    def _relay(self) -> None:
        out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        while not self._stop.is_set():
            try:
                packet = self.rtp_in.recv(65536)
            except OSError:
                continue
            for client in list(self.clients):
                out.sendto(packet, client)
        out.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        try:
            self._serve_session(conn)
        except OSError:  # the client hung up mid-request (FFmpeg resets when it gives up): session over
            pass

    def _serve_session(self, conn: socket.socket) -> None:
        target = None
        with conn, conn.makefile("rb") as requests:
            while not self._stop.is_set():
                head = []
                while (line := requests.readline().decode()) not in ("\r\n", ""):
                    head.append(line.strip())
                if not head:
                    break
                method, uri, _ = head[0].split(" ", 2)
                headers = dict(h.split(": ", 1) for h in head[1:] if ": " in h)
                self.requests.append(method)
                reply, body = {"CSeq": headers.get("CSeq", "0")}, ""
                if method == "OPTIONS":
                    reply["Public"] = "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN"
                elif method == "DESCRIBE":
                    body = ("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=edge-digits test camera\r\nc=IN IP4 0.0.0.0\r\n"
                            "t=0 0\r\nm=video 0 RTP/AVP 26\r\na=control:track0\r\n")
                    reply.update({"Content-Type": "application/sdp", "Content-Base": uri.rstrip("/") + "/"})
                elif method == "SETUP":
                    ports = re.search(r"client_port=(\d+)", headers.get("Transport", ""))
                    if ports is None:  # only UDP here; FFmpeg tries it first
                        conn.sendall(f"RTSP/1.0 461 Unsupported Transport\r\nCSeq: {reply['CSeq']}\r\n\r\n".encode())
                        continue
                    target = ("127.0.0.1", int(ports[1]))
                    reply.update({"Transport": f"RTP/AVP/UDP;unicast;client_port={ports[1]}-{int(ports[1]) + 1};"
                                               f"server_port={self.rtp_in.getsockname()[1]}-0",
                                  "Session": "12345678"})
                elif method == "PLAY":
                    reply["Session"] = "12345678"
                    if target is not None:
                        self.clients.append(target)
                elif method == "TEARDOWN":
                    if target in self.clients:
                        self.clients.remove(target)
                if body:
                    reply["Content-Length"] = str(len(body))
                status = "200 OK" if method in ("OPTIONS", "DESCRIBE", "SETUP", "PLAY", "TEARDOWN") else "501 No"
                text = "".join(f"{k}: {v}\r\n" for k, v in reply.items())
                conn.sendall(f"RTSP/1.0 {status}\r\n{text}\r\n{body}".encode())
        if target in self.clients:
            self.clients.remove(target)

    def __enter__(self) -> RtspCamera:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self.ffmpeg.terminate()
        self.ffmpeg.wait(timeout=10)
        for thread in self._threads:
            thread.join(timeout=5)
        self.listener.close()
        self.rtp_in.close()
