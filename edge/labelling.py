"""Label a folder of crops one key at a time; labels.csv is rewritten (atomically) after every answer.

The crops to label are those `--save-uncertain` recorded in pending.jsonl (with the model's guess
and a larger view for the person), then any other PNG directly in the folder (e.g. from
`--save-crops`). Keys: `0`-`9` label the crop, `x` marks it "not a digit", `s` skips it for this
session, `u` undoes the last answer or skip. Closing the page or the terminal loses nothing.
The web page (label_server.py) and the terminal (`label --cli`) share this one state.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from edge_digits.errors import BadInput
from edge_digits.labelled import DIGIT_LABELS, read_labels, write_labels

from .uncertain import PENDING, read_pending

KEYS = DIGIT_LABELS | {"x", "s", "u"}


@dataclass(frozen=True)
class Item:
    file: str  # the 28×28 crop, relative to the folder (what labels.csv names)
    view: str  # what the person sees: the larger crop, or the crop itself
    guess: int | None = None  # the model's label, when pending.jsonl has it
    confidence: float | None = None

    def as_dict(self) -> dict:
        return {"file": self.file, "guess": self.guess, "confidence": self.confidence}


def collect(folder: Path) -> list[Item]:
    """pending.jsonl's crops (oldest first), then the folder's other PNGs by name."""
    items, seen = [], set()
    for record in read_pending(folder):
        if not (folder / record["file"]).is_file():
            raise BadInput(f"{folder / PENDING}: {record['file']} is missing")
        view = record.get("view")
        view = view if isinstance(view, str) and (folder / view).is_file() else record["file"]
        items.append(Item(record["file"], view, record.get("label"), record.get("confidence")))
        seen.add(record["file"])
    for path in sorted(folder.glob("*.png")):
        if path.name not in seen and not path.name.startswith("."):
            items.append(Item(path.name, path.name))
    return items


class Labeller:
    """The crops of one folder, their labels, and the undo history; thread-safe."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise BadInput(f"{self.folder}: not a folder")
        self.labels: dict[str, str] = dict(read_labels(self.folder))
        self.items = collect(self.folder)
        if not self.items:
            raise BadInput(f"{self.folder}: no crops to label (no {PENDING} and no .png files)")
        self.by_file = {item.file: item for item in self.items}
        self.skipped: set[str] = set()
        self.history: list[tuple[str, str]] = []  # (file, "label" | "skip"), newest last
        self._lock = threading.Lock()

    def current(self) -> Item | None:
        """The first crop neither labelled nor skipped (None when all are)."""
        return next((i for i in self.items if i.file not in self.labels and i.file not in self.skipped), None)

    def press(self, key: str) -> dict:
        """Apply one key to the current crop; returns the new state. BadInput for a key that means nothing."""
        key = key.strip().lower()
        if key not in KEYS:
            raise BadInput(f"key {key!r}: use 0-9, x (not a digit), s (skip) or u (undo)")
        with self._lock:
            if key == "u":
                self._undo()
            else:
                item = self.current()
                if item is not None:
                    if key == "s":
                        self.skipped.add(item.file)
                        self.history.append((item.file, "skip"))
                    else:
                        self.labels[item.file] = key
                        self.history.append((item.file, "label"))
                        self._save()
            return self._state()

    def _undo(self) -> None:
        if not self.history:
            return
        file, action = self.history.pop()
        if action == "skip":
            self.skipped.discard(file)
        else:
            del self.labels[file]
            self._save()

    def _save(self) -> None:
        write_labels(self.folder, list(self.labels.items()))

    def state(self) -> dict:
        with self._lock:
            return self._state()

    def _state(self) -> dict:
        item = self.current()
        files = self.by_file.keys()
        return {
            "current": item.as_dict() if item else None,
            "total": len(self.items),
            "labelled": sum(f in self.labels for f in files),
            "skipped": len(self.skipped),
            "can_undo": bool(self.history),
        }

    def progress(self) -> str:
        state = self.state()
        return f"{state['labelled']}/{state['total']} labelled, {state['skipped']} skipped"
