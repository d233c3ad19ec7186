"""What a live-preview viewer costs the capture: frames/s with `--serve` and none or one viewer.

The capture loop runs here (as `capture --serve` does, with the server's threads in the same
process); the viewer is another process reading /stream.mjpg as fast as it can, as a browser
would. Trials alternate (plain, served, served + viewer) so drifts in machine load hit all three;
medians are reported.

Three clocks: the wall clock (what a user sees, noisy on a shared machine), the capture thread's
CPU time (frames/s the loop itself sustains: the viewer slows it only through locks and caches),
and the process's CPU time (everything the viewer costs the device, JPEG encoding included).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import click
import cv2

from edge_digits.data import Digits
from edge_digits.paths import default_model

_VIEWER = """
import http.client, signal, sys
parts, tail = 0, b""
def done(*_):
    print(parts, flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
conn.request("GET", "/stream.mjpg")
response = conn.getresponse()
while chunk := response.read1(65536):
    parts += (tail + chunk).count(b"--frame\\r\\n")
    tail = chunk[-8:]
"""


def _capture_fps(video: Path, classifier, publish) -> tuple[float, float, float]:
    """Frames/s by the wall clock, by the capture thread's CPU time, and by the whole process's CPU time."""
    from edge_digits.edge.capture import file_frames, run_capture

    wall, thread, process = time.perf_counter(), time.thread_time(), time.process_time()
    summary = run_capture(file_frames(video), classifier, lambda _line: None, publish=publish)
    return (summary.frames / (time.perf_counter() - wall), summary.frames / (time.thread_time() - thread),
            summary.frames / (time.process_time() - process))


def preview_fps(model: Path, test: Digits, frames: int, seed: int, work_dir: Path, trials: int = 9) -> dict:
    """Median capture frames/s at 640×480, one thread: without --serve, served, served with one viewer."""
    from edge_digits.edge.runtime import Classifier
    from edge_digits.edge.serve import PreviewServer

    from .suite import pipeline_video

    video = pipeline_video(test, frames, seed, work_dir / "preview.avi")
    classifier = Classifier(model, threads=1)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    fps: dict[str, list[tuple[float, float, float]]] = {"plain": [], "served": [], "viewer": []}
    received: list[int] = []  # JPEG parts the viewer got per trial: proof it was watching
    try:
        with PreviewServer("127.0.0.1", 0) as server:
            for trial in range(trials):
                for name in _rotated(list(fps), trial):
                    if name == "viewer":
                        with _Viewer(server) as viewer:
                            fps[name].append(_capture_fps(video, classifier, server.publish))
                        received.append(viewer.parts)
                    else:
                        fps[name].append(_capture_fps(video, classifier, server.publish if name == "served" else None))
    finally:
        cv2.setNumThreads(threads)
    out = {"model": model.name, "frames": frames, "frame_size": [640, 480], "threads": 1, "trials": trials,
           "viewer_parts_median": statistics.median(received)}
    for i, clock in enumerate(("wall", "thread_cpu", "process_cpu")):
        median = {name: round(statistics.median(v[i] for v in values), 1) for name, values in fps.items()}
        out[clock] = {**{f"fps_{name}": value for name, value in median.items()},
                      "viewer_ratio": round(median["viewer"] / median["served"], 3)}
    return out


def _rotated(names: list[str], shift: int) -> list[str]:
    """Each trial starts with the next variant, so none always runs first (or last)."""
    shift %= len(names)
    return names[shift:] + names[:shift]


class _Viewer:
    """A viewer process connected to /stream.mjpg for the duration of the `with` block."""

    def __init__(self, server) -> None:
        self.server = server

    def __enter__(self) -> _Viewer:
        self.proc = subprocess.Popen([sys.executable, "-c", _VIEWER, str(self.server.port)],
                                     stdout=subprocess.PIPE, text=True)
        self.parts = 0
        deadline = time.monotonic() + 30
        while self.server.viewer_count() < 1:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the benchmark's viewer did not connect")
            time.sleep(0.01)
        return self

    def __exit__(self, *_exc) -> None:
        self.proc.terminate()
        self.parts = int(self.proc.communicate(timeout=30)[0] or 0)
        deadline = time.monotonic() + 10
        while self.server.viewer_count() and time.monotonic() < deadline:  # its thread has let go
            time.sleep(0.01)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=default_model, show_default=True,
              help="The .tflite model (default: the shipped int8 model).")
@click.option("--frames", type=click.IntRange(min=1), default=150, show_default=True)
@click.option("--trials", type=click.IntRange(min=1), default=9, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
def main(model_path: Path, frames: int, trials: int, seed: int) -> None:
    """Frames per second of the live preview's stream, with and without a viewer, as JSON."""
    import json
    import tempfile

    from edge_digits.data import load_mnist

    with tempfile.TemporaryDirectory() as work:
        result = preview_fps(model_path, load_mnist("test"), frames, seed, Path(work), trials)
    click.echo(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
