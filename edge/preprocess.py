"""Camera frame → MNIST-like 28×28 digit images (LeCun's normalisation).

A model trained on MNIST has only ever seen white strokes on black, fitted into a 20×20 box
with their centre of mass at the centre of a 28×28 field. Handing it a resized photo reads at
chance, so every frame goes through the same steps MNIST went through:

1. grey, 8-bit, at a bounded working resolution (a 10,000 px photo costs what a 1,000 px one does);
2. estimate the paper (or board) with a large morphological closing at low resolution, so
   lighting gradients, vignetting and soft shadows cancel out; ink = |background − image|;
3. pick the polarity (dark ink on paper, or chalk on a board) from which side of the local
   median the strong outliers lie on;
4. threshold the ink map (Otsu, never below a noise-derived minimum contrast, so blank or
   noisy frames find nothing);
5. connected components at half resolution (4x cheaper); drop specks, page edges and shadows;
   group the fragments of one digit; re-threshold each digit against its own stroke strength;
6. crop each digit at full resolution with its grey-level ink (strokes stay anti-aliased) and
   `normalise_digit`.

Only numpy and OpenCV: this runs on the device.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edge_digits.errors import BadInput

WORK_SIDE = 1000  # longest side processed; larger frames are downscaled first
BACKGROUND_SIDE = 80  # longest side of the low-resolution background estimate
MIN_CONTRAST = 18  # grey levels: weaker "ink" is paper texture or noise
MIN_DIGIT_FRACTION = 0.04  # a digit is at least this fraction of the frame's short side tall
PAGE_EDGE_STEP = 60  # grey levels between neighbouring background cells: a page edge, not light
MAX_CANDIDATES = 64  # components kept for grouping (largest first); beyond that it is noise


@dataclass
class DigitCrop:
    """One digit found in a frame."""

    image: np.ndarray  # (28, 28) uint8, white ink on black, MNIST-normalised
    box: tuple[int, int, int, int]  # x, y, w, h in the original frame's pixel coordinates


# --------------------------------------------------------------------------- input


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """Any integer, float or bool image as uint8, using the range its dtype implies."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * 255
    if np.issubdtype(image.dtype, np.floating):
        peak = float(np.nanmax(image)) if image.size else 0.0
        scale = 255.0 if peak <= 1.0 else 1.0
        return np.clip(np.nan_to_num(image) * scale, 0, 255).astype(np.uint8)
    # 16-bit (or 10/12-bit data stored in 16 bits): scale by the bit depth actually used.
    peak = int(image.max()) if image.size else 0
    bits = max(8, int(peak).bit_length())
    return np.clip(image.astype(np.float32) * (255.0 / (2**bits - 1)), 0, 255).astype(np.uint8)


def _grey(image: np.ndarray) -> np.ndarray:
    """BGR, BGRA or grey → single-channel uint8."""
    if image.ndim == 3:
        channels = image.shape[2]
        if channels == 1:
            image = image[..., 0]
        elif channels in (3, 4):
            image = _to_uint8(np.ascontiguousarray(image))
            code = cv2.COLOR_BGR2GRAY if channels == 3 else cv2.COLOR_BGRA2GRAY
            return cv2.cvtColor(image, code)
        else:
            raise ValueError(f"frame has {channels} channels; expected 1, 3 or 4")
    elif image.ndim != 2:
        raise ValueError(f"frame must be 2-D (grey) or 3-D (colour), not shape {image.shape}")
    return np.ascontiguousarray(_to_uint8(image))


def _working_grey(frame: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Grey uint8 with long side ≤ WORK_SIDE, and the (x, y) scale back to the input."""
    h, w = frame.shape[:2]
    # Skip pixels cheaply first (a 10,000 px photo), then average properly with INTER_AREA.
    step = max(1, max(h, w) // (2 * WORK_SIDE))
    grey = _grey(frame[::step, ::step] if step > 1 else frame)
    gh, gw = grey.shape
    if max(gh, gw) > WORK_SIDE:
        f = WORK_SIDE / max(gh, gw)
        grey = cv2.resize(grey, (max(1, round(gw * f)), max(1, round(gh * f))), interpolation=cv2.INTER_AREA)
    return grey, w / grey.shape[1], h / grey.shape[0]


# --------------------------------------------------------------------------- ink map


def _morph_extrapolated(small: np.ndarray, op: int, kernel: np.ndarray, pad: int) -> np.ndarray:
    """Closing/opening that follows light fall-off into the corners.

    Replicating the border turns a vignetted corner into a valley that a closing fills in
    (false ink all along the edge). Pad by point reflection instead, which continues the
    gradient, but never beyond the edge value towards the ink side (ink near the border).
    """
    edge = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REPLICATE).astype(np.int16)
    mirror = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REFLECT_101).astype(np.int16)
    extended = 2 * edge - mirror
    extended = np.minimum(extended, edge) if op == cv2.MORPH_CLOSE else np.maximum(extended, edge)
    extended = np.clip(extended, 0, 255).astype(np.uint8)
    out = cv2.morphologyEx(extended, op, kernel, borderType=cv2.BORDER_REPLICATE)
    return out[pad:-pad, pad:-pad]


def _histogram(image: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """256-bin histogram of a uint8 image (optionally only where mask is non-zero)."""
    return cv2.calcHist([image], [0], mask, [256], [0, 256]).ravel()


def _polarity(half: np.ndarray, median: np.ndarray, keep: np.ndarray | None) -> tuple[bool, float]:
    """(dark ink?, noise floor) from which side of the local median the strong outliers lie on."""
    median = cv2.resize(median, (half.shape[1], half.shape[0]), interpolation=cv2.INTER_LINEAR)
    hist_dark = _histogram(cv2.subtract(median, half), keep)
    hist_light = _histogram(cv2.subtract(half, median), keep)
    # Noise and paper texture from the median absolute deviation (both sides together).
    spread = hist_dark + hist_light
    spread[0] /= 2  # zero is counted on both sides
    mad = int(np.searchsorted(np.cumsum(spread), spread.sum() / 2))
    floor = max(MIN_CONTRAST, 6 * 1.4826 * mad)
    weight = np.clip(np.arange(256) - floor, 0, None)
    return float(hist_dark @ weight) >= float(hist_light @ weight), floor


def _ink_map(grey: np.ndarray) -> tuple[np.ndarray, float]:
    """Ink strength (0 = background) whatever the polarity, and a noise-based minimum contrast."""
    h, w = grey.shape
    half = cv2.resize(grey, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    f = max(1, -(-max(h, w) // BACKGROUND_SIDE))
    small = cv2.resize(half, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape
    k = max(3, (min(sh, sw) // 3) | 1)
    median = cv2.medianBlur(small, min(k, 255)) if min(sh, sw) >= 3 else small
    # Background: a closing (dark ink) or an opening (light ink) wider than any stroke.
    kc = max(3, (min(sh, sw) // 5) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (kc, kc))
    closed = _morph_extrapolated(small, cv2.MORPH_CLOSE, kernel, kc // 2)
    opened = _morph_extrapolated(small, cv2.MORPH_OPEN, kernel, kc // 2)
    # A page edge is a step in the background that both estimates keep and the low resolution
    # smears: no ink can be told from the step there, so leave a band around it out.
    ring = np.ones((3, 3), np.uint8)
    step = np.minimum(cv2.morphologyEx(closed, cv2.MORPH_GRADIENT, ring),
                      cv2.morphologyEx(opened, cv2.MORPH_GRADIENT, ring))
    band = (step > PAGE_EDGE_STEP).astype(np.uint8)
    keep = None
    if band.any():
        keep = cv2.resize(1 - band, (half.shape[1], half.shape[0]), interpolation=cv2.INTER_NEAREST)
    dark_ink, floor = _polarity(half, median, keep)
    background = cv2.resize(closed if dark_ink else opened, (w, h), interpolation=cv2.INTER_LINEAR)
    ink = cv2.subtract(background, grey) if dark_ink else cv2.subtract(grey, background)
    if keep is not None:
        ink[cv2.resize(band, (w, h), interpolation=cv2.INTER_NEAREST) > 0] = 0
    return ink, floor


# --------------------------------------------------------------------------- threshold


def _otsu(hist: np.ndarray) -> float:
    """Otsu's threshold from a 256-bin histogram (so pixels can be left out of it)."""
    total = hist.sum()
    if total <= 0:
        return 0.0
    p = hist / total
    omega = np.cumsum(p)
    mu = np.cumsum(p * np.arange(256))
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu[-1] * omega - mu) ** 2 / (omega * (1.0 - omega))
    return float(np.argmax(np.nan_to_num(between[:-1])))


# --------------------------------------------------------------------------- components


@dataclass
class _Piece:
    """A candidate digit at working resolution: its box and its own pixels inside the box."""

    box: tuple[int, int, int, int]  # x, y, w, h
    own: np.ndarray  # uint8 mask, shape (h, w)
    strength: float = 0.0  # typical ink level of its stroke core


def _components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Label image, stats rows (x, y, w, h, area, label) of plausible pieces, labels of border junk."""
    h, w = mask.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_BBDT)
    stats = np.column_stack([stats[1:], np.arange(1, count)])
    x, y, bw, bh, area = stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3], stats[:, 4]
    touches = (x == 0) | (y == 0) | (x + bw == w) | (y + bh == h)
    long_side, short_side = np.maximum(bw, bh), np.minimum(bw, bh)
    fill = area / np.maximum(1, bw * bh)
    # Page edges and shadows: bands along the border, big solid patches at the border,
    # or anything spanning most of the frame.
    edge = touches & ((long_side > 4 * short_side) | (bw > 0.5 * w) | (bh > 0.6 * h)
                      | ((fill > 0.6) & (area > 0.01 * h * w)))
    huge = (bw > 0.8 * w) | (bh > 0.9 * h)
    junk = edge | huge
    keep = ~junk & (area >= 6)
    good = stats[keep]
    if len(good):
        # Specks: tiny next to the largest piece.
        good = good[good[:, 4] >= 0.03 * good[:, 4].max()]
        good = good[np.argsort(-good[:, 4])[:MAX_CANDIDATES]]
    return labels, good, stats[junk & (area >= 0.002 * h * w), 5]


@dataclass
class _Group:
    """Components believed to form one digit, with their joint box (x0, y0, x1, y1)."""

    ids: list[int]
    x0: int
    y0: int
    x1: int
    y1: int
    area: int

    def absorb(self, other: _Group) -> None:
        self.ids += other.ids
        self.x0, self.y0 = min(self.x0, other.x0), min(self.y0, other.y0)
        self.x1, self.y1 = max(self.x1, other.x1), max(self.y1, other.y1)
        self.area += other.area

    def x_overlap(self, other: _Group) -> int:
        return min(self.x1, other.x1) - max(self.x0, other.x0)

    def y_gap(self, other: _Group) -> int:
        return max(other.y0 - self.y1, self.y0 - other.y1)


def _same_digit(a: _Group, b: _Group) -> bool:
    """Fragments of one digit overlap strongly in x (a broken 5, a 4 with a gap) and touch in y."""
    narrow = min(a.x1 - a.x0, b.x1 - b.x0)
    tall = max(a.y1 - a.y0, b.y1 - b.y0)
    return a.x_overlap(b) >= 0.5 * narrow and a.y_gap(b) <= 0.5 * tall


def _merge_overlapping(groups: list[_Group]) -> None:
    merged = True
    while merged:
        merged = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                if _same_digit(groups[i], groups[j]):
                    groups[i].absorb(groups.pop(j))
                    merged = True
                    break
            if merged:
                break


def _attach_fragments(groups: list[_Group]) -> None:
    """A piece much shorter than the row's digits (the bar of a 5, half an 8) joins its nearest digit."""
    tallest = max(g.y1 - g.y0 for g in groups)
    for frag in sorted(groups, key=lambda g: g.y1 - g.y0):
        height = frag.y1 - frag.y0
        if height >= 0.6 * tallest:
            break
        best, best_gap = None, None
        for g in groups:
            gh = g.y1 - g.y0
            if g is frag or gh <= height or frag.area < 0.05 * g.area:
                continue
            gap_x = max(0, -g.x_overlap(frag))
            if gap_x <= 0.2 * gh and g.y_gap(frag) <= 0.2 * gh and (best_gap is None or gap_x < best_gap):
                best, best_gap = g, gap_x
        if best is not None:
            best.absorb(frag)
            groups.remove(frag)


def _group(stats: np.ndarray) -> list[tuple[list[int], tuple[int, int, int, int]]]:
    """Components → digits: merge fragments that overlap in x, then attach small leftovers."""
    groups = [_Group([int(s[5])], int(s[0]), int(s[1]), int(s[0] + s[2]), int(s[1] + s[3]), int(s[4]))
              for s in stats]
    if len(groups) > 1:
        _merge_overlapping(groups)
        _attach_fragments(groups)
        _merge_overlapping(groups)
    return [(g.ids, (g.x0, g.y0, g.x1 - g.x0, g.y1 - g.y0)) for g in groups]


def _pieces(labels: np.ndarray, stats: np.ndarray) -> list[_Piece]:
    """Group the components into digits, each with its own mask and ink strength."""
    pieces = []
    for ids, (x, y, w, h) in _group(stats):
        own = np.isin(labels[y:y + h, x:x + w], ids).astype(np.uint8)
        pieces.append(_Piece((x, y, w, h), own))
    return pieces


def _refine(ink: np.ndarray, piece: _Piece, threshold: float) -> list[_Piece]:
    """Re-threshold one digit against its own stroke strength.

    A global threshold low enough for the faintest digit lets a strong digit's blurred halo
    touch its neighbour or a shadow; relative to the digit's own ink they fall apart again.
    """
    x, y, w, h = piece.box
    patch = ink[y:y + h, x:x + w]
    core = patch[piece.own > 0]
    if core.size == 0:
        return []
    strength = float(np.percentile(core, 90))
    local = max(threshold, 0.3 * strength)
    if _blob(piece):
        # Digits on a shadow patch: the patch and the strokes on it are two levels of "ink".
        local = max(local, _otsu(_histogram(patch, piece.own)))
    if local <= threshold + 1:
        piece.strength = strength
        return [piece]
    mask = ((patch > local) & (piece.own > 0)).astype(np.uint8)
    labels, stats = _components_local(mask)
    out = []
    for sub in _pieces(labels, stats):
        sx, sy, sw, sh = sub.box
        # Back to frame coordinates; _crop adds the anti-aliased halo back around the mask.
        out.append(_Piece((x + sx, y + sy, sw, sh), sub.own, strength))
    return out


def _components_local(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Components inside one digit's box (no border rules: the box edge is not the frame's)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_BBDT)
    stats = np.column_stack([stats[1:], np.arange(1, count)])
    if len(stats):
        stats = stats[stats[:, 4] >= max(3, 0.03 * stats[:, 4].max())]
    return labels, stats


def _blob(piece: _Piece) -> bool:
    """A solid patch (a shadow, a smudge), not a pen stroke: its widest point is too wide."""
    own = cv2.copyMakeBorder(piece.own, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    widest = 2.0 * float(cv2.distanceTransform(own, cv2.DIST_L2, 3).max())
    return widest > 0.55 * max(piece.box[2], piece.box[3])


def _plausible(pieces: list[_Piece], shape: tuple[int, int]) -> list[_Piece]:
    """Drop pieces too small, too flat, too faint or much smaller than the biggest digit."""
    min_h = max(6, MIN_DIGIT_FRACTION * min(shape))
    pieces = [p for p in pieces if p.box[3] >= min_h and p.box[2] <= 2.5 * p.box[3] and not _blob(p)]
    if not pieces:
        return pieces
    tallest = max(p.box[3] for p in pieces)
    strongest = max(p.strength for p in pieces)
    return [p for p in pieces if p.box[3] >= 0.4 * tallest and p.strength >= 0.3 * strongest]


def _crop(ink: np.ndarray, piece: _Piece, threshold: float) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The digit's full-resolution grey-level ink (others masked out, stroke core at 255) and box.

    Pieces are found at half resolution; the crop goes back to full resolution so small
    digits keep every pixel of detail.
    """
    hx, hy, hw, hh = piece.box
    x, y = 2 * hx, 2 * hy
    w, h = min(2 * hw, ink.shape[1] - x), min(2 * hh, ink.shape[0] - y)
    own_full = cv2.resize(piece.own, (2 * hw, 2 * hh), interpolation=cv2.INTER_NEAREST)[:h, :w]
    pad = max(1, h // 20)
    x0, y0 = max(0, x - pad), max(0, y - pad)
    x1, y1 = min(ink.shape[1], x + w + pad), min(ink.shape[0], y + h + pad)
    patch = ink[y0:y1, x0:x1].astype(np.float32)
    own = np.zeros(patch.shape, np.uint8)
    own[y - y0: y - y0 + h, x - x0: x - x0 + w] = own_full
    core = patch[own > 0]
    halo = cv2.dilate(own, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pad + 1, 2 * pad + 1)))
    lo = 0.5 * threshold
    hi = max(float(np.percentile(core, 60)) if core.size else 255.0, lo + 1.0)
    patch = np.clip((patch - lo) * (255.0 / (hi - lo)), 0, 255) * halo
    return patch.astype(np.uint8), (x, y, w, h)


# --------------------------------------------------------------------------- public API


def normalise_digit(mask_or_ink: np.ndarray) -> np.ndarray:
    """A cropped ink image (white on black, any size) → 28×28 uint8 MNIST-style: aspect-preserving
    anti-aliased fit into 20×20, placed in 28×28 with the centre of mass at the centre."""
    ink = _to_uint8(np.asarray(mask_or_ink))
    if ink.ndim == 3:
        ink = _grey(ink)
    out = np.zeros((28, 28), np.uint8)
    ys, xs = np.nonzero(ink)
    if len(xs) == 0:
        return out
    ink = ink[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    h, w = ink.shape
    scale = 20.0 / max(h, w)
    size = (min(20, max(1, round(w * scale))), min(20, max(1, round(h * scale))))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    fitted = cv2.resize(ink, size, interpolation=interp)
    m = cv2.moments(fitted)
    if m["m00"] <= 0:
        return out
    # MNIST's centre of mass sits at pixel index 14.0 (measured on the test set).
    ox = int(round(14.0 - m["m10"] / m["m00"]))
    oy = int(round(14.0 - m["m01"] / m["m00"]))
    fh, fw = fitted.shape
    x0, y0 = max(0, ox), max(0, oy)
    x1, y1 = min(28, ox + fw), min(28, oy + fh)
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = fitted[y0 - oy: y1 - oy, x0 - ox: x1 - ox]
    return out


def _checked_frame(frame) -> np.ndarray:
    """The frame as an array, or BadInput (one line) when it cannot be an image at all."""
    try:
        frame = np.asarray(frame)
    except (ValueError, TypeError) as exc:
        raise BadInput(f"frame is not an image array: {exc}") from None
    if frame.dtype.kind not in "biuf":
        raise BadInput(f"frame must hold numbers (bool, integer or float), not {frame.dtype}")
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (1, 3, 4)):
        raise BadInput(f"frame must be grey (H, W) or colour (H, W, 1/3/4), not shape {frame.shape}")
    return frame


def find_digits(frame: np.ndarray, roi: tuple[int, int, int, int] | None = None) -> list[DigitCrop]:
    """Every digit in a BGR, BGRA, or grey (uint8 or uint16) frame, ordered left to right."""
    frame = _checked_frame(frame)
    ox, oy = 0, 0
    if roi is not None:
        rx, ry, rw, rh = (int(v) for v in roi)
        x0, y0 = max(0, rx), max(0, ry)
        x1, y1 = min(frame.shape[1], rx + rw), min(frame.shape[0], ry + rh)
        if x1 <= x0 or y1 <= y0:
            return []
        frame, ox, oy = frame[y0:y1, x0:x1], x0, y0
    if frame.shape[0] < 8 or frame.shape[1] < 8:
        return []
    grey, sx, sy = _working_grey(frame)
    raw, floor = _ink_map(grey)
    # Find digits at half resolution (4x cheaper, and the averaging tames noise); crop at full.
    half_size = (max(1, raw.shape[1] // 2), max(1, raw.shape[0] // 2))
    ink = cv2.resize(raw, half_size, interpolation=cv2.INTER_AREA)
    hist = _histogram(ink)
    # The ink map's own median is the paper's level in it: contrast counts from there.
    floor += float(np.searchsorted(np.cumsum(hist), hist.sum() / 2))
    threshold = max(_otsu(hist), floor)
    labels, stats, junk = _components((ink > threshold).astype(np.uint8))
    if len(junk):
        # A page edge or shadow pulled Otsu's threshold up: choose it again without them.
        lut = np.zeros(labels.max() + 1, np.uint8)
        lut[junk] = 1
        keep = (cv2.dilate(lut[labels], np.ones((5, 5), np.uint8)) == 0).astype(np.uint8)
        threshold = max(_otsu(_histogram(ink, keep)), floor)
        labels, stats, _ = _components((ink > threshold).astype(np.uint8) & keep)
    pieces = [r for p in _pieces(labels, stats) for r in _refine(ink, p, threshold)]
    crops = []
    for piece in sorted(_plausible(pieces, ink.shape), key=lambda p: p.box[0]):
        image, (x, y, w, h) = _crop(raw, piece, threshold)
        full = (ox + int(x * sx), oy + int(y * sy), max(1, round(w * sx)), max(1, round(h * sy)))
        crops.append(DigitCrop(normalise_digit(image), full))
    return crops
