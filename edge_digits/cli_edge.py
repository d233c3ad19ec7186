"""`classify` and `capture`: the commands that run on the device (no TensorFlow imported)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from edge_digits.errors import BadInput, DeviceUnavailable
from edge_digits.formats import RUNTIMES

# FFmpeg's own lines for a damaged video ("[mjpeg @ 0x…] overread 8"): the summary says what happened.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET; read when OpenCV opens FFmpeg

PATH = click.Path(path_type=Path)


def parse_roi(_ctx, _param, value: str | None) -> tuple[int, int, int, int] | None:
    if value is None:
        return None
    try:
        x, y, w, h = (int(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter("expected x,y,w,h (four integers)") from None
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise click.BadParameter("x,y must be ≥ 0 and w,h > 0")
    return x, y, w, h


def model_options(command):
    """--model, --runtime and --threads, shared by classify and capture."""
    command = click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True)(command)
    command = click.option("--runtime", type=click.Choice(RUNTIMES),
                           help="Force a TFLite runtime (default: the first installed, in this order).")(command)
    command = click.option("--model", "model_path", type=PATH,
                           help="A .tflite model (default: the shipped int8 model).")(command)
    return command


def reading_options(command):
    command = click.option("--min-confidence", type=click.FloatRange(0, 1), default=0.0, show_default=True,
                           help="Mark digits below this confidence as uncertain (shown with '?').")(command)
    command = click.option("--roi", callback=parse_roi, metavar="X,Y,W,H",
                           help="Only look for digits inside this rectangle.")(command)
    return command


def uncertain_options(command):
    """--save-uncertain and --max-saved, shared by classify and capture (the labelling loop starts here)."""
    command = click.option("--max-saved", type=click.IntRange(min=1), default=1000, show_default=True,
                           help="Keep at most N unlabelled uncertain digits; the oldest are dropped first.")(command)
    command = click.option("--save-uncertain", type=PATH, metavar="DIR",
                           help="Save every digit under --min-confidence (28x28 input, a larger crop, "
                                "pending.jsonl) for `edge-digits label DIR`.")(command)
    return command


def uncertain_store(folder: Path | None, max_saved: int, min_confidence: float, classifier):
    """The store --save-uncertain writes to (None without it)."""
    if folder is None:
        return None
    if min_confidence <= 0:
        raise BadInput("--save-uncertain needs --min-confidence (e.g. 0.9): digits below it are saved")
    from edge_digits.edge.runtime import sha256_of
    from edge_digits.edge.uncertain import UncertainStore

    return UncertainStore(folder, max_saved, sha256_of(classifier.path))


def open_classifier(model_path: Path | None, runtime: str | None, threads: int):
    """The model's classifier (the shipped one by default), with its warnings printed."""
    from edge_digits.edge.digit_reader import open_classifier as classifier_for

    classifier = classifier_for(model_path, runtime, threads)
    for warning in classifier.warnings:
        click.echo(f"Warning: {warning}", err=True)
    return classifier


@click.command()
@click.argument("paths", nargs=-1, required=True, type=PATH)
@model_options
@reading_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per image (see README).")
@click.option("--save-crops", type=PATH, help="Write each digit's 28×28 model input here.")
@uncertain_options
def classify(paths, model_path, runtime, threads, roi, min_confidence, as_json, save_crops, save_uncertain,
             max_saved) -> None:
    """Read the digits in images and folders of images (not their subfolders), left to right
    (a picture stored sideways is read turned upright, see read_any_way_up)."""
    from edge_digits.edge.reader import crop_stems, image_files, load_image, read_any_way_up
    from edge_digits.edge.reader import save_crops as write_crops

    classifier = open_classifier(model_path, runtime, threads)
    store = uncertain_store(save_uncertain, max_saved, min_confidence, classifier)
    failures, files = 0, []
    for path in paths:
        try:
            files.extend(image_files([path]))
        except BadInput as error:  # an empty folder: said, counted, the other arguments still read
            failures += 1
            click.echo(f"Error: {error.message}", err=True)
    stems = crop_stems(files) if save_crops else {}
    for path in files:
        try:
            image = load_image(path)
            reading = read_any_way_up(image, classifier, str(path), roi, min_confidence)
        except BadInput as error:
            failures += 1
            click.echo(f"Error: {error.message}", err=True)
            continue
        click.echo(json.dumps(reading.as_dict()) if as_json else reading.line())
        if save_crops:
            write_crops(reading, save_crops, stems[path])
        if store:
            store.keep(reading, image, str(path))
    if store:
        click.echo(store.summary(), err=True)
    if failures:
        raise SystemExit(2)


def stream_options(command):
    """--connect-timeout, --reconnect (network sources) and --serve, --token, --realtime (preview)."""
    for option in reversed([
        click.option("--connect-timeout", type=click.FloatRange(min=0), default=10.0, show_default=True,
                     help="Seconds to keep trying to open a stream URL (exit 3 after)."),
        click.option("--reconnect", type=click.FloatRange(min=0), default=30.0, show_default=True,
                     help="Seconds to keep reconnecting a stream that dropped (0: stop at once, exit 3)."),
        click.option("--serve", metavar="[HOST:]PORT",
                     help="Serve a live preview page, MJPEG stream and JSON API (host 127.0.0.1 by default)."),
        click.option("--token", help="Token the preview asks for (generated and printed once when a "
                                     "non-loopback host is served without one)."),
        click.option("--realtime", is_flag=True, help="Play a file source at its frame rate (for watching)."),
    ]):
        command = option(command)
    return command


@click.command()
@click.option("--camera", type=click.IntRange(min=0), help="Camera index (e.g. 0).")
@click.option("--source", help="A video file, an image, a folder of images, /dev/videoN, or a stream URL "
                               "(rtsp://, rtsps://, http(s):// MJPEG...).")
@model_options
@reading_options
@click.option("--save", type=PATH, help="Write the annotated video here (.avi MJPG or .mp4 mp4v).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per frame (see README).")
@click.option("--max-frames", type=click.IntRange(min=1), help="Stop after N frames.")
@click.option("--smooth", type=click.IntRange(min=1), default=1, show_default=True,
              help="Vote over the last K frames to steady the reading.")
@click.option("--show/--headless", default=None,
              help="Show a window (default: when OpenCV has GUI support and a display exists).")
@stream_options
@uncertain_options
def capture(camera, source, model_path, runtime, threads, roi, min_confidence, save, as_json, max_frames,
            smooth, show, connect_timeout, reconnect, serve, token, realtime, save_uncertain, max_saved) -> None:
    """Read digits live from a camera, a stream, a video or an image folder; draw, save or serve them."""
    from edge_digits.edge.capture import CaptureOptions, gui_available, run_capture

    if (camera is None) == (source is None):
        raise BadInput("give exactly one of --camera N or --source FILE_FOLDER_OR_URL")
    if save is not None and save.suffix.lower() not in (".avi", ".mp4"):
        raise BadInput(f"{save}: --save needs a .avi or .mp4 file name")
    if token is not None and not serve:
        raise BadInput("--token only applies with --serve")
    classifier = open_classifier(model_path, runtime, threads)
    store = uncertain_store(save_uncertain, max_saved, min_confidence, classifier)
    show = gui_available() if show is None else show
    preview = start_preview(serve, token) if serve else None  # reachable while a stream connects
    try:
        frames = open_frames(camera, source, connect_timeout, reconnect, realtime)
        name = getattr(frames, "name", None) or (source if source is not None else f"camera {camera}")
        keep = (lambda frame, reading, index: store.keep(reading, frame, name, index)) if store else None
        options = CaptureOptions(save=save, json_lines=as_json, max_frames=max_frames, smooth=smooth, roi=roi,
                                 min_confidence=min_confidence, show=show)
        summary = run_capture(frames, classifier, lambda line: click.echo(line), options,
                              publish=preview.publish if preview else None, keep=keep)
    finally:
        if preview is not None:
            preview.stop()
    sys.stdout.flush()
    counts = getattr(frames, "counts", None)
    click.echo(summary.line() + (counts() if counts else ""), err=True)
    if store:
        click.echo(store.summary(), err=True)
    if summary.lost_stream:
        raise DeviceUnavailable(summary.stopped_by)


# ---------------------------------------------------------------- network sources and the live preview
def open_frames(camera: int | None, source: str | None, connect_timeout: float, reconnect: float,
                realtime: bool):
    """The frames of --camera N or --source; a stream's (redacted) name is said first."""
    from edge_digits.edge.capture import open_frames as frames_of
    from edge_digits.edge.stream import is_url

    frames = frames_of(camera if camera is not None else source, connect_timeout, reconnect, realtime)
    if source is not None and is_url(source):
        click.echo(f"reading {frames.name}", err=True)
    return frames


def start_preview(serve: str, token: str | None):
    from edge_digits.edge.serve import PreviewServer, parse_address

    preview = PreviewServer(*parse_address(serve), token=token).start()
    announce("preview", preview)
    return preview


def announce(what: str, server) -> None:
    """`preview: URL` on stderr; a generated token is shown once, a chosen one never."""
    if server.generated_token:
        click.echo(f"{what}: {server.url}  (token generated for this run; pass --token to choose one)", err=True)
    else:
        shown = server.url.split("?")[0] + ("?token=<your --token>" if server.token else "")
        click.echo(f"{what}: {shown}", err=True)


# ---------------------------------------------------------------- label: the crops kept by --save-uncertain
@click.command()
@click.argument("folder", type=PATH)
@click.option("--serve", "address", default="8001", show_default=True, metavar="[HOST:]PORT",
              help="Where the labelling page listens (host 127.0.0.1 unless given; other hosts need a token).")
@click.option("--token", help="Token the page asks for (generated and printed once for a non-loopback host).")
@click.option("--cli", "in_terminal", is_flag=True, help="Label in the terminal instead (one key per line).")
def label(folder, address, token, in_terminal) -> None:
    """Label the crops in FOLDER one at a time: 0-9, x (not a digit), s (skip), u (undo).

    FOLDER/labels.csv is rewritten after every answer; `train --extra-data FOLDER` reads it.
    """
    from edge_digits.edge.labelling import Labeller

    labeller = Labeller(folder)
    try:
        if in_terminal:
            label_in_terminal(labeller)
        else:
            serve_labels(labeller, address, token)
    finally:  # Ctrl-C and SIGTERM too: every answer is already on disk
        click.echo(f"{labeller.progress()}: {labeller.folder / 'labels.csv'}", err=True)


def serve_labels(labeller, address: str, token: str | None) -> None:
    """Serve the page until Ctrl-C or SIGTERM (every answer is already saved)."""
    import time

    from edge_digits.edge.label_server import LabelServer
    from edge_digits.edge.serve import parse_address

    server = LabelServer(labeller, *parse_address(address), token=token).start()
    announce("label", server)
    click.echo(f"{labeller.progress()}; Ctrl-C to stop", err=True)
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def as_text(image) -> str:
    """A 28×28 crop in characters, two pixel rows per line (white ink shows dense)."""
    shades = " .:-=+*#%@"
    rows = (image[0::2].astype(int) + image[1::2]) // 2
    return "\n".join("".join(shades[v * len(shades) // 256] for v in row).rstrip() for row in rows)


def label_in_terminal(labeller) -> None:
    """One crop at a time: its picture in characters, the model's guess, a key per line (q or EOF stops)."""
    import cv2

    stdin = sys.stdin  # (CliRunner swaps it in tests)
    while (item := labeller.current()) is not None:
        image = cv2.imread(str(labeller.folder / item.file), cv2.IMREAD_GRAYSCALE)
        if image is not None:
            click.echo(as_text(image))
        guess = "-" if item.guess is None else str(item.guess)
        if item.confidence is not None:
            guess += f" ({item.confidence:.2f})"
        click.echo(f"[{labeller.progress()}] {item.file}  model: {guess}  key (0-9 x s u, q quits): ", nl=False)
        line = stdin.readline()
        if not line or line.strip().lower() == "q":
            click.echo()
            return
        try:
            labeller.press(line)
        except BadInput as error:
            click.echo(error.message)
