"""The Python API: `DigitReader(model).read(image)` and `.stream(source)`, as whisper's `load_model().transcribe()`.

    from edge_digits import DigitReader
    reader = DigitReader()                      # the shipped int8 model, LiteRT, one thread
    reading = reader.read("photo.jpg")          # or a BGR / grey numpy array
    reading.text, reading.digits[0].confidence, reading.digits[0].box
    for reading in reader.stream("rtsp://cam/stream"):   # a camera index, a URL, a video, a folder
        print(reading.text)

A reading is what `classify --json` prints (`reading.as_dict()` is that object). Only numpy,
OpenCV and a TFLite runtime: it runs on a device that installed `.[edge]` alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from edge_digits.errors import BadInput
from edge_digits.paths import default_model

from .reader import Reading, load_image, read_any_way_up
from .runtime import Classifier


def open_classifier(model: str | os.PathLike | None = None, runtime: str | None = None,
                    threads: int = 1) -> Classifier:
    """The classifier for `model`, or for the shipped int8 model; BadInput when there is none."""
    if model is None:
        model = default_model()
        if model is None:
            raise BadInput("no model given and no shipped model installed: pass --model FILE.tflite")
    return Classifier(model, runtime=runtime, threads=threads)


class DigitReader:
    """Reads handwritten digits in images and frames with one loaded model."""

    def __init__(self, model: str | os.PathLike | None = None, runtime: str | None = None, threads: int = 1,
                 min_confidence: float = 0.0, roi: tuple[int, int, int, int] | None = None) -> None:
        self.classifier = open_classifier(model, runtime, threads)
        self.min_confidence = min_confidence
        self.roi = roi

    @property
    def warnings(self) -> list[str]:
        """What the model check had to say (e.g. a model missing from its manifest)."""
        return list(self.classifier.warnings)

    def read(self, image: str | os.PathLike | np.ndarray, source: str | None = None) -> Reading:
        """Every digit in an image file or array (BGR, BGRA or grey), left to right; a picture
        stored sideways is read turned upright (read_any_way_up)."""
        if isinstance(image, (str, os.PathLike)):
            source = source if source is not None else str(image)
            image = load_image(image)
        return read_any_way_up(np.asarray(image), self.classifier, source or "", self.roi, self.min_confidence)

    def stream(self, source: int | str | os.PathLike, max_frames: int | None = None,
               connect_timeout: float = 10.0, reconnect: float = 30.0) -> Iterator[Reading]:
        """Readings of the frames of a camera index, /dev/videoN, an rtsp:// or http(s):// stream, a video
        file or an image folder, as they come (live sources: always the newest frame)."""
        from .capture import open_frames
        from .stream import redact

        frames = open_frames(source, connect_timeout, reconnect)
        name = f"camera {source}" if isinstance(source, int) else redact(os.fspath(source))  # no URL credentials
        try:
            n = 0
            for frame in frames:
                if frame is None:  # a live source with no new frame yet
                    continue
                yield self.read(frame, source=name)
                n += 1
                if max_frames is not None and n >= max_frames:
                    return
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()


__all__ = ["DigitReader", "Reading", "open_classifier"]
