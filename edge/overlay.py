"""Draw what was read onto the frame: boxes, labels, confidence, FPS."""

from __future__ import annotations

import cv2
import numpy as np

from .reader import Reading

GREEN, AMBER, WHITE, BLACK = (60, 200, 60), (0, 170, 255), (255, 255, 255), (0, 0, 0)


def _label(frame: np.ndarray, text: str, org: tuple[int, int], colour: tuple[int, int, int],
           scale: float = 0.6) -> None:
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x, y = org
    y = max(y, h + base)
    cv2.rectangle(frame, (x, y - h - base), (x + w, y + base // 2), colour, cv2.FILLED)
    cv2.putText(frame, text, (x, y - base // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, BLACK, 1, cv2.LINE_AA)


def draw_reading(frame: np.ndarray, reading: Reading, fps: float | None = None,
                 stable: str | None = None) -> np.ndarray:
    """Annotate `frame` in place (converted to BGR if grey) and return it."""
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    for digit in reading.digits:
        x, y, w, h = digit.box
        colour = AMBER if digit.uncertain else GREEN
        cv2.rectangle(frame, (x, y), (x + w, y + h), colour, 2)
        _label(frame, f"{digit.label} {digit.confidence:.2f}", (x, y - 4), colour)
    status = f"read: {stable if stable is not None else reading.text or '-'}"
    if fps is not None:
        status += f"   {fps:.0f} fps"
    _label(frame, status, (8, 24), WHITE, scale=0.7)
    return frame
