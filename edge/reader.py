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

from .preprocess import DigitCrop, locate_digits, normalise_digit, split_digit, split_off_ones, stroke_width
from .runtime import Classifier

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"}
MIN_SIDE = 8  # pixels: anything smaller cannot hold a readable digit
SPLIT_WIDTH = 0.6  # a crop is tried as k touching digits once it is k × this many heights wide ...
MAX_PARTS = 4  # ... (and as k + 1 once k ≥ 2: touching digits overlap), for k up to this
ONE_CROP = 0.7  # a crop narrower than two digits but this many heights wide may be a 1 glued to one ...
ONE_MIN_HEIGHT = 24  # ... when it is at least this many pixels tall (fewer cannot tell a 1 from a stroke) ...
ONE_PEN = 0.12  # ... if the 1 cut off is at least this many heights wide (a pen's stroke, not a box's side) ...
ONE_SURE = 0.95  # ... and both pieces keep their readings under the variants at least this surely
RIVAL_WIDTH = 1.0  # a crop left whole but this many heights wide is also tried as two digits (its best ...
RIVAL_CUTS, RIVAL = 2, 0.99  # ... cuts): if every piece then scores this much, the whole is doubtful
JOIN_SURE = 0.9  # two strokes read as one digit at least as surely as the surer alone, and at least this surely
SPLIT_MARGIN = 0.1  # a split must beat the whole crop's mean log-confidence by this much ...
BALANCE = 0.01  # the weight of unequal piece widths when ranking cuts
NARROW, CLOSE = 0.4, 0.05  # two crops this close (in digit heights), one or both narrow, may be one digit in two pieces
DOUBT_SPLIT, DOUBT_PAIR, DOUBT_UNREAD = 0.85, 0.5, 0.5  # confidence caps for guessed segmentations
PEER_WIDE, PEER_SLACK = 2.0, 0.05  # a crop this many times as wide as its row's typical digit may be two
# touching digits though one digit may be as wide: cut, it may read this much less surely (mean log) than whole
WIDE = 1.35  # a crop left whole though this many times wider than tall may hold touching digits (MNIST: 1.5% are)
ALONE_WIDE = 1.6  # a frame's only crop up to this many times wider than tall is cut only into steadier pieces
SHORT_ONE, THIN_ONE = 0.6, 0.5  # a 1 under this share of the row's median height, or pen width, is doubtful
COMMA_LOW = 0.05  # ... and a comma when hanging from below its neighbours' middle to this share of them over their base
SIDE_PEN = 0.3  # a 1 at the end of a number with under this share of its pen is a box's side, touching a line or not
TALL_ONE, TAIL_CUT = 1.35, 1.1  # a 1 this many times the row's height is read again cut to TAIL_CUT × it (a tail)
SLASH_REACH = 0.25  # ... or, reaching this share of its neighbours' height past them above and below, is a slash
TAIL_UNSURE = 0.7  # a crop that tall read under this surely (any digit) is read cut too, before marks go
NO_DIGIT = 0.45  # a crop whose likeliest digit scores less is no digit (a currency sign, a mark)
AMID_TALL = 0.8  # ... unless between two crops and this share of the shorter one's height: a digit read badly
SIGN_TOP, SIGN_SURE = 0.7, 0.2  # a number's first crop scoring under these (likeliest, agreement) is a sign ($, €)
SIGN_LEVEL = (0.9, 1.1)  # ... unless this many times as tall as the digit after it: an unsure digit in the number
DOLLAR_SURE = 0.3  # ... and so is a first crop read as a 5 under this surely, reaching above and below ...
DOLLAR_REACH = 0.03  # ... the digit after it by this share of that digit's height: a $
STEADY_PIECE = 0.5  # ... or its pieces keep their readings under the variants better than the whole does, each this
CROWDED = 0.35  # a crop crossing three strokes or more in this share of its rows may be two overlapping digits
TURN_LOW, TURN_SURE, DOUBT_TURN = 0.9, 0.9, 0.85  # read_any_way_up: when to turn, what to keep, its cap
VARIANT_ANGLE = 8.0  # degrees: the tilt of the variants a confident reading must survive


@dataclass
class Digit:
    label: int
    confidence: float
    box: tuple[int, int, int, int]
    uncertain: bool = False
    probs: np.ndarray | None = field(default=None, repr=False, compare=False)  # the model's 10 scores

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


def read_digits(frame: np.ndarray, classifier: Classifier, source: str = "",
                roi: tuple[int, int, int, int] | None = None, min_confidence: float = 0.0) -> Reading:
    """Find every digit in a frame and classify them in one go; split crops that hold several."""
    found = locate_digits(frame, roi=roi)
    crops = found.crops
    reading = Reading(source)
    if not crops:
        return reading
    probs = list(classifier.probabilities(np.stack([c.image for c in crops])))
    crops, probs = _without_slashes(crops, probs, classifier)
    crops, probs, lined = _without_underlines(crops, probs, classifier)
    crops, probs, joined = _join_strokes(crops, probs, classifier)
    crops, probs, split, rivalled = _split_touching(crops, probs, classifier)
    rivalled = [r or any(c is d for d in lined) for c, r in zip(crops, rivalled)]
    # A tail far below the line can leave a digit reading as none, or barely: cut it before marks go.
    crops, probs, untailed = _without_tails(crops, probs, classifier, unsure=True)
    rivalled = [r or i in untailed for i, r in enumerate(rivalled)]
    crops, probs, split, doubt = _drop_not_digits(crops, probs, split, rivalled)
    if not crops:
        return reading
    # Two pieces read as one digit are a guessed segmentation, like a cut.
    doubt = np.minimum(doubt, [DOUBT_SPLIT if any(c is j for j in joined) else 1.0 for c in crops])
    crops, probs, tailed = _without_tails(crops, probs, classifier)
    doubt[tailed] = np.minimum(doubt[tailed], DOUBT_SPLIT)
    labels = [int(p.argmax()) for p in probs]
    confidences = agreement(np.stack([c.image for c in crops]), np.asarray(labels), np.stack(probs), classifier)
    confidences = np.minimum(confidences, np.minimum(segmentation_doubt(crops, split), doubt))
    confidences = np.minimum(confidences, one_doubt(crops, labels))
    confidences = np.minimum(confidences, line_doubt(crops, labels))
    confidences = np.minimum(confidences, crowd_doubt(crops))
    commas = _commas(crops, labels, frame.shape[:2])
    for i in commas:  # had it been a 1 after all, the reading would be wrong: a guessed segmentation
        for k in {i - 1, i + 1} - commas:
            if 0 <= k < len(crops):
                confidences[k] = min(confidences[k], DOUBT_SPLIT)
    crops, probs, labels, confidences = _leave_out(commas, crops, probs, labels, confidences)
    sides, broken_box = _box_sides(crops, labels)
    crops, probs, labels, confidences = _leave_out(sides, crops, probs, labels, confidences)
    if broken_box:
        # A hairline box that broke apart: what else is left of it may read as a digit.
        confidences = np.minimum(confidences, DOUBT_SPLIT)
    confidences = np.minimum(confidences, dash_doubt(crops, labels))
    # A digit touching a page edge, a margin or a shadow that was left out may have lost a stroke to it.
    confidences = np.minimum(confidences, [DOUBT_SPLIT if c.at_edge else 1.0 for c in crops])
    top = float(probs[0].max())
    if len(crops) > 1 and (top < SIGN_TOP and confidences[0] < SIGN_SURE and not _level(crops[0], crops[1])
                           or _dollar(crops, labels, confidences)):
        # A currency sign before the amount: barely a digit, and no variant agrees. Had it been
        # one, the reading would be wrong: the next digit is no surer than the sign was a digit.
        crops, probs, labels, confidences = _leave_out({0}, crops, probs, labels, confidences)
        confidences[0] = min(confidences[0], top)
    if found.unread:
        # Ink as tall and dark as the digits was too wide for one, left unread or cut as well as
        # it could be: the text may miss digits.
        confidences = np.minimum(confidences, DOUBT_UNREAD)
    reading.crops = crops
    for crop, label, confidence, p in zip(crops, labels, confidences, probs):
        confidence = float(confidence)
        reading.digits.append(Digit(label, confidence, tuple(int(v) for v in crop.box),
                                    uncertain=confidence < min_confidence, probs=p))
    return reading


def _without_slashes(crops: list[DigitCrop], probs: list[np.ndarray], classifier: Classifier,
                     ) -> tuple[list[DigitCrop], list[np.ndarray]]:
    """The crops without the slashes between a date's numbers (`10/10/1982`): a stroke read
    as a 1, much taller than the row's digits and reaching well past the digits on either side
    of it, above and below, that is no digit's long tail either. A 1 is about as tall as the
    digits beside it. Left in, a slash reads as a sure 1, or is joined to the digit before it
    (`0/` read as a 4)."""
    if len(crops) < 3:
        return crops, probs
    heights = np.array([c.box[3] for c in crops], float)
    drop = set()
    for i in range(1, len(crops) - 1):
        if int(probs[i].argmax()) != 1 or heights[i] < TALL_ONE * _median_of_others(heights, i):
            continue
        sides = [crops[i - 1].box, crops[i + 1].box]
        top, bottom = min(b[1] for b in sides), max(b[1] + b[3] for b in sides)
        if (_reaches_past(crops[i].box, top, bottom, SLASH_REACH * (bottom - top))
                and not _tail_of_digit(crops[i], bottom - top, classifier)):
            drop.add(i)
            crops[i - 1].joined = None  # the stroke before it may no longer be joined to it
    keep = [i for i in range(len(crops)) if i not in drop]
    return [crops[i] for i in keep], [probs[i] for i in keep]


def _tail_of_digit(crop: DigitCrop, row: float, classifier: Classifier) -> bool:
    """Whether the crop without its tail (`_tail_cut`) reads as a digit other than 1: a 9, 7
    or 4 with a long tail read as a 1."""
    if crop.ink is None:
        return False
    q = classifier.probabilities(_tail_cut(crop, row).image[None])[0]
    return int(q.argmax()) != 1 and float(q.max()) >= 0.5


def _tail_cut(crop: DigitCrop, row: float) -> DigitCrop:
    """The crop cut to TAIL_CUT × the row's height `row` from its top (its ink must be known)."""
    keep = max(1, int(round(crop.ink.shape[0] * TAIL_CUT * row / crop.box[3])))
    return DigitCrop(normalise_digit(crop.ink[:keep]), (*crop.box[:3], max(1, round(TAIL_CUT * row))), crop.ink[:keep])


def _level(crop: DigitCrop, beside: DigitCrop) -> bool:
    """Whether a crop at a number's end stands as tall as the digit beside it (SIGN_LEVEL times):
    an odd digit (`6934` read `934`), not a sign or a mark. A $ or a € is drawn taller than the
    digits (the generated ones 1.2 times, as a rule), a dash or a dot shorter."""
    low, high = SIGN_LEVEL
    return low <= crop.box[3] / beside.box[3] < high


def _dollar(crops: list[DigitCrop], labels: list[int], confidences: np.ndarray) -> bool:
    """Whether the first crop is a $ before the amount: read as an unsure 5 (the model gives a
    $ up to 0.9 as a 5, but the variants do not agree), its stroke reaching above and below the
    digit after it. A 5 that begins a number sits on the line with the digits after it."""
    if labels[0] != 5 or confidences[0] >= DOLLAR_SURE:
        return False
    _, ny, _, nh = crops[1].box
    return _reaches_past(crops[0].box, ny, ny + nh, DOLLAR_REACH * nh)


def _reaches_past(box: tuple[int, int, int, int], top: float, bottom: float, reach: float) -> bool:
    """Whether the box reaches more than `reach` above `top` and below `bottom` (a stroke
    overhanging the digits beside it both ways: a slash, a $)."""
    _, y, _, h = box
    return y < top - reach and y + h > bottom + reach


def read_any_way_up(frame: np.ndarray, classifier: Classifier, source: str = "",
                    roi: tuple[int, int, int, int] | None = None, min_confidence: float = 0.0) -> Reading:
    """read_digits for a still picture that may be stored sideways (a phone's photo whose
    orientation tag was dropped): unless every digit is read surely (TURN_LOW) upright, the
    picture is also read turned a quarter either way, and a turned reading of two digits or
    more, every one read surely (TURN_SURE) and surer than the least sure upright, is kept, its
    boxes in the picture as stored. Its confidences are capped at DOUBT_TURN: which way up is a
    guess, and a number upside down reads surely too (66 as 99). A single digit is never turned
    (a 0 or an 8 reads as one either way), nor a row of 1s (the lines of ruled paper, turned
    upright)."""
    reading = read_digits(frame, classifier, source, roi, min_confidence)
    if roi is not None or (reading.digits and all(d.confidence >= TURN_LOW for d in reading.digits)):
        return reading
    upright_sure = min((d.confidence for d in reading.digits), default=0.0)
    h, w = frame.shape[:2]
    best, best_sure = None, upright_sure
    for turn in (cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_90_COUNTERCLOCKWISE):
        turned = read_digits(cv2.rotate(frame, turn), classifier, source, None, min_confidence)
        sure = min((d.confidence for d in turned.digits), default=0.0)
        # Ruled lines, a margin or a table turned upright read as a row of sure 1s.
        if len(turned.digits) >= 2 and set(turned.text) != {"1"} and sure >= TURN_SURE and sure > best_sure:
            best, best_sure = (turn, turned), sure
    if best is None:
        return reading
    turn, turned = best
    for d in turned.digits:
        x, y, bw, bh = d.box  # in the turned picture, back to the stored one
        d.box = (y, h - x - bw, bh, bw) if turn == cv2.ROTATE_90_CLOCKWISE else (w - y - bh, x, bh, bw)
        d.confidence = min(d.confidence, DOUBT_TURN)
        d.uncertain = d.confidence < min_confidence
    return turned


def _leave_out(drop: set[int], crops: list[DigitCrop], probs: list[np.ndarray], labels: list[int],
               confidences: np.ndarray) -> tuple[list[DigitCrop], list[np.ndarray], list[int], np.ndarray]:
    """The reading so far without the crops at the indices in `drop` (a box's side, a sign)."""
    keep = [i for i in range(len(crops)) if i not in drop]
    return [crops[i] for i in keep], [probs[i] for i in keep], [labels[i] for i in keep], confidences[keep]


def _without_underlines(crops: list[DigitCrop], probs: list[np.ndarray], classifier: Classifier,
                        ) -> tuple[list[DigitCrop], list[np.ndarray], list[DigitCrop]]:
    """A digit above a short underline reads as a 2 (a 0, a 7, a 9 on a line); a 2 without its
    base reads as a 7. Where the preprocessing found such a line, keep the crop without it only
    when the model is clearly surer of it. Also returns the crops kept with their line though
    they read as another digit, about as surely, without it, and the 1s kept without their line
    though the whole read as another digit about as surely (a 2's straight base reaching past its
    stroke reads as a 1 on a line)."""
    which = [i for i, c in enumerate(crops) if c.unlined is not None]
    if not which:
        return crops, probs, []
    crops, probs = list(crops), list(probs)
    # Both read as surely as a digit can be: compare what survives tilting and a bolder pen.
    images = np.stack([crops[i].image for i in which] + [crops[i].unlined.image for i in which])
    p = classifier.probabilities(images)
    labels = p.argmax(1)
    sure = _log_agreement(images, p, classifier)
    doubtful = []
    for k, i in enumerate(which):
        whole, unlined = k, len(which) + k
        if sure[unlined] > sure[whole] + SPLIT_MARGIN:
            crops[i], probs[i] = crops[i].unlined, p[unlined]
            if labels[unlined] == 1 and labels[whole] != 1 and sure[whole] >= np.log(0.5):
                doubtful.append(crops[i])  # a 1 on a line, or a 2 on its straight base: both read surely
        elif labels[unlined] != labels[whole] and sure[unlined] >= np.log(0.5):
            doubtful.append(crops[i])  # a 3 on a line, or a 2: both read surely
    return crops, probs, doubtful


def _join_strokes(crops: list[DigitCrop], probs: list[np.ndarray], classifier: Classifier,
                  ) -> tuple[list[DigitCrop], list[np.ndarray], list[DigitCrop]]:
    """Segmentation by recognition, the other way: two neighbours that may be one digit's strokes
    (an open 4 drawn as a corner and a bar) are read as one when the model reads the pair, under
    the variants, at least as surely as the surer of the two alone."""
    which = [i for i in range(len(crops) - 1) if crops[i].joined is not None]
    if not which:
        return crops, probs, []
    joined = [crops[i].joined for i in which]
    images = np.stack([c.image for c in joined] + [crops[i].image for i in which] + [crops[i + 1].image for i in which])
    p = np.concatenate([classifier.probabilities(np.stack([c.image for c in joined])),
                        np.stack([probs[i] for i in which] + [probs[i + 1] for i in which])])
    sure = _log_agreement(images, p, classifier)
    n = len(which)
    chosen = {i: k for k, i in enumerate(which)
              if sure[k] >= max(sure[n + k], sure[2 * n + k], np.log(JOIN_SURE))}
    out_crops, out_probs, skip = [], [], set()
    for i, (crop, q) in enumerate(zip(crops, probs)):
        if i in skip:
            continue
        if i in chosen:
            out_crops.append(joined[chosen[i]])
            out_probs.append(p[chosen[i]])
            skip.add(i + 1)
        else:
            out_crops.append(crop)
            out_probs.append(q)
    return out_crops, out_probs, [joined[k] for k in chosen.values()]


def _split_touching(crops: list[DigitCrop], probs: list[np.ndarray], classifier: Classifier, again: bool = True,
                    typical: float | None = None) -> tuple[list[DigitCrop], list[np.ndarray], list[bool], list[bool]]:
    """Segmentation by recognition: a crop wide enough to hold touching digits is cut where the
    classifier is surest of every piece, if it is surer of them than of the whole, or at least as
    sure and they keep their readings under the variants clearly better than the whole does. Also says
    which of the returned crops came from a cut, and which were left whole though a cut reads
    them as several sure digits too (rivalled: the model reads glued digits as one, surely). With
    `again`, the pieces of a cut are tried once more (`_cut_again`).

    A crop PEER_WIDE times as wide as the row's `typical` digit (`_typical_width`, by default of
    `crops`) is tried as two digits too, however narrow for its height: in narrow handwriting two
    touching digits are no wider than one round digit may be, and the model reads them as one
    surely (`40` as a 4 at 0.98). The row's other digits tell what one digit's width is."""
    out_crops: list[DigitCrop] = []
    out_probs: list[np.ndarray] = []
    split: list[bool] = []
    rivalled: list[bool] = []
    typical = _typical_width(crops) if typical is None else typical
    # A frame's only crop is most likely one digit (not so the pieces of a cut, tried `again`): a
    # wide 6 with a long tail reads surer as a 6 and a 5 than whole.
    one_wide = ALONE_WIDE if again and len(crops) == 1 else WIDE
    for crop, p in zip(crops, probs):
        w, h = crop.box[2], crop.box[3]
        fits = int(w / (SPLIT_WIDTH * h))  # how many digits the crop is wide enough to hold
        if fits < 2 and w >= RIVAL_WIDTH * h and crowded_rows(crop.image[None])[0] > CROWDED:
            fits = 2  # narrower, but its rows cross three strokes: two digits drawn over each other?
        if fits >= 2:
            fits = min(MAX_PARTS, fits + 1)  # touching digits overlap: one more may be squeezed in
        wide_for_row = fits < 2 and _wide_for_row(w, typical)
        if wide_for_row:
            fits = 2
        best, best_rank, rival = None, -np.inf, 0.0
        parts = range(2, min(MAX_PARTS, max(fits, 2 if w >= RIVAL_WIDTH * h else 0)) + 1)
        # A cut tried only to see whether the crop reads as several digits: the two likeliest do.
        options = [pieces for k in parts
                   for pieces in split_digit(crop, k, valleys=k <= fits)[:None if k <= fits else RIVAL_CUTS]]
        straight = len(options)
        if w > WIDE * h or wide_for_row:
            # The same cuts, each down the path through the least ink near its column: touching
            # digits overlap. Not in a crop one digit may fill: a path carves a wide 6 into a 6 and a 7.
            options += [pieces for k in parts if k <= fits
                        for pieces in split_digit(crop, k, along_paths=True, valleys=True)]
        # Every piece of every cut in one call into the runtime.
        flat = classifier.probabilities(np.stack([c.image for ps in options for c in ps])) if options else None
        start = 0
        for n, pieces in enumerate(options):
            piece_probs = list(flat[start:start + len(pieces)])
            start += len(pieces)
            if n < straight:  # rivals are judged on the straight cuts alone, as before there were paths
                rival = max(rival, min(float(q.max()) for q in piece_probs))
            if len(pieces) > fits:
                continue  # tried only to see whether the crop could be read as several digits
            widths = [c.box[2] for c in pieces]
            # Ties (int8 outputs saturate) go to the cut whose pieces are most alike in width.
            rank = _certainty(piece_probs) - BALANCE * float(np.log(max(widths) / max(1, min(widths))))
            if rank > best_rank:
                best, best_rank = (pieces, piece_probs), rank
        if best is not None and (_certainty(best[1]) < _certainty([p]) + SPLIT_MARGIN or w <= one_wide * h):
            # Not clearly surer than the whole, or as wide as one digit may be (a wide 6 whose halves
            # read as 6 and 7): the pieces must be at least as sure and keep their readings under
            # the variants better than the whole does.
            least = _certainty([p]) - (PEER_SLACK if wide_for_row else 0.0)
            if _certainty(best[1]) < least or not _split_steadier(crop, p, best[0], best[1], classifier):
                best = None
        if best is None and fits < 2:
            best = _glued_one(crop, p, classifier)
        if best is None:
            out_crops.append(crop)
            out_probs.append(p)
            split.append(False)
            rivalled.append(rival >= RIVAL)
        else:
            pieces, piece_probs = _cut_again(*best, classifier, typical) if again else best
            out_crops.extend(pieces)
            out_probs.extend(piece_probs)
            split.extend([True] * len(pieces))
            rivalled.extend([False] * len(pieces))
    return out_crops, out_probs, split, rivalled


def _typical_width(crops: list[DigitCrop]) -> float:
    """The median width of a row's digits, strokes narrower than NARROW × their height (1s) left
    out; 0 when fewer than three are left: too few to say what one digit's width is."""
    widths = [c.box[2] for c in crops if c.box[2] >= NARROW * c.box[3]]
    return float(np.median(widths)) if len(widths) >= 3 else 0.0


def _wide_for_row(width: int, typical: float) -> bool:
    """Whether a crop is PEER_WIDE times as wide as its row's typical digit (0: no row to tell)."""
    return 0 < typical and PEER_WIDE * typical <= width


def _cut_again(pieces: list[DigitCrop], probs: list[np.ndarray], classifier: Classifier, typical: float,
               ) -> tuple[list[DigitCrop], list[np.ndarray]]:
    """The pieces of a cut, each piece as wide as two digits of its own height, or of the row's
    `typical` digit, tried once more as touching digits. A cut may leave two digits together:
    the crop's column profile had no minimum between them, or they are smaller than the crop is
    tall (its pieces must be a quarter of its height wide), and one cut too few often reads as
    surely (`8728` read `872`)."""
    out_crops: list[DigitCrop] = []
    out_probs: list[np.ndarray] = []
    for crop, p in zip(pieces, probs):
        if crop.box[2] >= 2 * SPLIT_WIDTH * crop.box[3] or _wide_for_row(crop.box[2], typical):
            more, more_probs, _, _ = _split_touching([crop], [p], classifier, again=False, typical=typical)
        else:
            more, more_probs = [crop], [p]
        out_crops.extend(more)
        out_probs.extend(more_probs)
    return out_crops, out_probs


def _glued_one(crop: DigitCrop, p: np.ndarray, classifier: Classifier,
               ) -> tuple[list[DigitCrop], list[np.ndarray]] | None:
    """A 1 glued to its neighbour cut off, as (pieces, their probabilities), or None.

    Such a pair is no wider than one digit may be, so it is never tried as touching digits, and
    the model reads it as the neighbour alone (41 as 4), often surely. The cut must read as a 1
    beside another digit, each surely and steadily under the variants, and surer than the whole:
    a 9's stem beside its loop, a box's side beside a digit or a 1 with a long foot do not.
    """
    w, h = crop.box[2], crop.box[3]
    if w < ONE_CROP * h or h < ONE_MIN_HEIGHT:
        return None
    for pieces in split_off_ones(crop):
        narrow = int(pieces[1].box[2] < pieces[0].box[2])
        one = pieces[narrow]
        if one.box[2] < ONE_PEN * one.box[3]:
            continue  # judged by its shape before the model is asked
        piece_probs = list(classifier.probabilities(np.stack([c.image for c in pieces])))
        if int(piece_probs[narrow].argmax()) != 1 or int(piece_probs[1 - narrow].argmax()) == 1:
            continue
        if _certainty(piece_probs) >= _certainty([p]) and _split_steadier(crop, p, pieces, piece_probs,
                                                                          classifier, ONE_SURE):
            return pieces, piece_probs
    return None


def _split_steadier(crop: DigitCrop, p: np.ndarray, pieces: list[DigitCrop], piece_probs: list[np.ndarray],
                    classifier: Classifier, floor: float = STEADY_PIECE) -> bool:
    """Whether the pieces of a cut survive tilting and a bolder pen better than the whole crop
    does. The model often reads two glued digits as one as surely as it reads the pieces (int8
    scores saturate); that one digit is a guess that wobbles under the variants more than the
    pieces do. A tie is no evidence either way: a wide digit's halves often read as surely."""
    sure = _log_agreement(np.stack([crop.image] + [c.image for c in pieces]), np.stack([p] + list(piece_probs)),
                          classifier)
    return float(sure[1:].mean()) > float(sure[0]) and float(sure[1:].min()) >= np.log(floor)


def _drop_not_digits(crops: list[DigitCrop], probs: list[np.ndarray], split: list[bool], rivalled: list[bool],
                     ) -> tuple[list[DigitCrop], list[np.ndarray], list[bool], np.ndarray]:
    """Leave out crops the model gives no digit more than NO_DIGIT to (a currency sign, a mark: the
    release model is trained to answer those with a flat output). Their neighbours keep at most
    the left-out crop's top probability as confidence: had it been a digit after all, the reading
    would be wrong, so it is never more confident than it was with the crop read as a digit.
    A frame's only crop is kept, with its low confidence: alone in a picture, a digit the model
    is unsure of is far likelier than a mark. So is a crop inside a number as tall as the digits
    beside it (AMID_TALL): a broken or odd digit (`7200` read `700`); a comma, a dash or a dot
    is much shorter, and a slash is gone already. So is a number's last crop as tall as the digit
    before it (SIGN_LEVEL, `6131` read `613`)."""
    top = [float(p.max()) for p in probs]
    heights = [c.box[3] for c in crops]
    in_number = {i for i in range(1, len(crops) - 1)
                 if heights[i] >= AMID_TALL * min(heights[i - 1], heights[i + 1])}
    if len(crops) > 1 and _level(crops[-1], crops[-2]):
        in_number.add(len(crops) - 1)  # a number's last crop as tall as the digit before it
    dropped = {i for i, t in enumerate(top) if t < NO_DIGIT and len(top) > 1 and i not in in_number}
    keep = [i for i in range(len(crops)) if i not in dropped]
    # A crop left whole that reads as confidently as several digits: either reading is a guess.
    doubt = np.array([DOUBT_SPLIT if rivalled[i] else 1.0 for i in keep])
    for i, t in enumerate(top):
        if i in dropped:
            left = [k for k, j in enumerate(keep) if j < i]
            right = [k for k, j in enumerate(keep) if j > i]
            for k in left[-1:] + right[:1]:  # the nearest kept digit on either side
                doubt[k] = min(doubt[k], t)
    return [crops[i] for i in keep], [probs[i] for i in keep], [split[i] for i in keep], doubt


def segmentation_doubt(crops: list[DigitCrop], split: list[bool]) -> np.ndarray:
    """The most a digit's confidence can be, given how sure its segmentation is.

    The classifier only knows the crop it was shown; a reading can still be wrong because a
    digit was cut in two (an open 4 read as 11) or a cut between touching digits was guessed.
    A crop left whole though wider than WIDE × its height is doubtful too: the model reads two
    touching digits squeezed into one box as one digit, often with full confidence. So are two
    neighbours closer than CLOSE × their height when either is a narrow stroke.
    These caps keep such readings under the usual 0.9 threshold rather than confidently wrong.
    """
    caps = np.ones(len(crops))
    for i, crop in enumerate(crops):
        w, h = crop.box[2], crop.box[3]
        if split[i] or w > WIDE * h:
            caps[i] = min(caps[i], DOUBT_SPLIT)
        if i + 1 < len(crops):
            nxt = crops[i + 1]
            gap = nxt.box[0] - (crop.box[0] + w)
            tall = max(h, nxt.box[3])
            narrow = [w < NARROW * tall, nxt.box[2] < NARROW * tall]
            if gap >= CLOSE * tall or (split[i] and split[i + 1]) or not any(narrow):
                continue
            # Both narrow: one digit in two pieces, as likely as two. One narrow stroke right
            # against its neighbour may be that digit's own (an open 4 drawn as a curl and a
            # stem reads as a sure 61).
            caps[i] = caps[i + 1] = min(caps[i], caps[i + 1], DOUBT_PAIR if all(narrow) else DOUBT_SPLIT)
    return caps


def _without_tails(crops: list[DigitCrop], probs: list[np.ndarray], classifier: Classifier, unsure: bool = False,
                   ) -> tuple[list[DigitCrop], list[np.ndarray], list[int]]:
    """A 9, 7 or 4 with a long tail, shrunk into MNIST's 20×20 box, keeps a loop or a bar too
    small to see and reads as a 1. A 1 much taller than the row's other digits is read again with
    its tail cut to about the row's height; a different digit read at 0.9 or more is kept
    instead. Where the cut reads as another digit at all, either reading is a guess: also
    returns which crops those are.

    With `unsure`, the crops tried are those the model reads under TAIL_UNSURE instead, whatever
    the digit (a 7 whose stem runs far below the line, as in old registers, reads as nothing at
    all and would be left out as a mark, or barely, and left out as a sign before the number);
    a cut read as any digit at 0.9 or more is kept, and returned."""
    labels = [int(p.argmax()) for p in probs]
    tried = [float(p.max()) < TAIL_UNSURE for p in probs] if unsure else [label == 1 for label in labels]
    if len(crops) < 2 or not any(tried):
        return crops, probs, []
    heights = np.array([c.box[3] for c in crops], float)
    which, cut = [], []
    for i, crop in enumerate(crops):
        row = _median_of_others(heights, i)
        if tried[i] and heights[i] > TALL_ONE * row and crop.ink is not None:
            which.append(i)
            cut.append(_tail_cut(crop, row))
    if not which:
        return crops, probs, []
    p = classifier.probabilities(np.stack([c.image for c in cut]))
    crops, probs, rivalled = list(crops), list(probs), []
    for i, c, q in zip(which, cut, p):
        if unsure and float(q.max()) >= 0.9:
            rivalled.append(i)
            crops[i], probs[i] = c, q
        elif not unsure and int(q.argmax()) != 1 and float(q.max()) >= 0.5:
            rivalled.append(i)
            if float(q.max()) >= 0.9:
                crops[i], probs[i] = c, q
    return crops, probs, rivalled


def dash_doubt(crops: list[DigitCrop], labels: list[int]) -> np.ndarray:
    """The most a digit's confidence can be when it may be the "/" of "/-" closing an amount
    (`1500/-`, as on cheques in South Asia): a 1 ending the number with a dash close after it.
    The slash reads as a sure 1, and a number's own last 1 may be followed by a dash too
    (`1431,-`): which it is, the shapes do not tell."""
    caps = np.ones(len(crops))
    if len(crops) > 1 and labels[-1] == 1 and crops[-1].before_dash:
        caps[-1] = DOUBT_SPLIT
    return caps


def line_doubt(crops: list[DigitCrop], labels: list[int]) -> np.ndarray:
    """The most a digit's confidence can be when a line that was taken out may have taken a
    stroke with it: a 7 standing on the line may be a 2 whose base ran along it, and a 1
    hanging from one may be a 7 whose bar did (a long bar across a tight crop is a line too)."""
    return np.array([DOUBT_SPLIT if (crop.on_line and label == 7) or (crop.under_line and label == 1) else 1.0
                     for crop, label in zip(crops, labels)])


def one_doubt(crops: list[DigitCrop], labels: list[int]) -> np.ndarray:
    """The most a 1's confidence can be, next to the row's other digits: a 1 much shorter than
    they are, or drawn with a much thinner pen, is as likely a tick, a form's divider or what
    line removal left of a ruled line."""
    caps = np.ones(len(crops))
    if len(crops) < 2 or 1 not in labels:
        return caps
    heights = np.array([c.box[3] for c in crops], float)
    pens = np.array([_pen_width(c) for c in crops])
    for i, label in enumerate(labels):
        short = heights[i] < SHORT_ONE * _median_of_others(heights, i)
        thin = pens[i] < THIN_ONE * _median_of_others(pens, i)
        if label == 1 and (short or thin):
            caps[i] = DOUBT_PAIR
    return caps


def _commas(crops: list[DigitCrop], labels: list[int], size: tuple[int, int]) -> set[int]:
    """Which crops are commas (a thousands separator, `5,572`): a 1 after a digit, under SHORT_ONE
    of its neighbours' height, hanging from below their middle to their baseline or lower. A
    written 1, however short, stands up from the baseline. Not one touching a line or an edge
    that was taken out, or the frame's border (`size`: its height and width): that may be a 1
    that lost a stroke to it."""
    out = set()
    for i, label in enumerate(labels):
        crop = crops[i]
        x, y, w, h = crop.box
        cut_off = x <= 0 or y <= 0 or x + w >= size[1] or y + h >= size[0]
        if i == 0 or label != 1 or crop.on_line or crop.under_line or crop.at_edge or cut_off:
            continue
        near = np.array([crops[k].box for k in (i - 1, i + 1) if k < len(crops)], float)
        tops, heights = near[:, 1], near[:, 3]
        height, middle, baseline = heights.mean(), (tops + heights / 2).mean(), (tops + heights).mean()
        if h < SHORT_ONE * height and middle < y < baseline and y + h > baseline - COMMA_LOW * height:
            out.add(i)
    return out


def crowd_doubt(crops: list[DigitCrop]) -> np.ndarray:
    """The most a digit's confidence can be when its rows are crowded. Nearly every row of one
    digit crosses one or two strokes (0.3% of MNIST's test digits, mostly 6s curled into their
    loop, cross three in over a third of their rows); two digits drawn over each other cross
    three or more along much of their height. The model reads such a pair as one digit, often
    surely, and a cut cannot always part them."""
    return np.where(crowded_rows(np.stack([c.image for c in crops])) > CROWDED, DOUBT_SPLIT, 1.0)


def crowded_rows(images: np.ndarray) -> np.ndarray:
    """The share of each 28×28 digit's inked rows that cross three strokes or more: (N,)."""
    ink = images > 100
    strokes = (ink[:, :, 1:] & ~ink[:, :, :-1]).sum(axis=2) + ink[:, :, 0]
    return (strokes >= 3).sum(axis=1) / np.maximum(ink.any(axis=2).sum(axis=1), 1)


def _box_sides(crops: list[DigitCrop], labels: list[int]) -> tuple[set[int], bool]:
    """Which crops are what is left of a box's sides once its top and bottom were taken out as
    lines, or the rim of a page edge that was left out: a 1 at either end of the row, touching a
    line or an edge that was taken out, drawn with under THIN_ONE of the other digits' pen, or
    with under SIDE_PEN of it touching nothing (a hairline box whose top and bottom broke apart).
    A written 1 there has the pen of its neighbours. Also says whether such a broken box's side
    was among them."""
    ends = {i for i in {0, len(crops) - 1} if labels[i] == 1}
    if len(crops) < 2 or not ends:
        return set(), False
    pens = np.array([_pen_width(c) for c in crops])
    # Both sides of a box round one digit: each is compared with the digits between them.
    inner = np.delete(pens, sorted(ends)) if len(crops) > len(ends) else None

    def pen_share(i: int) -> float:
        return pens[i] / max(1e-6, float(np.median(inner)) if inner is not None else _median_of_others(pens, i))

    lined = {i for i in ends if crops[i].on_line or crops[i].under_line or crops[i].at_edge}
    sides = {i for i in ends if pen_share(i) < (THIN_ONE if i in lined else SIDE_PEN)}
    return sides, bool(sides - lined)


def _median_of_others(values: np.ndarray, i: int) -> float:
    """The row's typical value, leaving crop i out (what a 1 is compared with)."""
    return float(np.median(np.delete(values, i)))


def _pen_width(crop: DigitCrop) -> float:
    """The crop's stroke width in frame pixels (0 when it has no ink image)."""
    if crop.ink is None or crop.ink.size == 0:
        return 0.0
    return stroke_width(crop.ink) * crop.box[3] / crop.ink.shape[0]


_BOLD = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.uint8)  # a 3×3 cross: one pixel bolder


def variants(images: np.ndarray) -> np.ndarray:
    """Each 28×28 input slightly rotated both ways and drawn with a bolder pen: (V, N, 28, 28)."""
    out = []
    for angle in (-VARIANT_ANGLE, VARIANT_ANGLE):
        m = cv2.getRotationMatrix2D((13.5, 13.5), angle, 1.0)
        out.append(np.stack([cv2.warpAffine(im, m, (28, 28), flags=cv2.INTER_LINEAR) for im in images]))
    out.append(np.stack([cv2.dilate(im, _BOLD) for im in images]))
    return np.stack(out)


def agreement(images: np.ndarray, labels: np.ndarray, probs: np.ndarray, classifier: Classifier) -> np.ndarray:
    """Confidence that survives small changes: the lowest probability of the label across the input
    and its variants. A digit the model truly knows keeps its label when tilted or inked more
    boldly; a confident guess on something unlike MNIST does not (calibration by agreement)."""
    views = variants(images)
    flat = classifier.probabilities(views.reshape(-1, 28, 28)).reshape(len(views), len(images), -1)
    rows = np.arange(len(images))
    return np.minimum(probs[rows, labels], flat[:, rows, labels].min(axis=0))


def _log_agreement(images: np.ndarray, probs: np.ndarray, classifier: Classifier) -> np.ndarray:
    """Log of each input's agreement confidence in its likeliest digit: how surely it is read."""
    return np.log(np.maximum(agreement(images, probs.argmax(1), probs, classifier), 1e-6))


def _certainty(probs: list[np.ndarray]) -> float:
    """Mean log of each piece's top probability: how sure the classifier is of a segmentation."""
    return float(np.mean([np.log(max(float(p.max()), 1e-6)) for p in probs]))


def load_image(path: str | os.PathLike) -> np.ndarray:
    """An image file as 8-bit BGR; BadInput for empty, unreadable, corrupt or tiny files.

    16-bit images are scaled to 8 bits and alpha is composited over white paper, so a
    transparent PNG of dark ink reads like ink on paper. A phone stores a photo taken upright
    sideways, with an EXIF tag saying how to turn it: it is turned, as every viewer does.
    """
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise BadInput(f"{path}: empty file")
    data = np.fromfile(path, dtype=np.uint8)
    # These flags keep 16 bits and apply the EXIF orientation; only IMREAD_UNCHANGED keeps an
    # alpha channel (and it ignores the orientation). A JPEG has no alpha: decode it once.
    image = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if image is not None and data[:2].tobytes() != b"\xff\xd8":
        full = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        if full is not None and full.ndim == 3 and full.shape[2] == 4:
            image = full
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
