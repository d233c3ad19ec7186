"""Soak check: 10,000 frames through `edge-digits capture`, with the process's RSS sampled.

    python -m edge_digits.benchmarks.soak [--frames 10000] [--model FILE.tflite] [--save]

A device runs `capture` for days; memory that grows a little per frame ends it. This runs the
real command in its own process on a generated 640×480 MJPG video, reads its VmRSS from
/proc at the first frame, the middle one and the last one, and fails (exit 1) when the end is
more than --max-growth MiB above the start. Linux only (/proc).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from edge_digits.errors import BadInput, CheckFailed


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
    return round(kib / 1024, 1)


def make_video(path: Path, frames: int, seed: int = 3) -> Path:
    """`frames` 640×480 frames cycling through 50 generated photographs of 1-4 digits."""
    from edge_digits.data import load_mnist
    from edge_digits.photos import make_photos, write_video

    test = load_mnist("test")
    photos = make_photos(test.images, test.labels, 50, seed=seed, digits_per_photo=(1, 4))
    write_video([photos[i % len(photos)] for i in range(frames)], str(path))
    return path


def soak(frames: int = 10_000, model: Path | None = None, save: bool = False) -> dict:
    """Run capture over `frames` frames; RSS (MiB) at the first, middle and last frame, and the summary."""
    if not Path("/proc/self/status").is_file():
        raise BadInput("the soak check reads /proc: Linux only")
    work = Path(tempfile.mkdtemp(prefix="edge-digits-soak-"))
    try:
        video = make_video(work / "soak.avi", frames)
        command = [sys.executable, "-m", "edge_digits", "capture", "--source", str(video), "--json", "--headless"]
        if model is not None:
            command += ["--model", str(model)]
        if save:
            command += ["--save", str(work / "annotated.avi")]
        # Sampled when the frame's line arrives (unbuffered), while the process works on the next
        # frame; "end" is the next-to-last frame, so the process is surely still alive.
        marks = {1: "start", (frames + 1) // 2: "middle", frames - 1: "end"}
        rss: dict[str, float] = {}
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            for count, line in enumerate(proc.stdout, 1):
                json.loads(line)  # one JSON object per frame, or this is not the stream we think
                if count in marks:
                    rss[marks[count]] = _rss_mib(proc.pid)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        seconds = time.perf_counter() - start
        if proc.returncode != 0 or len(rss) != 3:
            raise CheckFailed(f"capture ended with exit {proc.returncode} after sampling {sorted(rss)}: "
                              f"{err.strip().splitlines()[-1] if err.strip() else 'no message'}")
        return {"frames": frames, "rss_mib": rss, "growth_mib": round(rss["end"] - rss["start"], 1),
                "seconds": round(seconds, 1), "summary": err.strip().splitlines()[-1]}
    finally:
        shutil.rmtree(work, ignore_errors=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--frames", type=click.IntRange(min=3), default=10_000, show_default=True)
@click.option("--model", type=click.Path(path_type=Path), help="The .tflite model (default: the shipped int8).")
@click.option("--save", is_flag=True, help="Also write the annotated video (exercises the video writer).")
@click.option("--max-growth", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="Fail when RSS at the end is more than this many MiB above the start.")
def main(frames: int, model: Path | None, save: bool, max_growth: float) -> None:
    """10,000 frames through `capture`; RSS at the start, middle and end."""
    r = soak(frames, model, save)
    rss = r["rss_mib"]
    click.echo(f"{r['frames']:,} frames in {r['seconds']} s; RSS start {rss['start']} MiB, middle {rss['middle']} MiB, "
               f"end {rss['end']} MiB ({r['growth_mib']:+.1f} MiB)")
    click.echo(f"capture: {r['summary']}")
    if r["growth_mib"] > max_growth:
        raise CheckFailed(f"RSS grew {r['growth_mib']} MiB over {frames} frames (limit {max_growth} MiB)")


if __name__ == "__main__":
    main()
