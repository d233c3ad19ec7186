"""Live sources: network cameras (rtsp, http MJPEG) and local cameras, read on a grabber thread.

A live source keeps producing frames whether or not we keep up. OpenCV buffers what we do not
read, so a slow consumer would watch the past. The grabber thread reads continuously and keeps
only the newest frame; the frames it overwrites are counted as dropped.

Credentials in a URL (`rtsp://user:pass@cam/...`) never leave this module unredacted: every
message that names a source goes through `redact`.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol

import cv2
import numpy as np

from edge_digits.errors import BadInput, DeviceUnavailable

URL_SCHEMES = ("rtsp", "rtsps", "http", "https")
READ_TIMEOUT_MS = 5000  # a network stream silent this long counts as lost
TICK_S = 0.2  # the consumer wakes at least this often, so a stop request is seen without a frame
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s]*@")  # to the host's last @
_DEVICE = re.compile(r"^/dev/video(\d+)$")


def redact(text: str) -> str:
    """`rtsp://user:pass@host/x` → `rtsp://***@host/x`, anywhere in `text` (messages, URLs)."""
    return _USERINFO.sub(r"\g<scheme>***@", str(text))


def is_url(source: str) -> bool:
    return _URL.match(source) is not None


def is_device(source: str) -> bool:
    return _DEVICE.match(source) is not None


class VideoCapture(Protocol):
    def isOpened(self) -> bool: ...  # noqa: N802 (OpenCV's name)
    def read(self) -> tuple[bool, np.ndarray | None]: ...
    def release(self) -> None: ...


class StreamLost(Exception):
    """The live source stopped delivering frames and did not come back in time."""


def quiet_video_logs() -> None:
    """OpenCV and FFmpeg log every failed (re)connection, some with the address: our one line says it."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET; read when FFmpeg starts
    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    except AttributeError:
        pass


def open_url(url: str, timeout_s: float) -> cv2.VideoCapture:
    """OpenCV's FFmpeg backend, with its open and read time-outs set (it waits 30 s otherwise)."""
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(max(timeout_s, 0.5) * 1000),
              cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS]
    return cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)


class LiveSource:
    """Newest-frame iterator over a live capture; yields None when nothing new came for TICK_S.

    `opener(timeout_s)` returns an OpenCV-like capture. Opening is retried with backoff for
    `connect_timeout` s; a capture that stops sending is retried `retries` times, then reopened
    with backoff for `reconnect` s (0: give up at once). Counts: dropped, reconnects, gap_s.
    """

    def __init__(self, name: str, opener: Callable[[float], VideoCapture], *, connect_timeout: float = 0.0,
                 reconnect: float = 0.0, retries: int = 1, retry_wait_s: float = 0.05) -> None:
        self.name = redact(name)
        self.dropped = 0
        self.reconnects = 0
        self.gap_s = 0.0
        self._opener, self._reconnect = opener, reconnect
        self._retries, self._retry_wait_s = retries, retry_wait_s
        self._closing = threading.Event()
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._done = False
        self._error: StreamLost | None = None
        cap = self._connect(connect_timeout)
        if cap is None:
            why = f"could not be opened within {connect_timeout:g} s" if connect_timeout else "could not be opened"
            raise DeviceUnavailable(f"{self.name} {why}")
        self._thread = threading.Thread(target=self._grab, args=(cap,), name="grabber", daemon=True)
        self._thread.start()

    def _connect(self, timeout_s: float) -> VideoCapture | None:
        deadline, wait = time.monotonic() + timeout_s, 0.25
        while True:
            cap = self._opener(max(deadline - time.monotonic(), 0.5))
            if cap.isOpened():
                return cap
            cap.release()
            left = deadline - time.monotonic()
            if left <= 0 or self._closing.is_set():
                return None
            self._closing.wait(min(wait, left))
            wait = min(wait * 2, 2.0)

    def _grab(self, cap: VideoCapture | None) -> None:
        misses = 0
        try:
            while cap is not None and not self._closing.is_set():
                ok, frame = cap.read()
                if ok and frame is not None:
                    misses = 0
                    with self._cond:
                        self.dropped += self._frame is not None
                        self._frame = frame
                        self._cond.notify()
                    continue
                misses += 1
                if misses < self._retries:
                    time.sleep(self._retry_wait_s)
                    continue
                cap.release()
                cap = None
                if not self._reconnect:
                    self._error = StreamLost(f"{self.name} stopped delivering frames")
                    break
                lost_at = time.monotonic()
                cap = self._connect(self._reconnect)
                if cap is None:
                    if not self._closing.is_set():
                        self._error = StreamLost(f"{self.name}: stream lost, no reconnection within "
                                                 f"{self._reconnect:g} s")
                    break
                misses = 0
                self.reconnects += 1
                self.gap_s += time.monotonic() - lost_at
        finally:
            if cap is not None:
                cap.release()
            with self._cond:
                self._done = True
                self._cond.notify()

    def __iter__(self) -> Iterator[np.ndarray | None]:
        while True:
            with self._cond:
                if self._frame is None and not self._done:
                    self._cond.wait(TICK_S)
                frame, self._frame = self._frame, None
                done = self._done
            if frame is not None:
                yield frame
            elif done:
                if self._error is not None:
                    raise self._error
                return
            else:
                yield None

    def close(self) -> None:
        """Stop the grabber and release the capture (waits briefly for a read in progress)."""
        self._closing.set()
        self._thread.join(timeout=READ_TIMEOUT_MS / 1000 + 1)

    def counts(self) -> str:
        """`, 3 stale frames dropped, 1 reconnection (2.1 s without frames)` for the summary line."""
        text = f", {self.dropped} stale frame{'s' * (self.dropped != 1)} dropped"
        if self.reconnects:
            text += (f", {self.reconnects} reconnection{'s' * (self.reconnects != 1)} "
                     f"({self.gap_s:.1f} s without frames)")
        return text


def network_source(url: str, connect_timeout: float, reconnect: float) -> LiveSource:
    """An rtsp(s):// or http(s):// stream through OpenCV's FFmpeg backend."""
    scheme = url.split("://", 1)[0].lower()
    if scheme not in URL_SCHEMES:
        raise BadInput(f"{redact(url)}: unsupported URL scheme (use {', '.join(URL_SCHEMES)})")
    quiet_video_logs()
    return LiveSource(url, lambda timeout: open_url(url, timeout), connect_timeout=connect_timeout,
                      reconnect=reconnect)
