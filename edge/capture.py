"""The capture loop: frames from a camera, a video or an image folder → digits, overlay, output.

It stops cleanly on end of input, `q`/Esc in the window, Ctrl-C or SIGTERM: the video is
finalised and every JSON line printed. A camera that stops delivering frames is retried
briefly, then reported (exit 3). Live sources (cameras, network streams) are read on a grabber
thread that always hands over the newest frame (edge/stream.py).
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from edge_digits.atomic import atomic_path
from edge_digits.errors import BadInput

from .overlay import draw_reading
from .reader import IMAGE_SUFFIXES, Reading, image_files, load_image, read_digits
from .runtime import Classifier
from .stream import LiveSource, StreamLost, quiet_video_logs

RETRIES = 20  # a camera that returns no frame is retried this many times ...
RETRY_WAIT_S = 0.05  # ... this far apart (1 s in all) before we give up


@dataclass
class CaptureSummary:
    frames: int = 0
    digits: int = 0
    ms: list[float] = field(default_factory=list)
    stopped_by: str = "end of input"
    saved: Path | None = None
    lost_stream: bool = False
    frames_announced: int | None = None  # set when a video file ended before the frame count in its header

    def line(self) -> str:
        if not self.ms:
            return f"0 frames ({self.stopped_by})"
        median = statistics.median(self.ms)
        text = (f"{self.frames} frames, {self.digits} digits read, median {median:.2f} ms/frame "
                f"({1000 / median if median else 0:.0f} frames/s), stopped by {self.stopped_by}")
        if self.saved:
            text += f", video saved to {self.saved}"
        return text


class _Stop:
    """Set by SIGTERM so the loop finishes its frame and closes files properly."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def __call__(self, signum, _frame) -> None:
        self.reason = signal.Signals(signum).name


def camera_frames(index: int | str) -> LiveSource:
    """Newest frames from camera `index` (or /dev/videoN); DeviceUnavailable if it cannot be opened.

    A camera that stops sending is retried briefly, then the capture ends with exit 3.
    """
    quiet_video_logs()
    return LiveSource(f"camera {index}", lambda _timeout: open_camera(index), retries=RETRIES,
                      retry_wait_s=RETRY_WAIT_S)


def open_camera(index: int | str) -> cv2.VideoCapture:
    """The OpenCV capture for a camera index (its own function so tests can stand in a camera)."""
    return cv2.VideoCapture(index)


class _EndedEarly(Exception):
    """A video file that ends before the frame count its header announces (truncated or damaged)."""

    def __init__(self, read: int, announced: int):
        super().__init__(f"end of input: the file ended early, {read} of {announced} announced frames read")
        self.read, self.announced = read, announced


def file_frames(source: Path, realtime: bool = False) -> Iterator[np.ndarray]:
    """Frames from a video file, one image file, or a folder of images (sorted by name).

    `realtime` paces them at the video's frame rate (images: IMAGE_FPS), as a camera would
    deliver them, so a preview viewer can watch a file play.
    """
    pace = _Pacer()
    if not source.exists():
        raise BadInput(f"{source}: no such file or folder")
    if source.is_dir() or source.suffix.lower() in IMAGE_SUFFIXES:
        files = image_files([source]) if source.is_dir() else [source]
        images = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
        if not images:
            raise BadInput(f"{source}: no image files")
        for path in images:
            if realtime:
                pace(IMAGE_FPS)
            yield load_image(path)
        return
    cap = cv2.VideoCapture(str(source))
    if not cap.isOpened():
        cap.release()
        raise BadInput(f"{source}: not a readable video or image")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    announced, read = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                if read < announced:
                    raise _EndedEarly(read, announced)
                return
            read += 1
            if realtime:
                pace(fps)
            yield frame
    finally:
        cap.release()


IMAGE_FPS = 2.0  # --realtime over a folder of images: two a second


class _Pacer:
    """Sleeps so that successive calls are 1/fps apart on average (never catches up by bursting)."""

    def __init__(self) -> None:
        self.due: float | None = None

    def __call__(self, fps: float) -> None:
        now = time.monotonic()
        if self.due is not None and self.due > now:
            time.sleep(self.due - now)
        self.due = max(self.due or now, now) + 1 / fps


def _fourcc(path: Path) -> int:
    return cv2.VideoWriter_fourcc(*("mp4v" if path.suffix.lower() == ".mp4" else "MJPG"))


def gui_available() -> bool:
    """True when OpenCV was built with a GUI backend and there is a display to show it on."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform in ("win32", "darwin")):
        return False
    info = cv2.getBuildInformation()
    gui = info.split("GUI:", 1)[1].splitlines()[0].strip() if "GUI:" in info else "NONE"
    return gui.upper() != "NONE"


def stable_text(history: deque[str]) -> str:
    """The most frequent reading over the last K frames (latest wins ties): steadies the display."""
    counts = Counter(history)
    best = max(counts.values())
    return next(t for t in reversed(history) if counts[t] == best)


@dataclass(frozen=True)
class CaptureOptions:
    """How `capture` reads each frame and what it does with it (the command's flags)."""

    save: Path | None = None  # the annotated video (.avi or .mp4)
    json_lines: bool = False  # emit one JSON record per frame
    max_frames: int | None = None
    smooth: int = 1  # vote over the last K frames' readings
    roi: tuple[int, int, int, int] | None = None
    min_confidence: float = 0.0
    show: bool = False  # an OpenCV window (q or Esc stops)
    fps_out: float = 30.0  # frame rate of the saved video


def run_capture(
    frames: Iterable[np.ndarray | None],
    classifier: Classifier,
    emit: Callable[[str], None],
    options: CaptureOptions = CaptureOptions(),
    publish: Callable[[np.ndarray, dict], None] | None = None,
    keep: Callable[[np.ndarray, Reading, int], object] | None = None,
) -> CaptureSummary:
    """Read every frame, annotate it, write/print/show/publish it; returns the summary.

    A live source yields None when no new frame has come yet: only a stop request is checked.
    `publish(annotated, record)` hands each frame and its `--json` record to the preview server;
    `keep(frame, reading, index)` sees every reading (`--save-uncertain`).
    """
    save, json_lines, smooth, show = options.save, options.json_lines, options.smooth, options.show
    summary = CaptureSummary()
    stop = _Stop()
    history: deque[str] = deque(maxlen=max(1, smooth))
    previous = signal.signal(signal.SIGTERM, stop) if _main_thread() else None
    fps = None
    with ExitStack() as stack:
        writer = None
        try:
            for frame in frames:
                if frame is None:
                    if stop.reason:
                        summary.stopped_by = stop.reason
                        break
                    continue
                start = time.perf_counter()
                reading = read_digits(frame, classifier, roi=options.roi, min_confidence=options.min_confidence)
                ms = (time.perf_counter() - start) * 1000
                summary.ms.append(ms)
                summary.frames += 1
                summary.digits += len(reading.digits)
                if keep is not None:
                    keep(frame, reading, summary.frames - 1)
                history.append(reading.text)
                stable = stable_text(history) if smooth > 1 else None
                fps = 1000 / ms if fps is None else 0.9 * fps + 0.1 * 1000 / max(ms, 1e-3)
                record = {**reading.as_dict(), "source": f"frame {summary.frames - 1}",
                          "frame": summary.frames - 1, "ms": round(ms, 3)}
                if stable is not None:
                    record["stable"] = stable
                if json_lines:
                    emit(json.dumps(record))
                if save is not None or show or publish is not None:
                    annotated = draw_reading(frame.copy(), reading, fps, stable)
                    if save is not None:
                        if writer is None:
                            tmp = stack.enter_context(atomic_path(save))
                            h, w = annotated.shape[:2]
                            writer = cv2.VideoWriter(str(tmp), _fourcc(save), options.fps_out, (w, h))
                            if not writer.isOpened():
                                raise BadInput(f"{save}: cannot write a video here (use .avi or .mp4)")
                            stack.callback(writer.release)
                        writer.write(annotated)
                    if publish is not None:
                        publish(annotated, record)
                    if show and _show(annotated):
                        summary.stopped_by = "q/Esc"
                        break
                if stop.reason:
                    summary.stopped_by = stop.reason
                    break
                if options.max_frames is not None and summary.frames >= options.max_frames:
                    summary.stopped_by = "--max-frames"
                    break
        except KeyboardInterrupt:
            summary.stopped_by = "Ctrl-C"
        except StreamLost as lost:
            summary.stopped_by = str(lost)
            summary.lost_stream = True
        except _EndedEarly as early:
            summary.stopped_by, summary.frames_announced = str(early), early.announced
            if json_lines:
                emit(json.dumps({"ended_early": True, "frames_read": early.read, "frames_announced": early.announced}))
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()  # release the camera or stream now, not when garbage-collected
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            if show:
                cv2.destroyAllWindows()
    if writer is not None:
        summary.saved = save
    return summary


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _show(frame: np.ndarray) -> bool:
    """Show the frame; True when the user pressed q or Esc."""
    cv2.imshow("edge-digits", frame)
    return (cv2.waitKey(1) & 0xFF) in (ord("q"), 27)


def open_frames(source: int | str | os.PathLike, connect_timeout: float = 10.0, reconnect: float = 30.0,
                realtime: bool = False):
    """The frames of a camera index, /dev/videoN, a stream URL (rtsp://, http(s)://), or a file/folder."""
    from .stream import is_device, is_url, network_source

    if isinstance(source, int):
        return camera_frames(source)
    text = os.fspath(source)
    if is_url(text):
        return network_source(text, connect_timeout, reconnect)
    if is_device(text):
        return camera_frames(text)
    return file_frames(Path(text), realtime=realtime)
