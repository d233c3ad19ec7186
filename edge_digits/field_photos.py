"""Photographs and scans of handwriting as the field produces them, deterministic by seed.

The first generator (`edge_digits.photos`) drew MNIST digits as ink on paper under varied light.
Real pictures differ in ways it never drew, and the preprocessing had been tuned to it.
This one draws the failure classes seen on real photos and scans (design.md, "Real
pictures"): thin pens on large digits, ruled and squared paper, underlines and boxes that
touch the digits, touching digits, tight crops, a table's cell cropped with its rules running
out of the picture, patterned backgrounds, show-through, coloured ink and pencil, punctuation
and currency signs beside numbers, scanner margins, low resolution, and digit styles MNIST
lacks (a 1 with a flag, a crossed 7, a long descender on a 4, 7 or 9), with MNIST digits
varied by elastic distortion, slant and pen width.

Each photo draws a random mix of these; `scene=` forces one class (for tests). Every random
choice comes from the seed. Develop on some seeds, report on others.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from edge_digits.edge.preprocess import normalise_digit, stroke_width
from edge_digits.labelled import NOT_A_DIGIT
from edge_digits.photos import (
    Photo,
    camera_effects,
    illumination_gain,
    ink_box,
    paste_max,
    perspective_matrix,
    smooth_noise,
    tight,
    warp_box,
)

SCENES = ("thin-large", "ruled", "squared", "underline", "boxed", "comb", "touching", "tight", "pattern",
          "show-through", "colour-ink", "pencil", "punctuation", "margin", "low-res", "styles", "cell")


@dataclass
class FieldPhoto(Photo):
    """A field photo: the image, the true text and boxes, and which failure classes it shows."""

    scenes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- one digit's shape


def _elastic(digit: np.ndarray, rng: np.random.Generator, alpha: float, sigma: float) -> np.ndarray:
    """Simard's elastic distortion of a 28×28 digit (smooth random displacement field)."""
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, digit.shape).astype(np.float32), (0, 0), sigma) * alpha
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, digit.shape).astype(np.float32), (0, 0), sigma) * alpha
    yy, xx = np.mgrid[0:digit.shape[0], 0:digit.shape[1]].astype(np.float32)
    return cv2.remap(digit, xx + dx, yy + dy, cv2.INTER_LINEAR, borderValue=0)


def _thin(mask: np.ndarray) -> np.ndarray:
    """Zhang–Suen thinning of a binary mask to a one-pixel skeleton (numpy, no contrib module)."""
    img = (mask > 0).astype(np.uint8)
    img = np.pad(img, 1)
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            p2, p3, p4 = img[:-2, 1:-1], img[:-2, 2:], img[1:-1, 2:]
            p5, p6, p7 = img[2:, 2:], img[2:, 1:-1], img[2:, :-2]
            p8, p9 = img[1:-1, :-2], img[:-2, :-2]
            ring = [p2, p3, p4, p5, p6, p7, p8, p9, p2]
            b = sum(ring[:8])
            a = sum(((ring[i] == 0) & (ring[i + 1] == 1)).astype(np.uint8) for i in range(8))
            if step == 0:
                c, d = p2 * p4 * p6, p4 * p6 * p8
            else:
                c, d = p2 * p4 * p8, p2 * p6 * p8
            core = img[1:-1, 1:-1]
            remove = (core == 1) & (b >= 2) & (b <= 6) & (a == 1) & (c == 0) & (d == 0)
            if remove.any():
                core[remove] = 0
                changed = True
    return img[1:-1, 1:-1]


def _restyle(digit: np.ndarray, label: int, rng: np.random.Generator) -> np.ndarray:
    """Styles MNIST's writers rarely used: a 1 with a long flag (and a foot), a crossed 7, a 9
    whose foot curls back to the left."""
    out = digit.copy()
    ys, xs = np.nonzero(digit > 100)
    if len(xs) == 0:
        return out
    top, bottom, left, right = ys.min(), ys.max(), xs.min(), xs.max()
    height = bottom - top + 1
    width = int(rng.uniform(1.6, 2.6))
    if label == 1:
        tx = int(xs[ys == top].mean())
        end = (int(tx - rng.uniform(0.25, 0.45) * height), int(top + rng.uniform(0.2, 0.4) * height))
        cv2.line(out, (tx, int(top)), end, 255, width, cv2.LINE_AA)
        if rng.random() < 0.4:
            bx = int(xs[ys == bottom].mean())
            half = int(rng.uniform(0.2, 0.35) * height)
            cv2.line(out, (bx - half, int(bottom)), (bx + half, int(bottom)), 255, width, cv2.LINE_AA)
    elif label == 7:
        mid = int(top + rng.uniform(0.45, 0.6) * height)
        row = xs[ys == mid]
        if len(row):
            cx = int(row.mean())
            half = int(rng.uniform(0.2, 0.3) * max(height, right - left + 1))
            cv2.line(out, (cx - half, mid), (cx + half, mid), 255, width, cv2.LINE_AA)
    elif label == 9:
        # The stem's foot curled back to the left, as many European hands end a 9.
        bx = int(xs[ys == bottom].mean())
        r = int(rng.uniform(0.2, 0.35) * height)
        lift = int(rng.uniform(0.0, 0.25) * height)
        cv2.ellipse(out, (bx - r, int(bottom) - lift), (r, lift + max(2, r // 2)), 0, 0, int(rng.uniform(100, 160)),
                    255, width, cv2.LINE_AA)
    return out


def _ink_height(digit: np.ndarray) -> int:
    ys = np.nonzero((digit > 30).any(1))[0]
    return int(ys[-1] - ys[0] + 1) if len(ys) else 0


def _with_tail(digit: np.ndarray, length: float) -> np.ndarray:
    """The digit with its stem drawn on below it, `length` × its height: the long descender many
    people give a 9, a 7 or a 4 (the loop or bar then sits in the top part of a tall digit)."""
    ys, xs = np.nonzero(digit > 100)
    if len(xs) == 0:
        return digit
    top, bottom = ys.min(), ys.max()
    height = bottom - top + 1
    # The stem's direction from the ink in the bottom third: mean x per row.
    rows = [(y, xs[ys == y].mean()) for y in range(int(bottom - height // 3), int(bottom) + 1) if (ys == y).any()]
    slope = float(np.polyfit([r[0] for r in rows], [r[1] for r in rows], 1)[0]) if len(rows) > 2 else 0.0
    slope = float(np.clip(slope, -0.6, 0.6))
    extra = int(round(length * height))
    grow = int(abs(slope) * extra) + 2
    out = cv2.copyMakeBorder(digit, 0, extra + 2, grow, grow, cv2.BORDER_CONSTANT, value=0)
    x0 = float(xs[ys == bottom].mean()) + grow
    width = max(1, int(round(stroke_width(digit) or 2.0)))
    cv2.line(out, (int(round(x0)), int(bottom)), (int(round(x0 + slope * extra)), int(bottom) + extra), 255, width,
             cv2.LINE_AA)
    return out


def _pen_alpha(digit: np.ndarray, height: int, pen: float | None, rng: np.random.Generator) -> np.ndarray:
    """The digit drawn `height` px tall; with `pen` (stroke width as a share of the height) the
    stroke is re-drawn along its skeleton at that width, else MNIST's own stroke is scaled up."""
    ys, xs = np.nonzero(digit > 30)
    if len(xs) == 0:
        return np.zeros((max(2, height), max(2, height // 2)), np.float32)
    tight = digit[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    scale = height / tight.shape[0]
    size = (max(2, round(tight.shape[1] * scale * rng.uniform(0.85, 1.15))), max(2, height))
    if pen is None:
        alpha = cv2.resize(tight.astype(np.float32) / 255.0, size, interpolation=cv2.INTER_CUBIC)
        alpha = np.clip(alpha * 1.6 - 0.15, 0.0, 1.0)
    else:
        # Skeleton at a moderate resolution, then a round pen of the chosen width along it.
        base = 4
        big = cv2.resize(tight, (tight.shape[1] * base, tight.shape[0] * base), interpolation=cv2.INTER_CUBIC)
        skeleton = _thin(big > 110).astype(np.float32)
        skeleton = cv2.resize(skeleton, size, interpolation=cv2.INTER_LINEAR) > 0.05
        dist = cv2.distanceTransform((~skeleton).astype(np.uint8), cv2.DIST_L2, 3)
        radius = max(0.6, 0.5 * pen * height)
        alpha = np.clip(radius + 0.5 - dist, 0.0, 1.0)
    pad = int(0.1 * max(size)) + 2
    return cv2.copyMakeBorder(alpha.astype(np.float32), pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)


def _digit_alpha(digit: np.ndarray, label: int, height: int, pen: float | None, slant: float,
                 rng: np.random.Generator, styles: bool) -> np.ndarray:
    """One digit: style, elastic distortion, pen, slant and a small tilt."""
    d = digit
    if styles and label in (1, 7) and rng.random() < 0.7:
        d = _restyle(d, label, rng)
    if rng.random() < 0.6:
        d = _elastic(d, rng, alpha=rng.uniform(1.0, 2.5), sigma=rng.uniform(3.0, 4.5))
    if styles and label in (4, 7, 9) and rng.random() < 0.4:
        before = _ink_height(d)
        d = _with_tail(d, rng.uniform(0.4, 0.9))
        height = int(round(height * _ink_height(d) / max(1, before)))
    alpha = _pen_alpha(d, height, pen, rng)
    angle = np.deg2rad(rng.uniform(-8, 8))
    return _turned(alpha, angle, slant, grow=int(abs(slant) * alpha.shape[0] / 2) + 2)


def _turned(alpha: np.ndarray, angle: float, slant: float, grow: int = 0) -> np.ndarray:
    """An ink alpha turned by `angle` (radians) and slanted by `slant` about its centre, `grow` px
    wider on each side for the slant to fit."""
    h, w = alpha.shape
    m = np.float32([[np.cos(angle), -np.sin(angle) + slant, 0], [np.sin(angle), np.cos(angle), 0]])
    m[:, 2] = np.float32([w / 2, h / 2]) - m[:, :2] @ np.float32([w / 2, h / 2])
    m[0, 2] += grow
    return cv2.warpAffine(alpha, m, (w + 2 * grow, h), flags=cv2.INTER_LINEAR)


# --------------------------------------------------------------------------- marks and lines


def _mark(kind: str, height: float, pen_px: float) -> np.ndarray:
    """A punctuation mark or currency sign as an ink alpha, drawn with the digits' pen."""
    r = max(1.0, pen_px / 2)
    size = int(height * 1.2) + 4
    alpha = np.zeros((size, size), np.float32)
    thick = max(1, int(round(pen_px)))
    if kind == ".":
        cv2.circle(alpha, (size // 2, int(size * 0.85)), int(r * 1.3) + 1, 1.0, -1, cv2.LINE_AA)
    elif kind == ",":
        cx, cy = size // 2, int(size * 0.82)
        cv2.circle(alpha, (cx, cy), int(r * 1.3) + 1, 1.0, -1, cv2.LINE_AA)
        cv2.line(alpha, (cx, cy), (cx - int(0.08 * height), cy + int(0.15 * height)), 1.0, thick, cv2.LINE_AA)
    elif kind == "-":
        y = int(size * 0.5)
        cv2.line(alpha, (int(size * 0.3), y), (int(size * 0.7), y), 1.0, thick, cv2.LINE_AA)
    else:  # currency signs drawn with a Hershey font scaled to the digit height
        text = {"$": "$", "EUR": "C"}[kind]
        scale = height / 22.0
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        glyph = np.zeros((int(th * 1.6) + 4, tw + 4), np.uint8)
        cv2.putText(glyph, text, (2, int(th * 1.25)), cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thick, cv2.LINE_AA)
        if kind == "EUR":  # a C with two bars
            for y in (int(th * 0.55), int(th * 0.9)):
                cv2.line(glyph, (0, y), (int(tw * 0.7), y), 255, thick, cv2.LINE_AA)
        alpha = glyph.astype(np.float32) / 255.0
    return alpha


def _hline(alpha: np.ndarray, y: float, x0: float, x1: float, thick: float, wobble: float,
           rng: np.random.Generator) -> None:
    """A hand-drawn or printed horizontal line (slightly tilted and wavy when drawn by hand)."""
    tilt = rng.uniform(-0.02, 0.02)
    xs = np.arange(int(x0), int(x1), 4)
    if len(xs) < 2:
        return
    ys = y + tilt * (xs - x0) + wobble * np.sin(xs / rng.uniform(20, 60) + rng.uniform(0, 6))
    pts = np.stack([xs, ys], 1).round().astype(np.int32)
    cv2.polylines(alpha, [pts], False, 1.0, max(1, int(round(thick))), cv2.LINE_AA)


# --------------------------------------------------------------------------- the page


def _paper(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    colour = rng.choice([[245, 245, 245], [215, 238, 246], [235, 235, 228], [225, 240, 250], [238, 228, 236]])
    page = np.empty((height, width, 3), np.float32)
    page[:] = np.asarray(colour, np.float32) + rng.uniform(-20, 8, 3)
    page += (smooth_noise(width, height, 24, rng) * rng.uniform(0, 4))[..., None]
    return page


def _pattern(page: np.ndarray, rng: np.random.Generator) -> None:
    """A cheque's security background: fine coloured guilloche waves or hatching."""
    h, w = page.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    period = rng.uniform(4, 14)
    if rng.random() < 0.5:
        phase = 3 * np.sin(xx / rng.uniform(30, 90)) + 2 * np.sin(yy / rng.uniform(20, 70))
        wave = np.sin((yy + phase * period) * 2 * np.pi / period)
    else:
        theta = rng.uniform(0, np.pi)
        wave = np.sin((xx * np.cos(theta) + yy * np.sin(theta)) * 2 * np.pi / period)
    strength = rng.uniform(15, 60)
    tint = rng.uniform(0.3, 1.0, 3).astype(np.float32)
    page -= (strength * (wave + 1) / 2)[..., None] * tint


# --------------------------------------------------------------------------- public API


def field_photo(digits: list[np.ndarray], labels: list[int], rng: np.random.Generator,
                scene: str | None = None, size: tuple[int, int] = (640, 480)) -> FieldPhoto:
    """One photo or scan of `digits` (28×28 MNIST images) written as a number, left to right."""
    if scene is not None and scene not in SCENES:
        raise ValueError(f"scene must be one of {SCENES}, not {scene!r}")
    if not digits or len(digits) != len(labels):
        raise ValueError("need one label per digit and at least one digit")

    def has(name: str, p: float) -> bool:
        return scene == name if scene is not None else rng.random() < p

    scenes: list[str] = []
    width, frame_h = size
    n = len(digits)
    thin_large = n == 1 and has("thin-large", 0.25)
    low_res = has("low-res", 0.1)
    # Digit height: large single digits fill most of the frame; numbers must fit the row.
    if thin_large:
        digit_h = rng.uniform(0.55, 0.9) * frame_h
        pen = float(np.exp(rng.uniform(np.log(0.025), np.log(0.07))))
        scenes.append("thin-large")
    else:
        hi = min(0.8 * frame_h, 0.8 * width / (0.75 * n + 0.2 * (n - 1)))
        digit_h = float(np.exp(rng.uniform(np.log(40), np.log(max(45, hi)))))
        pen = None if rng.random() < 0.35 else float(np.exp(rng.uniform(np.log(0.04), np.log(0.2))))
    styles = has("styles", 0.3)
    slant = rng.uniform(-0.35, 0.35) if rng.random() < 0.5 else 0.0
    alphas = [_digit_alpha(d, int(lab), int(digit_h), pen, slant, rng, styles) for d, lab in zip(digits, labels)]
    if styles and any(int(lab) in (1, 4, 7, 9) for lab in labels):
        scenes.append("styles")
    pen_px = (pen or 0.12) * digit_h

    # Layout: a row with gaps, or touching/overlapping digits; marks between and beside.
    touching = n > 1 and has("touching", 0.15)
    if touching:
        scenes.append("touching")
    tight_boxes = [ink_box(a) for a in alphas]
    row_h = max(b[3] for b in tight_boxes)
    punctuation = has("punctuation", 0.15)
    items: list[tuple[str, np.ndarray, int]] = []  # (kind, alpha, digit index or -1)
    if punctuation:
        scenes.append("punctuation")
        if rng.random() < 0.5:
            items.append(("mark", _mark(str(rng.choice(["$", "EUR", "-"])), row_h, pen_px), -1))
    decimal_at = int(rng.integers(1, n)) if punctuation and n > 2 and rng.random() < 0.6 else -1
    for i, alpha in enumerate(alphas):
        if i == decimal_at:
            items.append(("mark", _mark(str(rng.choice([".", ","])), row_h, pen_px), -1))
        items.append(("digit", alpha, i))
    if punctuation and rng.random() < 0.4:
        items.append(("mark", _mark(str(rng.choice([".", "-", ","])), row_h, pen_px), -1))

    ink = np.zeros((frame_h, width), np.float32)
    boxes: list[tuple[int, int, int, int]] = [(0, 0, 1, 1)] * n
    boxes_of = [ink_box(a) for _, a, _ in items]
    widths = [b[2] for b in boxes_of]
    gap_lo, gap_hi = (-0.08, 0.0) if touching else (0.08, 0.45)
    gaps = [rng.uniform(gap_lo, gap_hi) * row_h for _ in items[1:]]
    row_w = sum(widths) + sum(gaps)
    margin = 0.05 * min(width, frame_h)
    x = margin + rng.uniform(0, max(0.0, width - 2 * margin - row_w))
    y_row = margin + rng.uniform(0, max(0.0, frame_h - 2 * margin - row_h))
    for k, ((kind, alpha, index), (bx, by, bw, bh)) in enumerate(zip(items, boxes_of)):
        ox = int(round(x - bx))
        if kind == "digit":
            oy = int(round(y_row + rng.uniform(-0.05, 0.05) * row_h + (row_h - bh) / 2 - by))
        else:  # marks are drawn in their own patch, placed against the row
            oy = int(round(y_row + (row_h - alpha.shape[0]) / 2))
        paste_max(ink, alpha, ox, oy)
        if index >= 0:
            boxes[index] = (ox + bx, oy + by, bw, bh)
        x += bw + (gaps[k] if k < len(gaps) else 0)
    x_lo = min(b[0] for b in boxes)
    x_hi = max(b[0] + b[2] for b in boxes)
    y_lo = min(b[1] for b in boxes)
    y_hi = max(b[1] + b[3] for b in boxes)

    # Lines on the page: drawn with their own ink (printed rules) or the pen's (underlines, boxes).
    rules = np.zeros_like(ink)
    pen_lines = np.zeros_like(ink)
    cell_crop = None
    if has("ruled", 0.12):
        scenes.append("ruled")
        spacing = rng.uniform(0.9, 1.5) * row_h
        base = y_hi + rng.uniform(-0.05, 0.08) * row_h
        for y in np.arange(base % spacing, frame_h, spacing):
            _hline(rules, y, 0, width, rng.uniform(1, 3), 0.0, rng)
        if rng.random() < 0.3:
            xm = rng.uniform(0.05, 0.15) * width
            cv2.line(rules, (int(xm), 0), (int(xm), frame_h), 1.0, int(rng.integers(1, 3)), cv2.LINE_AA)
    elif has("squared", 0.08):
        scenes.append("squared")
        spacing = rng.uniform(0.35, 0.8) * row_h
        ox, oy = rng.uniform(0, spacing, 2)
        for y in np.arange(oy, frame_h, spacing):
            _hline(rules, y, 0, width, rng.uniform(1, 2), 0.0, rng)
        for xg in np.arange(ox, width, spacing):
            cv2.line(rules, (int(xg), 0), (int(xg), frame_h), 1.0, 1, cv2.LINE_AA)
    if has("underline", 0.1):
        scenes.append("underline")
        y = y_hi + rng.uniform(-0.08, 0.06) * row_h
        ext = rng.uniform(0.0, 0.5) * row_h
        _hline(pen_lines, y, max(0, x_lo - ext), min(width, x_hi + ext), max(1.0, pen_px * rng.uniform(0.6, 1.2)),
               rng.uniform(0, 2), rng)
    if has("boxed", 0.08):
        scenes.append("boxed")
        pad = rng.uniform(-0.04, 0.3) * row_h
        thick = int(rng.integers(1, 4))
        p0 = (int(x_lo - pad - rng.uniform(0, row_h)), int(y_lo - pad))
        p1 = (int(x_hi + pad + rng.uniform(0, row_h)), int(y_hi + pad))
        target = rules if rng.random() < 0.5 else pen_lines
        cv2.rectangle(target, p0, p1, 1.0, thick, cv2.LINE_AA)
    elif has("cell", 0.06):
        # A table's cell (a register, a score sheet): printed rules run through the page, and
        # the picture is cropped to the cell with a little of its neighbours, so the rules run
        # out of the image and their corners sit near its edges. In the table's first row the
        # columns' rules start at its top rule (a T at each corner); in its first column, the
        # rows' rules start at its left rule.
        scenes.append("cell")
        thick = int(rng.integers(1, 4))
        left, right = x_lo - rng.uniform(0.05, 0.5) * row_h, x_hi + rng.uniform(0.05, 0.5) * row_h
        top, bottom = y_lo - rng.uniform(0.03, 0.3) * row_h, y_hi + rng.uniform(0.03, 0.3) * row_h
        first_row, first_column = rng.random() < 0.4, rng.random() < 0.3
        for y in (top, bottom):
            _hline(rules, y, left if first_column else 0, width, thick, 0.0, rng)
        for xc in (left, right):
            cv2.line(rules, (int(xc), int(top) if first_row else 0), (int(xc), frame_h), 1.0, thick, cv2.LINE_AA)
        reach = [rng.uniform(0.02, 0.35) * row_h for _ in range(4)]
        cell_crop = (max(0, int(left - reach[0])), max(0, int(top - reach[1])),
                     min(width, int(right + reach[2])), min(frame_h, int(bottom + reach[3])))
    elif n > 1 and not touching and has("comb", 0.05):
        scenes.append("comb")
        thick = int(rng.integers(1, 3))
        top, bottom = int(y_lo - rng.uniform(0.05, 0.25) * row_h), int(y_hi + rng.uniform(0.02, 0.2) * row_h)
        _hline(rules, top, x_lo - 0.3 * row_h, x_hi + 0.3 * row_h, thick, 0.0, rng)
        _hline(rules, bottom, x_lo - 0.3 * row_h, x_hi + 0.3 * row_h, thick, 0.0, rng)
        cuts = [x_lo - 0.15 * row_h] + [(boxes[i][0] + boxes[i][2] + boxes[i + 1][0]) / 2 for i in range(n - 1)]
        cuts.append(x_hi + 0.15 * row_h)
        for xc in cuts:
            cv2.line(rules, (int(xc), top), (int(xc), bottom), 1.0, thick, cv2.LINE_AA)

    m = perspective_matrix(width, frame_h, rng.uniform(0.0, 0.04), rng)
    warp = lambda a: cv2.warpPerspective(a, m, (width, frame_h), flags=cv2.INTER_LINEAR)  # noqa: E731
    ink, rules, pen_lines = warp(ink), warp(rules), warp(pen_lines)
    boxes = [warp_box(b, m, width, frame_h) for b in boxes]
    if cell_crop is not None:
        cx, cy, cw, ch = warp_box((cell_crop[0], cell_crop[1], cell_crop[2] - cell_crop[0],
                                   cell_crop[3] - cell_crop[1]), m, width, frame_h)
        cell_crop = (cx, cy, cx + cw, cy + ch)

    page = _paper(width, frame_h, rng)
    if has("pattern", 0.1):
        scenes.append("pattern")
        _pattern(page, rng)
    if has("show-through", 0.08):
        scenes.append("show-through")
        ghost = np.zeros_like(ink)
        for _ in range(int(rng.integers(1, 5))):
            d = digits[int(rng.integers(0, n))]
            a = _pen_alpha(d, int(digit_h * rng.uniform(0.6, 1.2)), pen, rng)[:, ::-1]
            x, y = int(rng.uniform(0, width)) - a.shape[1] // 2, int(rng.uniform(0, frame_h)) - a.shape[0] // 2
            paste_max(ghost, a, x, y)
        ghost = cv2.GaussianBlur(ghost, (0, 0), rng.uniform(1.5, 4))
        page -= (ghost * rng.uniform(20, 60))[..., None]
    rule_colour = np.asarray(rng.choice([[200, 160, 120], [190, 190, 190], [140, 140, 230], [90, 90, 90]]),
                             np.float32)
    a = (rules * rng.uniform(0.5, 1.0))[..., None]
    page = page * (1 - a) + rule_colour * a

    pencil = has("pencil", 0.06)
    if pencil:
        scenes.append("pencil")
        ink_colour = np.full(3, rng.uniform(60, 130), np.float32)
        ink = ink * (1 - rng.random(ink.shape, dtype=np.float32) * 0.5) * rng.uniform(0.5, 0.85)
    elif has("colour-ink", 0.25):
        scenes.append("colour-ink")
        ink_colour = np.asarray(rng.choice([[150, 40, 20], [40, 40, 190], [170, 80, 30], [50, 120, 40]]),
                                np.float32) + rng.uniform(-20, 20, 3)
    else:
        ink_colour = np.asarray(rng.uniform(10, 60, 3), np.float32)
    strokes = np.maximum(ink, pen_lines)[..., None] * rng.uniform(0.8, 1.0)
    image = page * (1 - strokes) + ink_colour * strokes
    image *= illumination_gain(width, frame_h, rng, rng.uniform(0.0, 0.8))[..., None]
    if rng.random() < 0.2:  # a flat, low-contrast scan
        image = 128 + (image - 128) * rng.uniform(0.4, 0.7) + rng.uniform(0, 40)
    if has("margin", 0.06):
        scenes.append("margin")
        side = int(rng.integers(4))
        depth = int(rng.uniform(0.02, 0.12) * (width if side % 2 == 0 else frame_h))
        dark = rng.uniform(0, 50)
        if side == 0:
            image[:, :depth] = dark
        elif side == 1:
            image[:depth] = dark
        elif side == 2:
            image[:, width - depth:] = dark
        else:
            image[frame_h - depth:] = dark
    image = camera_effects(image, rng, clean=False)

    # Crops: just the number, digits touching the border; or a low-resolution picture.
    if cell_crop is not None or has("tight", 0.15):
        if cell_crop is None:
            scenes.append("tight")
            bx0, by0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
            bx1, by1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
            pad = [int(rng.uniform(0.0, 0.08) * row_h) for _ in range(4)]
            cx0, cy0 = max(0, bx0 - pad[0]), max(0, by0 - pad[1])
            cx1, cy1 = min(width, bx1 + pad[2]), min(frame_h, by1 + pad[3])
        else:
            cx0, cy0, cx1, cy1 = cell_crop
        image = image[cy0:cy1, cx0:cx1]
        boxes = [(x - cx0, y - cy0, w, h) for x, y, w, h in boxes]
        target_h = rng.uniform(40, 120)
        f = target_h / image.shape[0]
        if f < 1:
            image = cv2.resize(image, (max(8, round(image.shape[1] * f)), max(8, round(image.shape[0] * f))),
                               interpolation=cv2.INTER_AREA)
            boxes = [(int(x * f), int(y * f), max(1, int(w * f)), max(1, int(h * f))) for x, y, w, h in boxes]
    elif low_res:
        scenes.append("low-res")
        f = rng.uniform(15, 25) / row_h
        if f < 1:
            image = cv2.resize(image, (max(8, round(image.shape[1] * f)), max(8, round(image.shape[0] * f))),
                               interpolation=cv2.INTER_AREA)
            boxes = [(int(x * f), int(y * f), max(1, int(w * f)), max(1, int(h * f))) for x, y, w, h in boxes]
    # A row wider than the frame runs off it: a digit drawn past the picture's edge (its box, clipped
    # to the frame by warp_box, holds none of the picture) is not in its text.
    seen = [_share_inside(b, image.shape[1], image.shape[0]) >= 0.5 for b in boxes]
    labels = [v for v, s in zip(labels, seen) if s]
    boxes = [b for b, s in zip(boxes, seen) if s]
    text = "".join(str(int(v)) for v in labels)
    return FieldPhoto(np.ascontiguousarray(image), text, boxes, scenes)


def _share_inside(box: tuple[int, int, int, int], width: int, height: int) -> float:
    """The share of a box that lies inside a width × height picture."""
    x, y, w, h = box
    inside_w = max(0, min(width, x + w) - max(0, x))
    inside_h = max(0, min(height, y + h) - max(0, y))
    return inside_w * inside_h / max(1, w * h)


def make_field_photos(images: np.ndarray, labels: np.ndarray, count: int, seed: int = 0,
                      digits_per_photo: tuple[int, int] = (1, 5), scene: str | None = None,
                      size: tuple[int, int] = (640, 480)) -> Iterator[FieldPhoto]:
    """`count` field photos, deterministic by seed, streamed one at a time.

    A third of the photos show one digit (how people photograph a digit); the rest numbers of
    digits_per_photo digits.
    """
    lo, hi = digits_per_photo
    if not 1 <= lo <= hi:
        raise ValueError(f"digits_per_photo must be (lo, hi) with 1 <= lo <= hi, not {digits_per_photo}")
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = 1 if lo == 1 and rng.random() < 1 / 3 else int(rng.integers(max(lo, 2) if hi > 1 else 1, hi + 1))
        idx = rng.integers(0, len(images), n)
        yield field_photo([images[i] for i in idx], [int(labels[i]) for i in idx], rng, scene, size)


# --------------------------------------------------------------------------- training data


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / max(1, a[2] * a[3] + b[2] * b[3] - inter)


def labelled_crops(photo: Photo, not_digits: bool = False) -> list[tuple[np.ndarray, int]]:
    """What the edge pipeline makes of a photo (its 28×28 crops), labelled from the photo's truth.

    A crop gets the label of the true digit box it overlaps best (IoU ≥ 0.5, each digit once).
    Crops that match nothing (marks, line fragments, digits glued together) are left out, or
    with `not_digits` kept as NOT_A_DIGIT, together with the wrong pieces of every way
    `split_digit` would cut a crop wide enough to hold two or three digits: what the classifier
    must learn not to be sure of (outlier exposure).
    """
    from edge_digits.edge.preprocess import find_digits, split_digit
    from edge_digits.edge.reader import MAX_PARTS, SPLIT_WIDTH

    out, taken = [], set()
    for crop in find_digits(photo.image):
        label = _match(crop.box, photo, taken)
        if label is not None:
            out.append((crop.image, label))
            continue
        if not not_digits:
            continue
        if not _one_like(crop.image):
            out.append((crop.image, NOT_A_DIGIT))
        w, h = crop.box[2], crop.box[3]
        # The cuts into as many digits as the crop is wide for (read_digits tries one more too).
        for parts in range(2, min(MAX_PARTS, int(w / (SPLIT_WIDTH * h))) + 1):
            for pieces in split_digit(crop, parts)[:2]:
                for piece in pieces:  # a right piece is a digit, a wrong one a fragment
                    label = _match(piece.box, photo, set(taken))
                    if label is not None or not _one_like(piece.image):
                        out.append((piece.image, NOT_A_DIGIT if label is None else label))
    return out


def _one_like(image: np.ndarray) -> bool:
    """A lone upright stroke (a box side, a grid line, half a 4): a 1 to the eye as well, so never
    trained as "not a digit"."""
    ys, xs = np.nonzero(image > 64)
    return len(xs) == 0 or (xs.max() - xs.min() + 1) < 0.35 * (ys.max() - ys.min() + 1)


def _match(box: tuple[int, int, int, int], photo: Photo, taken: set[int]) -> int | None:
    """The true digit a crop's box overlaps best (IoU ≥ 0.5, not taken yet; then taken), or None."""
    scores = [(_iou(box, b), i) for i, b in enumerate(photo.boxes) if i not in taken]
    if scores:
        best, i = max(scores)
        if best >= 0.5:
            taken.add(i)
            return int(photo.text[i])
    return None


RESTYLED = (1, 7, 9)  # the digits `style_varied` may draw in a style of `_restyle`


def style_varied(images: np.ndarray, rng: np.random.Generator, labels: np.ndarray | None = None) -> np.ndarray:
    """MNIST digits with other hands' styles: elastic distortion, slant and pen width; with
    `labels`, half the 1s, 7s and 9s also in a style `_restyle` draws. Other writers' flagged
    1s read as 7s and 4s, and their curled 9s as 3s, to a model that never saw one."""
    out = np.empty_like(images)
    for k, digit in enumerate(images):
        if labels is not None and labels[k] in RESTYLED and rng.random() < 0.5:
            digit = _restyle(digit, int(labels[k]), rng)
        d = _elastic(digit, rng, alpha=rng.uniform(1.0, 3.0), sigma=rng.uniform(3.0, 4.5))
        big = cv2.resize(d, (56, 56), interpolation=cv2.INTER_LINEAR)
        shear = rng.uniform(-0.3, 0.3)
        m = np.float32([[1, shear, -shear * 28], [0, 1, 0]])
        big = cv2.warpAffine(big, m, (56, 56), flags=cv2.INTER_LINEAR)
        pen = int(rng.integers(-1, 3))
        if pen:
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(pen) + 1,) * 2)
            big = cv2.dilate(big, kernel) if pen > 0 else cv2.erode(big, kernel)
        out[k] = normalise_digit(big)
    return out


FLAG_ANGLE = (25.0, 55.0)  # degrees below level: a 1's long flag, down to the left of its top (a 7's bar is level)
FLAG_LENGTH = (0.3, 0.7)  # × the 1's height


def _long_flag(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An MNIST 1 with a flag as long as many European writers draw one (up to 0.7 × its height),
    a third of them with a foot; normalised again, as the pipeline would cut it."""
    ys, xs = np.nonzero(digit > 100)
    top, bottom = int(ys.min()), int(ys.max())
    height = bottom - top + 1
    angle = np.deg2rad(rng.uniform(*FLAG_ANGLE))
    length = rng.uniform(*FLAG_LENGTH) * height
    scale, room = 4, 20  # drawn at 4× with room on the left for the flag
    big = cv2.resize(cv2.copyMakeBorder(digit, 0, 0, room, 0, cv2.BORDER_CONSTANT, value=0), None, fx=scale, fy=scale,
                     interpolation=cv2.INTER_LINEAR)
    x = float(xs[ys == top].mean()) + room
    start = (int(scale * x), int(scale * top))
    end = (int(scale * (x - length * np.cos(angle))), int(scale * (top + length * np.sin(angle))))
    cv2.line(big, start, end, 255, int(scale * rng.uniform(1.6, 2.6)), cv2.LINE_AA)
    if rng.random() < 0.3:
        foot_x = int(scale * (xs[ys == bottom].mean() + room))
        half = int(scale * rng.uniform(0.2, 0.35) * height)
        cv2.line(big, (foot_x - half, scale * bottom), (foot_x + half, scale * bottom), 255,
                 int(scale * rng.uniform(1.6, 2.6)), cv2.LINE_AA)
    return normalise_digit(big)


def flagged_ones(images: np.ndarray, labels: np.ndarray, count: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`count` 1s with a long flag and `count` 7s (half with a bar across), style-varied.

    A flag up to 0.7 × the height, 25–55° below level, reads as a 7 to a model that learned
    MNIST's 1s; the 7s alongside keep their level bar a 7's. Returns images and labels."""
    if count == 0:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)

    def drawn(image: np.ndarray, label: int) -> np.ndarray:
        if label == 1:
            return _long_flag(image, rng)
        return _restyle(image, 7, rng) if rng.random() < 0.5 else image

    out = []
    for label in (1, 7):
        picked = rng.choice(np.nonzero(labels == label)[0], count)
        out.append(style_varied(np.stack([drawn(images[i], label) for i in picked]), rng))
    return np.concatenate(out), np.repeat(np.array([1, 7], np.int64), count)


CURL_WIDTH = (0.35, 0.7)  # × the 9's height: how far its foot curls back to the left ...
CURL_DEPTH = (0.15, 0.45)  # ... how far below the stem's end it reaches ...
CURL_ARC = (150.0, 230.0)  # ... and how far round it turns, in degrees (180: back up level with the stem's end)


def _long_curl(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An MNIST 9 whose stem ends in a wide curl back to the left (a "g"-like 9, as many
    European hands write it); normalised again, as the pipeline would cut it."""
    scale, room = 4, 14  # drawn at 4× with room below and on the left for the curl
    big = cv2.resize(cv2.copyMakeBorder(digit, 0, room, room, 0, cv2.BORDER_CONSTANT, value=0), None, fx=scale,
                     fy=scale, interpolation=cv2.INTER_LINEAR)
    ys, xs = np.nonzero(big > 100)
    bottom = int(ys.max())
    height = bottom - int(ys.min()) + 1
    foot = int(xs[ys == bottom].mean())
    rx = int(rng.uniform(*CURL_WIDTH) * height)
    ry = max(2, int(rng.uniform(*CURL_DEPTH) * height))
    cv2.ellipse(big, (foot - rx, bottom), (rx, ry), 0, 0, rng.uniform(*CURL_ARC), 255,
                int(scale * rng.uniform(1.6, 2.6)), cv2.LINE_AA)
    return normalise_digit(big)


def curled_nines(images: np.ndarray, labels: np.ndarray, count: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`count` 9s whose foot curls wide back to the left and `count` 3s, style-varied.

    A curl a third of the height wide or more often reads as a 3 to a model that learned
    MNIST's 9s; the 3s alongside keep an open top a 3's. Returns images and labels."""
    if count == 0:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    nines = rng.choice(np.nonzero(labels == 9)[0], count)
    threes = rng.choice(np.nonzero(labels == 3)[0], count)
    out = [style_varied(np.stack([_long_curl(images[i], rng) for i in nines]), rng),
           style_varied(images[threes], rng)]
    return np.concatenate(out), np.repeat(np.array([9, 3], np.int64), count)


FOUR_HOOK = 0.6  # × the gap to the stem: how far an open 4's left stroke may hook over at its top (0.9 is a 9)
FOUR_STEM_TOP = 0.45  # × the height: how far down the stem may start (a short stem, the bar near the middle)


def _open_four(rng: np.random.Generator) -> np.ndarray:
    """A 4 drawn in two strokes, as other hands draw it and MNIST's writers rarely did: the left
    stroke and the bar as a corner or a "u", often hooked over at its top, and a stem that may
    start low. Drawn 320 px tall, normalised as the pipeline would cut it."""
    h = 320
    canvas = np.zeros((h + 160, h + 160), np.uint8)
    o = 80
    w, bar = rng.uniform(0.6, 0.85) * h, rng.uniform(0.5, 0.65) * h
    left, stem = o + rng.uniform(0.0, 0.15) * w, o + rng.uniform(0.65, 0.8) * w
    pen = int(rng.uniform(0.08, 0.13) * h)
    hook = rng.uniform(0.0, FOUR_HOOK) if rng.random() < 0.6 else 0.0
    points = [(left + hook * (stem - left), o + 0.02 * h), (left + 0.1 * w, o), (left, o + 0.1 * h)] if hook else [
        (left, o)]
    if rng.random() < 0.5:  # a "u": the left stroke curves round into the bar
        r = 0.2 * h
        points += [(left, o + bar - r)] + [(left + r + r * np.cos(a), o + bar - r + r * np.sin(a))
                                           for a in np.linspace(np.pi, np.pi / 2, 8)]
    else:
        points.append((left, o + bar))
    points.append((stem + 0.1 * w, o + bar))
    cv2.polylines(canvas, [np.int32(points)], False, 255, pen, cv2.LINE_AA)
    top = o + rng.uniform(0.0, FOUR_STEM_TOP) * h
    cv2.line(canvas, (int(stem), int(top)), (int(stem - 0.05 * w), o + h), 255, pen, cv2.LINE_AA)
    return normalise_digit(canvas)


def open_fours(images: np.ndarray, labels: np.ndarray, count: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`count` open 4s drawn in two strokes and `count` MNIST 9s, style-varied.

    An open 4 hooked over at its top reads as a 9, one with a short stem as a 6, to a model that
    learned MNIST's 4s; the 9s alongside keep a closed top a 9's. Returns images and labels."""
    if count == 0:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    fours = style_varied(np.stack([_open_four(rng) for _ in range(count)]), rng)
    nines = style_varied(images[rng.choice(np.nonzero(labels == 9)[0], count)], rng)
    return np.concatenate([fours, nines]), np.repeat(np.array([4, 9], np.int64), count)


def glued_pairs(images: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Two or three MNIST digits touching or overlapping, cut out as one crop and normalised the
    way the edge pipeline normalises a crop it could not split: no single digit, for training
    the model to be unsure of them (a glued "64" must not read as a sure "4")."""
    out = []
    while len(out) < count:
        parts = [tight(images[i]) for i in rng.integers(0, len(images), int(rng.integers(2, 4)))]
        height = max(p.shape[0] for p in parts)
        width = sum(p.shape[1] for p in parts)
        canvas = np.zeros((height, width), np.uint8)
        x = 0
        for p in parts:
            y = int(rng.integers(0, height - p.shape[0] + 1))
            region = canvas[y: y + p.shape[0], x: x + p.shape[1]]
            np.maximum(region, p, out=region)
            x += p.shape[1] - int(rng.uniform(0.0, 0.3) * p.shape[1])  # touch, or overlap up to 30%
        ys, xs = np.nonzero(canvas)
        if xs.max() - xs.min() + 1 >= 1.2 * (ys.max() - ys.min() + 1):  # a narrow glued pair is a 1-like blur
            out.append(normalise_digit(canvas))
    return np.stack(out) if out else np.zeros((0, 28, 28), np.uint8)


# Signs written beside numbers that are no digit and look like none. Left out: the shapes a digit
# may take (`( ) / ' ! ? |`), and letters (they cost field photos: models/MODEL_CARD.md).
NOT_DIGIT_SIGNS = "%#*+=~<>xX$"
_SIGN_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
               cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_COMPLEX)


def _sign_alpha(sign: str, height: int, rng: np.random.Generator) -> np.ndarray:
    """One sign drawn about `height` px tall with a random Hershey font and pen, distorted and slanted
    like handwriting."""
    font = int(rng.choice(_SIGN_FONTS)) | (cv2.FONT_ITALIC if rng.random() < 0.3 else 0)
    (_, base_h), _ = cv2.getTextSize("H", font, 1.0, 1)
    scale = height / max(1, base_h)
    thick = max(1, int(round(height * rng.uniform(0.04, 0.16))))
    (tw, th), below = cv2.getTextSize(sign, font, scale, thick)
    pad = thick + height // 3
    glyph = np.zeros((th + below + 2 * pad, tw + 2 * pad), np.uint8)
    cv2.putText(glyph, sign, (pad, pad + th), font, scale, 255, thick, cv2.LINE_AA)
    alpha = glyph.astype(np.float32) / 255.0
    alpha = _elastic(alpha, rng, alpha=rng.uniform(0.0, 0.05) * height, sigma=0.15 * height)
    angle, shear = np.deg2rad(rng.uniform(-10, 10)), rng.uniform(-0.3, 0.3)
    return _turned(alpha, angle, shear)


def drawn_signs(count: int, rng: np.random.Generator) -> np.ndarray:
    """Crops the edge pipeline cuts out of photographed signs that are no digit
    (`NOT_DIGIT_SIGNS`): for training the model to be unsure of them (a `#` must not read as a
    sure 4, a `%` as a 6). A lone upright stroke is left out, as in `labelled_crops`."""
    from edge_digits.edge.preprocess import find_digits

    out: list[np.ndarray] = []
    while len(out) < count:
        sign = str(rng.choice(list(NOT_DIGIT_SIGNS)))
        alpha = _sign_alpha(sign, int(rng.integers(24, 120)), rng)
        h, w = alpha.shape
        page = _paper(w + 80, h + 80, rng)
        ink = rng.uniform(0, 90, 3).astype(np.float32)
        region = page[40: 40 + h, 40: 40 + w]
        region[:] = region * (1 - alpha[..., None]) + ink * alpha[..., None]
        page = cv2.GaussianBlur(page, (0, 0), rng.uniform(0.3, 1.2)) + rng.normal(0, rng.uniform(0, 4), page.shape)
        x, y, bw, bh = ink_box(alpha)
        whole = (x + 40, y + 40, bw, bh)
        # Only the sign cut out whole: a % falls apart into two rings (0s) and a stroke.
        out.extend(crop.image for crop in find_digits(np.clip(page, 0, 255).astype(np.uint8))
                   if _iou(crop.box, whole) >= 0.6 and not _one_like(crop.image))
    return np.stack(out[:count]) if count else np.zeros((0, 28, 28), np.uint8)


def field_training_set(images: np.ndarray, labels: np.ndarray, photos: int, styled: int,
                       seed: int, not_digits: bool = False, glued: int = 0,
                       signs: int = 0, flagged: int = 0, curled: int = 0,
                       fours: int = 0) -> tuple[np.ndarray, np.ndarray, dict]:
    """Crops the edge pipeline finds in `photos` field photos, plus `styled` restyled digits,
    `flagged` 1s with a long flag (and as many 7s), `curled` 9s with a wide curled foot (and as
    many 3s), `fours` open 4s (and as many 9s), `glued` glued groups of digits and `signs`
    signs that are no digit.

    Draw `images` from MNIST *train*: this is training data. Returns images, labels (NOT_A_DIGIT
    for the crops that hold no single digit, with `not_digits`, the glued ones and the signs) and counts.
    """
    rng = np.random.default_rng(seed + 1)
    crops: list[np.ndarray] = []
    truth: list[int] = []
    for photo in make_field_photos(images, labels, photos, seed=seed):
        for image, label in labelled_crops(photo, not_digits):
            crops.append(image)
            truth.append(label)
    not_digits_cut = sum(t == NOT_A_DIGIT for t in truth)
    if styled:
        idx = rng.integers(0, len(images), styled)
        crops.extend(style_varied(images[idx], rng, labels[idx]))
        truth.extend(int(v) for v in labels[idx])
    for count, draw in ((flagged, flagged_ones), (curled, curled_nines), (fours, open_fours)):
        if count:  # in this order, so each set is drawn the same whichever others are asked for
            drawn, drawn_labels = draw(images, labels, count, rng)
            crops.extend(drawn)
            truth.extend(int(v) for v in drawn_labels)
    if glued:
        crops.extend(glued_pairs(images, glued, rng))
        truth.extend([NOT_A_DIGIT] * glued)
    if signs:
        crops.extend(drawn_signs(signs, rng))
        truth.extend([NOT_A_DIGIT] * signs)
    out_images = np.stack(crops) if crops else np.zeros((0, 28, 28), np.uint8)
    counts = {"photos": photos,
              "photo_crops": len(crops) - not_digits_cut - styled - 2 * (flagged + curled + fours) - glued - signs,
              "styled": styled, "flagged": 2 * flagged, "curled": 2 * curled, "fours": 2 * fours,
              "not_digits": not_digits_cut, "glued": glued, "signs": signs}
    return out_images, np.asarray(truth, np.int64), counts
