"""`edge-digits label DIR`: the labelling page over HTTP (standard library only).

Routes: `/` (the page), `/api/state` (progress and the current crop), `POST /api/press`
(`{"key": "7"}`: one answer, the new state back), `/image?file=NAME` (a crop's view; only names
the folder's crop list holds). Same rules as the preview server (edge/serve.py): 127.0.0.1 by
default, a token for any other host. The POST must be `application/json`, which a web page of
another origin cannot send without a CORS pre-flight this server never grants.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from edge_digits.errors import BadInput

from .label_page import PAGE
from .labelling import Labeller
from .serve import choose_token, listen, token_ok

MAX_BODY = 1024  # bytes: a key press is tiny


class _Handler(BaseHTTPRequestHandler):
    server: LabelServer._HTTPServer

    def log_message(self, format, *args) -> None:  # noqa: A002
        pass  # request lines carry the token

    def _authorised(self, url) -> bool:
        query_token = parse_qs(url.query).get("token", [""])[0]
        if token_ok(self.server.owner.token, query_token, self.headers.get("Authorization", "")):
            return True
        self._send(HTTPStatus.UNAUTHORIZED, b"token required: add ?token=...\n", "text/plain")
        return False

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = urlsplit(self.path)
        if not self._authorised(url):
            return
        labeller = self.server.owner.labeller
        if url.path in ("/", "/index.html"):
            return self._send(HTTPStatus.OK, PAGE.encode(), "text/html; charset=utf-8")
        if url.path == "/api/state":
            return self._json(labeller.state())
        if url.path == "/image":
            item = labeller.by_file.get(parse_qs(url.query).get("file", [""])[0])
            if item is None:
                return self._send(HTTPStatus.NOT_FOUND, b"no such crop\n", "text/plain")
            try:
                data = (labeller.folder / item.view).read_bytes()
            except OSError:
                return self._send(HTTPStatus.NOT_FOUND, b"crop file gone\n", "text/plain")
            return self._send(HTTPStatus.OK, data, "image/png")
        self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

    def do_POST(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        if not self._authorised(url):
            return
        if url.path != "/api/press":
            return self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            return self._send(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, b"send application/json\n", "text/plain")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"too large\n", "text/plain")
        try:
            key = json.loads(self.rfile.read(length))["key"]
            state = self.server.owner.labeller.press(str(key))
        except (ValueError, KeyError, TypeError):
            return self._send(HTTPStatus.BAD_REQUEST, b'expected {"key": "0"-"9", "x", "s" or "u"}\n', "text/plain")
        except BadInput as error:
            return self._send(HTTPStatus.BAD_REQUEST, error.message.encode() + b"\n", "text/plain")
        self._json(state)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, value: object) -> None:
        self._send(HTTPStatus.OK, json.dumps(value).encode() + b"\n", "application/json")


class LabelServer:
    """The labelling page for one Labeller: bind at construction, serve on a thread, stop."""

    class _HTTPServer(ThreadingHTTPServer):
        daemon_threads = True
        owner: LabelServer

    def __init__(self, labeller: Labeller, host: str = "127.0.0.1", port: int = 0, token: str | None = None) -> None:
        self.labeller = labeller
        self.token = choose_token(host, token)
        self.generated_token = token is None and self.token is not None
        self.httpd = listen(self._HTTPServer, host, port, _Handler)
        self.httpd.owner = self
        self.host, self.port = host, self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="label", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/" + (f"?token={self.token}" if self.token else "")

    def start(self) -> LabelServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> LabelServer:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
