"""`edge-digits label DIR`: the labelling page over HTTP (standard library only).

Routes: `/` (the page), `/api/state` (progress and the current crop), `POST /api/press`
(`{"key": "7"}`: one answer, the new state back), `/image?file=NAME` (a crop's view; only names
the folder's crop list holds). Same rules as the preview server (edge/serve.py): 127.0.0.1 by
default, a token for any other host. The POST must be `application/json`, which a web page of
another origin cannot send without a CORS pre-flight this server never grants.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from edge_digits.errors import BadInput

from .label_page import PAGE
from .labelling import Labeller
from .serve import Handler, LocalServer

MAX_BODY = 1024  # bytes: a key press is tiny


class _Handler(Handler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = urlsplit(self.path)
        if not self.authorised(url):
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
        if not self.authorised(url):
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


class LabelServer(LocalServer):
    """The labelling page for one Labeller: bind at construction, serve on a thread, stop."""

    def __init__(self, labeller: Labeller, host: str = "127.0.0.1", port: int = 0, token: str | None = None) -> None:
        self.labeller = labeller
        super().__init__(host, port, token, _Handler, "label")
