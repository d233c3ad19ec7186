"""`capture --serve`: a live preview over HTTP for devices without a screen (standard library only).

Routes: `/` (the page), `/stream.mjpg` (annotated frames, multipart/x-mixed-replace),
`/api/reading` (the latest `--json` record), `/api/events` (the records as Server-Sent Events),
`/healthz`. Binding anything but loopback needs a token (`?token=` or `Authorization: Bearer`).

Capture never waits for a viewer: it only swaps the newest frame into a shared slot. Each
viewer's thread takes the newest frame when it is ready for one, so a slow or stalled viewer
misses frames instead of slowing the capture or the other viewers.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np

from edge_digits.errors import BadInput

from .preview_page import PAGE

MAX_VIEWERS = 8  # open /stream.mjpg and /api/events connections; the 9th gets 503
JPEG_QUALITY = 80
STREAM_FPS = 15  # the most /stream.mjpg sends a viewer: JPEG encoding is the viewer's real cost
WRITE_TIMEOUT_S = 10  # a viewer that accepts nothing for this long is disconnected
STOP_WAIT_S = 5  # at stop, how long the viewers' threads get to finish (their sockets are shut down first)
DEFAULT_HOST = "127.0.0.1"


def parse_address(value: str) -> tuple[str, int]:
    """`8000`, `0.0.0.0:8000` or `[::1]:8000` → (host, port); loopback unless a host is given."""
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or DEFAULT_HOST
    if not port.isdigit() or int(port) > 65535:
        raise BadInput(f"--serve {value}: expected [HOST:]PORT, e.g. 8000 or 0.0.0.0:8000")
    return host, int(port)


def is_loopback(host: str) -> bool:
    """True when every address `host` resolves to is loopback (127.0.0.0/8, ::1)."""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        raise BadInput(f"--serve: cannot resolve host {host!r}") from None
    return all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def choose_token(host: str, token: str | None) -> str | None:
    """The token a server on `host` asks for: the given one, none on loopback, else a generated one."""
    return token if token or is_loopback(host) else secrets.token_urlsafe(16)


def token_ok(expected: str | None, query_token: str, authorization: str) -> bool:
    """True when no token is needed, or `?token=` / `Authorization: Bearer` carries the right one."""
    if expected is None:
        return True
    given = query_token or authorization.removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), expected.encode())


def listen(server_class: type, host: str, port: int, handler: type) -> ThreadingHTTPServer:
    """`server_class` bound to host:port (IPv4 or IPv6); a port it cannot have is a one-line BadInput."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return type("_Server", (server_class,), {"address_family": family})((host, port), handler)
    except OSError as error:
        raise BadInput(f"--serve {host}:{port}: cannot listen there ({error.strerror})") from None


class FrameHub:
    """The newest annotated frame and record, handed from the capture loop to every viewer."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._encode = threading.Lock()
        self.seq = 0
        self.closed = False
        self.record: dict | None = None
        self._frame: np.ndarray | None = None
        self._jpeg: tuple[int, bytes] = (0, b"")

    def publish(self, frame: np.ndarray, record: dict) -> None:
        """Called by capture: never blocks on a viewer (the lock is only held for a swap)."""
        with self._cond:
            self._frame, self.record = frame, record
            self.seq += 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def wait(self, after: int, timeout: float = 1.0) -> int:
        """The newest sequence number once it passes `after` (or the timeout, or close)."""
        with self._cond:
            self._cond.wait_for(lambda: self.seq > after or self.closed, timeout)
            return self.seq

    def latest(self) -> tuple[int, dict | None]:
        with self._cond:
            return self.seq, self.record

    def jpeg(self) -> tuple[int, bytes]:
        """The newest frame as JPEG, encoded once however many viewers ask (outside capture's lock)."""
        with self._cond:
            seq, frame = self.seq, self._frame
        with self._encode:
            if self._jpeg[0] != seq and frame is not None:
                ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
                self._jpeg = (seq, data.tobytes() if ok else b"")
            return self._jpeg


class Handler(BaseHTTPRequestHandler):
    """What every local server's requests share: no request log, the token check, plain responses."""

    server: LocalServer._HTTPServer
    timeout = WRITE_TIMEOUT_S  # socket time-out: a stalled viewer's thread ends instead of hanging

    def log_message(self, format, *args) -> None:  # noqa: A002
        pass  # request lines carry the token; the command's summary is the log

    def authorised(self, url) -> bool:
        """True when the request may go on; else a 401 has been sent."""
        query_token = parse_qs(url.query).get("token", [""])[0]
        if self.server.owner.authorised(query_token, self.headers.get("Authorization", "")):
            return True
        self._send(HTTPStatus.UNAUTHORIZED, b"token required: add ?token=...\n", "text/plain")
        return False

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, value: object, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(status, json.dumps(value).encode() + b"\n", "application/json")


class _Handler(Handler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = urlsplit(self.path)
        if not self.authorised(url):
            return
        route = {"/": self._page, "/index.html": self._page, "/stream.mjpg": self._stream,
                 "/api/reading": self._reading, "/api/events": self._events, "/healthz": self._health}.get(url.path)
        if route is None:
            return self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
        route()

    def _page(self) -> None:
        self._send(HTTPStatus.OK, PAGE.encode(), "text/html; charset=utf-8")

    def _reading(self) -> None:
        _seq, record = self.server.owner.hub.latest()
        if record is None:
            return self._send(HTTPStatus.NO_CONTENT, b"", "application/json")
        self._json(record)

    def _health(self) -> None:
        preview = self.server.owner
        self._json({"status": "ok", "frames": preview.hub.seq, "viewers": preview.viewer_count()})

    def _stream(self) -> None:
        def part(hub: FrameHub, _seq: int) -> bytes:
            _, data = hub.jpeg()
            return (b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: " + str(len(data)).encode()
                    + b"\r\n\r\n" + data + b"\r\n")

        self._viewer("multipart/x-mixed-replace; boundary=frame", part, 1 / STREAM_FPS)

    def _events(self) -> None:
        def event(hub: FrameHub, _seq: int) -> bytes:
            _, record = hub.latest()
            return f"id: {record['frame']}\nevent: reading\ndata: {json.dumps(record)}\n\n".encode()

        self._viewer("text/event-stream", event, 0.0)

    def _viewer(self, content_type: str, chunk, min_interval: float) -> None:
        """A long-lived response: one chunk per new frame (at most one per `min_interval` s, the
        newest), until capture stops."""
        preview = self.server.owner
        if not preview.slots.acquire(blocking=False):
            return self._send(HTTPStatus.SERVICE_UNAVAILABLE, b"too many viewers\n", "text/plain")
        preview.track(self.connection, add=True)
        try:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", content_type)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.flush()
            hub, seen, due = preview.hub, 0, 0.0
            while not hub.closed:
                seq = hub.wait(seen)
                if seq > seen and not hub.closed:
                    time.sleep(max(0.0, due - time.monotonic()))
                    due = time.monotonic() + min_interval
                    self.wfile.write(chunk(hub, seq))
                    self.wfile.flush()
                    seen = seq
        except OSError:
            pass  # the viewer left or stalled past WRITE_TIMEOUT_S
        finally:
            preview.track(self.connection, add=False)
            preview.slots.release()
            self.close_connection = True


class LocalServer:
    """An HTTP server on its own thread: bound at construction (errors are one line), 127.0.0.1 or a
    token, stopped with its port freed. The preview and the labelling page (label_server.py) are two."""

    class _HTTPServer(ThreadingHTTPServer):
        daemon_threads = True
        owner: LocalServer

    def __init__(self, host: str, port: int, token: str | None, handler: type, name: str) -> None:
        self.token = choose_token(host, token)
        self.generated_token = token is None and self.token is not None
        self.httpd = listen(self._HTTPServer, host, port, handler)
        self.httpd.owner = self
        self.host, self.port = host, self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=name, daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/" + (f"?token={self.token}" if self.token else "")

    def authorised(self, query_token: str, authorization: str) -> bool:
        return token_ok(self.token, query_token, authorization)

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._thread.is_alive():
            self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


class PreviewServer(LocalServer):
    """The HTTP preview: bind at construction (errors are one line), serve on a thread, stop and free the port."""

    def __init__(self, host: str, port: int, token: str | None = None) -> None:
        self.hub = FrameHub()
        self.slots = threading.BoundedSemaphore(MAX_VIEWERS)
        self._lock = threading.Lock()
        self._viewers: dict[socket.socket, threading.Thread] = {}
        super().__init__(host, port, token, _Handler, "preview")

    def publish(self, frame: np.ndarray, record: dict) -> None:
        self.hub.publish(frame, record)

    def viewer_count(self) -> int:
        with self._lock:
            return len(self._viewers)

    def track(self, connection: socket.socket, add: bool) -> None:
        """Called by a viewer's own thread as it starts and ends."""
        with self._lock:
            if add:
                self._viewers[connection] = threading.current_thread()
            else:
                self._viewers.pop(connection, None)

    def stop(self) -> None:
        """End every viewer (a stalled one too) and wait for its thread, stop serving and close the
        listening socket. A viewer thread still inside OpenCV (a JPEG encode) while the process
        exits would be torn down with it: C++ aborts ("terminate called without an active exception")."""
        self.hub.close()
        with self._lock:
            viewers = list(self._viewers.items())
        for connection, _thread in viewers:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + STOP_WAIT_S
        for _connection, thread in viewers:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        super().stop()
