"""Deterministic, realistic photographs of handwritten digits, for tests and benchmarks.

MNIST digits are clean white strokes on black. A camera sees something else: dark ink on
cream or coloured paper under uneven light, a slightly tilted page, blur, sensor noise and
JPEG artefacts, or chalk on a dark board. `render_photo` draws an MNIST digit that way so
the edge preprocessing can be tested end to end without a camera. Every random choice comes
from the `rng` passed in, so a seed always gives the same photographs.

Never tune anything that ships on these photographs and report on the same seed: develop on
some seeds and measure on another.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge_digits.atomic import atomic_path
from edge_digits.edge.preprocess import stroke_width

CONDITIONS = ("mixed", "paper", "board", "clean")


@dataclass
class Photo:
    """One rendered photograph with its ground truth."""

    image: np.ndarray  # (H, W, 3) uint8 BGR
    text: str  # the true digits left to right, e.g. "407"
    boxes: list[tuple[int, int, int, int]]  # true box (x, y, w, h) per digit, left to right


# --------------------------------------------------------------------------- strokes


def tight(digit: np.ndarray) -> np.ndarray:
    """The digit cropped to its ink (MNIST leaves a 4 px margin we do not want to scale)."""
    ys, xs = np.nonzero(digit > 20)
    if len(xs) == 0:
        return digit
    return digit[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]


def _stroke_alpha(digit: np.ndarray, height: int, rng: np.random.Generator) -> np.ndarray:
    """Upsample one 28×28 digit smoothly to `height` px, with a random pen width and tilt."""
    ink = tight(digit).astype(np.float32) / 255.0
    ink = cv2.copyMakeBorder(ink, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    h, w = ink.shape
    scale = height / (h - 2)
    size = (max(1, round(w * scale * rng.uniform(0.85, 1.15))), max(1, round(h * scale)))
    alpha = np.clip(cv2.resize(ink, size, interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
    # Pens differ: thin ball-point to felt tip. Erode/dilate the upsampled stroke towards a
    # random target width (in MNIST pixels; MNIST's own strokes are about 2-3 px wide).
    target = rng.uniform(1.4, 3.6)
    pen = 0.5 * (target - (stroke_width(digit) or 2.5)) * scale  # 2.5: MNIST's typical width
    k = int(round(abs(pen)))
    if k >= 1:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
        alpha = cv2.dilate(alpha, kernel) if pen > 0 else cv2.erode(alpha, kernel)
    pad = int(0.12 * max(size)) + 2
    alpha = cv2.copyMakeBorder(alpha, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    angle = rng.uniform(-10.0, 10.0)
    ah, aw = alpha.shape
    m = cv2.getRotationMatrix2D((aw / 2, ah / 2), angle, 1.0)
    alpha = cv2.warpAffine(alpha, m, (aw, ah), flags=cv2.INTER_LINEAR)
    # Ink saturates: the stroke core is fully dark, its edge anti-aliased.
    return np.clip(alpha * 1.6 - 0.15, 0.0, 1.0)


def alpha_box(alpha: np.ndarray) -> tuple[int, int, int, int] | None:
    """Tight box of the visible ink of one digit."""
    ys, xs = np.nonzero(alpha > 0.3)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def ink_box(alpha: np.ndarray) -> tuple[int, int, int, int]:
    """alpha_box, or the whole patch when it holds no visible ink."""
    return alpha_box(alpha) or (0, 0, alpha.shape[1], alpha.shape[0])


# --------------------------------------------------------------------------- layout


def _digit_height(n: int, width: int, height: int, rng: np.random.Generator) -> float:
    """Log-uniform height: 30–300 px in a 640×480 frame, smaller when several must fit a row."""
    short = min(width, height)
    lo, hi = 30 * short / 480, 300 * short / 480
    if n > 1:
        hi = min(hi, 0.85 * width / (n * 0.95 + (n - 1) * 0.45))
        hi = max(hi, lo * 1.2)
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _layout(alphas: list[np.ndarray], width: int, height: int,
            rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Place the digit alphas side by side in a row; return the ink canvas and true boxes."""
    canvas = np.zeros((height, width), np.float32)
    boxes: list[tuple[int, int, int, int]] = []
    tight = [ink_box(a) for a in alphas]
    digit_h = max(b[3] for b in tight)
    gaps = [rng.uniform(0.15, 0.5) * digit_h for _ in alphas[1:]]
    row_w = sum(b[2] for b in tight) + sum(gaps)
    margin = 0.04 * min(width, height)
    x_free = max(0.0, width - 2 * margin - row_w)
    x = margin + rng.uniform(0, x_free)
    y_free = max(0.0, height - 2 * margin - digit_h)
    y_row = margin + rng.uniform(0, y_free)
    for i, (alpha, (bx, by, bw, bh)) in enumerate(zip(alphas, tight)):
        dy = rng.uniform(-0.06, 0.06) * digit_h + (digit_h - bh) / 2
        ox, oy = int(round(x - bx)), int(round(y_row + dy - by))
        paste_max(canvas, alpha, ox, oy)
        boxes.append((ox + bx, oy + by, bw, bh))
        x += bw + (gaps[i] if i < len(gaps) else 0)
    return canvas, boxes


def paste_max(canvas: np.ndarray, patch: np.ndarray, x: int, y: int) -> None:
    """canvas = max(canvas, patch at (x, y)), clipped to the canvas."""
    h, w = patch.shape
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, canvas.shape[1]), min(y + h, canvas.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    region = canvas[y0:y1, x0:x1]
    np.maximum(region, patch[y0 - y: y1 - y, x0 - x: x1 - x], out=region)


def perspective_matrix(width: int, height: int, strength: float, rng: np.random.Generator) -> np.ndarray:
    """A slight random homography, as from a camera not quite square to the page."""
    src = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    jitter = rng.uniform(-strength, strength, (4, 2)) * np.float32([width, height])
    return cv2.getPerspectiveTransform(src, (src + jitter).astype(np.float32))


def warp_box(box: tuple[int, int, int, int], m: np.ndarray, width: int,
              height: int) -> tuple[int, int, int, int]:
    """Bounding box of a box's corners under homography m, clipped to the frame."""
    x, y, w, h = box
    corners = np.float32([[[x, y]], [[x + w, y]], [[x + w, y + h]], [[x, y + h]]])
    p = cv2.perspectiveTransform(corners, m).reshape(-1, 2)
    x0, y0 = np.clip(p.min(0), 0, [width, height])
    x1, y1 = np.clip(p.max(0), 0, [width, height])
    return int(x0), int(y0), max(1, int(round(x1 - x0))), max(1, int(round(y1 - y0)))


# --------------------------------------------------------------------------- paper and light


def smooth_noise(width: int, height: int, cells: int, rng: np.random.Generator) -> np.ndarray:
    """Low-frequency noise in about [-1, 1]: paper fibres, blotches, uneven light."""
    small = rng.standard_normal((cells, max(2, cells * width // height))).astype(np.float32)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def illumination_gain(width: int, height: int, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Lighting gradient × vignetting × an occasional soft shadow, as a gain map ≤ 1."""
    xx = (np.arange(width, dtype=np.float32) / width - 0.5)[None, :]
    yy = (np.arange(height, dtype=np.float32) / height - 0.5)[:, None]
    theta = rng.uniform(0, 2 * np.pi)
    gradient = 1.0 - strength * rng.uniform(0.1, 0.5) * (0.5 + xx * np.cos(theta) + yy * np.sin(theta))
    cx, cy = rng.uniform(-0.2, 0.2, 2)
    vignette = 1.0 - strength * rng.uniform(0.0, 0.6) * ((xx - cx) ** 2 + (yy - cy) ** 2) * 2
    gain = gradient * vignette
    if rng.random() < 0.25 * strength:
        # A soft shadow (a hand or the phone) across part of the page.
        shade = smooth_noise(width, height, 3, rng)
        gain *= 1.0 - rng.uniform(0.1, 0.3) * np.clip(shade, 0, 1)
    return np.clip(gain, 0.2, 1.0).astype(np.float32)


def _surface(width: int, height: int, board: bool, rng: np.random.Generator,
             clean: bool) -> tuple[np.ndarray, np.ndarray]:
    """(surface colour image, ink colour) in BGR floats 0–255."""
    if board:
        base = rng.choice([[40, 60, 35], [30, 30, 30], [45, 45, 40], [60, 50, 30]]) + rng.uniform(-10, 10, 3)
        ink = rng.choice([[235, 235, 235], [200, 230, 240], [230, 215, 215]]) - rng.uniform(0, 40)
    elif clean:
        base, ink = np.array([250.0, 250, 250]), np.array([20.0, 20, 20])
    else:
        kind = rng.choice(["white", "cream", "coloured", "tinted"], p=[0.35, 0.25, 0.2, 0.2])
        base = {
            "white": np.array([245.0, 245, 245]),
            "cream": np.array([200.0, 235, 245]),
            "coloured": rng.choice([[240, 200, 170], [170, 230, 240], [190, 240, 190], [220, 190, 240]]),
            "tinted": rng.uniform(150, 250, 3),
        }[kind] + rng.uniform(-15, 10, 3)
        ink = rng.choice([[30, 25, 25], [120, 40, 20], [40, 40, 40], [60, 30, 30], [20, 20, 110]])
        ink = ink + rng.uniform(0, 40, 3)
    surface = np.empty((height, width, 3), np.float32)
    surface[:] = np.clip(base, 0, 255)
    if not clean:
        texture = smooth_noise(width, height, 24, rng) * rng.uniform(0, 4)
        texture += smooth_noise(width, height, 4, rng) * rng.uniform(0, 6)
        surface += texture[..., None]
    return surface, np.asarray(ink, np.float32)


def _page_edge(image: np.ndarray, alpha: np.ndarray, rng: np.random.Generator) -> None:
    """Sometimes the page does not fill the frame: a darker table beyond one straight edge."""
    h, w = alpha.shape
    ys, xs = np.nonzero(alpha > 0.05)
    if len(xs) == 0:
        return
    side = rng.integers(4)
    free = [xs.min(), ys.min(), w - 1 - xs.max(), h - 1 - ys.max()][side]
    if free < 0.08 * min(w, h):
        return
    depth = rng.uniform(0.02, 0.6) * free
    slope = rng.uniform(-0.05, 0.05)
    xx = np.arange(w, dtype=np.float32)[None, :]
    yy = np.arange(h, dtype=np.float32)[:, None]
    dist = {0: xx - depth - slope * yy, 1: yy - depth - slope * xx,
            2: (w - 1 - xx) - depth - slope * yy, 3: (h - 1 - yy) - depth - slope * xx}[side]
    table = np.clip(0.5 - dist, 0, 1)[..., None]  # 1 px soft edge
    colour = rng.uniform(30, 120, 3).astype(np.float32)
    image[:] = image * (1 - table) + colour * table


# --------------------------------------------------------------------------- camera


def camera_effects(image: np.ndarray, rng: np.random.Generator, clean: bool) -> np.ndarray:
    """Blur, motion, sensor noise and a JPEG round trip."""
    if clean:
        return np.clip(image, 0, 255).astype(np.uint8)
    sigma = rng.uniform(0.0, 1.6)
    if sigma > 0.4:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    if rng.random() < 0.2:
        length = int(rng.integers(3, 8))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0 / length
        m = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1.0)
        kernel = cv2.warpAffine(kernel, m, (length, length))
        image = cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))
    noise = rng.uniform(0.0, 8.0)
    # Sensor noise, mostly in luminance after the camera's demosaicing.
    image = image + rng.standard_normal((*image.shape[:2], 1), dtype=np.float32) * noise
    image = np.clip(image, 0, 255).astype(np.uint8)
    quality = int(rng.integers(40, 96))
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else image


# --------------------------------------------------------------------------- public API


def render_photo(digits: list[np.ndarray], labels: list[int], rng: np.random.Generator,
                 size: tuple[int, int] = (640, 480), conditions: str = "mixed") -> Photo:
    """Photograph `digits` (28×28 uint8 MNIST images) written in a row, left to right.

    conditions: "mixed" (random paper or, sometimes, a chalk board), "paper", "board", or
    "clean" (white paper, black ink, even light, no camera effects: a sanity baseline).
    """
    if conditions not in CONDITIONS:
        raise ValueError(f"conditions must be one of {CONDITIONS}, not {conditions!r}")
    if len(digits) == 0 or len(digits) != len(labels):
        raise ValueError("need one label per digit and at least one digit")
    width, height = size
    clean = conditions == "clean"
    board = conditions == "board" or (conditions == "mixed" and rng.random() < 0.15)
    digit_h = _digit_height(len(digits), width, height, rng)
    alphas = [_stroke_alpha(d, digit_h, rng) for d in digits]
    alpha, boxes = _layout(alphas, width, height, rng)
    if not clean:
        m = perspective_matrix(width, height, 0.04, rng)
        alpha = cv2.warpPerspective(alpha, m, (width, height), flags=cv2.INTER_LINEAR)
        boxes = [warp_box(b, m, width, height) for b in boxes]
    surface, ink = _surface(width, height, board, rng, clean)
    if board:
        # Chalk is grainy: knock random holes into the stroke.
        grain = rng.random(alpha.shape, dtype=np.float32) * rng.uniform(0, 0.4)
        alpha = alpha * (1.0 - grain)
    opacity = 1.0 if clean else rng.uniform(0.75, 1.0)
    a = (alpha * opacity)[..., None]
    image = surface * (1 - a) + ink * a
    if not clean:
        if not board and rng.random() < 0.2:
            _page_edge(image, alpha, rng)
        image *= illumination_gain(width, height, rng, rng.uniform(0.2, 1.0))[..., None]
        image *= rng.uniform(0.75, 1.1)  # exposure
    image = camera_effects(image, rng, clean)
    return Photo(image, "".join(str(int(v)) for v in labels), boxes)


def iter_photos(images: np.ndarray, labels: np.ndarray, count: int, seed: int = 0,
                digits_per_photo: tuple[int, int] = (1, 1),
                size: tuple[int, int] = (640, 480)) -> Iterator[Photo]:
    """`count` photographs, one at a time (a caller writing them to disk never holds them all).

    Deterministic by seed; each photo shows between digits_per_photo[0] and digits_per_photo[1]
    digits (inclusive).
    """
    lo, hi = digits_per_photo
    if not 1 <= lo <= hi:
        raise ValueError(f"digits_per_photo must be (lo, hi) with 1 <= lo <= hi, not {digits_per_photo}")
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = int(rng.integers(lo, hi + 1))
        idx = rng.integers(0, len(images), n)
        yield render_photo([images[i] for i in idx], [int(labels[i]) for i in idx], rng, size)


def make_photos(images: np.ndarray, labels: np.ndarray, count: int, seed: int = 0,
                digits_per_photo: tuple[int, int] = (1, 1),
                size: tuple[int, int] = (640, 480)) -> list[Photo]:
    """`count` photographs as a list (see iter_photos)."""
    return list(iter_photos(images, labels, count, seed, digits_per_photo, size))


_FOURCC = {".avi": "MJPG", ".mp4": "mp4v"}


def write_video(photos: Iterable[Photo], path: str, fps: float = 30.0) -> None:
    """Write the photos as video frames (MJPG .avi or mp4v .mp4), atomically, one frame at a time."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in _FOURCC:
        raise ValueError(f"video path must end in .avi or .mp4, not {path!r}")
    photos = iter(photos)
    first = next(photos, None)
    if first is None:
        raise ValueError("no photos to write")
    height, width = first.image.shape[:2]
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".video.", suffix=suffix, dir=folder)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a video is an ordinary file like the JPEGs
    try:
        writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*_FOURCC[suffix]), fps, (width, height))
        if not writer.isOpened():
            raise OSError(f"OpenCV cannot write {suffix} video here")
        try:
            for photo in itertools.chain([first], photos):
                frame = photo.image
                if frame.shape[:2] != (height, width):
                    frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
                writer.write(frame)
        finally:
            writer.release()
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


JPEG_QUALITY = 92


def write_photos(photos: Iterable[Photo], out_dir: str | os.PathLike, video: str | os.PathLike | None = None) -> int:
    """Write photoNNN_<true digits>.jpg into `out_dir`, and the same frames as a `video` if given; returns the count.

    Each photo is written as it is made, so memory stays flat for any count.
    """
    out_dir, count = Path(out_dir), 0

    def saved(photos: Iterable[Photo]) -> Iterator[Photo]:
        nonlocal count
        for i, photo in enumerate(photos):
            with atomic_path(out_dir / f"photo{i:03d}_{photo.text}.jpg") as tmp:
                cv2.imwrite(str(tmp), photo.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            count += 1
            yield photo

    if video is not None:
        write_video(saved(photos), os.fspath(video))
    else:
        for _ in saved(photos):
            pass
    return count
