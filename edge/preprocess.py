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

import itertools
from dataclasses import dataclass, field

import cv2
import numpy as np

from edge_digits.errors import BadInput

WORK_SIDE = 1000  # longest side processed; larger frames are downscaled first ...
SMALL_SIDE = 400  # ... and smaller ones than this upscaled 2×
ZOOM_BELOW = 24  # px: digits found shorter than this at working resolution ...
ZOOM_PAD = 3  # ... are found again in their group's box with this many digit heights around it ...
ZOOM = 2.0  # ... seen this many times closer: at full size in a downscaled frame, else enlarged this much
MAX_DIGIT_ASPECT = 1.5  # a digit is at most this many times wider than tall (a wide 0, a 5 with a long bar)
BAR_ASPECT = 2.0  # a digit with a bar of its own on top (a 5's, reaching right) may be this much wider than tall ...
BAR_SLENDERNESS = 2.0  # ... when the bar is at least this many times wider than tall ...
BAR_THICKNESS = 0.1  # ... and this share of the digit's height thick (a pen's stroke, not a line's remains)
CLING_FLAT = 1.2  # a fragment touching a digit from beside, and wider than this many heights, is flat (a dash)
BAR_APART, BAR_TOP = 0.3, 0.15  # such a bar may stand this many heights right of the digit, its top this far down
BACKGROUND_SIDE = 80  # longest side of the low-resolution background estimate ...
BACKGROUND_MIN_SIDE = 40  # ... unless that leaves fewer rows than this on the short side
MIN_CONTRAST = 18  # grey levels: weaker "ink" is paper texture or noise ...
DIM_PAPER = 120.0  # ... on paper this bright or brighter; on dimmer paper (an underexposed photo) in proportion
MIN_DIGIT_FRACTION = 0.0125  # a digit is at least this share of the frame's short side tall (a number on a page)
PAGE_EDGE_STEP = 60  # grey levels between neighbouring background cells: a page edge, not light
PAPER_GLANCE = 80  # px: the long side of the thumbnail a frame is first glanced at for a card on a desk ...
PAPER_BORDER = 0.8  # ... whose desk covers this share of a side of the frame
PAPER_SIDE = 160  # px: the long side of the thumbnail a card or a sheet on a darker desk is looked for in ...
PAPER_AREA = 0.04  # ... which covers at least this share of the frame ...
PAPER_SMALL = 0.08  # ... (under this share, only when what is dark on it is unlike the desk: no chalk digit) ...
PAPER_CONTRAST = 30  # ... is this many grey levels lighter than the desk ...
PAPER_SOLID = 0.9  # ... fills this share of its convex hull (a card, however turned; strokes do not) ...
PAPER_SQUARE = 0.9  # ... fills this share of the smallest box round it, turned as it lies (a card) ...
PAPER_INK = (0.001, 0.35)  # ... holds this share of darker pixels: some ink, not the board a chalk 0 rings ...
PAPER_BOLD = 0.2  # ... (more than this share only when unlike the desk: bold digits, not a chalk 0's hole) ...
PAPER_SIDES = 2  # ... has the desk beyond at least this many of its sides ...
PAPER_EDGE = 0.5  # ... and an edge that steps this share of the way from desk to paper within a few px ...
PAPER_EDGE_SHARE = 0.85  # ... along this share of its length ...
PAPER_DESK = 0.25  # ... and the desk shows over at least this share of the frame, with no more
PAPER_STRAY = 0.25  # ... ink-like strokes on it than this share of those on the paper.
PAPER_SHEET = 0.95  # A sheet held up to a camera covers up to this share of the frame, the backdrop beyond
PAPER_NOTCH = 6  # one side only; but no more than this many stroke pixels may run into its edge (160 px)
PAPER_STROKE = 5  # px: a pen's stroke is narrower than this in a frame glanced at PAPER_SIDE px long
PAPER_FILL = 8  # the desk beyond a card is painted as the paper near it is lit, seen this many times smaller,
PAPER_FILL_WHOLE = 0.99  # from the cells at least this share paper,
PAPER_FILL_DARK = 60  # and no more than this many grey levels darker than its median (not a thumb over it),
PAPER_FILL_BLUR = 3.0  # spread by a Gaussian blur of this sigma (cells)
MAX_CANDIDATES = 64  # components kept for grouping (largest first); beyond that it is noise
SPECK_SHARE = 0.03  # a component under this share of the largest one's area is a speck
SOLID_FILL = 0.75  # share of its box a component fills to count as a solid patch (shadow, margin), not strokes
BORDER_BAND_SPAN = 0.9  # a band along a border spans this share of it (a page edge, a scanner margin) ...
BORDER_BAND_DEPTH = 0.25  # ... and reaches at most this share into the frame
SLIVER = 10  # a strip at the border this many times longer than wide is a page edge, not a 1
LINE_LENGTH = 1.6  # a straight run this many digit heights long is a line (ruled paper, underline, box)
LINE_SLENDERNESS = 8  # ... if it is at least this many times longer than thick
SIDE_THICK = 1.5  # a box's side between two lines is at most this many times as thick as they are (a form's pen)
FRAME_SPAN = 0.95  # a vertical line (grid, margin, border) spans the whole frame, as a tall 1 does not
SPLIT_MIN_WIDTH = 0.25  # a piece of a split is at least this many digit heights wide, and tall
BLOB_KERNEL = 3  # strokes on a shadow patch stand out of an opening this many times their width
SPLIT_TRIES = 4  # column-profile minima tried per cut
VALLEYS = 2  # the deepest dips of the ink's outline also tried as cut columns ...
VALLEY_DEPTH = 0.05  # ... where the upper outline dips and the lower one rises at least this many heights
PATH_REACH = 0.3  # a cut along a path strays at most this many digit heights from its column ...
PATH_STEP = 80.0  # ... each step sideways costing a third of a pixel of full ink (255): it goes round ink, not far
ONE_WIDE = 0.3  # a 1 glued to a neighbour is cut off at most this many digit heights in from the side ...
ONE_TALL = 0.8  # ... and stands at least this share of the crop's height
STROKE_WIDTH = 2.25  # MNIST's median stroke width in its 20×20 box (2·area/perimeter, test set)
STROKE_RANGE = (1.2, 5.0)  # beyond the widths MNIST itself spans (1.5–3.5 is its 5th–95th percentile)
MIN_PIECE_AREA = 6  # pixels at working resolution: a smaller component is noise
SOLID_BORDER_AREA = 0.01  # share of the frame a solid patch touching the border covers to be a shadow or margin ...
SOLID_AREA = 0.2  # ... and one anywhere in the frame
JUNK_AREA = 0.002  # junk covering this share of the frame is left out when the threshold is chosen again
MIN_DIGIT_HEIGHT = 6  # pixels at working resolution, whatever the frame's size
SMALL_DIGIT_HEIGHT, SMALL_GROUPS = 3, 4  # with no digit found, marks this tall are looked at closer (in so many groups)
MAX_PIECE_ASPECT = 2.5  # a candidate is at most this many times wider than tall (touching digits, before a split)
RUN_ASPECT = 4.0  # a row of touching digits is at most this many times wider than tall ...
RUN_PENS = 5  # ... and at least this many pen widths tall (a bar is not)
PRINT_PIECES, PRINT_SHARE = 6, 0.5  # a band of this many letters under this share of the digits' height is print
PRINT_LINE = 3  # ... and so is a line of this many small pieces side by side, grouped with no digit it is clear of
ROW_HEIGHT_SHARE = 0.3  # a digit is at least this share of the row's height (an old-style 0 beside a 9) ...
LOOP_SHARE = 0.2  # ... or, a closed loop, this share (a small 0 written mid-height: no dot, comma or dash is one)
LOOP_HOLE = 0.15  # a closed loop encloses at least this share of its box
UNREAD_HEIGHT = 0.6  # a piece too wide to be a digit but this share of the row's height may hold digits
STRENGTH_SHARE = 0.3  # ... and its ink at least this share of the strongest piece's
BROKEN_PIECE, BROKEN_SPAN = 0.5, 0.6  # pieces left out, each under this share of the row's height, spanning ...
BROKEN_GAP = 0.3  # ... this share together, at most this far apart (row heights), beside no digit: one broken apart
TIGHT_SIDE = 300  # a working frame shorter than this is a tight crop: its digits fill the short side, so ...
TIGHT_KERNEL = 0.5  # ... the paper is estimated with a kernel this share of it (elsewhere 0.25): a marker's loop
BOX_MIN = 12  # pixels (half resolution): a box around a digit is at least this wide and tall ...
BOX_COVER = 0.9  # ... has ink along this share of each of its four sides ...
BOX_FILL = 0.65  # ... and fills at most this share of its bounding box (sides, and the digits touching them) ...
BOX_INSIDE = 0.005  # ... with ink on at least this share of what it encloses (a thin 1 in a wide field: 1%)
RING_HOLE = 0.5  # a ring drawn round digits (a circled answer) encloses a hole this share of its box ...
RING_INSIDE = 0.25  # ... holding another piece this share of its height tall (no digit's loop holds one) ...
RING_PENS, RING_DEEP = 3, 0.02  # ... and under this share of it lies over this many pens in from its outline
UNDER_GAP, UNDER_FLAT = 0.2, 5  # a stroke this share of a digit's height below it, this many times wider than
#                                tall, is no part of it (a line under it)
APART_GAP, APART_SHARE = 0.25, 0.3  # a piece under this share of a digit's height, this share of it above or below,
#                                     is no part of it (a letter of print, a mark)
UNDERLINE_BAND = 0.75  # an underline is a straight run in the bottom quarter of a piece ...
UNDERLINE_REACH = 0.05  # ... reaching past the ink above it on both sides by this share of that ink's height
UNDERLINE_BELOW = 0.03  # ... with no more than this share of what is left below it (else it is the digit's base)
DASH_FLAT, DASH_GAP = 2.0, 0.6  # a dash is this many times wider than tall, and follows within this many digit heights
ON_LINE_SPAN = 0.5  # a digit stands on a line taken out when the line runs under this share of its width
SKEW_REACH = 0.15  # a line to straighten a tilted frame by is in a piece this share of the frame's short side long ...
SKEW_SLOPE = 1.5  # ... at least this many times longer than wide ...
SKEW_LINE = 0.6  # ... and runs straight along this share of it ...
SKEW_BOX_FILL = 0.08  # ... or in a box round a digit (inked along this share of its bounding box at most) ...
SKEW_BOX_LINE = 1.0  # ... whose sides are at least this many digit heights long (a line's: LINE_LENGTH)
SKEW_MAX = 15.0  # degrees: ... and steeper lines are no rules
SKEW_MIN = 1.5  # degrees: a frame tilted less is left as it is (runs along the axes still find its lines)
POLARITY_SURE = 10  # ink outliers this many times stronger on one side decide the polarity; closer, the corners do
THUMBNAIL_SIDE = 128  # px: a frame no longer than this is a thumbnail, one digit in its own box ...
SPANNING_SIDE = 64  # px: ... up to this, a piece spanning it is that digit, not a grid (a table's cell is bigger)
NEAR_SIDE = 0.2  # a line this share of a thumbnail's side from it or nearer is left to the background ...
STROKE_END = 0.3  # ... unless the other ink meets it only within this share of its length from its ends (a 2's base)
JOIN_SHORT = 0.75  # neighbours may be one digit's strokes (an open 4): one under this share of the other and the row
JOIN_GAP = 0.15  # ... tall, at most this many row heights apart ...
JOIN_ASPECT = 1.3  # ... and together at most this many times wider than tall
SOFT_EDGE = 0.4  # ink just outside a piece at this share of its core's: a shadow's soft edge, not a pen's


@dataclass
class DigitCrop:
    """One digit found in a frame."""

    image: np.ndarray  # (28, 28) uint8, white ink on black, MNIST-normalised
    box: tuple[int, int, int, int]  # x, y, w, h in the original frame's pixel coordinates
    ink: np.ndarray | None = None  # the digit's grey ink inside `box` (working resolution), for splitting
    unlined: DigitCrop | None = None  # the same digit without the line along its bottom, when it may be an underline
    on_line: bool = False  # it stands on a line that was taken out (a 2's base there went with it)
    under_line: bool = False  # a line that was taken out touches its top (a 7's bar there went with it)
    at_edge: bool = False  # it touches ink left out as a page edge, a margin or a shadow: part of it may be gone
    joined: DigitCrop | None = None  # this crop and the next as one digit, when they may be its two strokes
    before_dash: bool = False  # a dash left out follows it closely: with a 1, the "/-" after an amount


# --------------------------------------------------------------------------- input


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """Any integer, float or bool image as uint8, using the range its dtype implies."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * 255
    if np.issubdtype(image.dtype, np.floating):
        return np.clip(np.nan_to_num(image) * _uint8_scale(image), 0, 255).astype(np.uint8)
    return np.clip(image.astype(np.float32) * _uint8_scale(image), 0, 255).astype(np.uint8)


def _uint8_scale(image: np.ndarray) -> float:
    """What _to_uint8 multiplies the image's values by: floats up to 1 are 0–1, others 0–255;
    16-bit (or 10/12-bit data stored in 16 bits) by the bit depth actually used."""
    if image.dtype == np.uint8:
        return 1.0
    if image.dtype == np.bool_:
        return 255.0
    if np.issubdtype(image.dtype, np.floating):
        peak = float(np.nanmax(image)) if image.size else 0.0
        return 255.0 if peak <= 1.0 else 1.0
    peak = int(image.max()) if image.size else 0
    return 255.0 / (2 ** max(8, int(peak).bit_length()) - 1)


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
    elif max(gh, gw) < SMALL_SIDE:
        # A small picture (a tight crop, a thumbnail): digits are found at half resolution,
        # so double it first or a 15 px digit would be searched for at 7 px.
        grey = cv2.resize(grey, (2 * gw, 2 * gh), interpolation=cv2.INTER_CUBIC)
    return grey, w / grey.shape[1], h / grey.shape[0]


# --------------------------------------------------------------------------- ink map


def _morph_extrapolated(small: np.ndarray, op: int, kernel: np.ndarray, pad: int,
                        thumbnail: bool = False) -> np.ndarray:
    """Closing/opening that follows light fall-off into the corners.

    Replicating the border turns a vignetted corner into a valley that a closing fills in
    (false ink all along the edge). Pad by point reflection instead, which continues the
    gradient, but never beyond the edge value towards the ink side (ink near the border).

    A thumbnail (one digit scanned or cut to its own box) has no fall-off, and its strokes run
    into the border: there the padding is the mirror image, which continues a stroke as a
    stroke, so the background estimate is not pulled to the ink. A side with a line along it,
    at it or near it (an underline, a cell's border), keeps the padding above: the line is
    left to the background.
    """
    edge = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REPLICATE).astype(np.int16)
    mirror = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REFLECT_101).astype(np.int16)
    extended = 2 * edge - mirror
    extended = np.minimum(extended, edge) if op == cv2.MORPH_CLOSE else np.maximum(extended, edge)
    extended = np.clip(extended, 0, 255).astype(np.uint8)
    if thumbnail:
        reflected = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REFLECT)
        level = float(np.median(small))
        inked = small < level - MIN_CONTRAST if op == cv2.MORPH_CLOSE else small > level + MIN_CONTRAST
        near = max(1, int(NEAR_SIDE * min(small.shape)))
        sides = ((inked, np.s_[:pad, :]), (inked[::-1], np.s_[-pad:, :]),
                 (inked.T, np.s_[:, :pad]), (inked.T[::-1], np.s_[:, -pad:]))
        spans = [rows.mean(axis=1) for rows, _ in sides]  # each row's inked share, the side's row first
        spanned = [np.flatnonzero(s[:near] >= BORDER_BAND_SPAN) for s in spans]  # rows of a line along it
        for k, (rows, region) in enumerate(sides):
            # A digit's stroke along a side is a bar or a base; a box's or a cell's sides meet at its corners.
            if len(spanned[k]) and (k >= 2 or any(len(a) for a in spanned[2:])
                                    or _met_inside(rows, spans[k], int(spanned[k].max()))):
                continue
            extended[region] = reflected[region]
    out = cv2.morphologyEx(extended, op, kernel, borderType=cv2.BORDER_REPLICATE)
    return out[pad:-pad, pad:-pad]


def _met_inside(rows: np.ndarray, spans: np.ndarray, line: int) -> bool:
    """Whether the rest of the ink meets a line along a thumbnail's side (`rows`, the side's row
    first; `spans`, each row's inked share; `line`, the line's innermost row) away from the
    line's ends (a digit standing on an underline), or not at all (a rule). A digit stretched to
    fill its box runs a stroke along a side too (a 2's base, a 7's bar, a 3's top), but its
    other strokes meet that one near its ends (each stroke's centre where it meets).
    """
    inside = line + 1
    while inside < len(rows) and spans[inside] >= 0.5:  # the line's own edge, thick or blurred
        inside += 1
    if inside >= len(rows):
        return True
    edges = np.flatnonzero(np.diff(np.concatenate(([0], rows[inside].astype(np.int8), [0]))))
    centres = (edges[::2] + edges[1::2] - 1) / 2  # of each stroke that meets the line
    end = STROKE_END * (rows.shape[1] - 1)
    return not len(centres) or bool(((centres > end) & (centres < rows.shape[1] - 1 - end)).any())


def _percentile(values: np.ndarray, q: float) -> float:
    """np.percentile's linear interpolation, by partitioning alone: a tenth of its overhead per call
    (it runs a few times per digit, every frame)."""
    flat = np.asarray(values, np.float64).ravel()
    pos = (flat.size - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, flat.size - 1)
    part = np.partition(flat, (lo, hi))
    return float(part[lo] + (part[hi] - part[lo]) * (pos - lo))


def _histogram(image: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """256-bin histogram of a uint8 image (optionally only where mask is non-zero)."""
    return cv2.calcHist([image], [0], mask, [256], [0, 256]).ravel()


def _polarity(half: np.ndarray, median: np.ndarray, keep: np.ndarray | None, tight: bool) -> tuple[bool, float]:
    """(dark ink?, noise floor) from which side of the local median the strong outliers lie on.

    In a tight crop (`tight`), a close call goes by the corners.
    """
    # Ink and paper darken together in a dim photo: so does the least contrast that is ink.
    paper = _percentile(median, 90)  # at low resolution: the paper's level, cheaply
    local = cv2.resize(median, (half.shape[1], half.shape[0]), interpolation=cv2.INTER_LINEAR)
    hist_dark = _histogram(cv2.subtract(local, half), keep)
    hist_light = _histogram(cv2.subtract(half, local), keep)
    # Noise and paper texture from the median absolute deviation (both sides together).
    spread = hist_dark + hist_light
    spread[0] /= 2  # zero is counted on both sides
    mad = int(np.searchsorted(np.cumsum(spread), spread.sum() / 2))
    floor = max(MIN_CONTRAST * min(1.0, paper / DIM_PAPER), 6 * 1.4826 * mad)
    weight = np.clip(np.arange(256) - floor, 0, None)
    dark, light = float(hist_dark @ weight) + 1, float(hist_light @ weight) + 1
    if tight and light > dark and light < POLARITY_SURE * dark:
        # Close: a bold digit filling a tight crop has more ink than paper, so the local median
        # is ink. The corners are paper all the same (a digit rarely reaches into one).
        return _corners_light(half), floor
    if light > dark and not tight:
        # Light ink (chalk on a board, a negative) is lighter than the frame's background, not
        # only than its own neighbourhood. Paper beside a dark desk or shadow is lighter than its
        # local median, which the dark pulls down, but no lighter than most of the frame.
        level = np.uint8(min(255.0, _percentile(median, 50)))  # the frame's typical background
        light = float(_histogram(cv2.subtract(half, np.maximum(local, level)), keep) @ weight) + 1
    return dark >= light, floor


def _corners_light(half: np.ndarray) -> bool:
    """Whether the frame's corners are lighter than halfway between its dark and light ends."""
    h, w = half.shape
    r = max(1, min(h, w) // 16)
    corners = [half[:r, :r], half[:r, -r:], half[-r:, :r], half[-r:, -r:]]
    level = float(np.median([c.mean() for c in corners]))
    return level > (_percentile(half, 5) + _percentile(half, 95)) / 2


def _ink_map(grey: np.ndarray, thumbnail: bool = False) -> tuple[np.ndarray, float, np.ndarray | None]:
    """Ink strength (0 = background) whatever the polarity, a noise-based minimum contrast, and
    the band left out around a page edge (None without one)."""
    h, w = grey.shape
    half = cv2.resize(grey, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    # Wide, short frames (a tight crop of a number) keep enough rows for a kernel wider than a stroke.
    f = max(1, min(-(-max(h, w) // BACKGROUND_SIDE), min(h, w) // BACKGROUND_MIN_SIDE))
    small = cv2.resize(half, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape
    k = max(3, (min(sh, sw) // 3) | 1)
    median = cv2.medianBlur(small, min(k, 255)) if min(sh, sw) >= 3 else small
    # Background: a closing (dark ink) or an opening (light ink) wider than any stroke. Strokes are
    # under a fifth of a digit's height, and digits under the frame's short side.
    tight = min(h, w) < TIGHT_SIDE
    share = TIGHT_KERNEL if tight else 0.25
    kc = max(3, int(min(sh, sw) * share) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (kc, kc))
    closed = _morph_extrapolated(small, cv2.MORPH_CLOSE, kernel, kc // 2, thumbnail)
    opened = _morph_extrapolated(small, cv2.MORPH_OPEN, kernel, kc // 2, thumbnail)
    # A page edge is a step in the background that both estimates keep and the low resolution
    # smears: no ink can be told from the step there, so leave a band around it out.
    ring = np.ones((3, 3), np.uint8)
    step = np.minimum(cv2.morphologyEx(closed, cv2.MORPH_GRADIENT, ring),
                      cv2.morphologyEx(opened, cv2.MORPH_GRADIENT, ring))
    band = (step > PAGE_EDGE_STEP).astype(np.uint8)
    keep = None
    if band.any():
        keep = cv2.resize(1 - band, (half.shape[1], half.shape[0]), interpolation=cv2.INTER_NEAREST)
    dark_ink, floor = _polarity(half, median, keep, tight)
    background = cv2.resize(closed if dark_ink else opened, (w, h), interpolation=cv2.INTER_LINEAR)
    ink = cv2.subtract(background, grey) if dark_ink else cv2.subtract(grey, background)
    edge = None
    if keep is not None:
        edge = cv2.resize(band, (w, h), interpolation=cv2.INTER_NEAREST)
        ink[edge > 0] = 0
    return ink, floor, edge


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


def _label(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Connected components (8-connected): count, label image, stats rows (x, y, w, h, area)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_BBDT)
    return count, labels, stats


def _components(mask: np.ndarray, labelled: tuple[int, np.ndarray, np.ndarray] | None = None,
                thumbnail: bool = False, specks: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Label image, stats rows (x, y, w, h, area, label) of plausible pieces, labels of border junk,
    and whether pieces as tall as a digit were left out as specks (not with `specks` False).

    A digit may touch the border (a tight crop) or fill the frame (one digit photographed
    large): only bands that run along a border, and solid patches, are page edges and shadows.
    `labelled` is `_label(mask)` when the caller has it already.
    """
    h, w = mask.shape
    count, labels, stats = labelled if labelled is not None else _label(mask)
    stats = np.column_stack([stats[1:], np.arange(1, count)])
    x, y, bw, bh, area = stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3], stats[:, 4]
    touches = (x == 0) | (y == 0) | (x + bw == w) | (y + bh == h)
    fill = area / np.maximum(1, bw * bh)
    # A page edge or a margin runs the frame's whole height (or is solid); a stroke down a side that
    # ends inside the frame is a 1 a tight crop cut into.
    down_a_side = (((x == 0) | (x + bw == w)) & (bh >= BORDER_BAND_SPAN * h) & (bw < BORDER_BAND_DEPTH * w)
                   & (((y == 0) & (y + bh == h)) | (fill > SOLID_FILL)))
    along_a_side = ((y == 0) | (y + bh == h)) & (bw >= BORDER_BAND_SPAN * w) & (bh < BORDER_BAND_DEPTH * h)
    # A 1 filling a tight crop's height is a thin, solid strip too, but in the middle half of the
    # frame; a page edge or a cell's border runs near a side.
    upright = (np.abs(2 * x + bw - w) <= w / 2) & (bh >= 3 * bw)
    solid = touches & (fill > SOLID_FILL) & (area > SOLID_BORDER_AREA * h * w) & ~upright
    sliver = touches & (np.maximum(bw, bh) > SLIVER * np.minimum(bw, bh)) & ~upright  # a page edge's thin strip
    junk = down_a_side | along_a_side | sliver
    if not thumbnail:
        # A thumbnail is one digit in its own box, with no shadow or margin in it: a bold 8 there
        # fills most of its box.
        junk |= solid | ((fill > SOLID_FILL) & (area > SOLID_AREA * h * w) & ~upright)
    keep = ~junk & (area >= MIN_PIECE_AREA)
    good = stats[keep]
    tall_specks = False
    if len(good):
        if specks:  # tiny next to the largest piece
            speck = good[:, 4] < SPECK_SHARE * good[:, 4].max()
            tall_specks = bool((good[speck, 3] >= MIN_DIGIT_HEIGHT).any())
            good = good[~speck]
        good = good[np.argsort(-good[:, 4])[:MAX_CANDIDATES]]
    return labels, good, stats[junk & (area >= JUNK_AREA * h * w), 5], tall_specks


# --------------------------------------------------------------------------- lines


def _line_kernel(length: int, horizontal: bool) -> np.ndarray:
    """A straight structuring element `length` px long (at least 3)."""
    size = (max(3, length), 1) if horizontal else (1, max(3, length))
    return cv2.getStructuringElement(cv2.MORPH_RECT, size)


def _runs(mask: np.ndarray, length: int, horizontal: bool) -> np.ndarray:
    """The parts of `mask` lying on straight runs at least `length` px long (an opening)."""
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN, _line_kernel(length, horizontal))


def _remove_lines(mask: np.ndarray, known: np.ndarray | None = None,
                  labelled: tuple[int, np.ndarray, np.ndarray] | None = None, spanning: bool = False,
                  ) -> tuple[np.ndarray, np.ndarray, tuple | None]:
    """(mask without ruled lines, underlines, boxes and table borders; the line pixels removed).

    A box drawn close around a digit is found by its shape (`_box_sides`). Otherwise, a line is
    a thin straight run much longer than the digits are tall (a 7's bar is not); a vertical one
    must also span most of the frame, unless it meets removed lines at both ends and is drawn no
    bolder than they are (a box side or a table cell border, which would otherwise read as a 1),
    or runs down nearly all of a frame with lines in it near a side (a cell cropped with its
    border). Strokes that crossed a line are bridged again. `known`: lines found at another
    threshold, lines still (and ends for box sides) though the mask may have lost them.
    `labelled`: `_label(mask)` when the caller has it. Also returns `_label` of the mask when
    nothing was removed (the caller's components need not be labelled twice). With `spanning`
    (a small thumbnail), a piece spanning the frame is the digit filling its own box, not a
    grid: the digits are that tall.
    """
    h, w = mask.shape
    none = np.zeros_like(mask)
    if min(h, w) < 12:
        return mask, none, labelled
    # How tall the digits are: from whole components that are not line-shaped, or (when that is
    # not enough to rule lines out) from what is left without the candidate runs. Not from the
    # rest alone: removing a 4's bar would cut the 4 itself into short pieces.
    if labelled is None:
        labelled = _label(mask)
    # A box drawn close around one or two digits has sides too short to be lines: it is found by its shape.
    lines = _box_sides(labelled) | _rings(labelled)
    if known is not None:
        lines |= known & mask
    if lines.any():
        digit_h = _typical_height(mask & ~cv2.dilate(lines, np.ones((3, 3), np.uint8)))
    else:
        digit_h = _typical_height(mask, unlike_lines=True, labelled=labelled, spanning=spanning)
    # The common frame: no straight run long enough to be a line at all (two cheap openings).
    shortest_h, shortest_v = max(12, w // 8), max(12, h // 8)  # runs shorter than this are never lines
    reach_h = max(shortest_h, int(LINE_LENGTH * digit_h))
    reach_v = max(shortest_v, int(max(LINE_LENGTH * digit_h, FRAME_SPAN * h)))
    if _has_run(mask, reach_h, True) or _has_run(mask, reach_v, False):
        horizontal, longest_h = _thin_runs(_runs(mask, shortest_h, True), 2)
        vertical, longest_v = _thin_runs(_runs(mask, shortest_v, False), 3)
        if longest_h >= LINE_LENGTH * digit_h or longest_v >= max(LINE_LENGTH * digit_h, FRAME_SPAN * h):
            candidates = horizontal | vertical
            digit_h = max(digit_h, _typical_height(mask & ~cv2.dilate(candidates, np.ones((3, 3), np.uint8))))
            if digit_h > 0:
                level = _long_runs(horizontal, 2, LINE_LENGTH * digit_h)
                lines |= (level | _long_runs(vertical, 3, max(LINE_LENGTH * digit_h, FRAME_SPAN * h)))
                if level.any():
                    lines |= _line_ends(mask, level, max(4, digit_h // 2))
    if lines.any():
        # A crop of a form's or a table's cell: its side runs straight down most of the frame's
        # height near its left or right side. So may a digit that a tight crop cut into, but
        # without a line anywhere in the frame that is no cell.
        side, span = max(1, int(BORDER_BAND_DEPTH * w)), int(BORDER_BAND_SPAN * h)
        for cols in (slice(0, side), slice(w - side, w)):
            band = np.ascontiguousarray(mask[:, cols])
            if _has_run(band, span, False):
                lines[:, cols] |= _thin_runs(_runs(band, span, False), 3)[0]
    ends = lines if known is None else lines | known
    if ends.any():
        # Box sides and cell borders: vertical runs about a digit tall between two lines.
        count, labels, stats, _ = cv2.connectedComponentsWithStats(_runs(mask & ~lines, max(6, digit_h // 2), False), 8)
        if count > 1:
            near = cv2.dilate(ends, np.ones((5, 5), np.uint8))
            # Drawn with the form's pen: a bold 1 written in a box, from its top to its bottom, is no side.
            widest = max(3, int(SIDE_THICK * _thickness(ends)))
            for i in range(1, count):
                x, y, bw, bh, _area = stats[i]
                meets = near[y, x: x + bw].any() and near[y + bh - 1, x: x + bw].any()  # a line at each end
                if bw <= min(max(3, bh // 4), widest) and meets:
                    lines[labels == i] = 1
    if not lines.any():
        return mask, lines, labelled
    band = cv2.dilate(lines, np.ones((3, 3), np.uint8))
    kept = mask & ~band
    # Bridge strokes across the gap a line left: close along the line's normal, inside the band only.
    reach = 2 * _thickness(lines) + 3
    across = (cv2.morphologyEx(kept, cv2.MORPH_CLOSE, np.ones((reach, 1), np.uint8))
              | cv2.morphologyEx(kept, cv2.MORPH_CLOSE, np.ones((1, reach), np.uint8)))
    kept |= across & band
    return kept, band & ~kept, None


def _line_ends(mask: np.ndarray, lines: np.ndarray, length: int) -> np.ndarray:
    """Where a horizontal line runs on past its straight part (a hand-drawn underline bending
    at its end): thin level runs at least `length` px long that touch the line and reach past
    its end by half that."""
    runs, _ = _thin_runs(_runs(mask & ~lines, length, True), 2)
    if not runs.any():
        return np.zeros_like(mask)
    _count, labels, stats, _ = cv2.connectedComponentsWithStats(runs, 8)
    touching = np.unique(labels[cv2.dilate(lines, np.ones((3, 3), np.uint8)) > 0])
    cols = np.nonzero(lines.any(axis=0))[0]
    x, w = stats[:, 0], stats[:, 2]
    beyond = np.maximum(0, cols.min() - x) + np.maximum(0, x + w - 1 - cols.max())
    ends = [i for i in touching if i > 0 and beyond[i] >= length // 2]
    return np.isin(labels, ends).astype(np.uint8)


def _box_sides(labelled: tuple[int, np.ndarray, np.ndarray]) -> np.ndarray:
    """The sides of boxes drawn around digits (a form's field, an amount box), as a mask.

    A box is a component whose bounding box is lined on all four sides: ink along at least
    BOX_COVER of each side, with ink inside. A digit is not (even a 0 leaves its corners empty,
    and a square 0 has nothing in it). Only the side
    itself goes, as thick as it typically is from the outside in: a digit touching the box
    from inside keeps its strokes.
    """
    count, labels, stats = labelled
    out = np.zeros(labels.shape, np.uint8)
    x, y, w, h, area = (stats[1:, k] for k in range(5))
    for i in np.nonzero((w >= BOX_MIN) & (h >= BOX_MIN) & (area <= BOX_FILL * w * h))[0] + 1:
        bx, by, bw, bh = stats[i, :4]
        corners = labels[[by, by, by + bh - 1, by + bh - 1], [bx, bx + bw - 1, bx, bx + bw - 1]]
        if not (corners == i).all() and _inked_corners(labels, stats[i, :4], i) < 4:
            continue  # a digit: a box has ink in every corner of its bounding box
        own = (labels[by: by + bh, bx: bx + bw] == i).astype(np.uint8)
        dy, dx = max(2, bh // 10), max(2, bw // 10)
        cover = min(own[:dy].any(0).mean(), own[-dy:].any(0).mean(),
                    own[:, :dx].any(1).mean(), own[:, -dx:].any(1).mean())
        if cover < BOX_COVER:
            continue
        sides = np.zeros_like(own)
        sides[:, :dx] |= _outer_strip(own[:, :dx])
        sides[:, -dx:] |= _outer_strip(own[:, -dx:][:, ::-1])[:, ::-1]
        sides[:dy] |= _outer_strip(own[:dy].T).T
        sides[-dy:] |= _outer_strip(own[-dy:][::-1].T).T[::-1]
        # What it encloses, a side's thickness twice over from its edge: a thick square 0 holds nothing.
        t = 2 * int(np.ceil(max(sides[:, :dx].sum() / bh, sides[:, -dx:].sum() / bh,
                                sides[:dy].sum() / bw, sides[-dy:].sum() / bw))) + 1
        inside = labels[by + t: by + bh - t, bx + t: bx + bw - t]
        if np.count_nonzero(inside) < BOX_INSIDE * bw * bh:
            continue  # nothing in it: a square 0, or an empty field
        out[by: by + bh, bx: bx + bw] |= sides
    return out


def _rings(labelled: tuple[int, np.ndarray, np.ndarray]) -> np.ndarray:
    """Rings and boxes drawn round digits (a circled answer), as a mask: a thin component whose
    largest hole covers RING_HOLE of its box and holds another piece at least RING_INSIDE of its
    height tall. A digit's loop holds no other piece; a grid's cells are small. A box that a digit
    touches from inside is left to the box rules; of such a ring, only its outline is taken."""
    _, labels, stats = labelled
    out = np.zeros(labels.shape, np.uint8)
    w, h, area = stats[1:, 2], stats[1:, 3], stats[1:, 4]
    for i in np.nonzero((w >= BOX_MIN) & (h >= BOX_MIN) & (area <= (1 - RING_HOLE) * w * h))[0] + 1:
        bx, by, bw, bh = (int(v) for v in stats[i, :4])
        window = labels[by: by + bh, bx: bx + bw]
        middle = window[bh // 4: bh - bh // 4, bw // 4: bw - bw // 4]
        if not ((middle != 0) & (middle != i)).any():
            continue  # nothing else in its middle half (cheaply: most components are digits)
        own = (window == i).astype(np.uint8)
        outside = cv2.copyMakeBorder(own, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
        cv2.floodFill(outside, None, (0, 0), 1)
        holes, hole_labels, hole_stats, _ = cv2.connectedComponentsWithStats(1 - outside, connectivity=4)
        if holes < 2:
            continue
        largest = 1 + int(np.argmax(hole_stats[1:, cv2.CC_STAT_AREA]))
        if hole_stats[largest, cv2.CC_STAT_AREA] < RING_HOLE * bw * bh:
            continue
        inside = (hole_labels[1:-1, 1:-1] == largest) & (window != 0) & (window != i)
        rows = np.flatnonzero(inside.any(axis=1))
        if not len(rows) or rows[-1] - rows[0] + 1 < RING_INSIDE * bh:
            continue
        # Only a ring: a digit touching it from inside would go with it. Its pen reaches a few
        # strokes in from the outline at most.
        k = 2 * int(np.ceil(RING_PENS * stroke_width(own * 255))) + 1
        deep = cv2.erode(1 - outside[1:-1, 1:-1] | own, np.ones((k, k), np.uint8))
        if np.count_nonzero(deep & own) <= RING_DEEP * np.count_nonzero(own):
            out[by: by + bh, bx: bx + bw] |= own
        elif _inked_corners(labels, stats[i, :4], i) == 0:
            # A ring (no box: its corners are empty) that a digit touches from inside: only its
            # outline goes, with the ends of the digit's strokes that reach into it.
            out[by: by + bh, bx: bx + bw] |= own & (1 - deep)
    return out


def _inked_corners(labels: np.ndarray, box: np.ndarray, i: int) -> int:
    """At how many corners of its bounding box component i has ink within a few pixels: a box
    has all four (even rounded or drawn by hand), a ring none."""
    bx, by, bw, bh = (int(v) for v in box)
    r = max(2, min(bw, bh) // 10)
    return sum(bool((labels[y0: y0 + r, x0: x0 + r] == i).any())
               for y0 in (by, by + bh - r) for x0 in (bx, bx + bw - r))


def _outer_strip(band: np.ndarray) -> np.ndarray:
    """In a band along one side of a box (the outside at column 0), each row's first run of ink cut
    to the side's typical thickness: the side, without what touches it from inside."""
    has = band.any(1)
    first = band.argmax(1)[:, None]
    cols = np.arange(band.shape[1])[None, :]
    after = cols >= first
    gap = after & (band == 0)
    end = np.where(gap.any(1), gap.argmax(1), band.shape[1])
    thick = int(np.median((end - first[:, 0])[has])) if has.any() else 0
    return (after & (cols < first + thick) & has[:, None] & (band > 0)).astype(np.uint8)


def _has_run(mask: np.ndarray, length: int, horizontal: bool) -> bool:
    """Is there a straight run at least `length` px long? (An erosion: half an opening's cost; none
    at all where no row, or column, holds that many pixels.)"""
    if mask.sum(axis=1 if horizontal else 0, dtype=np.int32).max(initial=0) < length:
        return False
    return bool(cv2.erode(mask, _line_kernel(length, horizontal)).any())


def _thin_runs(runs: np.ndarray, axis: int) -> tuple[np.ndarray, int]:
    """Only the runs that are thin for their length (a line), not the inside of a thick stroke;
    and the longest one's length."""
    if not runs.any():
        return runs, 0
    count, labels, stats, _ = cv2.connectedComponentsWithStats(runs, 8)
    length = stats[1:, axis]
    thin = np.nonzero(stats[1:, 4] * LINE_SLENDERNESS <= length * length)[0]
    if len(thin) == 0:
        return np.zeros_like(runs), 0
    longest = int(length[thin].max())
    return (np.isin(labels, thin + 1).astype(np.uint8) if len(thin) < count - 1 else runs), longest


def _long_runs(runs: np.ndarray, axis: int, length: float) -> np.ndarray:
    """The runs at least `length` px long along `axis` (2: width, 3: height of the stats row)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(runs, 8)
    long = np.nonzero(stats[1:, axis] >= length)[0] + 1
    return np.isin(labels, long).astype(np.uint8) if len(long) else np.zeros_like(runs)


def _thickness(lines: np.ndarray) -> int:
    """Typical thickness of line pixels: twice the largest distance to their edge."""
    dist = cv2.distanceTransform(cv2.copyMakeBorder(lines, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0), cv2.DIST_L2, 3)
    core = dist[dist > 0]
    return int(np.ceil(2 * _percentile(core, 90))) if core.size else 1


def _typical_height(mask: np.ndarray, unlike_lines: bool = False, labelled: tuple | None = None,
                    spanning: bool = False) -> int:
    """Height of the tallest sizeable components: how tall the digits in this frame are.

    `unlike_lines` counts only components that cannot be mostly line: not much wider than tall
    (a ruled line with digits on it) and, unless `spanning`, neither spanning the whole frame (a
    squared-paper grid) nor a thin stroke down its whole height (a register's column rule, a
    margin: taken for the digits' height, it is too short to be a line of that height).
    """
    count, _, stats = labelled if labelled is not None else _label(mask)
    if count <= 1:
        return 0
    stats = stats[1:]
    if unlike_lines:
        h, w = mask.shape
        grid = (stats[:, 2] > 0.9 * w) & (stats[:, 3] > 0.9 * h) & (not spanning)
        rule = (stats[:, 3] >= FRAME_SPAN * h) & (stats[:, 2] * 8 < stats[:, 3]) & (not spanning)
        stats = stats[(stats[:, 2] < 3 * stats[:, 3]) & ~grid & ~rule]
        if not len(stats):
            return 0
    stats = stats[stats[:, 4] >= max(MIN_PIECE_AREA, SPECK_SHARE * stats[:, 4].max())]
    return int(_percentile(stats[:, 3], 90)) if len(stats) else 0


@dataclass
class _Group:
    """Components believed to form one digit, with their joint box (x0, y0, x1, y1)."""

    ids: list[int]
    x0: int
    y0: int
    x1: int
    y1: int
    area: int
    printed: bool = False  # every component in a line of small letters (see _print_lines)

    def absorb(self, other: _Group) -> None:
        self.printed = self.printed and other.printed
        self.ids += other.ids
        self.x0, self.y0 = min(self.x0, other.x0), min(self.y0, other.y0)
        self.x1, self.y1 = max(self.x1, other.x1), max(self.y1, other.y1)
        self.area += other.area

    def x_overlap(self, other: _Group) -> int:
        return min(self.x1, other.x1) - max(self.x0, other.x0)

    def y_gap(self, other: _Group) -> int:
        return max(other.y0 - self.y1, self.y0 - other.y1)


def _closed_loop(own: np.ndarray) -> bool:
    """A ring about as wide as tall, enclosing LOOP_HOLE of its box once a gap of a pixel or two
    is closed: a small 0 (or a loop of a 6, 8 or 9 broken off). A dot, a comma or a dash
    encloses nothing."""
    h, w = own.shape
    if not 0.5 * h <= w <= 2 * h:
        return False
    padded = cv2.copyMakeBorder(own, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=0)
    padded = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))  # a pen's small gap
    cv2.floodFill(padded, None, (0, 0), 2, flags=4)
    return int(np.count_nonzero(padded == 0)) >= LOOP_HOLE * h * w


def _same_digit(a: _Group, b: _Group) -> bool:
    """Fragments of one digit overlap strongly in x (a broken 5, a 4 with a gap) and touch in y.
    A flat stroke below a digit, clear of it, is a line drawn under it (a label's edge), not its
    base; a small piece well above or below it is a letter of print on a form, or a mark."""
    narrow = min(a.x1 - a.x0, b.x1 - b.x0)
    tall = max(a.y1 - a.y0, b.y1 - b.y0)
    gap = a.y_gap(b)
    low = a if a.y0 > b.y0 else b
    if gap > UNDER_GAP * tall and low.x1 - low.x0 >= UNDER_FLAT * (low.y1 - low.y0):
        return False
    if min(a.y1 - a.y0, b.y1 - b.y0) < APART_SHARE * tall and (
            gap > APART_GAP * tall or (gap > 0 and (a.printed or b.printed))):
        return False  # a small piece well above or below (a letter of print, a mark), or in a line of print
    return a.x_overlap(b) >= 0.5 * narrow and gap <= 0.5 * tall and _digit_shaped(a, b)


def _digit_shaped(a: _Group, b: _Group, aspect: float = MAX_DIGIT_ASPECT) -> bool:
    """Would a and b together still be digit-shaped? Two neighbours side by side are wider than tall."""
    width = max(a.x1, b.x1) - min(a.x0, b.x0)
    height = max(a.y1, b.y1) - min(a.y0, b.y0)
    return width <= aspect * height


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


def _attach_fragments(groups: list[_Group], loops: set[int]) -> None:
    """A piece much shorter than the row's digits (the bar of a 5, half an 8) joins the digit it
    reaches over. A closed loop (`loops`: component labels) must reach over half its width: one
    barely touching a neighbour's box is a small 0 beside it."""
    tallest = _row_height([g.y1 - g.y0 for g in groups])
    for frag in sorted(groups, key=lambda g: g.y1 - g.y0):
        height = frag.y1 - frag.y0
        if height >= 0.6 * tallest:
            break
        # A flat bar on top (a 5's) may reach far to the right: that digit is wider than most.
        bar = frag.x1 - frag.x0 >= BAR_SLENDERNESS * height
        best, best_gap = None, None
        for g in groups:
            gh = g.y1 - g.y0
            if g is frag or gh <= height or frag.area < 0.05 * g.area:
                continue
            if frag.printed and g.y_gap(frag) > 0:
                continue  # letters in a line of print just above or below the digit
            # It must reach over the digit (a 5's bar over its belly), not merely stand beside it:
            # a small digit next to a tall one is a neighbour, not a fragment.
            overlap = g.x_overlap(frag)
            if frag.ids[0] in loops and len(frag.ids) == 1 and overlap < 0.5 * (frag.x1 - frag.x0):
                continue
            # A pen's bar, not the remains of a ruled line over the digit (a pixel or two thick).
            is_bar = bar and frag.y0 <= g.y0 and height >= BAR_THICKNESS * gh
            apart = bar and _bar_apart(frag, g, groups)
            aspect = BAR_ASPECT if is_bar or apart else MAX_DIGIT_ASPECT
            reaches = overlap >= 0.2 * (frag.x1 - frag.x0) or apart or _clings(frag, g, tallest)
            if (reaches and g.y_gap(frag) <= 0.2 * gh
                    and _digit_shaped(g, frag, aspect) and (best_gap is None or -overlap < best_gap)):
                best, best_gap = g, -overlap
        if best is not None:
            best.absorb(frag)
            groups.remove(frag)


def _clings(frag: _Group, g: _Group, tallest: float) -> bool:
    """Whether a fragment too short to be a digit itself (under ROW_HEIGHT_SHARE of the row)
    touching digit g from beside is one of its strokes: the small closed top of a 4 drawn apart
    from its stem (left out, the stem reads as a sure 1). Not a dash or a line's remains (flat,
    unless a pen's bar at g's top), nor a comma hanging below g; and g is as tall as a digit."""
    height, gh = frag.y1 - frag.y0, g.y1 - g.y0
    flat = frag.x1 - frag.x0 > CLING_FLAT * height
    return (height < ROW_HEIGHT_SHARE * tallest and gh >= 0.6 * tallest and g.x_overlap(frag) >= 0
            and not frag.printed and frag.y1 <= g.y1
            and (not flat or (frag.y0 <= g.y0 + gh / 4 and height >= BAR_THICKNESS * gh)))


def _bar_apart(bar: _Group, g: _Group, groups: list[_Group]) -> bool:
    """Whether a flat bar is the top bar of digit g drawn apart from it (a 5's, as some MNIST
    writers draw it): a pen's bar just right of g's top (its middle in g's top quarter), at most
    BAR_APART of g's height away, with nothing else below it. Without its bar, a 5 reads as a
    sure 1 or a J."""
    gh = g.y1 - g.y0
    return (not (bar.printed or g.printed) and g.x1 <= bar.x0 <= g.x1 + BAR_APART * gh
            and bar.y0 <= g.y0 + BAR_TOP * gh and (bar.y0 + bar.y1) / 2 <= g.y0 + gh / 4
            and bar.y1 - bar.y0 >= BAR_THICKNESS * gh
            and not any(o is not g and o is not bar and o.x_overlap(bar) > 0 for o in groups))


def _print_lines(stats: np.ndarray, row: float) -> set[int]:
    """Labels of the components in lines of print: PRINT_LINE or more small pieces (under
    APART_SHARE of the row's height), alike in height, side by side on one level, each within
    1.5 of its height of the next. A form's label printed just above or below a number is such a
    line (closer than APART_GAP, its letters were grouped with the digits as their fragments); a
    digit's own fragments are few, and stand over one another."""
    if len(stats) < PRINT_LINE:
        return set()
    small = APART_SHARE * row
    pieces = sorted((s for s in stats if s[3] < small), key=lambda s: int(s[0]))
    out: set[int] = set()
    for i, s in enumerate(pieces):
        line, (right, mid, h) = [s], (s[0] + s[2], s[1] + s[3] / 2, s[3])
        for t in pieces[i + 1:]:
            if t[0] - right > 1.5 * h:
                break
            if abs(t[1] + t[3] / 2 - mid) <= 0.5 * h and 0.5 * h <= t[3] <= 2 * h:
                line.append(t)
                right = max(right, t[0] + t[2])
        if len(line) >= PRINT_LINE:
            out.update(int(t[5]) for t in line)
    return out


def _group(stats: np.ndarray, loops: set[int], row: float) -> list[tuple[list[int], tuple[int, int, int, int]]]:
    """Components → digits: merge fragments that overlap in x, then attach small leftovers.
    `row`: the components' row height (_row_height of their heights)."""
    printed = _print_lines(stats, row)
    groups = [_Group([int(s[5])], int(s[0]), int(s[1]), int(s[0] + s[2]), int(s[1] + s[3]), int(s[4]),
                     int(s[5]) in printed) for s in stats]
    if len(groups) > 1:
        _merge_overlapping(groups)
        _attach_fragments(groups, loops)
        _merge_overlapping(groups)
    return [(g.ids, (g.x0, g.y0, g.x1 - g.x0, g.y1 - g.y0)) for g in groups]


def _pieces(labels: np.ndarray, stats: np.ndarray) -> list[_Piece]:
    """Group the components into digits, each with its own mask and ink strength."""
    pieces = []
    row = _row_height(list(stats[:, 3])) if len(stats) else 0.0
    loops = {int(s[5]) for s in stats if s[3] < 0.6 * row
             and _closed_loop((labels[s[1]:s[1] + s[3], s[0]:s[0] + s[2]] == s[5]).astype(np.uint8))}
    for ids, (x, y, w, h) in _group(stats, loops, row):
        box = labels[y:y + h, x:x + w]
        own = (box == ids[0] if len(ids) == 1 else np.isin(box, ids)).astype(np.uint8)
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
    strength = _percentile(core, 90)
    local = max(threshold, 0.3 * strength)
    shadow = None
    if _blob(piece):
        # Digits on a shadow patch: the patch and the strokes on it are two levels of "ink".
        local = max(local, _otsu(_histogram(patch, piece.own)))
        shadow, strokes = _shadow_under(patch, piece.own, local)
        if shadow is not None:
            # A shadow much wider than its strokes: they stand out of the shadow around them, not
            # out of the paper (a stroke deep in it may be fainter than its rim is strong).
            patch = cv2.subtract(patch, shadow)
            ink = ink.copy()
            ink[y:y + h, x:x + w] = patch
            strength = _percentile(patch[strokes], 90)
            local = max(0.3 * strength, _otsu(_histogram(patch, piece.own)))
    if shadow is None and local <= threshold + 1:
        piece.strength = strength
        return [] if _soft_edged(ink, piece) else [piece]
    mask = ((patch > local) & (piece.own > 0)).astype(np.uint8)
    labels, stats = _components_local(mask)
    out = []
    for sub in _pieces(labels, stats):
        sx, sy, sw, sh = sub.box
        # Back to frame coordinates; _crop adds the anti-aliased halo back around the mask.
        sub = _Piece((x + sx, y + sy, sw, sh), sub.own, strength)
        if not _soft_edged(ink, sub):
            out.append(sub)
    return out


def _shadow_under(patch: np.ndarray, own: np.ndarray, level: float) -> tuple[np.ndarray | None, np.ndarray]:
    """The shadow's own level under the strokes on it (an opening BLOB_KERNEL strokes wide), or None
    where the patch is no wider than a few strokes (a small, bold digit's own ink); and the
    strokes: the ink above `level`, or above the next level where most of the patch clears it
    (a dark shadow's plateau)."""
    strokes = (patch > level) & (own > 0)
    if strokes.sum() > 0.5 * own.sum():
        strokes &= patch > _otsu(_histogram(patch, strokes.astype(np.uint8)))
    k = max(3, int(BLOB_KERNEL * stroke_width(strokes.astype(np.uint8) * 255)) | 1)
    if not strokes.any() or 4 * k >= min(patch.shape):
        return None, strokes
    return cv2.morphologyEx(patch, cv2.MORPH_OPEN, np.ones((k, k), np.uint8)), strokes


def _soft_edged(ink: np.ndarray, piece: _Piece) -> bool:
    """A shadow's edge or a smudge's, not a pen's: the ink 2-3 px outside the piece is nearly as
    strong as its stroke (`piece.strength`). A stroke's ink falls to the paper within a pixel or
    two, even blurred."""
    own, window = _own_around(piece, ink.shape, 3)
    ring = cv2.dilate(own, _RING_OUTER) - cv2.dilate(own, _RING_INNER)
    outside = ink[window][ring > 0]
    return outside.size > 0 and _percentile(outside, 50) > SOFT_EDGE * piece.strength


_RING_OUTER, _RING_INNER = np.ones((7, 7), np.uint8), np.ones((3, 3), np.uint8)  # the ring 2-3 px outside


def _own_around(piece: _Piece, shape: tuple[int, ...], r: int) -> tuple[np.ndarray, tuple[slice, slice]]:
    """The piece's own mask with r pixels of frame around it (fewer at the frame's border), and
    where that window lies in the frame."""
    x, y, w, h = piece.box
    x0, y0 = max(0, x - r), max(0, y - r)
    x1, y1 = min(shape[1], x + w + r), min(shape[0], y + h + r)
    own = cv2.copyMakeBorder(piece.own, y - y0, y1 - y - h, x - x0, x1 - x - w, cv2.BORDER_CONSTANT, value=0)
    return own, (slice(y0, y1), slice(x0, x1))


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


def _row_height(heights: list[int]) -> float:
    """How tall the digits of this frame are: the tallest, unless one long descender (a 7, a 9
    with a tail) towers over the rest, when 1.5 × the median is the honest figure.

    The median is of the pieces at least ROW_HEIGHT_SHARE of the tallest, when two or more are:
    a few words of print beside a number (too few in a line to be taken for print) outnumber its
    digits, and their letters' height would be taken for the digits'. One piece alone that tall
    (a hand, a card's edge) sets nothing: the median is of all the pieces then."""
    tall = max(heights)
    peers = [h for h in heights if h >= ROW_HEIGHT_SHARE * tall]
    return min(tall, 1.5 * float(np.median(peers if len(peers) >= 2 else heights)))


def _plausible(pieces: list[_Piece], shape: tuple[int, int]) -> tuple[list[_Piece], list[_Piece]]:
    """Drop pieces too small, too flat, too faint or much smaller than the biggest digit.

    Also returns the pieces too wide for a digit, though as tall and as dark as the digits
    kept: touching digits, or a digit glued to a line. A row of touching digits (tall for its
    pen) is kept to be cut as well, into up to MAX_PARTS digits; the others are left out. Either
    way, a reading may miss some of what they hold.
    """
    min_h = _min_digit_height(shape)
    pieces = [p for p in pieces if p.box[3] >= min_h and not _blob(p)]
    wide = [p for p in pieces if p.box[2] > MAX_PIECE_ASPECT * p.box[3]]
    narrow = [p for p in pieces if p.box[2] <= MAX_PIECE_ASPECT * p.box[3] or _run_of_digits(p)]
    if not narrow:
        return [], []
    # Faint pieces go first, so a faint shadow or show-through cannot set the row's height.
    strongest = max(p.strength for p in narrow)
    # Words too wide for a digit still count among the pieces of their line of print.
    unprinted = {id(p) for p in _without_print([p for p in pieces if p.strength >= STRENGTH_SHARE * strongest])}
    pieces = [p for p in narrow if id(p) in unprinted]
    tallest = _row_height([p.box[3] for p in pieces])
    kept = [p for p in pieces if p.box[3] >= ROW_HEIGHT_SHARE * tallest
            or (p.box[3] >= LOOP_SHARE * tallest and _closed_loop(p.own))]
    unread = [p for p in wide if p.box[3] >= UNREAD_HEIGHT * tallest and p.strength >= STRENGTH_SHARE * strongest]
    return kept, unread


def _min_digit_height(shape: tuple[int, int]) -> float:
    """The least height of a digit in a working-resolution frame of `shape`."""
    return max(MIN_DIGIT_HEIGHT, MIN_DIGIT_FRACTION * min(shape))


def _too_short(pieces: list[_Piece], shape: tuple[int, int]) -> list[_Piece]:
    """Pieces shaped like a digit but under the height _plausible asks of one, and at least
    SMALL_DIGIT_HEIGHT tall: a number written small, to be looked at closer."""
    min_h = _min_digit_height(shape)
    return [p for p in pieces if SMALL_DIGIT_HEIGHT <= p.box[3] < min_h
            and p.box[2] <= MAX_PIECE_ASPECT * p.box[3] and not _blob(p)]


def _broken_digits(pieces: list[_Piece], kept: list[_Piece]) -> list[tuple[int, int, int, int]]:
    """Boxes of pieces left out as too small that together stand as tall as a digit, in the
    row and beside no digit kept: one digit a faint pen or a removed line broke apart (a
    pencilled 1 in dashes, a 7 whose strokes ran along squared paper). A reading may miss it."""
    if not kept:
        return []
    row = _row_height([p.box[3] for p in kept])
    top = min(p.box[1] for p in kept) - 0.2 * row
    bottom = max(p.box[1] + p.box[3] for p in kept) + 0.2 * row
    strongest = max(p.strength for p in kept)
    beside = [(p.box[0], p.box[0] + p.box[2]) for p in kept]
    left_out = sorted((p for p in pieces if p.box[3] < BROKEN_PIECE * row and p.strength >= STRENGTH_SHARE * strongest
                       and top <= p.box[1] and p.box[1] + p.box[3] <= bottom
                       and not any(min(x1, p.box[0] + p.box[2]) > max(x0, p.box[0]) for x0, x1 in beside)),
                      key=lambda p: p.box[0])
    clusters: list[list[_Piece]] = []
    for piece in left_out:
        if clusters and piece.box[0] - max(q.box[0] + q.box[2] for q in clusters[-1]) <= BROKEN_GAP * row:
            clusters[-1].append(piece)
        else:
            clusters.append([piece])
    boxes = []
    for cluster in clusters:
        x0, y0 = min(p.box[0] for p in cluster), min(p.box[1] for p in cluster)
        x1, y1 = max(p.box[0] + p.box[2] for p in cluster), max(p.box[1] + p.box[3] for p in cluster)
        if len(cluster) > 1 and y1 - y0 >= BROKEN_SPAN * row:
            boxes.append((x0, y0, x1 - x0, y1 - y0))
    return boxes


def _run_of_digits(piece: _Piece) -> bool:
    """Wider than MAX_PIECE_ASPECT but up to RUN_ASPECT times its height, and tall for its pen (at
    least RUN_PENS stroke widths: a row of touching digits, not one long bar or stroke)."""
    w, h = piece.box[2:]
    return w <= RUN_ASPECT * h and h >= RUN_PENS * stroke_width(piece.own * 255)


def _reading_order(pieces: list[_Piece]) -> list[_Piece]:
    """Row by row, top to bottom; in a row, left to right by the centres of the boxes (a 7's
    bar may reach over a 5 written before it). Rows are bands of height that no piece bridges:
    a slanted row stays one band, its neighbours overlapping, and a row bridged by a long tail
    is read as one row, left to right, as before."""
    return [p for row in _bands(pieces) for p in sorted(row, key=lambda p: 2 * p.box[0] + p.box[2])]


def _bands(pieces: list[_Piece]) -> list[list[_Piece]]:
    """The pieces in bands of height that no piece bridges, top to bottom."""
    bands: list[list] = []  # [top, bottom, pieces]
    for piece in sorted(pieces, key=lambda p: p.box[1]):
        y, h = piece.box[1], piece.box[3]
        if bands and y < bands[-1][1]:
            bands[-1][1] = max(bands[-1][1], y + h)
            bands[-1][2].append(piece)
        else:
            bands.append([y, y + h, [piece]])
    return [row for _, _, row in bands]


def _without_print(pieces: list[_Piece]) -> list[_Piece]:
    """The pieces without lines of print (a form's labels above and below the number): a band of
    PRINT_PIECES or more letters (a word run together counts as its letters), its pieces typically
    under PRINT_SHARE of the height of another band's of two or more (the digits). Left in, a line
    of print sets the digits' height as its own, and its taller letters read as digits."""
    bands = _bands(pieces)
    if len(bands) < 2:
        return pieces
    typical = [float(np.median([p.box[3] for p in band])) for band in bands]
    digits = max((t for t, band in zip(typical, bands) if len(band) >= 2), default=0.0)
    printed = {id(p) for t, band in zip(typical, bands) if _letters(band) >= PRINT_PIECES and t < PRINT_SHARE * digits
               for p in band}
    return [p for p in pieces if id(p) not in printed]


def _letters(band: list[_Piece]) -> int:
    """About how many letters a band of print holds: a word whose letters ran together is one
    piece, about as many letters as it is times wider than tall."""
    return sum(max(1, round(p.box[2] / p.box[3])) for p in band)


def _without_underline(piece: _Piece) -> _Piece | None:
    """The piece without a straight run along its bottom that reaches past the ink above it on
    both sides: an underline too short to be a line by its length alone. A 2's or a 3's base
    can look the same, so the reader keeps whichever of the two the model reads more surely. A
    digit stands on its underline: where strokes go on below the run, it is the digit's own base."""
    own = piece.own
    h, w = own.shape
    if h < BOX_MIN or w < BOX_MIN:
        return None
    band = int(UNDERLINE_BAND * h)
    upper, lower = np.nonzero(own[: band - 1].any(0))[0], np.nonzero(own[band:].any(0))[0]
    if len(upper) == 0 or len(lower) == 0 or lower[0] > upper[0] - 2 or lower[-1] < upper[-1] + 2:
        return None  # the bottom band does not reach past the digit on both sides
    run = _runs(own, max(4, h // 2), True)
    run[:band] = 0
    if not run.any():
        return None
    top = int(np.nonzero(run.any(1))[0][0])
    ys, xs = np.nonzero(own[: max(0, top - 1)])  # the ink above it
    if len(xs) == 0:
        return None
    reach = max(2.0, UNDERLINE_REACH * (ys.max() - ys.min() + 1))
    line_x = np.nonzero(run.any(0))[0]
    if not (line_x[0] < xs.min() - reach and line_x[-1] > xs.max() + reach):
        return None
    rest = own & ~cv2.dilate(run, np.ones((3, 3), np.uint8))
    bottom = int(np.nonzero(run.any(1))[0][-1])
    if rest[bottom + 2:].sum() > UNDERLINE_BELOW * rest.sum():
        return None  # a 2 whose loop or tail crosses below its base
    ys, xs = np.nonzero(rest)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    x, y = piece.box[:2]
    return _Piece((x + x0, y + y0, x1 - x0, y1 - y0), rest[y0:y1, x0:x1], piece.strength)


def _may_be_one(a: _Piece, b: _Piece, row: float) -> bool:
    """Whether neighbours a and b (left to right) may be the two strokes of one digit: a 4 drawn
    as an open corner and a bar. One of them is short, they (nearly) touch, and together they
    are digit-shaped, and the short one is not so short that only a closed loop is kept as a
    digit (a small 0). Only the reader, with the model, can tell."""
    ax, ay, aw, ah = a.box
    bx, by, bw, bh = b.box
    x0, y0 = min(ax, bx), min(ay, by)
    w, h = max(ax + aw, bx + bw) - x0, max(ay + ah, by + bh) - y0
    overlap_y = min(ay + ah, by + bh) - max(ay, by)
    return (ROW_HEIGHT_SHARE * row <= min(ah, bh) < JOIN_SHORT * min(row, max(ah, bh))
            and bx - (ax + aw) <= JOIN_GAP * row and overlap_y > 0 and w <= JOIN_ASPECT * h)


def _union(a: _Piece, b: _Piece) -> _Piece:
    """Two pieces as one: the box around both, with both pieces' pixels."""
    x0, y0 = min(a.box[0], b.box[0]), min(a.box[1], b.box[1])
    x1 = max(a.box[0] + a.box[2], b.box[0] + b.box[2])
    y1 = max(a.box[1] + a.box[3], b.box[1] + b.box[3])
    own = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for p in (a, b):
        x, y, w, h = p.box
        own[y - y0: y - y0 + h, x - x0: x - x0 + w] |= p.own
    return _Piece((x0, y0, x1 - x0, y1 - y0), own, max(a.strength, b.strength))


def _touches(region: np.ndarray | None, piece: _Piece) -> bool:
    """Whether the piece's own pixels come within 2 px of the region (what was left out)."""
    if region is None:
        return False
    own, window = _own_around(piece, region.shape, 2)
    return bool((cv2.dilate(own, np.ones((5, 5), np.uint8)) & region[window]).any())


def _dash_after(piece: _Piece, dash: _Piece) -> bool:
    """Whether a flat mark left out (a dash) follows the piece closely, level with its lower
    half or its foot, and no longer than it is tall: the dash of "/-" after an amount."""
    x, y, w, h = piece.box
    dx, dy, dw, dh = dash.box
    middle = dy + dh / 2
    return (x + w / 2 < dx <= x + w + DASH_GAP * h and dw <= h
            and y + 0.4 * h <= middle <= y + 1.1 * h)


def _stands_on(lines: np.ndarray, piece: _Piece) -> bool:
    """Whether a line that was taken out runs along the piece's bottom, under most of its width."""
    x, y, w, h = piece.box
    band = lines[y + h - 2: y + h + 3, x: x + w]
    return band.size > 0 and band.any(axis=0).mean() >= ON_LINE_SPAN


def _hangs_from(lines: np.ndarray, piece: _Piece) -> bool:
    """Whether a line that was taken out touches the piece's top, within its columns."""
    x, y, w, _ = piece.box
    return bool(lines[max(0, y - 2): y + 2, x: x + w].any())


def _crop(ink: np.ndarray, piece: _Piece,
          threshold: float) -> tuple[np.ndarray, tuple[int, int, int, int], np.ndarray]:
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
    hi = max(_percentile(core, 60) if core.size else 255.0, lo + 1.0)
    patch = np.clip((patch - lo) * (255.0 / (hi - lo)), 0, 255) * halo
    patch = patch.astype(np.uint8)
    return patch, (x, y, w, h), patch[y - y0: y - y0 + h, x - x0: x - x0 + w]


# --------------------------------------------------------------------------- public API


def stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width in pixels of a white-on-black digit: 2 · ink area / outline length."""
    mask = (ink > 127).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * float(mask.sum()) / perimeter if perimeter > 0 else 0.0


def _normalise_stroke(ink: np.ndarray, scale: float) -> np.ndarray:
    """Bring the pen to MNIST's stroke width before the digit is shrunk into its 20×20 box.

    A large digit written with a thin pen becomes faint hairlines at 28×28, a marker's digit
    a blob; MNIST's strokes are about 2.25 px in the 20×20 box whatever the pen was.
    """
    width = stroke_width(ink) * scale
    lo, hi = STROKE_RANGE
    if width <= 0 or lo <= width <= hi:
        return ink
    radius = 0.5 * (STROKE_WIDTH - width) / scale  # in the crop's own pixels
    k = int(round(abs(radius)))
    if k < 1:
        return ink
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    if radius > 0:
        return cv2.dilate(cv2.copyMakeBorder(ink, k, k, k, k, cv2.BORDER_CONSTANT, value=0), kernel)
    thinner = cv2.erode(ink, kernel)
    return thinner if (thinner > 127).sum() >= 0.25 * (ink > 127).sum() else ink


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
    ink = _normalise_stroke(ink, scale)
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


@dataclass
class Found:
    """What a frame holds: the digits to read, and the ink that looked like digits but was too
    wide for one (left out, or a row of touching digits cut as well as it could be) or broke
    into fragments too small for one, by box. A reading of such ink may miss digits."""

    crops: list[DigitCrop] = field(default_factory=list)
    unread: list[tuple[int, int, int, int]] = field(default_factory=list)
    small: list[tuple[int, int, int, int]] = field(default_factory=list)  # marks a little too short, when no digit
    specks: bool = False  # pieces as tall as a digit were left out as specks beside a far larger one


def _inked(grey: np.ndarray, thumbnail: bool = False) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, float, float]:
    """The ink map at working resolution, the band left out around a page edge, the ink map at
    half resolution (digits are found there: 4x cheaper, and the averaging tames noise; they are
    cropped at full), its noise floor and its ink threshold."""
    raw, floor, edge = _ink_map(grey, thumbnail)
    ink = cv2.resize(raw, (max(1, raw.shape[1] // 2), max(1, raw.shape[0] // 2)), interpolation=cv2.INTER_AREA)
    hist = _histogram(ink)
    # The ink map's own median is the paper's level in it: contrast counts from there.
    floor += float(np.searchsorted(np.cumsum(hist), hist.sum() / 2))
    return raw, edge, ink, floor, max(_otsu(hist), floor)


def _skew(mask: np.ndarray, labelled: tuple[int, np.ndarray, np.ndarray]) -> float:
    """Degrees to turn the frame by so that its long straight lines (ruled paper, a form's or a
    table's rules, an underline) run along the axes; 0 when there are none, or they do already.

    Only a long component that is not flat already is looked at closely (a Hough transform of
    it): most frames have none. `labelled` is `_label(mask)`.
    """
    _, labels, stats = labelled
    x, y, bw, bh, area = (stats[1:, i] for i in range(5))
    # Wide: a line, or digits standing on one. A line lying flat already is no more than a few
    # pixels thick; a tilted one is not. The straight run must be longer than the digits are
    # tall. Only rules across count: a 9's long tail or slanted writing is as straight as an
    # upright rule, and as long.
    reach = SKEW_REACH * min(mask.shape)
    # A box drawn round a digit is as tall as it is wide, but mostly paper inside; it is no digit
    # when telling how tall the digits are.
    flat = bw >= SKEW_SLOPE * bh
    boxy = (bw >= reach) & (bh >= reach) & ~flat & (area < SKEW_BOX_FILL * bw * bh)
    wide = (bw >= reach) & (flat | boxy) & (bh > 4)
    if not wide.any():
        return 0.0
    others = np.r_[True, ~boxy]
    digit_h = _typical_height(mask, unlike_lines=True, labelled=(int(others.sum()), labels, stats[others]))
    angles, weights = [], []
    for i in np.nonzero(wide)[0]:
        least = int(max(SKEW_LINE * bw[i], (SKEW_BOX_LINE if boxy[i] else LINE_LENGTH) * digit_h))
        if least > bw[i] or (boxy[i] and not digit_h):  # a box holds a digit; a thin 0 alone is no box
            continue
        own = (labels[y[i]: y[i] + bh[i], x[i]: x[i] + bw[i]] == i + 1).astype(np.uint8)
        segments = cv2.HoughLinesP(own, 1, np.pi / 360, max(10, least // 2), minLineLength=least, maxLineGap=3)
        for x1, y1, x2, y2 in [] if segments is None else segments.reshape(-1, 4):
            a = np.degrees(np.arctan2(y2 - y1, x2 - x1))
            if abs(a) <= SKEW_MAX:
                angles.append(_line_angle(own, (x1, y1, x2, y2)))
                weights.append(np.hypot(x2 - x1, y2 - y1))
    if not angles:
        return 0.0
    order = np.argsort(angles)
    cumulative = np.cumsum(np.asarray(weights)[order])
    angle = float(np.asarray(angles)[order][np.searchsorted(cumulative, cumulative[-1] / 2)])
    return angle if abs(angle) >= SKEW_MIN else 0.0


def _line_angle(own: np.ndarray, segment: tuple[int, int, int, int], band: int = 8) -> float:
    """The angle (degrees) of the centre line of a thick line a Hough segment lies on: a segment
    may run corner to corner of a thick marker line, a few degrees off it. Fits the middle of the
    ink in each column near the segment, twice, leaving out columns a digit's stroke pulls off."""
    x1, y1, x2, y2 = (int(v) for v in segment)
    if x2 < x1:
        x1, y1, x2, y2 = x2, y2, x1, y1
    xs = np.arange(x1, x2 + 1)
    ys = y1 + (y2 - y1) * (xs - x1) / max(1, x2 - x1)
    rows = np.arange(own.shape[0])[:, None]
    near = (np.abs(rows - ys[None, :]) <= band) & (own[:, x1: x2 + 1] > 0)
    count = near.sum(axis=0)
    keep = count > 0
    if keep.sum() < 2:
        return float(np.degrees(np.arctan2(y2 - y1, x2 - x1)))
    middle = (near * rows).sum(axis=0)[keep] / count[keep]
    xs = xs[keep]
    slope, offset = np.polyfit(xs, middle, 1)
    close = np.abs(middle - (slope * xs + offset)) <= 1.5
    if close.sum() >= 2:
        slope, offset = np.polyfit(xs[close], middle[close], 1)
    return float(np.degrees(np.arctan(slope)))


def find_digits(frame: np.ndarray, roi: tuple[int, int, int, int] | None = None) -> list[DigitCrop]:
    """Every digit in a BGR, BGRA, or grey (uint8 or uint16) frame, row by row, left to right."""
    return locate_digits(frame, roi).crops


def locate_digits(frame: np.ndarray, roi: tuple[int, int, int, int] | None = None) -> Found:
    """find_digits, and the boxes of digit-like ink it could not cut into digits."""
    frame = _checked_frame(frame)
    found = _located(frame, roi)
    if found.crops:
        groups, up = _closer_regions(frame.shape[:2], roi, [c.box for c in found.crops])
    else:
        # No digit at all: marks a little too short for one may be a number written small (10 px
        # tall in a 640×480 photo). Look closer at the first few groups of them.
        groups, up = _closer_regions(frame.shape[:2], roi, found.small)
        groups = [(region, members) for region, members in groups if region is not None][:SMALL_GROUPS]
    if not groups:
        if not found.crops and found.specks:
            # No digit, nor marks to look at closer, but pieces as tall as one were left out as
            # specks beside a far larger piece that was no digit either (a shadow patch, a desk's
            # edge): judge them on their own.
            again = _located(frame, roi, specks=False)
            return again if again.crops else found
        return found
    closer = Found()
    for region, members in groups:
        if region is None:  # too spread out to look at closer: as found
            closer.crops.extend(found.crops[k] for k in members)
            continue
        part = _located_closer(frame, region, up)
        closer.crops.extend(part.crops)
        closer.unread.extend(part.unread)
    return closer if closer.crops and len(closer.crops) >= len(found.crops) else found


def _located_closer(frame: np.ndarray, region: tuple[int, int, int, int], up: float) -> Found:
    """_located on a region of the frame, enlarged `up` times first, its boxes in the frame's pixels."""
    if up == 1:
        return _located(frame, region)
    x, y, w, h = region
    part = cv2.resize(frame[y:y + h, x:x + w], (round(w * up), round(h * up)), interpolation=cv2.INTER_CUBIC)

    def back(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        return x + int(box[0] / up), y + int(box[1] / up), max(1, round(box[2] / up)), max(1, round(box[3] / up))

    found = _located(part, None)
    for crop in found.crops:
        for c in (crop, crop.unlined, crop.joined):
            if c is not None:
                c.box = back(c.box)
    found.unread = [back(b) for b in found.unread]
    return found


def _closer_regions(shape: tuple[int, int], roi: tuple[int, int, int, int] | None,
                    boxes: list[tuple[int, int, int, int]],
                    ) -> tuple[list[tuple[tuple[int, int, int, int] | None, list[int]]], float]:
    """The parts of a frame to look at again when its digits came out small at working
    resolution, and how many times to enlarge them. A number written small on a sheet in a
    12-megapixel photo, or 12 px tall in a 640×480 one: a thin pen thins out below a pixel at
    the resolution digits are found at, a digit is lost, and the reading is surely wrong.

    The digits' boxes are grouped by nearness (ZOOM_PAD of their height apart at most), in
    reading order, each group as its boxes' indices; each group's region is its box with
    ZOOM_PAD heights around it, inside the roi, and None for a group too spread out to be seen
    ZOOM times closer: at full resolution in a downscaled frame, enlarged ZOOM times otherwise.
    No groups when the digits are tall enough."""
    if not boxes:
        return [], 1.0
    x0, y0, x1, y1 = _roi_bounds(shape, roi)
    side = max(x1 - x0, y1 - y0)
    scale = WORK_SIDE / side if side > WORK_SIDE else 2.0 if side < SMALL_SIDE else 1.0  # as _working_grey
    tall = float(np.median([box[3] for box in boxes]))
    if tall * scale >= ZOOM_BELOW:
        return [], 1.0
    up, room = (1.0, side) if scale < 1 else (ZOOM, WORK_SIDE)  # the region is seen at full size, or enlarged
    pad = ZOOM_PAD * tall
    spans: list[list[float]] = []  # each group's padded box: left, top, right, bottom
    members: list[list[int]] = []  # each group's boxes, by index
    for n, (bx, by, bw, bh) in enumerate(boxes):
        box = [bx - pad, by - pad, bx + bw + pad, by + bh + pad]
        near = [k for k, s in enumerate(spans) if box[0] < s[2] and s[0] < box[2] and box[1] < s[3] and s[1] < box[3]]
        for k in reversed(near[1:]):  # this box joins groups that were apart
            members[near[0]].extend(members.pop(k))
            spans[near[0]] = _hull(spans[near[0]], spans.pop(k))
        if near:
            members[near[0]].append(n)
            spans[near[0]] = _hull(spans[near[0]], box)
        else:
            spans.append(box)
            members.append([n])
    out = []
    for (left, top, right, bottom), group in zip(spans, members):
        left, top = max(x0, int(left)), max(y0, int(top))
        right, bottom = min(x1, int(right)), min(y1, int(bottom))
        far = ZOOM * max(right - left, bottom - top) > room
        out.append((None if far else (left, top, right - left, bottom - top), group))
    return out, up


def _roi_bounds(shape: tuple[int, ...], roi: tuple[int, int, int, int] | None) -> tuple[int, int, int, int]:
    """The part of a frame of `shape` that a roi (x, y, w, h) covers, as left, top, right, bottom."""
    h, w = shape[:2]
    if roi is None:
        return 0, 0, w, h
    rx, ry, rw, rh = (int(v) for v in roi)
    return max(0, rx), max(0, ry), min(w, rx + rw), min(h, ry + rh)


def _hull(a: list[float], b: list[float]) -> list[float]:
    """The box (left, top, right, bottom) holding both boxes."""
    return [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]


def _located(frame: np.ndarray, roi: tuple[int, int, int, int] | None, specks: bool = True) -> Found:
    """locate_digits at one resolution: the frame (or its roi) at WORK_SIDE at most. Without
    `specks`, pieces tiny next to the largest are kept too."""
    ox, oy = 0, 0
    if roi is not None:
        x0, y0, x1, y1 = _roi_bounds(frame.shape, roi)
        if x1 <= x0 or y1 <= y0:
            return Found()
        frame, ox, oy = frame[y0:y1, x0:x1], x0, y0
    if frame.shape[0] < 8 or frame.shape[1] < 8:
        return Found()
    grey, sx, sy = _working_grey(frame)
    paper = None if max(frame.shape[:2]) <= THUMBNAIL_SIDE else _paper(grey)
    if paper is not None:
        # A card or a sheet lying on a darker desk: read it as if it were the whole picture.
        (px, py, pw, ph), own = paper
        box = (round(px * sx), round(py * sy), max(1, round(pw * sx)), max(1, round(ph * sy)))
        frame, ox, oy = _on_paper(frame, box, own), ox + box[0], oy + box[1]
        grey, sx, sy = _working_grey(frame)
    thumbnail = max(frame.shape[:2]) <= THUMBNAIL_SIDE
    spanning = max(frame.shape[:2]) <= SPANNING_SIDE
    raw, edge, ink, floor, threshold = _inked(grey, thumbnail)
    # A tilted photo of ruled paper, a form or a table: its lines are found as straight runs
    # along the axes, so turn it straight first (and the boxes back at the end).
    back = None  # the turn from the straightened frame back to this one
    mask = (ink > threshold).astype(np.uint8)
    labelled = _label(mask)
    angle = _skew(mask, labelled)
    if angle:
        h, w = grey.shape
        turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        back = cv2.invertAffineTransform(turn)
        grey = cv2.warpAffine(grey, turn, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        raw, edge, ink, floor, threshold = _inked(grey, thumbnail)
        mask = (ink > threshold).astype(np.uint8)
        labelled = _label(mask)
    half_size = (ink.shape[1], ink.shape[0])
    mask, lines, labelled = _remove_lines(mask, labelled=labelled, spanning=spanning)
    labels, stats, junk, tall_specks = _components(mask, labelled, thumbnail, specks)
    # What is left out as a page edge, a margin or a shadow: a digit touching it may be cut short.
    left_out = None if edge is None else cv2.resize(edge, half_size, interpolation=cv2.INTER_NEAREST)
    if len(junk):
        # A page edge or shadow pulled Otsu's threshold up: choose it again without them.
        lut = np.zeros(labels.max() + 1, np.uint8)
        lut[junk] = 1
        keep = (cv2.dilate(lut[labels], np.ones((5, 5), np.uint8)) == 0).astype(np.uint8)
        left_out = (1 - keep) if left_out is None else (left_out | (1 - keep))
        threshold = max(_otsu(_histogram(ink, keep)), floor)
        mask, again, labelled = _remove_lines((ink > threshold).astype(np.uint8) & keep, known=lines,
                                              spanning=spanning)
        lines |= again
        labels, stats, _, tall_specks = _components(mask, labelled, thumbnail, specks)
    if lines.any():
        # Lines are gone from the mask; take them out of the ink the crops are cut from too.
        ink = ink.copy()
        ink[lines > 0] = 0
        raw = raw.copy()
        raw[cv2.resize(lines, (raw.shape[1], raw.shape[0]), interpolation=cv2.INTER_NEAREST) > 0] = 0
    pieces = [r for p in _pieces(labels, stats) for r in _refine(ink, p, threshold)]
    found = Found()
    kept, unread = _plausible(pieces, ink.shape)
    small = [] if kept else _too_short(pieces, ink.shape)
    kept_ids = {id(p) for p in kept}
    dashes = [p for p in pieces if id(p) not in kept_ids and p.box[2] >= DASH_FLAT * p.box[3]]

    def in_frame(x: int, y: int, w: int, h: int) -> tuple[int, int, int, int]:
        if back is not None:  # the bounding box of the box, turned back into this frame
            corners = cv2.transform(np.float32([[[x, y], [x + w, y], [x, y + h], [x + w, y + h]]]), back)[0]
            (x, y), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
            x, y = max(0.0, float(x)), max(0.0, float(y))
            w, h = min(float(x1), grey.shape[1]) - x, min(float(y1), grey.shape[0]) - y
        return ox + int(x * sx), oy + int(y * sy), max(1, round(w * sx)), max(1, round(h * sy))

    def crop_of(piece: _Piece) -> DigitCrop:
        image, box, inside = _crop(raw, piece, threshold)
        return DigitCrop(normalise_digit(image), in_frame(*box), inside)

    ordered = _reading_order(kept)
    row = _row_height([p.box[3] for p in ordered]) if ordered else 0.0
    for k, piece in enumerate(ordered):
        crop = crop_of(piece)
        crop.on_line, crop.under_line = _stands_on(lines, piece), _hangs_from(lines, piece)
        crop.at_edge = _touches(left_out, piece)
        unlined = _without_underline(piece)
        if unlined is not None:
            crop.unlined = crop_of(unlined)
        if k + 1 < len(ordered) and _may_be_one(piece, ordered[k + 1], row):
            crop.joined = crop_of(_union(piece, ordered[k + 1]))
        crop.before_dash = any(_dash_after(piece, dash) for dash in dashes)
        found.crops.append(crop)
    found.unread = [in_frame(*(2 * v for v in box)) for box in [p.box for p in unread] + _broken_digits(pieces, kept)]
    found.small = [in_frame(*(2 * v for v in p.box)) for p in small]
    found.specks = tall_specks
    return found


def _paper(grey: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """The card or sheet the digits are written on, when it lies on a darker desk that shows
    beyond at least PAPER_SIDES of its sides (not two opposite ones: a strip between two lines),
    or is held up to the camera in front of a darker backdrop (a sheet: beyond one side only, or
    filling up to PAPER_SHEET of the frame): (its box in `grey`, its own pixels in the box at
    that box's size). None otherwise: the paper fills the frame, or what lies beyond it is no
    desk (see the checks below).

    A card on a desk must be read on its own: otherwise the desk is most of what the ink map
    compares with, and the card reads as light ink on a dark ground, its digits as holes in it.
    Held up, the backdrop and the hand holding the sheet would be read as digits.
    """
    h, w = grey.shape
    if not _may_be_on_paper(grey):
        return None
    step = max(1, max(h, w) // PAPER_SIDE)
    small = np.ascontiguousarray(grey[::step, ::step])
    sh, sw = small.shape
    if min(sh, sw) < 16:
        return None
    _, light = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    count, labels, stats = _label(light)
    if count < 2:
        return None
    i = 1 + int(np.argmax(stats[1:, 4]))
    x, y, bw, bh, _ = stats[i]
    beyond = [m >= 2 for m in (x, y, sw - x - bw, sh - y - bh)]  # left, top, right, bottom
    if not any(beyond) or beyond in ([True, False, True, False], [False, True, False, True]):
        return None
    contours, _ = cv2.findContours((labels == i).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    outline = max(contours, key=cv2.contourArea)
    filled = np.zeros_like(light)
    cv2.drawContours(filled, [outline], -1, 1, -1)
    area = int(filled.sum())
    hull = cv2.convexHull(outline)
    if not PAPER_AREA * sh * sw <= area <= PAPER_SHEET * sh * sw or area < PAPER_SOLID * cv2.contourArea(hull):
        return None  # too small, too big, or not a card's shape (a chalk 0 filled in is, but rings the board)
    sheet = sum(beyond) < PAPER_SIDES or area > (1 - PAPER_DESK) * sh * sw
    _, (rw, rh), _ = cv2.minAreaRect(outline)
    if area < PAPER_SQUARE * rw * rh:
        return None  # not a quadrilateral however turned: a bold chalk 6 filled in fills 66% of its box
    inside = filled > 0
    # The desk lies all round, a few pixels out: past a line bounding a lighter patch of a
    # page (squared paper's cells, a table's), the page is as light again.
    around = (cv2.dilate(filled, np.ones((9, 9), np.uint8)) > 0) & (cv2.dilate(filled, np.ones((5, 5), np.uint8)) == 0)
    if not around.any():
        return None
    paper, desk = float(np.median(small[inside & (light > 0)])), float(np.median(small[around]))
    dark = inside & (light == 0)
    ink = int(dark.sum())
    if paper - desk < PAPER_CONTRAST or not PAPER_INK[0] * area <= ink <= PAPER_INK[1] * area:
        return None
    like_desk = abs(float(np.median(small[dark])) - desk) < PAPER_CONTRAST
    if like_desk and (ink > PAPER_BOLD * area or area < PAPER_SMALL * sh * sw):
        return None  # dark inside as dark as the desk: the board inside a chalk digit's loops, no ink on a card
    # The paper's edge is a step all round: light falling off towards the corners, or a shadow,
    # is a slope, and Otsu's threshold cuts a page lit unevenly along one (with ink beyond it).
    rim = outline[:, 0]
    rim = rim[(rim[:, 0] > 0) & (rim[:, 1] > 0) & (rim[:, 0] < sw - 1) & (rim[:, 1] < sh - 1)]  # not the frame's
    smooth = cv2.GaussianBlur(small, (0, 0), 1.0)
    step_height = cv2.morphologyEx(smooth, cv2.MORPH_GRADIENT, np.ones((5, 5), np.uint8))[rim[:, 1], rim[:, 0]]
    if not len(rim) or (step_height >= PAPER_EDGE * (paper - desk)).mean() < PAPER_EDGE_SHARE:
        return None
    # No ink beyond it: a page lit unevenly is cut by Otsu's threshold too, its darker part
    # taken for the desk with the digits on it.
    # A small frame is glanced at as it is, up to twice PAPER_SIDE long: its strokes are wider.
    stroke = max(PAPER_STROKE, round(PAPER_STROKE * max(sh, sw) / PAPER_SIDE) | 1)
    strokes = cv2.morphologyEx(small, cv2.MORPH_BLACKHAT, np.ones((stroke, stroke), np.uint8)) >= PAPER_CONTRAST
    beyond_ink = int((strokes & (cv2.dilate(filled, np.ones((15, 15), np.uint8)) == 0)).sum())  # past its shadow
    if beyond_ink > PAPER_STRAY * max(1, int((strokes & inside).sum())):
        return None
    if sheet:
        # Held up, or a page with a dark margin? No digit may run into its edge: the part beyond
        # would be lost. Such a digit leaves a notch, whose strokes lie inside the sheet's hull.
        hull_mask = np.zeros_like(light)
        cv2.fillConvexPoly(hull_mask, hull, 1)
        notches = (cv2.erode(hull_mask, np.ones((5, 5), np.uint8)) > 0) & ~inside
        if int((strokes & notches).sum()) > PAPER_NOTCH:
            return None
    # Back to the grey image's pixels, a pixel or two inside the paper's edge.
    x0, y0, x1, y1 = x * step, y * step, min(w, (x + bw) * step), min(h, (y + bh) * step)
    if sheet:
        # Only the room beyond its edge is painted over (the largest dark part, the thumb with it):
        # a page's corner darkened by vignetting, painted flat, would leave an edge that reads as ink.
        parts, rooms, room_stats = _label((filled == 0).astype(np.uint8))
        if parts > 1:
            filled = (rooms != 1 + int(np.argmax(room_stats[1:, 4]))).astype(np.uint8)
    own = cv2.erode(filled, np.ones((3, 3), np.uint8))[y: y + bh, x: x + bw]
    return (x0, y0, x1 - x0, y1 - y0), own


def _may_be_on_paper(grey: np.ndarray) -> bool:
    """A quick look at a thumbnail first (most frames end here): is there a lighter part covering
    a share of the frame a card or a held-up sheet may, far lighter than the rest, which runs
    along a side at least?"""
    small = grey[:: max(1, max(grey.shape) // PAPER_GLANCE), :: max(1, max(grey.shape) // PAPER_GLANCE)]
    if min(small.shape) < 8:
        return False
    _, light = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if not PAPER_AREA <= light.mean() <= PAPER_SHEET:
        return False
    if not any(side.mean() <= 1 - PAPER_BORDER for side in (light[:, 0], light[0], light[:, -1], light[-1])):
        return False
    return float(small[light > 0].mean()) - float(small[light == 0].mean()) >= PAPER_CONTRAST


def _on_paper(frame: np.ndarray, box: tuple[int, int, int, int], own: np.ndarray) -> np.ndarray:
    """The frame cut to the paper's box, the desk in its corners painted as the paper near it is lit."""
    x, y, w, h = box
    cut = frame[y: y + h, x: x + w].copy()
    mine = cv2.resize(own, (cut.shape[1], cut.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    if not mine.any() or mine.all():
        return cut
    light = _paper_light(cut, mine, own)
    if cut.dtype.kind in "biu":
        light = np.rint(light)
    if cut.dtype in _OPENCV_TYPES:  # enlarged and painted in the frame's own type: 8-bit is cheapest
        light = cv2.resize(light.astype(cut.dtype), (w, h), interpolation=cv2.INTER_LINEAR)
        return cv2.copyTo(light, (~mine).astype(np.uint8), cut)
    light = cv2.resize(light, (w, h), interpolation=cv2.INTER_LINEAR).reshape(cut.shape)
    cut[~mine] = light[~mine].astype(cut.dtype)
    return cut


_OPENCV_TYPES = (np.uint8, np.uint16, np.float32, np.float64)  # frame types cv2.resize takes as they are


def _paper_light(cut: np.ndarray, mine: np.ndarray, own: np.ndarray) -> np.ndarray:
    """The paper's colour as the light falls on it, spread from the paper (`mine` in the cut,
    `own` at the size it was found at) over the whole cut seen PAPER_FILL times smaller, as
    float32 (height, width, channels) at that size: the paper's cells blurred and divided by their
    blurred share (a normalised convolution). Painted one colour (the paper's median), the desk
    stood out from a page lit darker near its edge than on the whole: the ink map found ink all
    along the edge, read as 1s, and the paper's Otsu threshold fell to the noise there (a faint
    2 beside it was left out as too small)."""
    h, w = mine.shape
    size = (max(2, w // PAPER_FILL), max(2, h // PAPER_FILL))
    small = cv2.resize(cut if cut.dtype in _OPENCV_TYPES else cut.astype(np.float32), size,
                       interpolation=cv2.INTER_AREA).astype(np.float32).reshape(size[1], size[0], -1)
    paper = cv2.resize(own.astype(np.float32), size, interpolation=cv2.INTER_AREA) > PAPER_FILL_WHOLE
    if paper.any():  # not what lies on it (a thumb over its edge): the cells lit like the paper
        grey = small.mean(axis=2) * _uint8_scale(cut)  # in 8-bit grey levels, as the frame is read
        paper &= grey > np.median(grey[paper]) - PAPER_FILL_DARK
    if not paper.any():  # no cell all paper: the paper's median colour
        colour = cut.reshape(h, w, -1)
        sample = colour[::4, ::4][mine[::4, ::4]]  # every 16th pixel: the median of all costs milliseconds
        median = np.median(sample if len(sample) else colour[mine], axis=0).astype(np.float32)
        return np.broadcast_to(median, small.shape).copy()
    share = cv2.GaussianBlur(paper.astype(np.float32), (0, 0), PAPER_FILL_BLUR)
    spread = cv2.GaussianBlur(small * paper[..., None], (0, 0), PAPER_FILL_BLUR).reshape(small.shape)
    light = spread / np.maximum(share, 1e-3)[..., None]
    light[share < 1e-2] = np.median(small[paper], axis=0)  # too far from the paper to be lit like it
    return light


def _column_profile(ink: np.ndarray) -> np.ndarray:
    """The ink in each column, smoothed a little: touching digits meet at its minima."""
    return cv2.GaussianBlur(ink.astype(np.float32).sum(axis=0)[None, :], (0, 0), max(1.0, ink.shape[0] / 40))[0]


def _outline_valleys(ink: np.ndarray, min_w: int) -> list[int]:
    """Columns where the ink's upper outline dips and its lower outline rises between two humps,
    each at least VALLEY_DEPTH heights, deepest first and min_w apart. Two round digits touching
    (joined zeros) meet there, where their column profile peaks: each loop's inside is emptier.
    A 2's hooked tail dips one outline only."""
    h, w = ink.shape
    inked = ink > 0
    has = inked.any(axis=0)
    top = np.where(has, inked.argmax(axis=0), h)
    bottom = np.where(has, h - 1 - inked[::-1].argmax(axis=0), -1)
    # The highest top and lowest bottom on each side of each column, the column itself left out.
    top_left, top_right = np.minimum.accumulate(top), np.minimum.accumulate(top[::-1])[::-1]
    bottom_left, bottom_right = np.maximum.accumulate(bottom), np.maximum.accumulate(bottom[::-1])[::-1]
    depth = np.zeros(w)
    inner = slice(1, w - 1)
    dip = top[inner] - np.maximum(top_left[:-2], top_right[2:])
    rise = np.minimum(bottom_left[:-2], bottom_right[2:]) - bottom[inner]
    depth[inner] = np.where(has[inner], np.minimum(dip, rise), 0)
    out: list[int] = []
    for i in np.argsort(-depth, kind="stable"):
        if depth[i] < VALLEY_DEPTH * h:
            break
        if min_w <= i < w - min_w and all(abs(int(i) - j) >= min_w for j in out):
            out.append(int(i))
    return out


def _cut_pieces(crop: DigitCrop, cuts: tuple[int, ...], min_tall: int) -> list[DigitCrop]:
    """The crop cut at these ink columns, or [] when a piece's ink is shorter than min_tall (no
    ink, or a flat scrap of a stroke: a 2's base, a 7's bar, no digit)."""
    ink = crop.ink
    w = ink.shape[1]
    edges = [0, *cuts, w]
    spans = []
    for a, b in zip(edges[:-1], edges[1:]):
        ys = np.nonzero(ink[:, a:b].max(axis=1) > 0)[0]
        if len(ys) == 0 or ys[-1] - ys[0] + 1 < min_tall:
            return []
        spans.append((a, b, ys[0], ys[-1] + 1))
    return [_piece(crop, ink, a, b, top, bottom) for a, b, top, bottom in spans]


def _piece(crop: DigitCrop, ink: np.ndarray, a: int, b: int, top: int, bottom: int) -> DigitCrop:
    """Columns a:b, rows top:bottom of the crop's ink (or of a cut's share of it) as a crop of
    their own, its box in the frame's coordinates. The piece's ink is as tall as its box, so it
    can be cut again."""
    fx, fy = crop.box[2] / crop.ink.shape[1], crop.box[3] / crop.ink.shape[0]
    x, y = crop.box[0] + int(a * fx), crop.box[1] + int(top * fy)
    box = (x, y, max(1, int((b - a) * fx)), max(1, int((bottom - top) * fy)))
    return DigitCrop(normalise_digit(ink[top:bottom, a:b]), box, ink[top:bottom, a:b])


def _cut_path(ink: np.ndarray, column: int, lo: int, hi: int) -> np.ndarray:
    """The cheapest way down the crop near `column` (at most PATH_REACH heights from it, within
    [lo, hi)): each pixel costs its ink + 1, each step sideways (one column a row at most)
    PATH_STEP. Returns the cut's column in each row."""
    h = ink.shape[0]
    reach = max(1, int(PATH_REACH * h))
    a, b = max(lo, column - reach), min(hi, column + reach + 1)
    if b <= a:
        a, b = column, column + 1
    cost = ink[:, a:b].astype(np.float32) + 1.0
    total = np.empty_like(cost)  # the cheapest way down to each pixel
    total[0] = cost[0]
    for y in range(1, h):
        above = total[y - 1]
        best = above.copy()
        np.minimum(best[1:], above[:-1] + PATH_STEP, out=best[1:])
        np.minimum(best[:-1], above[1:] + PATH_STEP, out=best[:-1])
        np.add(best, cost[y], out=total[y])
    path = np.empty(h, np.int32)
    x = int(total[-1].argmin())
    path[-1] = x
    for y in range(h - 1, 0, -1):  # back up: from the left, from above, from the right (ties in that order)
        above = total[y - 1]
        came = [(above[x - 1] + PATH_STEP, x - 1)] if x > 0 else []
        came.append((above[x], x))
        if x + 1 < len(above):
            came.append((above[x + 1] + PATH_STEP, x + 1))
        x = min(came, key=lambda c: c[0])[1]
        path[y - 1] = x
    return path + a


def _path_pieces(crop: DigitCrop, cuts: tuple[int, ...], min_tall: int) -> list[DigitCrop]:
    """As _cut_pieces, but each cut runs down the cheapest path through the ink near its column
    (`_cut_path`), each to the right of the one before: a digit leaning over its neighbour keeps
    the stroke that a straight cut would give the neighbour."""
    ink = crop.ink
    h, w = ink.shape
    bounds = [np.zeros(h, np.int32)]
    for k, c in enumerate(cuts):
        lo = int(bounds[-1].max()) + 1 if k else 1
        hi = cuts[k + 1] if k + 1 < len(cuts) else w - 1
        bounds.append(np.maximum(_cut_path(ink, c, lo, hi), bounds[-1] + 1))
    bounds.append(np.full(h, w, np.int32))
    cols = np.arange(w)[None, :]
    out = []
    for left, right in zip(bounds[:-1], bounds[1:]):
        mine = (cols >= left[:, None]) & (cols < right[:, None])
        part = np.where(mine, ink, 0).astype(ink.dtype)
        inked = part > 0
        ys, xs = np.nonzero(inked.any(axis=1))[0], np.nonzero(inked.any(axis=0))[0]
        if len(ys) == 0 or min(ys[-1] - ys[0], xs[-1] - xs[0]) + 1 < min_tall:
            return []  # a path may stray towards a side: its piece must be as wide as a straight cut's
        out.append(_piece(crop, part, int(xs[0]), int(xs[-1]) + 1, int(ys[0]), int(ys[-1]) + 1))
    return out


def split_off_ones(crop: DigitCrop) -> list[list[DigitCrop]]:
    """Ways to cut a 1 glued to its neighbour off the crop's left or right side.

    A 1 is narrower than SPLIT_MIN_WIDTH, so split_digit never proposes it. Here the narrow side
    piece must be a stroke standing ONE_TALL of the crop's height, cut off at a minimum of the
    column profile at most ONE_WIDE heights in.
    """
    if crop.ink is None:
        return []
    ink = crop.ink
    h, w = ink.shape
    profile = _column_profile(ink)
    reach = int(ONE_WIDE * h)
    rest = max(2, int(SPLIT_MIN_WIDTH * h))
    out = []
    for side in (range(2, min(reach, w - rest)), range(max(w - reach, rest), w - 2)):
        minima = [i for i in side if profile[i] <= profile[i - 1] and profile[i] <= profile[i + 1]]
        if not minima:
            continue
        cut = min(minima, key=lambda i: profile[i])
        # Both sides stand nearly the crop's height: a 9's stem beside its loop does, the loop not.
        pieces = _cut_pieces(crop, (cut,), int(ONE_TALL * h))
        if pieces:
            out.append(pieces)
    return out


def split_digit(crop: DigitCrop, parts: int, along_paths: bool = False, valleys: bool = False,
                ) -> list[list[DigitCrop]]:
    """Ways to cut a crop holding `parts` touching digits (joined zeros, a cursive run) apart.

    Cuts are vertical, at minima of the ink's column profile, each piece at least
    SPLIT_MIN_WIDTH digit heights wide, and its ink as tall. With `along_paths`, each cut runs
    instead down the path through the least ink from near its column (`_cut_path`): touching
    digits overlap, and a straight cut leaves a stroke of one with the other. With `valleys`,
    the deepest dips of the ink's outline are tried as columns too (`_outline_valleys`): joined
    zeros. The caller keeps the split the classifier is most sure of (segmentation by
    recognition); this only proposes, best candidates first.
    """
    if crop.ink is None or parts < 2:
        return []
    ink = crop.ink
    h, w = ink.shape
    profile = _column_profile(ink)
    min_w = max(2, int(SPLIT_MIN_WIDTH * h))
    minima = [i for i in range(min_w, w - min_w) if profile[i] <= profile[i - 1] and profile[i] <= profile[i + 1]]
    minima.sort(key=lambda i: profile[i])
    # parts - 1 cuts among the deepest minima (SPLIT_TRIES of them, one more per part beyond three).
    minima = minima[:SPLIT_TRIES + max(0, parts - 3)]
    if valleys:
        new = [v for v in _outline_valleys(ink, min_w) if all(abs(v - m) >= min_w // 2 for m in minima)]
        minima += new[:VALLEYS]
    options: list[tuple[int, ...]] = []
    for cuts in itertools.combinations(minima, parts - 1):
        cuts = tuple(sorted(cuts))
        if all(b - a >= min_w for a, b in zip(cuts, cuts[1:])):
            options.append(cuts)
    out = []
    for cuts in options:
        pieces = _path_pieces(crop, cuts, min_w) if along_paths else _cut_pieces(crop, cuts, min_w)
        if pieces:
            out.append(pieces)
    return out
