"""Read the digits in a frame or an image file: preprocess, classify, report.

This is what `classify` and `capture` share. Only numpy, OpenCV and the TFLite runtime.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from edge_digits.atomic import atomic_path
from edge_digits.errors import BadInput

from .preprocess import DigitCrop, find_digits
from .runtime import Classifier

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"}
MIN_SIDE = 8  # pixels: anything smaller cannot hold a readable digit


@dataclass
class Digit:
    label: int
    confidence: float
    box: tuple[int, int, int, int]
    uncertain: bool = False

    def as_dict(self) -> dict:
        out = {"label": self.label, "confidence": round(self.confidence, 4), "box": list(self.box)}
        if self.uncertain:
            out["uncertain"] = True
        return out


@dataclass
class Reading:
    """The digits found in one image, left to right."""

    source: str
    digits: list[Digit] = field(default_factory=list)
    crops: list[DigitCrop] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(str(d.label) for d in self.digits)

    def as_dict(self) -> dict:
        return {"source": self.source, "text": self.text, "digits": [d.as_dict() for d in self.digits]}

    def line(self) -> str:
        """`photo.jpg: 407  (0.99 0.98 0.99)`; uncertain digits get a `?`."""
        if not self.digits:
            return f"{self.source}: (no digits found)"
        confidences = " ".join(f"{d.confidence:.2f}{'?' if d.uncertain else ''}" for d in self.digits)
        return f"{self.source}: {self.text}  ({confidences})"


def read_frame(frame: np.ndarray, classifier: Classifier, source: str = "",
               roi: tuple[int, int, int, int] | None = None, min_confidence: float = 0.0) -> Reading:
    """Find every digit in a frame and classify them in one go."""
    crops = find_digits(frame, roi=roi)
    reading = Reading(source, crops=crops)
    if not crops:
        return reading
    probs = classifier.probabilities(np.stack([c.image for c in crops]))
    for crop, p in zip(crops, probs):
        label = int(p.argmax())
        confidence = float(p[label])
        reading.digits.append(Digit(label, confidence, tuple(int(v) for v in crop.box),
                                    uncertain=confidence < min_confidence))
    return reading


def load_image(path: str | os.PathLike) -> np.ndarray:
    """An image file as 8-bit BGR; BadInput for empty, unreadable, corrupt or tiny files.

    16-bit images are scaled to 8 bits and alpha is composited over white paper, so a
    transparent PNG of dark ink reads like ink on paper.
    """
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise BadInput(f"{path}: empty file")
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise BadInput(f"{path}: not a readable image (unknown format or corrupt)")
    if image.shape[0] < MIN_SIDE or image.shape[1] < MIN_SIDE:
        raise BadInput(f"{path}: image is {image.shape[1]}x{image.shape[0]}, too small to hold a digit")
    if image.dtype != np.uint8:
        top = float(np.iinfo(image.dtype).max) if image.dtype.kind in "ui" else float(image.max() or 1)
        image = np.clip(image.astype(np.float32) * (255.0 / top), 0, 255).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        image = (image[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return image


def image_files(paths: list[str | os.PathLike]) -> list[Path]:
    """Files to read: the given files, and the files directly inside the given folders (sorted).

    Subfolders are not searched (pass them too, or a shell glob); a folder with no files in it
    is a BadInput, so an empty folder never passes as a successful run that read nothing.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            entries = [f for f in p.iterdir() if not f.name.startswith(".")]
            files = sorted(f for f in entries if f.is_file())
            if not files:
                note = " (only subfolders, which are not searched)" if entries else " (empty folder)"
                raise BadInput(f"{p}: no image files{note}")
            out.extend(files)
        else:
            out.append(p)
    return out


def crop_stems(files: list[Path]) -> dict[Path, str]:
    """A distinct file-name stem per image for `--save-crops`, so no crop overwrites another.

    The stem is the image's path below the folder all the images share, with `/` as `_`
    (`a/photo1.jpg` and `b/photo1.jpg` give `a_photo1` and `b_photo1`); names that still
    collide (`x.jpg` and `x.png`) get `-2`, `-3`, ...
    """
    resolved = [f.resolve() for f in files]
    common = Path(os.path.commonpath([r.parent for r in resolved])) if resolved else Path("/")
    stems: dict[Path, str] = {}
    used: set[str] = set()
    for path, full in zip(files, resolved):
        if path in stems:
            continue
        stem = "_".join(full.relative_to(common).with_suffix("").parts) or "frame"
        name, n = stem, 1
        while name in used:
            n += 1
            name = f"{stem}-{n}"
        used.add(name)
        stems[path] = name
    return stems


def save_crops(reading: Reading, folder: str | os.PathLike, stem: str | None = None) -> list[Path]:
    """Write the 28×28 model inputs as `<stem>_<i>_<label>.png` for inspection (stem: see crop_stems)."""
    folder = Path(folder)
    stem = stem or Path(reading.source).stem or "frame"
    written = []
    for i, (crop, digit) in enumerate(zip(reading.crops, reading.digits)):
        target = folder / f"{stem}_{i}_{digit.label}.png"
        with atomic_path(target) as tmp:
            cv2.imwrite(str(tmp), crop.image)
        written.append(target)
    return written
