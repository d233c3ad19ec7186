"""How people hand pictures over, beyond how the page looks: deterministic by seed, for tests and
benchmarks.

The field photos (edge_digits.field_photos) draw what is on the page. These draw how the
picture was taken or stored, each a way the reader once failed on:

- `square_frame`: one digit whose height fills a small square frame, as digit sets normalise
  them (USPS: 16 px), with a bolder pen;
- `rows`: a page with a number on each of two or three lines, the lines slanted a little;
- `small_in_big`: a number whose digits are 2% of a 4000×3000 photo's short side;
- `tilted`: a field photo of lines (underline, ruled paper, a box) turned by some degrees;
- `square_frame(..., stretch=True)` (kind `stretched-frame`): the digit's box stretched to fill
  the frame both ways, as NIST's normalised bitmaps and Semeion store digits;
- `dimmed` (kind `dim`): a field photo taken in dim light, 0.15 to 0.4 of the light, with the
  sensor noise that comes with it;
- `on_desk` (kind `on-desk`): a note, a label or a card with a number on it, photographed
  lying on a darker desk that shows on every side;
- `held_up` (kind `held-up`): a sheet held up to a webcam, filling most of the frame, a dark
  room beyond one of its sides and the thumb holding it over its edge;
- `enclosed`: a number in a ring or a box drawn well clear of it (a circled answer, a form's
  wide field);
- `printed`: a number on a form, lines of print above and below it;
- `black_and_white` (kind `black-and-white`): a field photo as a scanner or a fax stores it,
  every pixel black or white, thresholded against the paper around it;
- `small_in_small` (kind `small-in-small`): a number 10–16 px tall in a 640×480 photo, written
  small or far from a webcam.

Every random choice comes from the `rng` passed in. Use MNIST *test* digits to measure.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from edge_digits.field_photos import make_field_photos
from edge_digits.photos import Photo, camera_effects, illumination_gain, render_photo, smooth_noise

PAPER = 235
PAPERS = [[245.0, 245, 245], [200, 235, 245], [215, 240, 225], [240, 240, 250]]  # a card's or sheet's BGR colours
KINDS = ("square-frame", "rows", "small-in-big", "tilted", "stretched-frame", "dim", "on-desk", "held-up",
         "enclosed", "printed", "black-and-white", "small-in-small")  # new kinds go last: kind k uses seed + k
PRINT = ("Name", "Date of birth", "Total amount", "Signature", "Account holder", "Received with thanks",
         "Reference", "For office use only", "Please write clearly", "Room", "Patient", "Quantity")


def _ink_on(page: np.ndarray, digit: np.ndarray, x: int, y: int, side: int) -> None:
    """Draw a 28×28 MNIST digit scaled to side × side as dark ink on a float page, in place."""
    big = cv2.resize(digit, (side, side), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    page[y: y + side, x: x + side] *= 1 - 0.85 * big


def square_frame(digit: np.ndarray, label: int, side: int, pen: int, stretch: bool = False) -> Photo:
    """The digit's height fills a side × side frame; a `pen` px disk thickens a 112 px rendering.
    With `stretch`, its box fills the frame both ways, as some digit sets store them (NIST's
    normalised bitmaps, Semeion): its strokes run into all four sides."""
    big = cv2.resize(digit, (112, 112), interpolation=cv2.INTER_CUBIC)
    if pen:
        big = cv2.dilate(big, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (pen, pen)))
    ys, xs = np.nonzero(big > 100)
    big = big[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    h, w = big.shape
    s = max(h, w)
    square = np.zeros((s, s), np.uint8)
    square[(s - h) // 2: (s - h) // 2 + h, (s - w) // 2: (s - w) // 2 + w] = big
    small = cv2.resize(big if stretch else square, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32)
    image = (PAPER * (1 - 0.9 * small / 255)).astype(np.uint8)
    return Photo(image, str(label), [(0, 0, side, side)])


def rows(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Photo:
    """Two or three lines of 2–5 digits on an 800×600 page, each line slanted by up to 4.5°."""
    page, text, boxes, y0 = np.full((600, 800), PAPER, np.float32), "", [], 40
    side = int(rng.uniform(50, 90))
    for _row in range(int(rng.integers(2, 4))):
        x, slope = int(rng.uniform(20, 120)), rng.uniform(-0.08, 0.08)
        for _digit in range(int(rng.integers(2, 6))):
            i = int(rng.integers(len(labels)))
            y = int(y0 + slope * (x - 60))
            if x + side > 800:
                break
            _ink_on(page, images[i], x, y, side)
            text += str(int(labels[i]))
            boxes.append((x, y, side, side))
            x += int(side * rng.uniform(0.75, 1.0))
        y0 += int(side * rng.uniform(1.3, 1.8))
    return Photo(cv2.GaussianBlur(page, (0, 0), 1).astype(np.uint8), text, boxes)


def small_in_big(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, share: float = 0.02) -> Photo:
    """A 3–5 digit number on a 4000×3000 photo, its digits `share` of the short side tall."""
    page = np.full((3000, 4000), 225, np.float32)
    side = int(share * 3000 * 28 / 20)  # MNIST's ink fills 20 of its 28 rows
    x, y = int(rng.uniform(500, 1500)), int(rng.uniform(500, 2000))
    text, boxes = _number_in_a_row(page, images, labels, rng, x, y, side, int(rng.integers(3, 6)))
    return Photo(cv2.GaussianBlur(page, (0, 0), 1.5).astype(np.uint8), text, boxes)


def _number_in_a_row(page: np.ndarray, images: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
                     x: int, y: int, side: int, count: int) -> tuple[str, list[tuple[int, int, int, int]]]:
    """`count` random MNIST digits inked on the page from (x, y) in side × side cells 0.8 of a
    side apart, in place: (their text, their cells)."""
    text, boxes = "", []
    for _digit in range(count):
        i = int(rng.integers(len(labels)))
        _ink_on(page, images[i], x, y, side)
        text += str(int(labels[i]))
        boxes.append((x, y, side, side))
        x += int(0.8 * side)
    return text, boxes


def small_in_small(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Photo:
    """A 2–5 digit number 10–16 px tall in a 640×480 photo: written small, or far from a webcam."""
    page = np.full((480, 640), rng.uniform(190, 235), np.float32)
    side = int(rng.uniform(10, 16) * 28 / 20)  # MNIST's ink fills 20 of its 28 rows
    k = int(rng.integers(2, 6))
    x, y = int(rng.uniform(20, 620 - (0.8 * k + 0.2) * side)), int(rng.uniform(20, 460 - side))
    text, boxes = _number_in_a_row(page, images, labels, rng, x, y, side, k)
    page = cv2.GaussianBlur(page, (0, 0), rng.uniform(0.5, 1.0)) + rng.normal(0, rng.uniform(1, 4), page.shape)
    return Photo(np.clip(page, 0, 255).astype(np.uint8), text, boxes)


def on_desk(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
            size: tuple[int, int] = (640, 480)) -> Photo:
    """A card with a 1–4 digit number lying on a darker desk, in a `size` photo: the card covers
    15–60% of the frame, turned by up to 10°, with a soft shadow; the desk is 25–75% as light
    as the card, plain or grained."""
    width, height = size
    k = int(rng.integers(1, 5))
    idx = rng.integers(0, len(labels), k)
    area = rng.uniform(0.15, 0.6) * width * height
    aspect = rng.uniform(0.35, 0.9)  # the card's height over its width
    cw = int(min(0.95 * width, np.sqrt(area / aspect)))
    ch = int(min(0.95 * height, cw * aspect))
    card = render_photo([images[i] for i in idx], [int(labels[i]) for i in idx], rng, (cw, ch), "clean")
    paper = rng.choice(PAPERS)
    face = card.image.astype(np.float32) / 250.0 * paper
    desk_level = rng.uniform(0.25, 0.75) * paper.mean()
    tint = rng.uniform(0.8, 1.2, 3)
    desk = desk_level * tint * (1 + rng.uniform(0, 0.15) * smooth_noise(width, height, 6, rng))[..., None]
    angle = rng.uniform(-10, 10)
    cx, cy = rng.uniform(cw / 2 + 10, width - cw / 2 - 10), rng.uniform(ch / 2 + 10, height - ch / 2 - 10)
    m = cv2.getRotationMatrix2D((cw / 2, ch / 2), angle, 1.0)
    m[:, 2] += (cx - cw / 2, cy - ch / 2)
    cover = cv2.warpAffine(np.ones((ch, cw), np.float32), m, (width, height))[..., None]
    placed = cv2.warpAffine(face, m, (width, height), flags=cv2.INTER_LINEAR)
    shadow = cv2.GaussianBlur(np.roll(cover[..., 0], (int(rng.integers(2, 12)), int(rng.integers(2, 12))), (0, 1)),
                              (0, 0), rng.uniform(3, 10))[..., None]
    image = (desk * (1 - 0.5 * shadow)) * (1 - cover) + placed * cover
    image *= illumination_gain(width, height, rng, rng.uniform(0.2, 0.8))[..., None]
    return Photo(camera_effects(image, rng, False), card.text, _placed(card.boxes, m))


def held_up(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
            size: tuple[int, int] = (640, 480)) -> Photo:
    """A sheet with a 1–3 digit number held up to a camera in a `size` photo: it runs off the
    frame on three sides, turned by up to 5°; beyond the fourth, 8–25% of the frame deep, a room
    20–45% as light as the sheet; a thumb, 50–75% as light, over the sheet's edge there."""
    width, height = size
    k = int(rng.integers(1, 4))
    idx = rng.integers(0, len(labels), k)
    side = int(rng.integers(4))  # where the room shows: left, top, right, bottom
    depth = rng.uniform(0.08, 0.25) * (width if side % 2 == 0 else height)
    x0, y0, x1, y1 = -40.0, -40.0, width + 40.0, height + 40.0  # the sheet, running off the frame
    if side == 0:
        x0 = depth
    elif side == 1:
        y0 = depth
    elif side == 2:
        x1 = width - depth
    else:
        y1 = height - depth
    cw, ch = int(x1 - x0), int(y1 - y0)
    # The number on the part of the sheet in view, clear of its edges.
    face = np.full((ch, cw), 250.0, np.float32)
    visible = (max(0, -int(x0)), max(0, -int(y0)), min(cw, int(width - x0)), min(ch, int(height - y0)))
    card = render_photo([images[i] for i in idx], [int(labels[i]) for i in idx], rng,
                        (int(0.7 * (visible[2] - visible[0])), int(0.7 * (visible[3] - visible[1]))), "clean")
    ox = visible[0] + int(0.15 * (visible[2] - visible[0]))
    oy = visible[1] + int(0.15 * (visible[3] - visible[1]))
    face[oy: oy + card.image.shape[0], ox: ox + card.image.shape[1]] = card.image[..., 0]
    paper = rng.choice(PAPERS)
    face3 = face[..., None] / 250.0 * paper
    room = rng.uniform(0.2, 0.45) * paper.mean() * rng.uniform(0.8, 1.2, 3)
    room = room * (1 + rng.uniform(0, 0.3) * smooth_noise(width, height, 4, rng))[..., None]
    m = cv2.getRotationMatrix2D((cw / 2, ch / 2), rng.uniform(-5, 5), 1.0)
    m[:, 2] += (x0, y0)
    cover = cv2.warpAffine(np.ones((ch, cw), np.float32), m, (width, height))[..., None]
    image = room * (1 - cover) + cv2.warpAffine(face3, m, (width, height), flags=cv2.INTER_LINEAR) * cover
    # The thumb: at the sheet's edge on the room's side, in the quarter of that edge farthest from the number.
    edge = (x0, y0, x1, y1)[side]
    along = rng.uniform(0.05, 0.2) if rng.random() < 0.5 else rng.uniform(0.8, 0.95)
    centre = (int(edge), int(along * height)) if side % 2 == 0 else (int(along * width), int(edge))
    axes = (int(rng.uniform(0.06, 0.1) * height), int(rng.uniform(0.12, 0.2) * height))
    thumb = np.zeros((height, width), np.float32)
    cv2.ellipse(thumb, centre, axes if side % 2 == 0 else axes[::-1], 0, 0, 360, 1.0, -1)
    thumb = cv2.GaussianBlur(thumb, (0, 0), 2)[..., None]
    skin = rng.uniform(0.5, 0.75) * paper.mean() * np.array([0.8, 0.9, 1.15])
    image = image * (1 - thumb) + skin * thumb
    image *= illumination_gain(width, height, rng, rng.uniform(0.2, 0.6))[..., None]
    return Photo(camera_effects(image, rng, False), card.text, _placed(card.boxes, m, ox, oy))


def _number_on_page(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, size: tuple[int, int],
                    digits: tuple[int, int]) -> tuple[np.ndarray, str, list[tuple[int, int, int, int]]]:
    """A float grey page of `size` with a number of `digits` (lo, hi) MNIST digits, 60–150 px
    cells (the number at most 70% of the width), about its middle: (page, text, the digits' cells)."""
    width, height = size
    idx = rng.integers(0, len(labels), int(rng.integers(digits[0], digits[1] + 1)))
    side = int(min(rng.uniform(60, 150), 0.7 * width / len(idx)))
    steps = [int(side * rng.uniform(0.75, 1.0)) for _ in idx[1:]]
    x = int((width - side - sum(steps)) / 2 + rng.uniform(-0.1, 0.1) * width)
    y = int((height - side) / 2 + rng.uniform(-0.1, 0.1) * height)
    page, boxes = np.full((height, width), 250.0, np.float32), []
    for i, step in zip(idx, [0, *steps]):
        x += step
        _ink_on(page, images[i], x, y, side)
        boxes.append((x, y, side, side))
    return page, "".join(str(int(labels[i])) for i in idx), boxes


def _photographed(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A grey page on paper of one of PAPERS' colours, lit unevenly, through a camera."""
    height, width = page.shape
    image = page[..., None] / 250.0 * rng.choice(PAPERS)
    image *= illumination_gain(width, height, rng, rng.uniform(0.2, 0.6))[..., None]
    return camera_effects(image, rng, False)


def enclosed(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
             size: tuple[int, int] = (640, 480)) -> Photo:
    """A 1–3 digit number in a ring (an ellipse 1.3–1.8 times its half-width and half-height
    from its centre) or a box (1.15–1.6 times), drawn with a 2–6 px pen, in a `size` photo."""
    width, height = size
    page, text, boxes = _number_on_page(images, labels, rng, size, (1, 3))
    # Round the ink: MNIST's fills the middle 20 of a cell's 28 rows and columns.
    x0, y0 = min(b[0] + b[2] // 7 for b in boxes), min(b[1] + b[3] // 7 for b in boxes)
    x1, y1 = max(b[0] + b[2] - b[2] // 7 for b in boxes), max(b[1] + b[3] - b[3] // 7 for b in boxes)
    cx, cy, a, b = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    ring = rng.random() < 0.5
    grow = rng.uniform(1.3, 1.8) if ring else rng.uniform(1.15, 1.6)
    grow = min(grow, (min(cx, width - cx) - 8) / a, (min(cy, height - cy) - 8) / b)
    pen, ink = int(rng.integers(2, 7)), rng.uniform(20, 90)
    if ring:
        cv2.ellipse(page, (int(cx), int(cy)), (int(grow * a), int(grow * b)), 0, 0, 360, ink, pen, cv2.LINE_AA)
    else:
        cv2.rectangle(page, (int(cx - grow * a), int(cy - grow * b)), (int(cx + grow * a), int(cy + grow * b)),
                      ink, pen, cv2.LINE_AA)
    return Photo(_photographed(page, rng), text, boxes)


def printed(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
            size: tuple[int, int] = (640, 480)) -> Photo:
    """A 2–4 digit number on a form in a `size` photo, a line of print (PRINT, Hershey fonts,
    capitals 15–28% of the digits' height) above it and one or two below, clear of it and dark
    like the pen."""
    width, height = size
    page, text, boxes = _number_on_page(images, labels, rng, size, (2, 4))
    digit_h = 20 / 28 * boxes[0][3]  # the ink's height in a cell
    top, bottom = boxes[0][1] + boxes[0][3] / 7, boxes[0][1] + boxes[0][3] * 6 / 7
    font = int(rng.choice([cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX]))
    scale = rng.uniform(0.15, 0.28) * digit_h / 22  # a capital is about 22 px tall at scale 1
    thickness = max(1, round(2 * scale))
    ink = rng.uniform(20, 70)
    lines = [top - rng.uniform(0.4, 0.9) * digit_h]
    below = bottom + rng.uniform(0.5, 0.9) * digit_h
    lines += [below + n * 1.8 * 22 * scale for n in range(int(rng.integers(1, 3)))]
    print_mask = np.zeros(page.shape, np.uint8)
    for y in lines:
        words = " ".join(rng.choice(PRINT, 2, replace=False))
        cv2.putText(print_mask, words, (int(rng.uniform(10, 0.3 * width)), int(y)), font, scale, 255, thickness,
                    cv2.LINE_AA)
    alpha = print_mask.astype(np.float32) / 255
    page = page * (1 - alpha) + ink * alpha
    return Photo(_photographed(page, rng), text, boxes)


def _placed(boxes: list[tuple[int, int, int, int]], m: np.ndarray, dx: int = 0, dy: int = 0,
            ) -> list[tuple[int, ...]]:
    """Digit boxes on a card, moved by (dx, dy) on it and placed in the photo by the affine `m`:
    the upright bounding box of each turned box."""
    return [tuple(int(v) for v in cv2.boundingRect(cv2.transform(np.float32(
        [[[x + dx, y + dy], [x + dx + w, y + dy], [x + dx, y + dy + h], [x + dx + w, y + dy + h]]]), m)[0]))
            for x, y, w, h in boxes]


def turned(image: np.ndarray, degrees: float) -> np.ndarray:
    """The picture turned about its centre (counter-clockwise for positive degrees), same size,
    its border continued outwards."""
    h, w = image.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, turn, (w, h), borderMode=cv2.BORDER_REPLICATE)


def tilted(images: np.ndarray, labels: np.ndarray, count: int, seed: int, degrees: float = -8.0,
           ) -> Iterator[tuple[Photo, Photo]]:
    """(upright, tilted) pairs of field photos of lines: underline, ruled paper and boxes in turn."""
    scenes = ("underline", "ruled", "boxed")
    streams = [make_field_photos(images, labels, -(-count // 3), seed=seed, scene=s) for s in scenes]
    for n in range(count):
        photo = next(streams[n % 3])
        yield photo, Photo(turned(photo.image, degrees), photo.text, [])


def dimmed(images: np.ndarray, labels: np.ndarray, count: int, seed: int) -> Iterator[tuple[Photo, Photo]]:
    """(in full light, dim) pairs of field photos: every grey level scaled by 0.15-0.4, plus
    Gaussian noise of 1-3 grey levels."""
    rng = np.random.default_rng(seed + 1)
    for photo in make_field_photos(images, labels, count, seed=seed):
        gain, noise = rng.uniform(0.15, 0.4), rng.uniform(1.0, 3.0)
        image = photo.image.astype(np.float32) * gain + rng.normal(0.0, noise, photo.image.shape)
        yield photo, Photo(np.clip(image, 0, 255).astype(np.uint8), photo.text, [])


def black_and_white(images: np.ndarray, labels: np.ndarray, count: int, seed: int,
                    ) -> Iterator[tuple[Photo, Photo]]:
    """(grey, black-and-white) pairs of field photos: a pixel is black where it is darker than
    70-85% of the paper around it (the lightest level within an eighth of the frame's short
    side, smoothed), as scanners threshold."""
    rng = np.random.default_rng(seed + 1)
    for photo in make_field_photos(images, labels, count, seed=seed):
        grey = cv2.cvtColor(photo.image, cv2.COLOR_BGR2GRAY) if photo.image.ndim == 3 else photo.image
        k = max(15, (min(grey.shape) // 8) | 1)
        paper = cv2.blur(cv2.morphologyEx(grey, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8)), (k, k))
        black = grey < paper.astype(np.float32) * rng.uniform(0.7, 0.85)
        yield photo, Photo(np.where(black, 0, 255).astype(np.uint8), photo.text, [])


PAIRS = {"tilted": tilted, "dim": dimmed, "black-and-white": black_and_white}  # kind → (before, after) pairs
_ONE_EACH = {"rows": rows, "small-in-big": small_in_big, "small-in-small": small_in_small, "on-desk": on_desk,
             "held-up": held_up, "enclosed": enclosed, "printed": printed}  # kind → one picture from the rng


def make_presentations(images: np.ndarray, labels: np.ndarray, kind: str, count: int, seed: int,
                       ) -> Iterator[Photo]:
    """`count` pictures of one kind (KINDS); the PAIRS kinds (`tilted`, `dim`, `black-and-white`)
    give the second photo of each pair."""
    rng = np.random.default_rng(seed)
    if kind in PAIRS:
        yield from (photo for _, photo in PAIRS[kind](images, labels, count, seed))
        return
    for n in range(count):
        if kind in ("square-frame", "stretched-frame"):
            i = int(rng.integers(len(labels)))
            yield square_frame(images[i], int(labels[i]), side=(16, 24, 32, 48)[n % 4], pen=(0, 5, 9)[n % 3],
                               stretch=kind == "stretched-frame")
        elif kind in _ONE_EACH:
            yield _ONE_EACH[kind](images, labels, rng)
        else:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
