"""`--save-uncertain DIR`: keep the digits the model was unsure of, so a person can label them.

Each digit under `--min-confidence` becomes three things in DIR:
- `<id>.png`: its 28×28 model input (white ink on black, as `--save-crops` writes it), the crop
  that labels.csv names and `train --extra-data` learns from;
- `view/<id>.png`: a larger grey crop of the frame around the digit, for the person labelling;
- a line of `pending.jsonl`: source, frame, box, the model's guess, its ten probabilities, the
  model's sha256 and both file names.

Ids are `<UTC time>-<random>-<n>`, unique across runs. A camera sees one digit frame after frame:
capture does not save a digit again where it saved one in the last 30 frames. Beyond `max_saved`
unlabelled crops the oldest are dropped (their files and lines); crops labels.csv already names
are the user's work and are kept. Every file is written atomically; pending.jsonl is rewritten
as a whole.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

import cv2
import numpy as np

from edge_digits.atomic import atomic_path, write_text
from edge_digits.errors import BadInput
from edge_digits.labelled import LABELS

from .reader import Reading

PENDING = "pending.jsonl"
VIEWS = "view"
VIEW_HEIGHT = 128  # px: the human's crop, whatever the digit's size in the frame
CONTEXT = 0.5  # of the digit's larger side, added on every side of the human's crop
REPEAT_FRAMES = 30  # capture: a digit where one was saved this many frames ago or less is the same digit


def view_crop(frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The frame around `box` (with some context), grey, VIEW_HEIGHT px tall."""
    grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    x, y, w, h = box
    pad = int(round(CONTEXT * max(w, h)))
    x0, y0 = max(0, x - pad), max(0, y - pad)
    x1, y1 = min(grey.shape[1], x + w + pad), min(grey.shape[0], y + h + pad)
    region = grey[y0:y1, x0:x1]
    scale = VIEW_HEIGHT / region.shape[0]
    size = (max(1, round(region.shape[1] * scale)), VIEW_HEIGHT)
    return cv2.resize(region, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def _same_place(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Two boxes of one digit seen twice: centres within a third of the height, heights within 30%."""
    (ax, ay, aw, ah), (bx, by, bw, bh) = a, b
    near = abs((ax + aw / 2) - (bx + bw / 2)) + abs((ay + ah / 2) - (by + bh / 2)) <= max(ah, bh) / 3
    return near and min(ah, bh) >= 0.7 * max(ah, bh)


def read_pending(folder: str | os.PathLike) -> list[dict]:
    """pending.jsonl's records, oldest first (none when there is no file)."""
    path = Path(folder) / PENDING
    if not path.is_file():
        return []
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise BadInput(f"{path}: line {n}: not a JSON object") from None
        if not isinstance(record, dict) or not isinstance(record.get("file"), str):
            raise BadInput(f"{path}: line {n}: a record needs a \"file\"")
        records.append(record)
    return records


def _labelled(folder: Path) -> set[str]:
    """The files labels.csv names (read leniently: the labeller validates it)."""
    path = folder / LABELS
    if not path.is_file():
        return set()
    lines = path.read_text(encoding="utf-8-sig").splitlines()[1:]
    return {line.split(",", 1)[0].strip() for line in lines if line.strip()}


class UncertainStore:
    """Saves a reading's uncertain digits into one folder, bounded to `max_saved` unlabelled crops."""

    def __init__(self, folder: str | os.PathLike, max_saved: int = 1000, model_sha256: str = "") -> None:
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise BadInput(f"--save-uncertain {self.folder}: exists and is not a folder")
        self.max_saved = max_saved
        self.model_sha256 = model_sha256
        self.run = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)
        self.count = 0  # saved by this run
        self.dropped = 0  # dropped by this run, to stay under max_saved
        self._recent: list[tuple[int, tuple[int, int, int, int]]] = []  # (frame, box) saved lately

    def keep(self, reading: Reading, frame: np.ndarray, source: str, frame_index: int | None = None) -> list[dict]:
        """Save every uncertain digit of `reading` (found in `frame`); returns their pending records."""
        records = []
        if frame_index is not None:
            self._recent = [(f, b) for f, b in self._recent if frame_index - f < REPEAT_FRAMES]
        for crop, digit in zip(reading.crops, reading.digits):
            if not digit.uncertain or self._seen(digit.box, frame_index):
                continue
            name = f"{self.run}-{self.count:06d}"
            self.count += 1
            record = {
                "file": f"{name}.png", "view": f"{VIEWS}/{name}.png", "source": source, "frame": frame_index,
                "box": list(digit.box), "label": digit.label, "confidence": round(digit.confidence, 4),
                "probabilities": [round(float(p), 4) for p in digit.probs] if digit.probs is not None else None,
                "model_sha256": self.model_sha256,
            }
            self._write_png(self.folder / record["file"], crop.image)
            self._write_png(self.folder / record["view"], view_crop(frame, digit.box))
            records.append(record)
        if records:
            self._add(records)
        return records

    def _seen(self, box: tuple[int, int, int, int], frame_index: int | None) -> bool:
        """True for a video frame's digit saved lately at the same place; else remember it."""
        if frame_index is None:
            return False
        if any(_same_place(box, b) for _, b in self._recent):
            return True
        self._recent.append((frame_index, box))
        return False

    @staticmethod
    def _write_png(path: Path, image: np.ndarray) -> None:
        with atomic_path(path) as tmp:
            if not cv2.imwrite(str(tmp), image):
                raise BadInput(f"cannot write {path}")

    def _add(self, records: list[dict]) -> None:
        """Append to pending.jsonl; then drop the oldest unlabelled crops beyond max_saved."""
        entries = read_pending(self.folder) + records
        labelled = _labelled(self.folder)
        waiting = [e for e in entries if e["file"] not in labelled]
        drop = {e["file"] for e in waiting[: max(0, len(waiting) - self.max_saved)]}
        kept = [e for e in entries if e["file"] not in drop]
        write_text(self.folder / PENDING, "".join(json.dumps(e) + "\n" for e in kept))
        for e in entries:  # the files go after pending.jsonl stops naming them
            if e["file"] in drop:
                for name in (e["file"], e.get("view")):
                    if name:
                        (self.folder / name).unlink(missing_ok=True)
        self.dropped += len(drop)

    def summary(self) -> str:
        text = f"{self.count} uncertain digits saved to {self.folder}"
        if self.dropped:
            text += f" ({self.dropped} oldest dropped: --max-saved {self.max_saved})"
        return text
