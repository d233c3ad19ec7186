"""The capture loop: frames from a camera, a video or an image folder → digits, overlay, output.

It stops cleanly on end of input, `q`/Esc in the window, Ctrl-C or SIGTERM: the video is
finalised and every JSON line printed. A camera that stops delivering frames is retried
briefly, then reported (exit 3).
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from edge_digits.atomic import atomic_path
from edge_digits.errors import BadInput, DeviceUnavailable

from .overlay import draw_reading
from .reader import IMAGE_SUFFIXES, image_files, load_image, read_frame
from .runtime import Classifier

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


def camera_frames(index: int) -> Iterator[np.ndarray]:
    """Frames from camera `index`; DeviceUnavailable if it cannot be opened or stops sending."""
    _quiet_opencv()
    cap = open_camera(index)
    if not cap.isOpened():
        cap.release()
        raise DeviceUnavailable(f"camera {index} could not be opened")
    try:
        while True:
            for _ in range(RETRIES):
                ok, frame = cap.read()
                if ok and frame is not None:
                    break
                time.sleep(RETRY_WAIT_S)
            else:
                raise _StreamLost(f"camera {index} stopped delivering frames")
            yield frame
    finally:
        cap.release()


def open_camera(index: int) -> cv2.VideoCapture:
    """The OpenCV capture for a camera index (its own function so tests can stand in a camera)."""
    return cv2.VideoCapture(index)


def _quiet_opencv() -> None:
    """OpenCV logs several V4L2 warnings for a missing camera; our one-line error says it all."""
    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    except AttributeError:
        pass


class _StreamLost(Exception):
    pass


class _EndedEarly(Exception):
    """A video file that ends before the frame count its header announces (truncated or damaged)."""

    def __init__(self, read: int, announced: int):
        super().__init__(f"end of input: the file ended early, {read} of {announced} announced frames read")
        self.read, self.announced = read, announced


def file_frames(source: Path) -> Iterator[np.ndarray]:
    """Frames from a video file, one image file, or a folder of images (sorted by name)."""
    if not source.exists():
        raise BadInput(f"{source}: no such file or folder")
    if source.is_dir() or source.suffix.lower() in IMAGE_SUFFIXES:
        files = image_files([source]) if source.is_dir() else [source]
        images = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
        if not images:
            raise BadInput(f"{source}: no image files")
        for path in images:
            yield load_image(path)
        return
    cap = cv2.VideoCapture(str(source))
    if not cap.isOpened():
        cap.release()
        raise BadInput(f"{source}: not a readable video or image")
    announced, read = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                if read < announced:
                    raise _EndedEarly(read, announced)
                return
            read += 1
            yield frame
    finally:
        cap.release()


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


def run_capture(
    frames: Iterator[np.ndarray],
    classifier: Classifier,
    emit: Callable[[str], None],
    save: Path | None = None,
    json_lines: bool = False,
    max_frames: int | None = None,
    smooth: int = 1,
    roi: tuple[int, int, int, int] | None = None,
    min_confidence: float = 0.0,
    show: bool = False,
    fps_out: float = 30.0,
) -> CaptureSummary:
    """Read every frame, annotate it, write/print/show it; returns the summary."""
    summary = CaptureSummary()
    stop = _Stop()
    history: deque[str] = deque(maxlen=max(1, smooth))
    previous = signal.signal(signal.SIGTERM, stop) if _main_thread() else None
    fps = None
    with ExitStack() as stack:
        writer = None
        try:
            for frame in frames:
                start = time.perf_counter()
                reading = read_frame(frame, classifier, roi=roi, min_confidence=min_confidence)
                ms = (time.perf_counter() - start) * 1000
                summary.ms.append(ms)
                summary.frames += 1
                summary.digits += len(reading.digits)
                history.append(reading.text)
                stable = stable_text(history) if smooth > 1 else None
                fps = 1000 / ms if fps is None else 0.9 * fps + 0.1 * 1000 / max(ms, 1e-3)
                if json_lines:
                    record = {**reading.as_dict(), "source": f"frame {summary.frames - 1}",
                              "frame": summary.frames - 1, "ms": round(ms, 3)}
                    if stable is not None:
                        record["stable"] = stable
                    emit(json.dumps(record))
                if save is not None or show:
                    annotated = draw_reading(frame.copy(), reading, fps, stable)
                    if save is not None:
                        if writer is None:
                            tmp = stack.enter_context(atomic_path(save))
                            h, w = annotated.shape[:2]
                            writer = cv2.VideoWriter(str(tmp), _fourcc(save), fps_out, (w, h))
                            if not writer.isOpened():
                                raise BadInput(f"{save}: cannot write a video here (use .avi or .mp4)")
                            stack.callback(writer.release)
                        writer.write(annotated)
                    if show and _show(annotated):
                        summary.stopped_by = "q/Esc"
                        break
                if stop.reason:
                    summary.stopped_by = stop.reason
                    break
                if max_frames is not None and summary.frames >= max_frames:
                    summary.stopped_by = "--max-frames"
                    break
        except KeyboardInterrupt:
            summary.stopped_by = "Ctrl-C"
        except _StreamLost as lost:
            summary.stopped_by = str(lost)
            summary.lost_stream = True
        except _EndedEarly as early:
            summary.stopped_by, summary.frames_announced = str(early), early.announced
            if json_lines:
                emit(json.dumps({"ended_early": True, "frames_read": early.read, "frames_announced": early.announced}))
        finally:
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
