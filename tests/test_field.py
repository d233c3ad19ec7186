"""Real-world failure classes: the field generator, and what the edge pipeline makes of each class."""

from __future__ import annotations

import itertools
import json

import cv2
import numpy as np
import pytest

from edge_digits.edge.preprocess import (
    DigitCrop,
    _cut_path,
    _outline_valleys,
    find_digits,
    locate_digits,
    normalise_digit,
    split_digit,
    stroke_width,
)
from edge_digits.edge.reader import (
    CROWDED,
    DOUBT_SPLIT,
    DOUBT_UNREAD,
    NO_DIGIT,
    _dollar,
    _drop_not_digits,
    crowded_rows,
    load_image,
    one_doubt,
    read_digits,
    segmentation_doubt,
)
from edge_digits.edge.runtime import Classifier
from edge_digits.field_photos import (
    NOT_A_DIGIT,
    SCENES,
    _with_tail,
    curled_nines,
    field_photo,
    flagged_ones,
    glued_pairs,
    labelled_crops,
    make_field_photos,
    open_fours,
    style_varied,
)
from edge_digits.paths import default_model
from edge_digits.photos import iter_photos, make_photos, render_photo
from edge_digits.presentations import KINDS, make_presentations, rows, small_in_big, square_frame, turned


@pytest.fixture(scope="module")
def classifier():
    return Classifier(default_model())


@pytest.mark.parametrize("kind", KINDS)
def test_presentations_are_deterministic_and_hold_their_text(mnist_test, kind):
    a = list(make_presentations(mnist_test.images, mnist_test.labels, kind, 3, seed=8))
    b = list(make_presentations(mnist_test.images, mnist_test.labels, kind, 3, seed=8))
    assert len(a) == 3 and all(np.array_equal(x.image, y.image) and x.text == y.text for x, y in zip(a, b))
    assert all(p.text.isdigit() and p.image.dtype == np.uint8 for p in a)


def test_dim_photos_are_the_field_photos_in_dim_light(mnist_test):
    from edge_digits.presentations import dimmed

    for lit, dim in dimmed(mnist_test.images, mnist_test.labels, 4, seed=8):
        assert dim.text == lit.text and dim.image.shape == lit.image.shape
        assert 0.1 * lit.image.mean() < dim.image.mean() < 0.45 * lit.image.mean()


def test_black_and_white_photos_are_the_field_photos_thresholded(mnist_test):
    from edge_digits.presentations import black_and_white

    for grey, bw in black_and_white(mnist_test.images, mnist_test.labels, 4, seed=8):
        assert bw.text == grey.text and bw.image.shape == grey.image.shape[:2]
        assert set(np.unique(bw.image)) <= {0, 255} and (bw.image == 0).any()


def test_a_number_in_a_ring_or_a_wide_box_is_read(mnist_test, classifier):
    """The `enclosed` kind (development seed 785): 19 of these 40 read before rings and wide boxes
    were taken out, 25 once they were, 34 since a ring that a digit touches from inside loses its
    outline (it swallowed the digit before). A ring too thin to stay closed at half resolution
    still swallows them."""
    photos = list(make_presentations(mnist_test.images, mnist_test.labels, "enclosed", 40, seed=785))
    assert sum(read_digits(p.image, classifier).text == p.text for p in photos) >= 31


def test_generator_is_deterministic_and_streams(mnist_test):
    a = list(make_field_photos(mnist_test.images, mnist_test.labels, 6, seed=3))
    b = list(make_field_photos(mnist_test.images, mnist_test.labels, 6, seed=3))
    assert [p.text for p in a] == [p.text for p in b]
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b))
    c = next(make_field_photos(mnist_test.images, mnist_test.labels, 6, seed=4))
    assert not np.array_equal(a[0].image, c.image)


@pytest.mark.parametrize("scene", SCENES)
def test_every_scene_can_be_forced_and_is_recorded(mnist_test, scene):
    rng = np.random.default_rng(1)
    n = 1 if scene == "thin-large" else 3
    labels = [1, 7, 4][:n] if scene == "styles" else [3, 6, 0][:n]
    images = [mnist_test.images[np.nonzero(mnist_test.labels == lab)[0][0]] for lab in labels]
    photo = field_photo(images, labels, rng, scene=scene)
    assert scene in photo.scenes
    assert photo.text == "".join(map(str, labels))
    h, w = photo.image.shape[:2]
    assert photo.image.dtype == np.uint8 and photo.image.ndim == 3
    for x, y, bw, bh in photo.boxes:
        assert 0 <= x < w and 0 <= y < h and bw > 0 and bh > 0


def test_unknown_scene_is_refused(mnist_test):
    with pytest.raises(ValueError, match="scene must be one of"):
        field_photo([mnist_test.images[0]], [7], np.random.default_rng(0), scene="fog")


# --------------------------------------------------------------------------- each failure class, read end to end

# Floors per class on a fresh seed, with the shipped model: each class was at or near 0-60% before
# the field work (see benchmarks/README.md); the floors sit below what is measured now so they
# catch regressions, not noise.
FLOORS = {
    "thin-large": 0.75, "ruled": 0.6, "squared": 0.5, "underline": 0.6, "boxed": 0.6, "comb": 0.6,
    "touching": 0.3, "tight": 0.6, "pattern": 0.55, "show-through": 0.55, "colour-ink": 0.65, "pencil": 0.45,
    "punctuation": 0.45, "margin": 0.5, "low-res": 0.6, "styles": 0.45, "cell": 0.7,
}


@pytest.mark.parametrize("scene", SCENES)
def test_each_failure_class_reads(mnist_test, classifier, scene):
    photos = list(make_field_photos(mnist_test.images, mnist_test.labels, 24, seed=9000, scene=scene,
                                    digits_per_photo=(1, 4)))
    exact = np.mean([read_digits(p.image, classifier).text == p.text for p in photos])
    assert exact >= FLOORS[scene], f"{scene}: {exact:.2f}"


# --------------------------------------------------------------------------- the steps behind them


def test_a_digit_mostly_outside_the_picture_is_not_in_its_text(mnist_test):
    """A row with marks beside it can run wider than the frame: the truth is what the picture shows."""
    photos = list(make_field_photos(mnist_test.images, mnist_test.labels, 150, seed=562))
    for photo in photos:
        height, width = photo.image.shape[:2]
        assert len(photo.boxes) == len(photo.text)
        for x, y, w, h in photo.boxes:
            inside = max(0, min(width, x + w) - max(0, x)) * max(0, min(height, y + h) - max(0, y))
            assert inside >= 0.5 * w * h, (photo.text, photo.boxes, photo.image.shape)
    assert photos[146].text == "664"  # its 5 was drawn past the frame's right side


def _page(width=640, height=480) -> np.ndarray:
    return np.full((height, width, 3), 235, np.uint8)


def _draw_digit(page: np.ndarray, digit: np.ndarray, x: int, y: int, height: int) -> None:
    big = cv2.resize(digit, (height, height), interpolation=cv2.INTER_CUBIC)
    region = page[y: y + height, x: x + height]
    region[:] = np.minimum(region, (255 - big)[..., None])


def _draw_ink(page: np.ndarray, digit: np.ndarray, x: int, y: int, height: int, squeeze: float = 1.0) -> int:
    """Draw the digit's ink box `height` px tall (its width × `squeeze`) as dark ink on a grey
    page, in place; returns the width drawn."""
    ys, xs = np.nonzero(digit > 30)
    digit = digit[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    width = max(1, round(digit.shape[1] * height * squeeze / digit.shape[0]))
    big = cv2.resize(digit, (width, height), interpolation=cv2.INTER_CUBIC)
    region = page[y: y + height, x: x + width]
    region[:] = np.minimum(region, 255 - big)
    return width


def test_ruled_lines_and_an_underline_are_removed(mnist_test):
    page = _page()
    for y in range(40, 480, 70):
        cv2.line(page, (0, y), (639, y), (180, 150, 120), 2)
    for i, index in enumerate((0, 1, 2)):
        _draw_digit(page, mnist_test.images[index], 100 + 110 * i, 120, 100)
    cv2.line(page, (90, 212), (440, 212), (20, 20, 20), 4)  # an underline touching the digits
    crops = find_digits(page)
    assert len(crops) == 3
    assert all(55 <= c.box[3] <= 80 for c in crops), [c.box for c in crops]  # digits only, no line


def test_an_underline_bending_at_its_end_is_taken_out_to_its_end(mnist_test, classifier):
    """A hand-drawn underline is straight for most of its length and bends at its left end, under
    the 1 and the 2: the straight part was taken out as a line and the bend stayed, gluing them
    (this photo read 6578). Level runs that carry a line on past its end go with it."""
    photos = make_field_photos(mnist_test.images, mnist_test.labels, 4, seed=101, scene="underline")
    photo = next(itertools.islice(photos, 3, None))
    assert photo.text == "12578"
    assert read_digits(photo.image, classifier).text == "12578"


def test_a_box_around_the_number_is_not_read_as_ones(mnist_test):
    page = _page()
    for i, index in enumerate((3, 4)):
        _draw_digit(page, mnist_test.images[index], 200 + 110 * i, 180, 100)
    cv2.rectangle(page, (190, 185), (430, 275), (30, 30, 30), 3)
    assert len(find_digits(page)) == 2


@pytest.mark.parametrize("index, margin", [(0, 20), (2, 12), (3, 4)])
def test_a_box_drawn_close_around_one_digit_is_no_digit(mnist_test, classifier, index, margin):
    """A form's field holding one digit: its sides are too short to be lines, and the digit may touch them."""
    page = _page()
    _draw_digit(page, mnist_test.images[index], 280, 180, 100)
    ys, xs = np.nonzero(mnist_test.images[index] > 60)
    x0, x1 = 280 + xs.min() * 100 // 28, 280 + (xs.max() + 1) * 100 // 28
    y0, y1 = 180 + ys.min() * 100 // 28, 180 + (ys.max() + 1) * 100 // 28
    cv2.rectangle(page, (x0 - margin, y0 - margin), (x1 + margin, y1 + margin), (30, 30, 30), 3)
    reading = read_digits(cv2.GaussianBlur(page, (0, 0), 0.8), classifier)
    assert reading.text == str(mnist_test.labels[index]), reading.line()
    (digit,) = reading.digits
    assert digit.box[2] < x1 - x0 + margin, "the crop is the digit, not the box"


def test_a_wide_box_round_one_small_digit_is_taken_out(mnist_test, classifier):
    """A form's field drawn much wider than the digit in it: a thin 1 or 7 inks under 2% of what
    the box encloses, so the box was taken for a square 0 and read with the digit as one 0 (6 of
    these 10). Whatever the pen of its sides, it is a box."""
    for thickness in (2, 6):
        texts = []
        for index in range(10):
            page = _page()
            _draw_digit(page, mnist_test.images[index], 230, 150, 180)
            cv2.rectangle(page, (60, 40), (580, 440), (40, 40, 40), thickness)
            texts.append(read_digits(cv2.GaussianBlur(page, (0, 0), 0.8), classifier).text)
        assert texts == [str(v) for v in mnist_test.labels[:10]], thickness


def test_a_ring_drawn_round_a_digit_is_taken_out(mnist_test, classifier):
    """A circled answer: the ring and the digit overlap in x, so they were grouped as one piece
    and read as a 0 (17 of these 20). A thin closed ring holding another piece is taken out like a
    box; a box that a digit touches from inside is left to the box rules (the digit would go with
    it), and of such a ring only the outline is taken out."""
    texts = []
    for index in range(20):
        page = _page()
        _draw_digit(page, mnist_test.images[index], 250, 150, 140)
        cv2.circle(page, (320, 222), 110, (40, 40, 40), 3)
        texts.append(read_digits(cv2.GaussianBlur(page, (0, 0), 0.8), classifier).text)
    assert texts == [str(v) for v in mnist_test.labels[:20]]
    # Boxes that digits touch from inside, other digits clear of them: taken out whole, they took
    # the touching digits with them (1272 read as 17).
    wanted = {66: "1272", 74: "93149", 163: "73650", 218: "88613"}
    photos = list(make_field_photos(mnist_test.images, mnist_test.labels, max(wanted) + 1, seed=905, scene="boxed"))
    assert {i: read_digits(photos[i].image, classifier).text for i in wanted} == wanted


def test_lines_of_print_above_and_below_a_number_are_no_digits(mnist_test, classifier):
    """A form: a line of print above the handwritten number and one below, letters a quarter of
    the digits' height. Their many small pieces made the digits look like descenders, so the
    letters were kept as digits too (0 of these 10 read). A band of six pieces or more, under
    half as tall as a band of two or more, is print."""
    texts, wanted = [], []
    for k in range(10):
        page = _page()
        cv2.putText(page, "Name of the patient and date", (40, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (40, 40, 40), 2)
        cv2.putText(page, "Total amount received", (40, 420), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (40, 40, 40), 2)
        for j, index in enumerate((2 * k, 2 * k + 1)):
            _draw_digit(page, mnist_test.images[index], 220 + 120 * j, 160, 120)
        texts.append(read_digits(cv2.GaussianBlur(page, (0, 0), 0.8), classifier).text)
        wanted.append(f"{mnist_test.labels[2 * k]}{mnist_test.labels[2 * k + 1]}")
    assert texts == wanted


def test_a_few_printed_words_do_not_set_the_height_of_the_digits(mnist_test, classifier):
    """A short label above a number and another below it: too few letters in a line to be taken
    as print, but together more pieces than the number has digits. The row's height was 1.5 × the
    median piece's, a letter's, so every letter was read as a digit (2 of these 10 read). The
    median is now taken over the pieces at least 0.3 as tall as the tallest, when two or more are."""
    words = ("Date", "Ref", "No.", "Room", "Total", "Paid", "Sum", "Age", "Kg", "Qty")
    texts, wanted = [], []
    for k in range(10):
        page = _page()
        cv2.putText(page, words[k], (60, 100), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (40, 40, 40), 2)
        cv2.putText(page, words[-1 - k], (330, 370), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (40, 40, 40), 2)
        for j, index in enumerate((2 * k, 2 * k + 1)):
            _draw_digit(page, mnist_test.images[index], 190 + 140 * j, 150, 150)
        texts.append(read_digits(cv2.GaussianBlur(page, (0, 0), 0.8), classifier).text)
        wanted.append(f"{mnist_test.labels[2 * k]}{mnist_test.labels[2 * k + 1]}")
    assert sum(t == w for t, w in zip(texts, wanted)) >= 9, texts  # 10


def test_a_line_of_print_closer_than_a_quarter_digit_is_not_grouped_with_the_digits(mnist_test, classifier):
    """A form's labels printed 0.15 of a digit's height above and below a number: their letters
    were grouped with the digits as fragments (1 of these 12 read). Small pieces side by side in
    a line (three or more) are print, and are not grouped with a digit they are clear of."""
    texts, wanted = [], []
    for k in range(12):
        page = _page()
        first, second = 2 * k + 100, 2 * k + 101
        top, bottom = page.shape[0], 0
        for j, index in enumerate((first, second)):
            _draw_digit(page, mnist_test.images[index], 200 + 110 * j, 150, 110)
            rows = np.nonzero(mnist_test.images[index].max(axis=1) > 60)[0]
            top, bottom = min(top, 150 + rows.min() * 110 // 28), max(bottom, 150 + (rows.max() + 1) * 110 // 28)
        gap = int(0.15 * (bottom - top))
        cv2.putText(page, "Received with thanks", (150, top - gap), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (40, 40, 40), 2)
        cv2.putText(page, "Signature of patient", (150, bottom + gap + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.7,
                    (40, 40, 40), 2)
        texts.append(read_digits(cv2.GaussianBlur(page, (0, 0), 0.8), classifier).text)
        wanted.append(f"{mnist_test.labels[first]}{mnist_test.labels[second]}")
    assert sum(t == w for t, w in zip(texts, wanted)) >= 11, texts  # 12


def test_a_line_of_print_whose_letters_ran_together_is_print(mnist_test, classifier):
    """A bold label under a number, blurred: its words are single pieces too wide for a digit,
    and were not counted among the line's pieces, so the line was too short to be print and its
    tallest letters read as digits (none of these 12 read). A word counts as its letters."""
    texts, wanted = [], []
    for k in range(12):
        page = _page()
        first, second = 2 * k + 200, 2 * k + 201
        for j, index in enumerate((first, second)):
            _draw_digit(page, mnist_test.images[index], 220 + 100 * j, 150, 100)
        cv2.putText(page, "Signature by the paying party", (60, 330), cv2.FONT_HERSHEY_DUPLEX, 1.1, (40, 40, 40), 3)
        texts.append(read_digits(cv2.GaussianBlur(page, (0, 0), 2.0), classifier).text)
        wanted.append(f"{mnist_test.labels[first]}{mnist_test.labels[second]}")
    assert sum(t == w for t, w in zip(texts, wanted)) >= 11, texts  # 12


def test_print_close_above_and_below_a_number_is_not_grouped_with_its_digits(mnist_test, classifier):
    """The `printed` kind (development seed 786): letters of print a digit's height or less above
    or below it overlapped it in x and were grouped with it as fragments (10 of these 40 read).
    A piece under 0.3 of a digit's height, a quarter of that height or more away, is not."""
    photos = list(make_presentations(mnist_test.images, mnist_test.labels, "printed", 40, seed=786))
    assert sum(read_digits(p.image, classifier).text == p.text for p in photos) >= 30  # 35 (21 before 2026-11-27)


def test_a_short_underline_under_one_digit_is_not_its_base(mnist_test, classifier):
    """A line under one digit is too short to be a line by its length, and a 0, 7 or 9 on it reads
    as a 2; a 2 without its base reads as a 7. The reader keeps what it reads more surely."""
    right, confidently_wrong = 0, []
    for label in (0, 2, 3, 7, 9):
        for k in range(3):
            index = int(np.nonzero(mnist_test.labels == label)[0][k])
            page = _page()
            _draw_digit(page, mnist_test.images[index], 280, 180, 100)
            ys, xs = np.nonzero(mnist_test.images[index] > 60)
            x0, x1, y1 = 280 + xs.min() * 100 // 28, 280 + (xs.max() + 1) * 100 // 28, 180 + (ys.max() + 1) * 100 // 28
            cv2.line(page, (x0 - 25, y1 + 1), (x1 + 25, y1 + 1), (30, 30, 30), 4)
            reading = read_digits(cv2.GaussianBlur(page, (0, 0), 0.8), classifier)
            right += reading.text == str(label)
            if reading.text != str(label) and all(d.confidence >= 0.9 for d in reading.digits):
                confidently_wrong.append(reading.line())
    assert right >= 13, right  # 6 of 15 before, 14 now
    assert not confidently_wrong


def test_a_line_drawn_clear_below_a_digit_is_not_its_base(mnist_test, classifier):
    """A short line under a digit with a gap between them (a label's edge, a ruled stroke) was
    grouped with the digit as one of its fragments: the crop held both, and 6 of these 30 crops
    reached down to the line. A flat stroke clear below a digit is no part of it."""
    too_tall, right = [], 0
    for label in range(10):
        for k in range(3):
            index = int(np.nonzero(mnist_test.labels == label)[0][k])
            page = _page()
            _draw_digit(page, mnist_test.images[index], 280, 180, 100)
            ys, xs = np.nonzero(mnist_test.images[index] > 60)
            x0, x1 = 280 + xs.min() * 100 // 28, 280 + (xs.max() + 1) * 100 // 28
            y0, y1 = 180 + ys.min() * 100 // 28, 180 + (ys.max() + 1) * 100 // 28
            gap = int(0.3 * (y1 - y0))
            cv2.line(page, (x0 - 10, y1 + gap), (x1 + 10, y1 + gap), (30, 30, 30), 4)
            reading = read_digits(cv2.GaussianBlur(page, (0, 0), 0.8), classifier)
            right += reading.text == str(label)
            too_tall += [reading.line() for d in reading.digits if d.box[3] > y1 - y0 + gap // 2]
    assert not too_tall
    assert right >= 28, right  # 30


def test_a_real_label_thresholded_to_black_and_white_reads_as_in_grey(classifier):
    """A scanner's or fax's black-and-white copy of the real development set's label (tune half):
    the label's lower edge, a flat line under the 2 with paper between them, was grouped with it,
    and 23518 read surely as 33518."""
    from edge_digits.benchmarks.reading_accuracy import REAL_SET

    grey = cv2.imread(str(REAL_SET / "smkerr_01.png"), cv2.IMREAD_GRAYSCALE)
    _, bilevel = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    assert read_digits(grey, classifier).text == "23518"
    assert read_digits(bilevel, classifier).text == "23518"


def test_glued_digits_are_cut_where_the_pieces_read_more_steadily_than_the_whole(mnist_test, classifier):
    """The model reads "99" or "02" glued together as one digit nearly as surely as the pieces of a
    cut; only the one digit wobbles when tilted or inked more boldly. None of these six read
    exactly before the cut was judged by agreement too."""
    wanted = {7: "894", 17: "284", 55: "9916", 115: "99", 141: "02", 143: "0786"}
    photos = list(make_field_photos(mnist_test.images, mnist_test.labels, max(wanted) + 1, seed=701, scene="touching",
                                    digits_per_photo=(1, 4)))
    texts = {i: read_digits(photos[i].image, classifier).text for i in wanted}
    assert {i: photos[i].text for i in wanted} == wanted
    assert sum(texts[i] == wanted[i] for i in wanted) >= 5, texts


def _overlapping_pairs(mnist_test, classifier, shift: int) -> tuple[int, list[str]]:
    """Every pair of digits drawn 120 px tall, the second `shift` px right of the first: how many
    read exactly, and the lines of those read surely (every digit ≥ 0.9) but wrong."""
    right, confidently_wrong = 0, []
    for left, second in itertools.product(range(10), repeat=2):
        a, b = int(np.nonzero(mnist_test.labels == left)[0][3]), int(np.nonzero(mnist_test.labels == second)[0][4])
        page = _page()
        _draw_digit(page, mnist_test.images[a], 200, 150, 120)
        _draw_digit(page, mnist_test.images[b], 200 + shift, 150, 120)
        reading = read_digits(page, classifier)
        right += reading.text == f"{left}{second}"
        if reading.text != f"{left}{second}" and all(d.confidence >= 0.9 for d in reading.digits):
            confidently_wrong.append(reading.line())
    return right, confidently_wrong


def test_overlapping_pairs_are_cut_when_the_pieces_read_as_surely_and_more_steadily(mnist_test, classifier):
    """The second digit drawn over the first's right third: the model reads most such pairs as
    one digit as surely as it reads the pieces of a cut (int8 scores saturate), but the pieces
    keep their readings under the variants better. 56 of the 100 read exactly when the pieces
    had to be steadier by a margin of 0.5 (in log agreement)."""
    right, confidently_wrong = _overlapping_pairs(mnist_test, classifier, 50)
    assert right >= 64, right  # 71 now
    assert len(confidently_wrong) <= 2, confidently_wrong


def test_digits_drawn_over_each_other_are_not_read_surely_as_one(mnist_test, classifier):
    """The second digit drawn over the first's right half: the model reads most pairs as one
    digit, a quarter of them surely, and the crop is hardly wider than one digit. Their rows
    cross three strokes, which hardly any single digit's do: such a crop is doubted, and tried
    as two digits though it is narrower than two usually are."""
    right, confidently_wrong = _overlapping_pairs(mnist_test, classifier, 40)
    assert right >= 23, right  # 19 when only crops 1.2 heights wide were cut, 26 now
    assert len(confidently_wrong) <= 12, confidently_wrong  # 24 before, 9 now
    assert np.mean(crowded_rows(mnist_test.images[:2000]) > CROWDED) < 0.005


def test_a_digit_as_wide_as_one_is_cut_only_when_the_pieces_read_as_steadily(mnist_test, classifier):
    """A wide 0 read as "57" and a wide 3 as "33": each half read more surely than the whole, but
    a crop no wider than one digit may be must also keep its pieces' readings under the variants
    (seen in a touching-digits field photo and a frame of the benchmark's capture video)."""
    touching = list(make_field_photos(mnist_test.images, mnist_test.labels, 120, seed=701, scene="touching",
                                      digits_per_photo=(1, 4)))[119]
    frame = make_photos(mnist_test.images[:500], mnist_test.labels[:500], 254, seed=7, digits_per_photo=(1, 4))[253]
    assert (touching.text, frame.text) == ("0", "9630")
    assert read_digits(touching.image, classifier).text == "0"
    assert read_digits(frame.image, classifier).text == "9630"


def test_what_is_left_of_a_boxs_sides_is_no_digit(mnist_test, classifier):
    """A box's top and bottom are taken out as lines; its sides stay, thin beside the digits, and
    read as 1s at the ends of the number (`31` read as `1311`). A 1 written at the end of a
    number on a line keeps the pen of its neighbours, and its place."""
    wanted = {61: "3578", 100: "31", 113: "721"}
    photos = list(make_field_photos(mnist_test.images, mnist_test.labels, max(wanted) + 1, seed=557, scene="boxed",
                                    digits_per_photo=(1, 4)))
    assert {i: photos[i].text for i in wanted} == wanted
    assert {i: read_digits(photos[i].image, classifier).text for i in wanted} == wanted
    seven, one = (int(np.nonzero(mnist_test.labels == d)[0][0]) for d in (7, 1))
    page = _page()
    _draw_digit(page, mnist_test.images[one], 200, 150, 120)
    _draw_digit(page, mnist_test.images[seven], 290, 150, 120)
    _draw_digit(page, mnist_test.images[one], 380, 150, 120)
    ys = np.nonzero(mnist_test.images[one].max(axis=1) > 60)[0]
    bottom = 150 + (ys.max() + 1) * 120 // 28
    cv2.line(page, (100, bottom), (560, bottom), (30, 30, 30), 3)
    assert read_digits(cv2.GaussianBlur(page, (0, 0), 0.8), classifier).text == "171"


def test_both_sides_of_a_field_round_one_digit_are_no_digits(mnist_test, classifier):
    """A field open at the top round one large digit: its base is taken out as a line and both
    sides stand on it. Each side was compared with the median of the other crops, the other side
    among them, and 4 of these 10 read as 1x1. Each is now compared with the digit between them."""
    texts = []
    for index in range(10):
        page = _page()
        _draw_digit(page, mnist_test.images[index], 210, 120, 220)
        for x0, y0, x1, y1 in ((60, 360, 580, 360), (60, 60, 60, 360), (580, 60, 580, 360)):
            cv2.line(page, (x0, y0), (x1, y1), (20, 20, 20), 4)
        texts.append(read_digits(cv2.GaussianBlur(page, (0, 0), 0.8), classifier).text)
    assert texts == [str(v) for v in mnist_test.labels[:10]]


def test_the_sides_of_a_hairline_box_that_broke_apart_are_no_digits(mnist_test, classifier):
    """A box drawn with a hairline round the number breaks apart at half resolution: its top and
    bottom are not taken out as lines, and its sides, under a third of the digits' pen, read as
    1s at the ends (588 read as 15881). Left out, they leave the reading doubted: what else is
    left of the box may read as a digit (the corner of 64938's box reads as a 7)."""
    wanted = {10: "588", 87: "04804", 91: "68422", 92: "443"}
    photos = list(make_field_photos(mnist_test.images, mnist_test.labels, 141, seed=905, scene="boxed"))
    readings = {i: read_digits(photos[i].image, classifier) for i in [*wanted, 140]}
    assert {i: readings[i].text for i in wanted} == wanted
    assert all(d.confidence <= 0.85 for i in wanted for d in readings[i].digits)
    assert readings[140].text != photos[140].text and min(d.confidence for d in readings[140].digits) < 0.9


@pytest.mark.parametrize("seed, index, text", [(615, 2, "97"), (629, 8, "4573"), (634, 10, "8")])
def test_a_cells_side_down_its_crop_is_no_digit(mnist_test, classifier, seed, index, text):
    """A table's cell cropped with its borders: the side runs down nearly all of the crop near
    its left or right edge, too short for a line beside digits that fill the cell, and did not
    meet the lines taken out at both ends. It read as a 1 (`97` as `9`, `4573` as `14573`, `8`
    as `61`). In a frame with lines in it, such a run is a cell's side. Development cell photos,
    seeds 600-639 (1,200): 7 read better, none worse."""
    photo = list(make_field_photos(mnist_test.images, mnist_test.labels, index + 1, seed=seed, scene="cell",
                                   digits_per_photo=(1, 4)))[index]
    assert photo.text == text
    assert read_digits(photo.image, classifier).text == text


def test_a_seven_standing_on_a_line_taken_out_is_doubted(classifier):
    """A 2 whose base runs along a long underline loses its base with the line and reads as a
    sure 7; a 7 standing on the line looks the same, so either reading is a guess."""
    page = _page()
    cv2.line(page, (60, 300), (580, 300), (30, 30, 30), 5)
    for x0 in (150, 350):  # two 2s, their bases on the line
        cv2.polylines(page, [np.array([(x0, 200), (x0 + 30, 180), (x0 + 60, 195), (x0 + 60, 225), (x0 + 5, 298),
                                       (x0 + 75, 298)])], False, (30, 30, 30), 5)
    cv2.polylines(page, [np.array([(470, 150), (530, 150), (495, 240)])], False, (30, 30, 30), 5)  # a 7 above it
    page = cv2.GaussianBlur(page, (0, 0), 0.8)
    assert [c.on_line for c in locate_digits(page).crops] == [True, True, False]
    reading = read_digits(page, classifier)
    assert all(d.label == 2 or d.confidence < 0.9 for d in reading.digits[:2]), reading.line()


def test_a_one_hanging_from_a_line_taken_out_is_doubted(classifier):
    """A 7 whose bar runs along a ruled line (or whose long bar spans a tight crop) loses its bar
    with the line and reads as a sure 1; a 1 touching the line looks the same. Field photos had
    two such 7s read as 1 at 1.00."""
    page = _page()
    cv2.line(page, (60, 150), (580, 150), (30, 30, 30), 5)
    for x0 in (200, 400):  # two 7s, their bars on the line
        cv2.polylines(page, [np.array([(x0, 150), (x0 + 70, 150), (x0 + 35, 260)])], False, (30, 30, 30), 5)
    cv2.line(page, (300, 200), (300, 300), (30, 30, 30), 5)  # a 1 below it, clear of the line
    page = cv2.GaussianBlur(page, (0, 0), 0.8)
    assert [c.under_line for c in locate_digits(page).crops] == [True, False, True]
    reading = read_digits(page, classifier)
    assert len(reading.digits) == 3, reading.line()
    assert all(d.label == 7 or d.confidence < 0.9 for d in reading.digits[::2]), reading.line()
    assert reading.digits[1].label == 1 and reading.digits[1].confidence >= 0.9, reading.line()


@pytest.mark.parametrize("gap", [8, 12])
@pytest.mark.parametrize("slant", [0, 10])
def test_an_open_four_drawn_in_two_strokes_is_one_digit(classifier, gap, slant):
    """An open 4 is often drawn as a corner and a separate bar. The two pieces read as a sure
    1 and a guess ("1111", "2121": all 4 pages before); together, as a sure 4."""
    page = _page()
    for x in (150, 330):
        cv2.polylines(page, [np.array([(x + slant, 180), (x, 255), (x + 52 - gap, 255)])], False, (40, 40, 40), 7,
                      cv2.LINE_AA)
        cv2.line(page, (x + 58 + slant, 175), (x + 58, 300), (40, 40, 40), 7, cv2.LINE_AA)
    page = cv2.GaussianBlur(page, (0, 0), 1.0)
    reading = read_digits(page, classifier)
    assert reading.text == "44"
    assert all(d.confidence <= 0.85 for d in reading.digits), "a guessed join is never fully trusted"


def test_a_digit_cut_by_a_tight_crops_side_is_not_a_page_edge(mnist_test, classifier):
    """In a tight crop the last digit runs down the frame's side; a page edge or a margin runs the
    side's whole height. Before, the digit was taken for one and the rest read surely: "356"."""
    photos = list(make_field_photos(mnist_test.images, mnist_test.labels, 90, seed=701, scene="tight",
                                    digits_per_photo=(1, 4)))
    for i, text in ((37, "3562"), (89, "5036")):
        assert photos[i].text == text
        assert read_digits(photos[i].image, classifier).text == text


def test_digits_are_read_in_the_order_of_their_centres():
    """A 7 whose long bar reaches back over a small 5 written before it; ordered by the left
    edges of their boxes, "57" read as "75", both surely (seen in field photos). Rows go top to
    bottom; a slanted row, its neighbours overlapping in height, stays one row."""
    from edge_digits.edge.preprocess import _Piece, _reading_order

    def piece(x, y, w, h):
        return _Piece((x, y, w, h), np.ones((h, w), np.uint8))

    seven, five = piece(170, 150, 220, 140), piece(200, 200, 90, 90)
    assert _reading_order([seven, five]) == [five, seven]
    slanted = [piece(100 + 60 * i, 100 + 12 * i, 50, 80) for i in range(6)]  # 55 px lower at the end
    below = [piece(100 + 60 * i, 260, 50, 80) for i in range(3)]
    assert _reading_order(below[::-1] + slanted[::-1]) == slanted + below


def test_rows_are_read_top_to_bottom_each_left_to_right(mnist_test, classifier):
    """A page with a number on each of several lines, the lines slanted a little. Ordered by x
    alone, the rows' digits were interleaved: 1 of 20 pages read in order."""
    rng = np.random.default_rng(5)
    pages = [rows(mnist_test.images, mnist_test.labels, rng) for _ in range(20)]
    in_order = sum(read_digits(page.image, classifier).text == page.text for page in pages)
    assert in_order >= 16, in_order


def test_small_digits_in_a_big_photo_are_read(mnist_test, classifier):
    """A number on a photographed page: digits 2% of a 4000×3000 photo's short side (60 px) are
    plainly legible, but were dropped as smaller than 2.5% of it: 0 of 10 read, 10 now."""
    rng = np.random.default_rng(9)
    photos = [small_in_big(mnist_test.images, mnist_test.labels, rng) for _ in range(10)]
    read = sum(read_digits(photo.image, classifier).text == photo.text for photo in photos)
    assert read >= 8, read


def test_small_digits_in_a_big_photo_are_looked_at_again_closer(mnist_test, classifier):
    """The `small-in-big` kind (development seed 886): found at a quarter of the photo's
    resolution, a thin-pen digit thins out below a pixel and is lost, and the number reads
    surely without it (9239 as 239). Found again in their own region at full resolution, 30 of
    these 30 read (26 at a quarter), and none surely wrong."""
    photos = list(make_presentations(mnist_test.images, mnist_test.labels, "small-in-big", 30, seed=886))
    readings = [read_digits(p.image, classifier) for p in photos]
    assert sum(r.text == p.text for r, p in zip(readings, photos)) >= 29
    assert not [r.text for r, p in zip(readings, photos)
                if r.text != p.text and r.digits and min(d.confidence for d in r.digits) >= 0.9]


def test_a_closer_look_keeps_the_roi_and_maps_boxes_back(mnist_test, classifier):
    """The region looked at again lies inside the roi asked for, and the boxes it finds are in
    the photo's own pixels: the same digits as the first look, only more of them."""
    from edge_digits.edge.preprocess import _closer_regions, _located

    photo = next(iter(make_presentations(mnist_test.images, mnist_test.labels, "small-in-big", 1, seed=886)))
    h, w = photo.image.shape[:2]
    first = _located(photo.image, None)
    [(region, members)], up = _closer_regions((h, w), None, [c.box for c in first.crops])
    assert up == 1  # a downscaled photo is looked at again at full resolution
    assert region is not None and len(members) == len(first.crops)
    x, y, rw, rh = region
    assert 2 * max(rw, rh) <= max(h, w)
    boxes = [c.box for c in locate_digits(photo.image).crops]
    assert all(x <= bx and y <= by and bx + bw <= x + rw and by + bh <= y + rh for bx, by, bw, bh in boxes)
    assert all(any(abs(a[0] - b[0]) < b[3] and abs(a[1] - b[1]) < b[3] for a in boxes) for b in
               [c.box for c in first.crops])
    # Asked for a roi, the closer look stays inside it.
    roi = (0, y + rh // 4, w, rh // 2)  # a band across the photo, narrower than the region
    [(inside, _)], _ = _closer_regions((h, w), roi, [c.box for c in _located(photo.image, roi).crops])
    assert inside is not None
    assert roi[0] <= inside[0] and roi[1] <= inside[1]
    assert inside[0] + inside[2] <= roi[0] + roi[2] and inside[1] + inside[3] <= roi[1] + roi[3]


def _read_right_and_surely_wrong(image: np.ndarray, text: str, classifier) -> tuple[bool, bool]:
    """Whether the image reads as `text`, and whether it reads as something else with every digit
    at 0.9 or more."""
    reading = read_digits(image, classifier)
    sure = bool(reading.digits) and min(d.confidence for d in reading.digits) >= 0.9
    return reading.text == text, reading.text != text and sure


def _small_number(mnist_test, rng: np.random.Generator, tall: int, paper: float, x: int, y: int,
                  count: int) -> tuple[np.ndarray, str]:
    """A 640×480 photo of `count` MNIST digits `tall` px tall from (x, y), and their text."""
    from edge_digits.presentations import _ink_on

    page, text, side = np.full((480, 640), paper, np.float32), "", int(tall * 28 / 20)
    for _digit in range(count):
        i = int(rng.integers(len(mnist_test.labels)))
        _ink_on(page, mnist_test.images[i], x, y, side)
        text += str(int(mnist_test.labels[i]))
        x += int(0.8 * side)
    return np.clip(cv2.GaussianBlur(page, (0, 0), 0.7) + rng.normal(0, 2, page.shape), 0, 255).astype(np.uint8), text


def test_digits_12_px_tall_in_a_small_photo_are_looked_at_enlarged(mnist_test, classifier):
    """A 640×480 photo with a number 12 px tall: digits are found at half resolution, 6 px,
    where a stroke is under a pixel. 5 of these 20 read, 7 surely wrong, with no closer look;
    the region enlarged twice, 15, none surely wrong."""
    from edge_digits.edge.preprocess import _closer_regions, _located

    rng = np.random.default_rng(3)
    right, surely_wrong = 0, 0
    for k in range(20):
        x, y = int(rng.uniform(50, 450)), int(rng.uniform(50, 400))
        image, text = _small_number(mnist_test, rng, 12, 225, x, y, int(rng.integers(3, 6)))
        if k == 0:
            groups, up = _closer_regions(image.shape, None, [c.box for c in _located(image, None).crops])
            assert up == 2 and len(groups) == 1 and groups[0][0] is not None
        ok, sure_wrong = _read_right_and_surely_wrong(image, text, classifier)
        right, surely_wrong = right + ok, surely_wrong + sure_wrong
    assert right >= 14 and surely_wrong == 0, (right, surely_wrong)


def test_digits_10_px_tall_are_looked_at_enlarged_though_none_was_found(mnist_test, classifier):
    """A number 10 px tall in a 640×480 photo is 5 px at working resolution, under the height of
    a digit: nothing was found, so nothing was looked at closer. 10 of these 20 read, 9 with no
    digit at all; now the marks just too short are looked at closer: 19."""
    rng = np.random.default_rng(4)
    right, surely_wrong = 0, 0
    for _ in range(20):
        paper = rng.uniform(190, 235)
        x, y = int(rng.uniform(30, 500)), int(rng.uniform(30, 420))
        image, text = _small_number(mnist_test, rng, 10, paper, x, y, int(rng.integers(2, 5)))
        ok, sure_wrong = _read_right_and_surely_wrong(image, text, classifier)
        right, surely_wrong = right + ok, surely_wrong + sure_wrong
    assert right >= 17 and surely_wrong == 0, (right, surely_wrong)


def test_a_small_digit_beside_a_big_shadow_is_no_speck(mnist_test, classifier):
    """One small digit on a sheet with a dark shadow patch elsewhere: the patch is thresholded as
    one piece over 33 times the digit's area, so the digit was left out as a speck beside it,
    and the patch itself as no digit: 6 of these 30 read, 15 as nothing. When no digit is found,
    the pieces left out as specks are judged on their own: 19, none surely wrong."""
    from edge_digits.presentations import _ink_on

    rng = np.random.default_rng(1)
    ys, xs = np.mgrid[0:480, 0:640].astype(np.float32)
    right, surely_wrong = 0, 0
    for _ in range(30):
        page = np.full((480, 640), rng.uniform(190, 225), np.float32)
        cx, cy, r = rng.uniform(150, 490), rng.uniform(120, 360), rng.uniform(70, 110)
        page *= 1 - rng.uniform(0.35, 0.55) * np.exp(-(((xs - cx) ** 2 + (ys - cy) ** 2) / (r * r)) ** 3)
        side, i = int(rng.uniform(22, 30)), int(rng.integers(len(mnist_test.labels)))
        while True:  # well clear of the shadow
            x, y = int(rng.uniform(20, 620 - side)), int(rng.uniform(20, 460 - side))
            if (x + side / 2 - cx) ** 2 + (y + side / 2 - cy) ** 2 > (2.2 * r) ** 2:
                break
        _ink_on(page, mnist_test.images[i], x, y, side)
        image = np.clip(cv2.GaussianBlur(page, (0, 0), 0.8) + rng.normal(0, 2, page.shape), 0, 255).astype(np.uint8)
        ok, sure_wrong = _read_right_and_surely_wrong(image, str(int(mnist_test.labels[i])), classifier)
        right, surely_wrong = right + ok, surely_wrong + sure_wrong
    assert right >= 16 and surely_wrong == 0, (right, surely_wrong)


def test_two_numbers_far_apart_in_a_big_photo_are_each_looked_at_closer(mnist_test, classifier):
    """Two small numbers at the top and the bottom of a 4000×3000 page: together they span most
    of it, so no one region is closer. Each is looked at closer on its own, and read in order
    (15 of these 20 pages read with no closer look, 3 of them surely wrong; 19 now, none)."""
    from edge_digits.presentations import _ink_on

    rng = np.random.default_rng(1)
    right, surely_wrong = 0, 0
    for _ in range(20):
        page, text = np.full((3000, 4000), 225, np.float32), ""
        side = int(0.02 * 3000 * 28 / 20)
        for y in (int(rng.uniform(300, 1000)), int(rng.uniform(1800, 2500))):
            x = int(rng.uniform(300, 2800))
            for _digit in range(int(rng.integers(3, 5))):
                i = int(rng.integers(len(mnist_test.labels)))
                _ink_on(page, mnist_test.images[i], x, y, side)
                text += str(int(mnist_test.labels[i]))
                x += int(0.8 * side)
        reading = read_digits(cv2.GaussianBlur(page, (0, 0), 1.5).astype(np.uint8), classifier)
        right += reading.text == text
        surely_wrong += reading.text != text and min(d.confidence for d in reading.digits) >= 0.9
    assert right >= 18 and surely_wrong == 0, (right, surely_wrong)


def test_a_card_on_a_darker_desk_is_read_on_its_own(mnist_test, classifier):
    """A note or a label photographed lying on a desk that shows on every side: the desk was most
    of what the ink map compared with, so the card read as light ink and its digits as holes in
    it. 6 of these 30 read exactly before; 25 now."""
    from edge_digits.presentations import on_desk

    rng = np.random.default_rng(21)
    cards = [on_desk(mnist_test.images, mnist_test.labels, rng) for _ in range(30)]
    read = sum(read_digits(card.image, classifier).text == card.text for card in cards)
    assert read >= 22, read


def test_a_real_label_on_a_desk_reads_as_it_does_cut_out(classifier):
    """The real development set's handwritten label (tune half), cut out tight as it is stored,
    and with a grey or a dark desk around it on every side, as a phone would have taken it:
    before, 23518 read as 748651 on the grey desk and 11 on the dark one."""
    from edge_digits.benchmarks.reading_accuracy import REAL_SET

    image = cv2.imread(str(REAL_SET / "smkerr_01.png"))
    assert read_digits(image, classifier).text == "23518"
    h, w = image.shape[:2]
    for grey in (150, 60):
        on_desk = cv2.copyMakeBorder(image, h // 2, h // 2, w // 3, w // 3, cv2.BORDER_CONSTANT, value=[grey] * 3)
        assert read_digits(on_desk, classifier).text == "23518", grey
    # Small in a big photo of the desk (7% of the frame): it read 5151 before.
    far = cv2.copyMakeBorder(image, 2 * h, 2 * h, w, w, cv2.BORDER_CONSTANT, value=[90] * 3)
    assert read_digits(far, classifier).text == "23518"


def test_a_card_lit_unevenly_on_a_light_desk_keeps_all_its_digits(classifier):
    """The real set's yellow note (tune half), darker at its left end, on a desk only a little
    darker than that: Otsu's threshold cut the card in two, and the cut-out right half read
    as 4891 (0.99 sure) with 1967 painted over. Now the ink left on the 'desk' keeps it whole."""
    from edge_digits.benchmarks.reading_accuracy import REAL_SET

    image = cv2.imread(str(REAL_SET / "hypjudy_03.png"))
    h, w = image.shape[:2]
    on_desk = cv2.copyMakeBorder(image, h // 2, h // 2, w // 3, w // 3, cv2.BORDER_CONSTANT, value=[205] * 3)
    assert read_digits(on_desk, classifier).text == read_digits(image, classifier).text


def test_a_page_filling_the_frame_is_no_card_on_a_desk(mnist_test, classifier, monkeypatch):
    """Vignetted corners, a shadow, a chalk board or ruled lines are no desk. A page with a
    table beyond one edge may be cut out as a sheet held up; it then reads as it did whole."""
    import edge_digits.edge.preprocess as preprocess

    def found(photo) -> bool:
        return preprocess._paper(preprocess._working_grey(photo.image)[0]) is not None

    rng = np.random.default_rng(22)
    boards = [render_photo([mnist_test.images[i]], [0], rng, conditions="board") for i in range(60)]
    ruled = list(make_field_photos(mnist_test.images, mnist_test.labels, 20, seed=22, scene="ruled"))
    assert sum(found(photo) for photo in boards + ruled) == 0
    pages = [photo for photo in make_photos(mnist_test.images, mnist_test.labels, 60, seed=22, digits_per_photo=(1, 4))
             if found(photo)]
    assert 1 <= len(pages) <= 6, len(pages)  # 4: a table beyond one edge
    cut = [read_digits(photo.image, classifier).text for photo in pages]
    monkeypatch.setattr(preprocess, "_paper", lambda grey: None)
    assert cut == [read_digits(photo.image, classifier).text for photo in pages]


def test_a_sheet_held_up_to_a_camera_is_read_without_the_room(mnist_test, classifier):
    """A sheet held up to a webcam fills most of the frame, with the dark room beyond one side
    and a thumb over its edge: the room's gaps and the thumb were read as digits. Before, 32 of
    these 40 read exactly and 4 read more digits than were written; now 37 and none."""
    from edge_digits.presentations import held_up

    rng = np.random.default_rng(23)
    sheets = [held_up(mnist_test.images, mnist_test.labels, rng) for _ in range(40)]
    texts = [read_digits(sheet.image, classifier).text for sheet in sheets]
    assert sum(text == sheet.text for text, sheet in zip(texts, sheets)) >= 35, texts
    assert not [text for text, sheet in zip(texts, sheets) if len(text) > len(sheet.text)]


def test_a_picture_stored_sideways_is_read_turned_upright(mnist_test, classifier):
    """A phone's photo whose orientation tag was dropped reaches the reader sideways: none of
    these 40 numbers read exactly (digits on their side read as other digits); now 21, each
    digit's box round it in the picture as stored. Upright, all 40 read as read_digits reads them."""
    from edge_digits.edge.reader import read_any_way_up

    photos = make_photos(mnist_test.images, mnist_test.labels, 40, seed=61, digits_per_photo=(2, 4))
    read = 0
    for i, photo in enumerate(photos):
        assert read_any_way_up(photo.image, classifier).text == read_digits(photo.image, classifier).text
        clockwise = i % 2 == 0
        stored = cv2.rotate(photo.image, cv2.ROTATE_90_CLOCKWISE if clockwise else cv2.ROTATE_90_COUNTERCLOCKWISE)
        reading = read_any_way_up(stored, classifier)
        if reading.text != photo.text:
            continue
        read += 1
        height, width = photo.image.shape[:2]
        for digit, (x, y, w, h) in zip(reading.digits, photo.boxes):
            cx, cy = x + w / 2, y + h / 2  # the digit's centre, upright, and as stored
            sx, sy = (height - 1 - cy, cx) if clockwise else (cy, width - 1 - cx)
            bx, by, bw, bh = digit.box
            assert bx <= sx <= bx + bw and by <= sy <= by + bh, (digit.box, (sx, sy))
        assert max(d.confidence for d in reading.digits) <= 0.85  # which way up is a guess
    assert read >= 18, read


@pytest.mark.parametrize("seed", [69, 92])
def test_ruled_lines_turned_upright_are_no_number(mnist_test, classifier, seed):
    """Ruled paper turned a quarter reads as a row of sure 1s, its lines: a page whose digits read
    unsurely upright is still read upright, not as 1111."""
    from edge_digits.edge.reader import read_any_way_up

    photo = list(make_field_photos(mnist_test.images, mnist_test.labels, 3, seed=seed, scene="ruled"))[2]
    upright = read_digits(photo.image, classifier)
    assert min(d.confidence for d in upright.digits) < 0.9  # so it is tried turned
    turned = [read_digits(cv2.rotate(photo.image, turn), classifier)
              for turn in (cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_90_COUNTERCLOCKWISE)]
    assert any(set(t.text) == {"1"} and min(d.confidence for d in t.digits) >= 0.9 for t in turned)
    assert read_any_way_up(photo.image, classifier).text == upright.text


def test_a_real_photo_stored_sideways_reads_in_classify_and_the_api(tmp_path):
    """The real development set's webcam photo of 19624 (tune half), turned a quarter: it read 3."""
    from edge_digits import DigitReader
    from edge_digits.benchmarks.reading_accuracy import REAL_SET
    from tests.helpers import cli

    path = tmp_path / "sideways.png"
    cv2.imwrite(str(path), cv2.rotate(cv2.imread(str(REAL_SET / "hlnr_02.png")), cv2.ROTATE_90_CLOCKWISE))
    result = cli("classify", "--json", path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["text"] == "19624"
    assert DigitReader().read(path).as_dict() == json.loads(result.stdout)


def test_a_real_sheet_held_up_to_a_webcam_is_read_without_the_hand(classifier):
    """The real development set's webcam photo of a 5 on a card held up in a dark room (tune
    half): the shadow between the hand and the card read as a 1 (51)."""
    from edge_digits.benchmarks.reading_accuracy import REAL_SET

    assert read_digits(cv2.imread(str(REAL_SET / "hlnr_07.png")), classifier).text == "5"


def test_a_tilted_photo_of_lines_is_straightened_first(mnist_test, classifier):
    """Lines are found as straight runs along the axes: tilted 8°, an underline, ruled paper or
    a box was left in and read as digits or glued them. Before: 34 of these 60 read exactly
    (59 of 60 read upright would be 55); now 49."""
    read = 0
    for scene in ("underline", "ruled", "boxed"):
        for photo in make_field_photos(mnist_test.images, mnist_test.labels, 20, seed=41, scene=scene):
            read += read_digits(turned(photo.image, -8), classifier).text == photo.text
    assert read >= 44, read


def test_a_tilted_box_round_one_digit_straightens_the_photo(mnist_test, classifier):
    """A box drawn round one digit is as tall as it is wide, so it was never taken for a line to
    straighten the photo by; tilted, it was no box either, and read as a 0 round the digit."""
    texts = []
    for label in range(10):
        index = int(np.nonzero(mnist_test.labels == label)[0][5])
        page = _page()
        _draw_digit(page, mnist_test.images[index], 270, 170, 110)
        cv2.rectangle(page, (230, 150), (420, 300), (40, 40, 40), 2)
        texts.append(read_digits(turned(cv2.GaussianBlur(page, (0, 0), 0.8), -8), classifier).text)
    assert sum(text == str(label) for label, text in enumerate(texts)) >= 8, texts  # 0 before, 10 now


def test_boxes_of_a_straightened_photo_are_in_its_own_coordinates(mnist_test):
    page = _page()
    for i in range(3):
        _draw_digit(page, mnist_test.images[i], 150 + 110 * i, 150, 100)
    cv2.line(page, (0, 262), (639, 262), (30, 30, 30), 3)  # a rule under the digits, across the page
    turn = cv2.getRotationMatrix2D((320, 240), 7, 1.0)
    tilted = turned(page, 7)
    from edge_digits.edge.preprocess import _inked, _label, _skew, _working_grey

    grey, _, _ = _working_grey(tilted)
    _, _, ink, _, threshold = _inked(grey)
    mask = (ink > threshold).astype(np.uint8)
    assert _skew(mask, _label(mask)) == pytest.approx(-7, abs=1)  # the turn that undoes the tilt
    crops = find_digits(tilted)
    assert len(crops) == 3
    for crop, i in zip(crops, range(3)):
        # Where the digit's centre went when the page was tilted.
        cx, cy = turn @ np.array([150 + 110 * i + 50, 200, 1.0])
        x, y, w, h = crop.box
        assert x <= cx <= x + w and y <= cy <= y + h, (crop.box, (cx, cy))


def test_a_digit_cut_by_a_margin_is_doubted(mnist_test, classifier):
    """An 8 half inside a scanner's black margin keeps only a 3's strokes; the margin is left out,
    and what touched it may have lost a stroke to it. Before, 4 of these 8 read as a sure 3."""
    confidently_wrong = []
    for k in range(8):
        page = _page()
        page[:, :70] = 25  # a scanner's black margin
        for digit, x in ((8, 15), (4, 300)):
            big = cv2.resize(mnist_test.images[np.nonzero(mnist_test.labels == digit)[0][k]], (120, 120),
                             interpolation=cv2.INTER_CUBIC)
            region = page[150:270, x:x + 120]
            region[:] = np.minimum(region, (255 - big)[..., None])
        page = cv2.GaussianBlur(page, (0, 0), 1.0)
        assert [c.at_edge for c in locate_digits(page).crops] == [True, False]
        first = read_digits(page, classifier).digits[0]
        if first.label != 8 and first.confidence >= 0.9:
            confidently_wrong.append(first)
    assert not confidently_wrong


def test_a_bold_one_written_from_a_boxs_top_to_its_bottom_is_no_side(mnist_test, classifier):
    """A 1 that runs from a form's box's top line down to its bottom one was taken out as the
    side of a cell (field photo `103` read `03` at 1.00). A side is drawn with the form's pen;
    this 1, with a bolder one. Before, 8 of these 12 read exactly; the box's own sides must
    still not read as 1s."""
    ones, others = np.nonzero(mnist_test.labels == 1)[0], np.nonzero(mnist_test.labels != 1)[0]
    texts, truths = [], []
    for k in range(12):
        page = np.full((480, 640), 235, np.uint8)
        top, bottom = 170, 270
        bold = cv2.dilate(mnist_test.images[ones[k]], np.ones((3, 3), np.uint8))
        x = 180 + _draw_ink(page, bold, 180, top + 1, bottom - top - 2) + 25
        for i in others[3 * k: 3 * k + 2]:
            x += _draw_ink(page, mnist_test.images[i], x, top + 12, 80) + 25
        cv2.rectangle(page, (120, top), (x + 40, bottom), 60, 2)
        texts.append(read_digits(cv2.GaussianBlur(page, (0, 0), 0.8), classifier).text)
        truths.append("1" + "".join(str(mnist_test.labels[i]) for i in others[3 * k: 3 * k + 2]))
    assert sum(t == truth for t, truth in zip(texts, truths)) >= 11, list(zip(truths, texts))


def test_a_digit_running_into_the_dark_beyond_a_small_frames_page_is_kept(mnist_test, classifier):
    """A dim tight crop (139×51 px) of 8493, its 3 running into the black margin beyond the page:
    the page was cut out as a sheet held up, and the 3 with the margin (849 read at 1.00). A
    digit running into a sheet's edge leaves a notch whose strokes forbid the cut, but a small
    frame is glanced at up to twice as large, its strokes wider than the notch test looked for."""
    from edge_digits.edge import preprocess

    photo = next(itertools.islice(make_presentations(mnist_test.images, mnist_test.labels, "dim", 147,
                                                     777 + KINDS.index("dim")), 146, None))
    assert photo.text == "8493"
    grey, _, _ = preprocess._working_grey(photo.image)
    assert max(grey.shape) > 1.5 * preprocess.PAPER_SIDE  # glanced at as it is
    assert read_digits(photo.image, classifier).text == "8493"


@pytest.mark.parametrize("index", [2350, 8673])
def test_the_rim_left_beside_a_page_edge_is_not_a_one(mnist_test, classifier, index, monkeypatch):
    """Where a page edge crosses pixels at a slant, a hairline of them can survive next to the band
    left out around it, and reads as a 1 before or after the number. A 1 there, under THIN_ONE
    of the other digits' pen, is the edge's rim (before, these photos read 21 and 12). The page
    may also be cut out as a sheet held up (the table beyond one edge): it reads so too."""
    import edge_digits.edge.preprocess as preprocess

    photo = render_photo([mnist_test.images[index]], [2], np.random.default_rng(3445))
    assert read_digits(photo.image, classifier).text == "2"
    monkeypatch.setattr(preprocess, "_paper", lambda grey: None)  # the page left whole, rim and all
    crops = locate_digits(photo.image).crops
    assert any(c.at_edge and 8 * c.box[2] < c.box[3] for c in crops)  # the rim is there to leave out
    assert read_digits(photo.image, classifier).text == "2"


def test_the_desk_beyond_a_page_is_painted_as_the_page_near_it_is_lit():
    """A page lit 225 grey at its left and 185 at its right edge, a desk beyond: the desk cut
    into the page's box is painted as the paper beside it, not its median (about 210). A page
    lit darker near its edge than the paint stood out from it as ink all along the edge. Any
    frame type the reader takes keeps its type and shape."""
    from edge_digits.edge.preprocess import _on_paper

    xs = np.arange(640, dtype=np.float32)
    page = np.repeat((225 - 40 * (xs / 640) ** 2)[None, :], 480, axis=0)
    desk = xs[None, :] >= 560 + 30 * np.arange(480)[:, None] / 480
    page[desk] = 60
    own = np.ones((120, 160), np.uint8)
    own[cv2.resize(desk.astype(np.float32), (160, 120), interpolation=cv2.INTER_AREA) > 0] = 0
    mine = cv2.resize(own, (640, 480), interpolation=cv2.INTER_NEAREST) > 0
    at_edge = (mine & ~np.roll(mine, -1, axis=1))[:, :-1]  # the paper's last pixel in each row
    rows, cols = np.nonzero(at_edge)
    for levels in (1, 257):  # 8 and 16 bits
        cut = _on_paper(np.rint(page * levels).astype(np.uint16), (0, 0, 640, 480), own) / levels
        assert np.abs(cut[rows, cols + 1] - cut[rows, cols]).max() <= 6  # no step to the paint
    for frame in (page.astype(np.uint16) * 200, page > 150, page.astype(np.float64), page[..., None].astype(np.uint8),
                  np.dstack([page] * 4).astype(np.uint8)):
        painted = _on_paper(frame, (0, 0, 640, 480), own)
        assert painted.dtype == frame.dtype and painted.shape == frame.shape
    # A thumb over the edge is no paper to spread: below it, the paint is the paper's light.
    page[100:180, 500:600] = 120
    assert _on_paper(np.rint(page).astype(np.uint8), (0, 0, 640, 480), own)[200, 600] > 180


@pytest.mark.parametrize("seed, index, text", [(556, 93, "1514"), (5553, 143, "5")])
def test_digits_beside_a_page_edge_lit_darker_than_the_page_are_read(mnist_test, classifier, seed, index, text):
    """Generated photos of a page on a desk, lit unevenly: with the desk painted the page's
    median colour, the page near its edge stood out from the paint as ink. 1514 read as 54
    (its 1s thin strokes among the edge's), and a faint 5 was not found (the threshold chosen
    with the edge's ink left it as too small)."""
    digits = (1, 1) if len(text) == 1 else (2, 4)
    photo = next(itertools.islice(iter_photos(mnist_test.images, mnist_test.labels, index + 1, seed, digits),
                                  index, None))
    assert photo.text == text
    assert read_digits(photo.image, classifier).text == text


def test_a_base_with_strokes_below_it_is_the_digits_own():
    """A 2 whose base runs past its diagonal on both sides looks like a digit on an underline;
    its loop crossing below the base says the run is its own. Without its base it reads as a 1."""
    def page_with_two(tail: bool) -> np.ndarray:
        page = _page()
        cv2.polylines(page, [np.array([(270, 170), (300, 150), (330, 165), (330, 190), (285, 240)])], False,
                      (30, 30, 30), 7)
        cv2.line(page, (260, 242), (350, 238), (30, 30, 30), 7)  # the base, past the diagonal both ways
        if tail:
            cv2.line(page, (285, 240), (270, 262), (30, 30, 30), 7)  # the loop's stroke under it
        return cv2.GaussianBlur(page, (0, 0), 0.8)

    (two,) = locate_digits(page_with_two(tail=True)).crops
    assert two.unlined is None
    (on_a_line,) = locate_digits(page_with_two(tail=False)).crops
    assert on_a_line.unlined is not None, "without strokes below, it may still be a digit on a line"


def test_a_lone_crop_is_read_however_unsure():
    """Alone in a picture, a digit the model is unsure of is likelier than a mark: it is kept,
    with its low confidence; beside other digits, the same crop is left out."""
    sure, flat = np.eye(10)[3], np.full(10, 0.1)
    crops = [DigitCrop(np.zeros((28, 28), np.uint8), (40 * i, 0, 30, 40)) for i in range(2)]
    kept, probs, _, doubt = _drop_not_digits(crops[:1], [flat], [False], [False])
    assert len(kept) == 1 and probs[0] is flat
    kept, _, _, _ = _drop_not_digits(crops, [flat, sure], [False] * 2, [False] * 2)
    assert len(kept) == 1 and kept[0] is crops[1]


def test_rules_found_once_stay_rules_when_the_threshold_is_chosen_again(mnist_test, classifier):
    """A cell of a table's first row, cropped: its rules are found, a stub beside them is junk, and
    the threshold chosen again without the junk loses the faint rows' rules. The columns' rules,
    no longer between two lines, read as two sure 1s beside the 6 unless the first rules count."""
    photos = list(make_field_photos(mnist_test.images, mnist_test.labels, 11, seed=701, scene="cell",
                                    digits_per_photo=(1, 4)))
    photo = photos[10]
    assert photo.text == "6"
    assert read_digits(photo.image, classifier).text == "6"


def test_a_nine_with_a_long_tail_is_not_read_as_a_one(mnist_test, classifier):
    """Squeezed into MNIST's 20×20 box, a 9 twice the row's height keeps a loop too small to see;
    read again with its tail cut to the row's height, it is a 9."""
    three = mnist_test.images[np.nonzero(mnist_test.labels == 3)[0][0]]
    texts = []
    for k in range(12):
        nine = _with_tail(mnist_test.images[np.nonzero(mnist_test.labels == 9)[0][k]], 1.2)
        page = np.full((300, 500), 235, np.uint8)
        for digit, x, height in ((three, 100, 60), (nine, 190, 132), (three, 280, 60)):
            _draw_ink(page, digit, x, 60, height)
        texts.append(read_digits(cv2.GaussianBlur(page, (0, 0), 0.7), classifier).text)
    assert texts.count("393") >= 10 and "313" not in texts, texts  # 4 of 12 read "313" before


def test_a_digit_with_a_tail_that_reads_as_no_digit_is_read_without_it(mnist_test, classifier):
    """A 4 whose stem runs on far below the line (old registers, many European hands) can read
    as no digit at all, or barely, and was left out as a mark (`343` read `33`). Read again with
    its tail cut to the row's height, it is a 4. 82 of these 100 read before (88 with only the
    crops read as no digit cut; 91 now)."""
    three = mnist_test.images[np.nonzero(mnist_test.labels == 3)[0][0]]
    texts = []
    for four in mnist_test.images[mnist_test.labels == 4][:100]:
        page = np.full((300, 500), 235, np.uint8)
        x = 100
        for digit, height in ((three, 60), (_with_tail(four, 1.5), 150), (three, 60)):
            x += _draw_ink(page, digit, x, 40, height) + 20
        texts.append(read_digits(cv2.GaussianBlur(page, (0, 0), 0.7), classifier).text)
    assert texts.count("343") >= 89, {t: texts.count(t) for t in set(texts)}


def _numbers_with_marks(mnist_test, classifier, seed: int, digits: int, gap: int, after: tuple[int, ...],
                        mark) -> int:
    """How many of 40 numbers of MNIST digits 60 px tall, `gap` px apart, with `mark(page, x)`
    drawn after the digits at `after` (it returns the width it took), read exactly."""
    rng = np.random.default_rng(seed)
    right = 0
    for _ in range(40):
        page = np.full((240, 640), 235, np.uint8)
        x, want = 40, ""
        for j, i in enumerate(rng.integers(0, len(mnist_test.labels), digits)):
            x += _draw_ink(page, mnist_test.images[i], x, 90, 60) + gap
            want += str(mnist_test.labels[i])
            if j in after:
                x += mark(page, x)
        right += read_digits(cv2.GaussianBlur(page, (0, 0), 0.7), classifier).text == want
    return right


def test_the_slashes_of_a_date_are_no_ones(mnist_test, classifier):
    """Dates written `94/55/31`: a slash reaching well past the digits beside it, above and
    below, reads as a sure 1 (or is joined to the digit before it). 2 of these 40 read before."""
    def slash(page: np.ndarray, x: int) -> int:
        cv2.line(page, (x, 90 + 60 + 18), (x + 30, 90 - 18), 30, 4, cv2.LINE_AA)
        return 30 + 12

    assert _numbers_with_marks(mnist_test, classifier, 0, 6, 12, (1, 3), slash) >= 36


def test_the_comma_of_an_amount_is_no_one(mnist_test, classifier):
    """Amounts written `5,572`: the comma, under half the digits' height and hanging from below
    their middle to under their baseline, read as an unsure 1. A written 1 stands up from the
    baseline, however short. 2 of these 40 read before."""
    def comma(page: np.ndarray, x: int) -> int:
        cv2.line(page, (x + 8, 90 + 42), (x + 2, 90 + 68), 30, 5, cv2.LINE_AA)
        return 22

    assert _numbers_with_marks(mnist_test, classifier, 1, 4, 10, (0,), comma) >= 36


def test_a_five_whose_bar_stands_apart_is_a_five(classifier):
    """A 5 drawn as a hooked stem with its bar apart, just right of its top, as some MNIST
    writers draw it: the bar was left out as too small, and the stem read as a 1 or a 3
    (21 of these 30 read as 5s before)."""
    rng = np.random.default_rng(0)
    texts = []
    for _ in range(30):
        h = int(rng.integers(40, 90))
        pen = max(2, round(h * rng.uniform(0.07, 0.12)))
        page = np.full((240, 320), 235, np.uint8)
        x, y, r = 140, 120 - h // 2, int(0.28 * h)
        foot = x + int(0.1 * h)
        cv2.line(page, (x, y), (foot, y + h - r), 30, pen, cv2.LINE_AA)
        cv2.ellipse(page, (foot - r, y + h - r), (r, r), 0, 0, 160, 30, pen, cv2.LINE_AA)
        bar = foot + pen + int(rng.uniform(0.08, 0.25) * h)
        cv2.line(page, (bar, y), (bar + int(0.4 * h), y - int(0.04 * h)), 30, pen, cv2.LINE_AA)
        texts.append(read_digits(cv2.GaussianBlur(page, (0, 0), 0.8), classifier).text)
    assert texts.count("5") >= 28, texts


def test_a_two_on_its_straight_base_is_no_sure_one(mnist_test, classifier):
    """Two development pictures whose 2 has a straight base reaching past its stroke: taken for
    an underline, the base is left out and what remains reads as a 1, surely (0.97 and 1.0).
    The 2 read whole about as surely, so the 1 is a guess (under 0.9)."""
    from edge_digits.photos import iter_photos

    photo = next(itertools.islice(iter_photos(mnist_test.images, mnist_test.labels, 800, 5551), 799, None))
    field = next(itertools.islice(make_field_photos(mnist_test.images, mnist_test.labels, 251, seed=559), 250, None))
    for picture, want in ((photo, "2"), (field, "09602")):
        reading = read_digits(picture.image, classifier)
        wrong = [d for d, c in zip(reading.digits, want) if str(d.label) != c]
        assert len(reading.digits) == len(want) and all(d.confidence < 0.9 for d in wrong), reading.line()


def test_a_rule_down_a_whole_cell_is_a_line_under_a_shadow(classifier):
    """A cell of an old register (real, development set `tune`) with its column's double rule
    down its whole height. Taken for the digits' height, the rule was too short to be a line of
    that height and read as a 1 (`1564`) once a shadow's edge fell across the cell (without
    one, the cell is cut out as a card on a desk). 6 of these 12 read before."""
    from edge_digits.benchmarks.reading_accuracy import REAL_SET

    image = load_image(REAL_SET / "lectaurep_03.png").astype(np.float32)
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    texts = []
    for edge in (0.25, 0.3, 0.35, 0.4):
        for dark in (0.3, 0.4, 0.5):
            across = (xx - edge * w) * np.cos(0.13) + (yy - 0.39 * h) * np.sin(0.13)
            gain = 1 - dark / (1 + np.exp(-across / 4.5))
            texts.append(read_digits((image * gain[..., None]).astype(np.uint8), classifier).text)
    assert texts == ["564"] * 12, texts


def test_a_one_with_a_short_flag_is_read_as_a_one(mnist_test, classifier):
    """Many writers start a 1 with a short flag down to the left; a model that never saw one
    reads it as a 7 (68 of these 100 read as 1s with the model shipped before)."""
    texts = []
    for one in mnist_test.images[mnist_test.labels == 1][:100]:
        ys, xs = np.nonzero(one > 100)
        top, height = int(ys.min()), int(ys.max() - ys.min() + 1)
        x = int(xs[ys == top].mean())
        flagged = one.copy()
        cv2.line(flagged, (x, top), (int(x - 0.25 * height), int(top + 0.25 * height)), 255, 2, cv2.LINE_AA)
        page = _page()
        _draw_digit(page, flagged, 280, 180, 90)
        texts.append(read_digits(cv2.GaussianBlur(page, (0, 0), 0.7), classifier).text)
    assert texts.count("1") >= 80, {t: texts.count(t) for t in set(texts)}


def test_a_one_with_a_long_flag_is_read_as_a_one(mnist_test, classifier):
    """Many European writers start a 1 with a flag almost half its height long, about 40° below
    level (a 7's bar is level): the digit of other writers' scans most often misread, as a 7.
    75 of these 100 read as 1s with the model shipped before."""
    texts = []
    for one in mnist_test.images[mnist_test.labels == 1][:100]:
        ys, xs = np.nonzero(one > 100)
        top, height = int(ys.min()), int(ys.max() - ys.min() + 1)
        x = int(xs[ys == top].mean())
        flagged = cv2.copyMakeBorder(one, 0, 0, 6, 0, cv2.BORDER_CONSTANT, value=0)
        cv2.line(flagged, (x + 6, top), (int(x + 6 - 0.45 * height), int(top + 0.4 * height)), 255, 2, cv2.LINE_AA)
        page = np.full((480, 640), 235, np.uint8)
        _draw_ink(page, flagged, 280, 180, 90)
        texts.append(read_digits(cv2.GaussianBlur(page, (0, 0), 0.7), classifier).text)
    assert texts.count("1") >= 85, {t: texts.count(t) for t in set(texts)}


def test_a_nine_whose_foot_curls_wide_to_the_left_is_read_as_a_nine(mnist_test, classifier):
    """Many European writers end a 9 in a curl back to the left: read as a 3 by a model that
    learned MNIST's 9s. 52 of these 100 read as 9s with the model shipped before."""
    texts = []
    for nine in mnist_test.images[mnist_test.labels == 9][:100]:
        curled = cv2.copyMakeBorder(nine, 0, 10, 10, 0, cv2.BORDER_CONSTANT, value=0)
        ys, xs = np.nonzero(curled > 100)
        bottom, height = int(ys.max()), int(ys.max() - ys.min() + 1)
        foot = int(xs[ys == bottom].mean())
        cv2.ellipse(curled, (foot - int(0.4 * height), bottom), (int(0.4 * height), int(0.25 * height)), 0, 0, 180,
                    255, 2, cv2.LINE_AA)
        page = np.full((480, 640), 235, np.uint8)
        _draw_ink(page, curled, 280, 180, 100)
        texts.append(read_digits(page, classifier).text)
    assert texts.count("9") >= 70, {t: texts.count(t) for t in set(texts)}


def test_an_open_four_hooked_over_at_the_top_is_read_as_a_four(classifier):
    """A 4 drawn as a "u" whose left stroke hooks over towards a stem that starts low: read as a
    9 by a model that learned MNIST's 4s. 67 of these 100 read as 4s with the model shipped before."""
    rng = np.random.default_rng(0)
    texts = []
    for _ in range(100):
        four = np.zeros((140, 120), np.uint8)
        width, bar = rng.uniform(55, 75), rng.uniform(55, 65)
        left, stem = 20 + rng.uniform(0, 8), 20 + rng.uniform(0.65, 0.8) * width
        u = [(left + 20 + 20 * np.cos(a), 10 + bar - 20 + 20 * np.sin(a)) for a in np.linspace(np.pi, np.pi / 2, 8)]
        hook = [(left + 0.55 * (stem - left), 12), (left + 6, 10), (left, 20)]
        pen = int(rng.integers(7, 11))
        cv2.polylines(four, [np.int32([*hook, *u, (stem + 8, 10 + bar)])], False, 255, pen, cv2.LINE_AA)
        cv2.line(four, (int(stem), 35), (int(stem - 4), 110), 255, pen, cv2.LINE_AA)
        page = np.full((480, 640), 235, np.uint8)
        _draw_ink(page, four, 280, 180, 100)
        texts.append(read_digits(page, classifier).text)
    assert texts.count("4") >= 74, {t: texts.count(t) for t in set(texts)}


@pytest.mark.parametrize("corner, pen", [(3, 4), (3, 8), (8, 8)])
def test_a_square_zero_is_a_digit_not_a_box(classifier, corner, pen):
    """Lined on all four sides like a box, but with nothing in it."""
    page = np.full((300, 400), 235, np.uint8)
    x0, y0, x1, y1 = 150, 80, 210, 180
    cv2.line(page, (x0 + corner, y0), (x1 - corner, y0), 30, pen)
    cv2.line(page, (x0 + corner, y1), (x1 - corner, y1), 30, pen)
    cv2.line(page, (x0, y0 + corner), (x0, y1 - corner), 30, pen)
    cv2.line(page, (x1, y0 + corner), (x1, y1 - corner), 30, pen)
    for cx, cy, angle in ((x0 + corner, y0 + corner, 180), (x1 - corner, y0 + corner, 270),
                          (x1 - corner, y1 - corner, 0), (x0 + corner, y1 - corner, 90)):
        cv2.ellipse(page, (cx, cy), (corner, corner), angle, 0, 90, 30, pen)
    assert read_digits(cv2.GaussianBlur(page, (0, 0), 0.8), classifier).text == "0"


def test_a_thick_pen_in_a_tight_crop_keeps_its_loops(mnist_test, classifier):
    """In a crop of just the digit, a marker's loop is wider than a quarter of the frame: a paper
    estimate that narrow takes the loop for paper and leaves a stem (a 6 read as 1)."""
    pen = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    read = []
    for label in (0, 6, 8, 9):
        for k in range(3):
            digit = mnist_test.images[np.nonzero(mnist_test.labels == label)[0][k]]
            big = cv2.dilate(cv2.resize(digit, (100, 100), interpolation=cv2.INTER_CUBIC), pen)
            ys, xs = np.nonzero(big > 60)
            big = big[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1].astype(np.float32)
            page = np.full((big.shape[0] + 6, big.shape[1] + 6), 225, np.float32)
            page[3:-3, 3:-3] *= 1 - 0.85 * big / 255
            page = cv2.GaussianBlur(page, (0, 0), 0.8).astype(np.uint8)
            read.append(read_digits(page, classifier).text == str(label))
    assert sum(read) >= 9, read  # 4 of 12 with a quarter-frame kernel, 10 now


def test_a_digit_filling_the_frame_or_touching_the_border_is_kept(mnist_test):
    digit = mnist_test.images[0]  # a 7
    page = _page(200, 200)
    _draw_digit(page, digit, 0, 0, 200)
    (crop,) = find_digits(page)
    assert crop.box[3] > 120
    tight = page[40:190, 20:170]
    assert len(find_digits(tight)) == 1


@pytest.mark.parametrize("label, pen, least", [(1, 0, 20), (1, 9, 20), (0, 13, 16), (8, 13, 19), (8, 17, 18)])
def test_a_digit_whose_height_fills_a_square_frame_is_read(mnist_test, classifier, label, pen, least):
    """An upright 1 spanning the frame's height fills its box: it was taken for a solid patch
    at the border (a shadow). A bold 0 holds more ink than paper, so the local median is ink: the
    paper inside it was read as light ink. Before: 1s 17 and 12 of 20, bold 0s 3 of 20. A bold 8
    fills three quarters of its box, a solid patch too, but a thumbnail (up to 64 px) holds no
    shadow: before, 15 and 12 of 20."""
    digits = mnist_test.images[np.nonzero(mnist_test.labels == label)[0][:10]]
    texts = [read_digits(square_frame(d, label, side, pen).image, classifier).text for d in digits for side in (16, 32)]
    assert sum(t == str(label) for t in texts) >= least, texts


@pytest.mark.parametrize("side", [32, 96, 120])
def test_a_bold_base_running_into_a_thumbnails_border_is_kept(classifier, side):
    """A thumbnail of a 2 (a digit set's normalised bitmap) whose bold base runs into the
    bottom border. The paper was estimated with the border continued as the ink there, so the
    base was taken for paper and the 2 read as a 7 (at 32 px 2 of these 9; with thumbnails up to
    64 px, 2 and 1 at 96 and 120 px). USPS test digits read 94.9% → 95.7%, Semeion's 66.9% →
    73.1%, at their 16 px."""
    texts = []
    for thick in (3, 4, 5):
        for base in (29, 30, 31):
            big = np.full((128, 128), 235, np.uint8)
            y = 4 * base - 6
            stroke = np.array([(30, 40), (45, 14), (75, 8), (96, 28), (90, 60), (30, y), (100, y)])
            cv2.polylines(big, [stroke], False, 30, 4 * thick, lineType=cv2.LINE_AA)
            texts.append(read_digits(cv2.resize(big, (side, side), interpolation=cv2.INTER_AREA), classifier).text)
    assert texts == ["2"] * 9, texts


@pytest.mark.parametrize("label, least", [(9, 70), (4, 70)])
def test_a_digit_stretched_to_fill_its_thumbnail_keeps_its_bars(mnist_test, classifier, label, least):
    """Digit sets store digits stretched to fill their box both ways. Such a digit spans the
    frame like a squared-paper grid, so it did not count towards the digits' height; the height
    came from what was left without its top, and the top was taken out as a line (a 9 read as
    a 7, a 4 as 11). Before: 9s 49, 4s 61 of 80 (Semeion's 16 px digits 73.6% → 89.7%)."""
    digits = mnist_test.images[np.nonzero(mnist_test.labels == label)[0][:20]]
    texts = [read_digits(square_frame(d, label, side, pen, stretch=True).image, classifier).text
             for d in digits for side in (16, 32) for pen in (0, 9)]
    assert sum(t == str(label) for t in texts) >= least, texts



_ALONG_A_SIDE = {  # polylines on a 128 px canvas whose bar or base runs along a side of the box
    "2": [(14, 30), (40, 6), (90, 6), (114, 30), (100, 62), (8, 121), (120, 121)],
    "7": [(6, 8), (121, 8), (100, 50), (70, 121)],
}


@pytest.mark.parametrize("label", sorted(_ALONG_A_SIDE))
def test_a_stretched_digits_bar_along_its_frame_is_no_line(classifier, label):
    """A digit set's bitmap (thin pen, two grey levels, the box stretched to fill the frame) runs
    a 2's base or a 7's bar along the frame's side. That was taken for an underline or a cell's
    border and left to the background: the 2 read as 7, the 7 as 1 (all 18 of each). Semeion's
    digits at 16, 64 and 128 px: 89.1, 88.4, 87.9% → 90.5, 90.6, 90.1%."""
    texts = []
    for thick in (8, 12, 16):
        for slant in (0, 8):
            pen = np.zeros((128, 128), np.uint8)
            points = np.array([(np.clip(x + slant * (64 - y) / 64, 3, 124), y) for x, y in _ALONG_A_SIDE[label]])
            cv2.polylines(pen, [points.astype(np.int32)], False, 255, thick)
            bitmap = (cv2.resize(pen, (16, 16), interpolation=cv2.INTER_AREA) > 80).astype(np.uint8)
            for side in (16, 32, 64):
                image = cv2.resize(235 - 205 * bitmap, (side, side), interpolation=cv2.INTER_NEAREST)
                texts.append(read_digits(image, classifier).text)
    assert texts == [label] * 18, texts


def test_thin_pen_strokes_are_normalised_to_mnist_width():
    ink = np.zeros((400, 260), np.uint8)
    cv2.ellipse(ink, (130, 200), (110, 180), 0, 0, 360, 255, 4)  # a zero, 1% of its height thick
    out = normalise_digit(ink)
    assert 1.2 <= stroke_width(out) <= 5.0
    assert stroke_width(out) > 1.5 * stroke_width(cv2.resize(ink, (13, 20), interpolation=cv2.INTER_AREA))


def test_touching_digits_are_split_by_recognition(mnist_test, classifier):
    eight, three = (np.nonzero(mnist_test.labels == d)[0][0] for d in (8, 3))
    page = _page()
    _draw_digit(page, mnist_test.images[eight], 200, 150, 120)
    _draw_digit(page, mnist_test.images[three], 262, 150, 120)  # the 3 touches the 8
    crops = find_digits(page)
    assert len(crops) == 1 and split_digit(crops[0], 2)
    reading = read_digits(page, classifier)
    assert reading.text == "83"
    assert all(d.confidence <= 0.85 for d in reading.digits), "a guessed cut is never fully trusted"


def test_a_cut_leaves_no_flat_scrap_of_a_stroke(mnist_test):
    """A 2 whose base runs on is wide enough to try as several digits; a cut through the base alone
    would leave a flat scrap of it, which reads as a sure 2 or 1 (a 2 read as 912)."""
    for index in np.nonzero(mnist_test.labels == 2)[0][:5]:
        ink = np.zeros((80, 150), np.uint8)
        ink[:, :80] = cv2.resize(mnist_test.images[index], (80, 80), interpolation=cv2.INTER_CUBIC)
        base = np.nonzero(ink[:, 40:80].max(axis=1) > 100)[0][-1] - 3
        ink[base:base + 4, 60:] = 255  # the base runs on, flat
        crop = DigitCrop(normalise_digit(ink), (0, 0, 150, 80), ink)
        cuts = split_digit(crop, 2) + split_digit(crop, 3)
        heights = [np.ptp(np.nonzero(piece.ink.max(axis=1))[0]) + 1 for pieces in cuts for piece in pieces]
        assert min(heights, default=80) >= 20, (index, heights)


def _touching_numbers(mnist_test, classifier, digits: int, x: int, height: int,
                      squeeze: float = 1.0) -> list[tuple[str, str]]:
    """40 numbers of `digits` random MNIST digits, each overlapping the one before by a tenth of
    its width (seed 5): (true text, text read) for each."""
    rng = np.random.default_rng(5)
    out = []
    for _ in range(40):
        idx = rng.integers(0, len(mnist_test.labels), digits)
        page, right = np.full((480, 640), 235, np.uint8), x
        for i in idx:
            right += int(_draw_ink(page, mnist_test.images[i], right, 180, height, squeeze=squeeze) * 0.9)
        text = read_digits(cv2.GaussianBlur(page, (0, 0), 0.7), classifier).text
        out.append(("".join(str(mnist_test.labels[i]) for i in idx), text))
    return out


def test_three_narrow_touching_digits_may_be_cut_in_three(mnist_test, classifier):
    """Touching digits overlap, so a crop just wide enough for two may hold three: 40 numbers of
    three digits drawn narrow (0.8 of their width) and overlapping by a tenth (11 read exactly
    when a crop was cut into no more digits than its width holds)."""
    readings = _touching_numbers(mnist_test, classifier, 3, x=200, height=90, squeeze=0.8)
    exact = sum(text == truth for truth, text in readings)
    assert exact >= 15


def test_two_narrow_touching_digits_as_wide_as_one_round_digit_are_cut_by_their_row(mnist_test, classifier):
    """Narrow handwriting: two touching digits make a crop no wider than one digit may be, which
    the model reads as one digit surely (a real `40` read as a 4). The row's other digits say it
    is twice as wide as one of them. 40 rows of five digits at 0.6 of their width, apart but for
    the second and third (seed 7): 16 read exactly before the row's digits were asked."""
    rng = np.random.default_rng(7)
    pool = np.nonzero(mnist_test.labels != 1)[0]
    exact = 0
    for _ in range(40):
        idx = rng.choice(pool, 5)
        page, x = np.full((480, 640), 235, np.uint8), 150
        for k, i in enumerate(idx):
            width = _draw_ink(page, mnist_test.images[i], x, 180, 80, squeeze=0.6)
            x += int(width * 0.9) if k == 1 else width + 25
        text = read_digits(cv2.GaussianBlur(page, (0, 0), 0.7), classifier).text
        exact += text == "".join(str(mnist_test.labels[i]) for i in idx)
    assert exact >= 19, exact  # 21 now


def test_a_lone_wide_digit_is_cut_only_into_steadier_pieces(mnist_test, classifier):
    """A frame's only crop is most likely one digit: a wide 6 with a long tail read surer as a 6
    and a 5 than whole, and was cut though its pieces were no steadier under the variants. The
    300 photos of MNIST's wide digits (1.36-1.6 times as wide as tall, no 1s) read 11 as several
    digits before a lone crop up to ALONE_WIDE heights wide had to be cut into steadier pieces."""
    shapes = [np.nonzero(d > 30) for d in mnist_test.images]
    wide = [i for i, (ys, xs) in enumerate(shapes)
            if mnist_test.labels[i] != 1 and 1.36 <= (np.ptp(xs) + 1) / (np.ptp(ys) + 1) <= 1.6]
    several = 0
    for k in range(300):
        i = wide[k % len(wide)]
        photo = render_photo([mnist_test.images[i]], [int(mnist_test.labels[i])], np.random.default_rng(k), (640, 480))
        several += len(read_digits(photo.image, classifier).text) > 1
    assert several <= 10, several  # 9 now


def test_a_cut_along_a_path_goes_round_the_ink_a_straight_cut_crosses():
    ink = np.zeros((100, 120), np.uint8)
    ink[30:60, 44:56] = 255  # a stroke across the cut's column, in the middle rows
    path = _cut_path(ink, 50, 0, 120)
    assert ink[:, 50].any()
    assert not any(ink[y, x] for y, x in enumerate(path)), path
    assert np.abs(path - 50).max() <= 30  # near its column: PATH_REACH heights at most


def test_touching_digits_are_also_cut_along_a_path(mnist_test, classifier):
    """Touching digits overlap, and a straight cut gives a stroke of one to the other: 40
    numbers of three digits overlapping by a tenth read 21 exactly with straight cuts alone."""
    readings = _touching_numbers(mnist_test, classifier, 3, x=150, height=90)
    exact = sum(text == truth for truth, text in readings)
    assert exact >= 24, exact


def test_a_piece_of_a_cut_holding_two_digits_is_cut_again(mnist_test, classifier):
    """A cut may leave two touching digits in one piece (no column minimum between them at the
    whole crop's height), which reads as one digit as surely: none of these six forced touching
    photos read exactly before each piece as wide as two of its own height was tried again."""
    wanted = {16: "13792", 84: "7184", 137: "266", 157: "2122", 184: "6524", 224: "8728"}
    photos = list(make_field_photos(mnist_test.images, mnist_test.labels, max(wanted) + 1, seed=912, scene="touching"))
    assert {i: photos[i].text for i in wanted} == wanted
    texts = {i: read_digits(photos[i].image, classifier).text for i in wanted}
    assert sum(texts[i] == wanted[i] for i in wanted) >= 5, texts


def test_joined_zeros_meet_at_a_valley_of_their_outline_not_at_a_profile_minimum():
    """Two rings touching: the column profile is emptiest inside each ring, and at its most where
    they meet. Their upper outline dips and their lower one rises there."""
    ink = np.zeros((64, 130), np.uint8)
    cv2.circle(ink, (33, 32), 28, 255, 5)
    cv2.circle(ink, (89, 32), 28, 255, 5)  # the rings overlap around column 61
    profile = ink.astype(float).sum(axis=0)
    assert profile[61] > profile[33] and profile[61] > profile[89]
    assert abs(_outline_valleys(ink, 15)[0] - 61) <= 2


def test_joined_zeros_are_cut_apart(mnist_test, classifier):
    """40 numbers of a digit and two zeros, the second zero over the first's right 15% ("300",
    "3600"): 19 read exactly when cuts were tried at column-profile minima only."""
    rng = np.random.default_rng(3)
    zeros, others = np.nonzero(mnist_test.labels == 0)[0], np.nonzero(mnist_test.labels != 0)[0]
    exact = 0
    for _ in range(40):
        first, second = rng.choice(zeros, 2)
        lead = rng.choice(others)
        page = np.full((480, 640), 235, np.uint8)
        x = 170 + _draw_ink(page, mnist_test.images[lead], 150, 150, 90)
        x += int(_draw_ink(page, mnist_test.images[first], x, 150, 90) * 0.85)
        _draw_ink(page, mnist_test.images[second], x, 150, 90)
        exact += read_digits(cv2.GaussianBlur(page, (0, 0), 0.7), classifier).text == f"{mnist_test.labels[lead]}00"
    assert exact >= 33, exact  # 37 now


def test_four_touching_digits_wider_than_a_piece_may_be_are_read(mnist_test, classifier):
    """Four digits overlapping by a tenth make one piece up to three times as wide as tall. Wider
    than MAX_PIECE_ASPECT, it was left out whole: 4 of these 40 numbers read as nothing, 18
    exactly. A piece that tall for its pen is a row of touching digits, cut into up to four."""
    readings = _touching_numbers(mnist_test, classifier, 4, x=120, height=70)
    exact = sum(text == truth for truth, text in readings)
    empty = sum(text == "" for _, text in readings)
    assert empty == 0 and exact >= 19, (empty, exact)


def test_a_wide_crop_left_whole_is_never_sure():
    """Two touching digits the split could not separate read as one digit, often at 1.0."""
    blank = np.zeros((28, 28), np.uint8)
    crops = [DigitCrop(blank, (0, 0, 150, 100)), DigitCrop(blank, (200, 0, 70, 100))]
    caps = segmentation_doubt(crops, [False, False])
    assert caps[0] == DOUBT_SPLIT and caps[1] == 1.0


def test_a_narrow_stroke_right_against_its_neighbour_is_doubted(mnist_test, classifier):
    """An open 4 drawn as a curl and a stem with a hair between them reads as a sure 61; so does
    any 6 with a 1 that close. A hand leaves more room between two digits: there, both stay sure."""
    six, one = (mnist_test.images[np.nonzero(mnist_test.labels == d)[0][0]] for d in (6, 1))
    for gap, sure in ((0, False), (30, True)):  # 4 px and 34 px apart in the frame: 0.04 and 0.38 heights
        page = np.full((300, 500), 235, np.uint8)
        x = 150 + _draw_ink(page, six, 150, 100, 90) + gap
        _draw_ink(page, one, x, 100, 90)
        reading = read_digits(cv2.GaussianBlur(page, (0, 0), 0.7), classifier)
        sure_read = [d.confidence >= 0.9 for d in reading.digits]
        assert reading.text == "61" and sure_read == [sure, sure], (gap, reading.line())


@pytest.mark.parametrize("left, right", [(6, 4), (5, 8), (1, 7), (2, 0), (3, 5)])
def test_glued_digits_are_read_or_doubted(mnist_test, classifier, left, right):
    a, b = (np.nonzero(mnist_test.labels == d)[0][1] for d in (left, right))
    page = _page()
    _draw_digit(page, mnist_test.images[a], 200, 150, 120)
    _draw_digit(page, mnist_test.images[b], 265, 150, 120)  # touches or overlaps the first
    reading = read_digits(page, classifier)
    assert reading.text == f"{left}{right}" or all(d.confidence < 0.9 for d in reading.digits), reading.line()


@pytest.mark.parametrize("left, right", [(0, 0), (0, 8), (2, 2), (2, 8), (7, 7), (8, 3), (8, 8)])
def test_narrow_glued_digits_read_as_one_are_doubted(mnist_test, classifier, left, right):
    """A pair squeezed into a box hardly wider than one digit: the model reads one digit at ~1.0,
    but a cut reads as two digits just as surely, so either reading is a guess."""
    a, b = (np.nonzero(mnist_test.labels == d)[0][2] for d in (left, right))
    page = _page()
    _draw_digit(page, mnist_test.images[a], 200, 150, 120)
    _draw_digit(page, mnist_test.images[b], 240, 150, 120)
    reading = read_digits(page, classifier)
    assert reading.text == f"{left}{right}" or all(d.confidence < 0.9 for d in reading.digits), reading.line()


def test_digits_too_wide_to_split_make_the_reading_unsure(mnist_test, classifier):
    """Six digits run together are too wide to be cut; the digit beside them reads well, but
    the reading misses six digits, so it must not be sure."""
    page = _page()
    _draw_digit(page, mnist_test.images[3], 40, 150, 110)
    run = [i for i in range(10, 40) if mnist_test.labels[i] != 1][:6]  # a 1 would stand apart
    for k, index in enumerate(run):
        _draw_digit(page, mnist_test.images[index], 180 + 45 * k, 150, 110)
    found = locate_digits(page)
    assert found.unread and all(x >= 180 for x, _, _, _ in found.unread), found.unread
    reading = read_digits(page, classifier)
    assert reading.digits and all(d.confidence <= DOUBT_UNREAD for d in reading.digits), reading.line()
    assert not locate_digits(page[:, :170]).unread


def test_a_short_or_thin_one_is_doubted():
    """A 1 half as tall as its neighbours is likelier a tick or a form's divider; one drawn with
    a far thinner pen than theirs is likelier what line removal left of a ruled line."""
    eight = np.zeros((100, 60), np.uint8)
    cv2.ellipse(eight, (30, 27), (20, 22), 0, 0, 360, 255, 8)
    cv2.ellipse(eight, (30, 73), (24, 24), 0, 0, 360, 255, 8)
    stroke = np.zeros((100, 8), np.uint8)
    stroke[:, 1:7] = 255  # a 1 drawn with the same pen as the 8s
    blank = np.zeros((28, 28), np.uint8)

    def row(one: DigitCrop) -> list[DigitCrop]:
        return [DigitCrop(blank, (0, 0, 60, 100), eight), one, DigitCrop(blank, (100, 0, 60, 100), eight)]

    assert one_doubt(row(DigitCrop(blank, (80, 0, 8, 100), stroke)), [8, 1, 8]).tolist() == [1, 1, 1]
    short = DigitCrop(blank, (80, 40, 8, 45), stroke[:45])
    assert one_doubt(row(short), [8, 1, 8]).tolist() == [1.0, 0.5, 1.0]
    assert one_doubt(row(short), [8, 7, 8]).tolist() == [1, 1, 1], "only a 1 is doubted for it"
    hairline = np.zeros((100, 8), np.uint8)
    hairline[:, 3:5] = 255
    assert one_doubt(row(DigitCrop(blank, (80, 0, 8, 100), hairline)), [8, 1, 8]).tolist() == [1.0, 0.5, 1.0]


def test_faint_show_through_does_not_set_the_row_height(mnist_test):
    """A big faint shape (ink from the back of the page) is no digit; the small dark digit beside
    it must not be measured against its height and dropped as too small."""
    zero = np.nonzero(mnist_test.labels == 0)[0][0]
    page = _page()
    cv2.ellipse(page, (420, 240), (50, 110), 0, 0, 360, (190, 190, 190), 14)
    _draw_digit(page, mnist_test.images[zero], 200, 260, 40)
    (crop,) = find_digits(page)
    assert 200 <= crop.box[0] <= 240, crop.box


def test_a_small_old_style_zero_beside_tall_digits_is_kept(mnist_test, classifier):
    nine, zero = (np.nonzero(mnist_test.labels == d)[0][0] for d in (9, 0))
    page = _page()
    _draw_digit(page, mnist_test.images[nine], 150, 120, 160)
    _draw_digit(page, mnist_test.images[zero], 280, 190, 56)  # 0.35 of the 9's height, on the line
    _draw_digit(page, mnist_test.images[nine], 360, 120, 160)
    assert read_digits(page, classifier).text == "909"


def test_a_one_glued_to_its_neighbour_is_cut_off(mnist_test, classifier):
    """A 1 whose stroke runs 5 px into the digit beside it: the pair is no wider than one digit
    may be, so it was never tried as two, and read as the other digit alone (14 as 4). 72 pairs,
    the 1 first and last: 53 read exactly before the 1 was tried cut off at the side, 61 now."""
    ones = np.nonzero(mnist_test.labels == 1)[0]
    right = 0
    for other, k, first in itertools.product((0, 2, 3, 4, 5, 6, 7, 8, 9), range(4), (True, False)):
        one, digit = mnist_test.images[ones[k]], mnist_test.images[np.nonzero(mnist_test.labels == other)[0][k]]
        page = np.full((300, 500), 235, np.uint8)
        x = 150 + _draw_ink(page, one if first else digit, 150, 100, 100) - 5
        _draw_ink(page, digit if first else one, x, 100, 100)
        text = read_digits(cv2.GaussianBlur(page, (0, 0), 0.7), classifier).text
        right += text == (f"1{other}" if first else f"{other}1")
    assert right >= 58, right


def test_a_stem_is_not_cut_off_a_digit_as_a_one(mnist_test, classifier):
    """A 9's stem beside its loop, a 4's or a 7's, or a 5's upright: none of these 240 digits alone
    reads as two."""
    for digit in (0, 4, 5, 6, 7, 9):
        for index in np.nonzero(mnist_test.labels == digit)[0][:40]:
            page = np.full((300, 400), 235, np.uint8)
            _draw_ink(page, mnist_test.images[index], 150, 100, 100)
            text = read_digits(cv2.GaussianBlur(page, (0, 0), 0.7), classifier).text
            assert len(text) == 1, (digit, int(index), text)


def test_a_small_ring_is_a_zero_where_a_dot_as_tall_is_no_digit(mnist_test, classifier):
    """An old-style 0 a quarter of the row's height, open a little at the top, its box reaching
    into the 7's: kept as a digit of its own (not the 7's fragment, nor a stroke of it), while a
    full stop as tall is still no digit."""
    four, seven = (np.nonzero(mnist_test.labels == d)[0][0] for d in (4, 7))
    page = np.full((480, 640), 235, np.uint8)
    width = _draw_ink(page, mnist_test.images[four], 120, 150, 160)
    ring = 120 + width + 30
    cv2.ellipse(page, (ring, 235), (18, 19), 0, -80, 255, 40, 5)
    _draw_ink(page, mnist_test.images[seven], ring + 9, 150, 160)
    cv2.circle(page, (ring + 160, 290), 19, 40, -1)
    assert read_digits(page, classifier).text == "407"


def test_a_digit_broken_into_dashes_leaves_the_reading_in_doubt(mnist_test, classifier):
    """A faint pencilled 1 that the threshold broke into three short dashes: each too small
    for a digit, together as tall as one. The reading misses it, so it is not sure of itself;
    a full stop in the same place leaves it sure."""
    nine, four = (np.nonzero(mnist_test.labels == d)[0][0] for d in (9, 4))

    def page(mark: str) -> np.ndarray:
        picture = np.full((300, 620), 235, np.uint8)
        x = 60 + _draw_ink(picture, mnist_test.images[nine], 60, 100, 100) + 20
        x += _draw_ink(picture, mnist_test.images[four], x, 100, 100) + 20
        x += _draw_ink(picture, mnist_test.images[four], x, 100, 100) + 40
        if mark == "dashes":
            for k in range(3):
                cv2.line(picture, (x - 10 * k, 104 + 40 * k), (x - 10 * k - 3, 120 + 40 * k), 60, 6, cv2.LINE_AA)
        else:
            cv2.circle(picture, (x, 192), 6, 40, -1)
        return picture

    broken, stop = read_digits(page("dashes"), classifier), read_digits(page("dot"), classifier)
    assert broken.text == stop.text == "944"
    assert max(d.confidence for d in broken.digits) <= DOUBT_UNREAD < 0.9 <= min(d.confidence for d in stop.digits)


def test_a_small_stroke_touching_a_digit_from_beside_is_part_of_it(mnist_test, classifier):
    """The small closed top of a 4 (MNIST test #740) drawn apart from its stem, their boxes
    touching: too short to be a digit, it was left out, and the stem read as a sure 1 (`004`
    read `001`, all three digits at 1.00). Development photo: numbers, seed 5561, #326."""
    photo = next(itertools.islice(iter_photos(mnist_test.images, mnist_test.labels, 327, seed=5561,
                                              digits_per_photo=(2, 4)), 326, None))
    assert photo.text == "004"
    assert read_digits(photo.image, classifier).text == "004"


def test_small_marks_beside_a_number_are_not_digits(mnist_test, classifier):
    page = _page()
    _draw_digit(page, mnist_test.images[1], 150, 150, 100)  # 2
    cv2.circle(page, (262, 235), 5, (20, 20, 20), -1)  # a decimal point
    _draw_digit(page, mnist_test.images[2], 270, 150, 100)  # 1
    cv2.line(page, (390, 200), (430, 200), (20, 20, 20), 6)  # a dash
    assert read_digits(page, classifier).text == "21"


def test_agreement_lowers_confidence_of_what_is_not_a_digit(classifier, mnist_test):
    readings = [read_digits(cv2.cvtColor(255 - cv2.resize(im, (280, 280)), cv2.COLOR_GRAY2BGR), classifier)
                for im in mnist_test.images[:20]]
    assert np.mean([r.digits[0].confidence for r in readings if r.digits]) > 0.9
    blob = _page(300, 300)
    cv2.putText(blob, "$", (60, 250), cv2.FONT_HERSHEY_SIMPLEX, 8, (20, 20, 20), 12)
    reading = read_digits(blob, classifier)
    assert all(d.confidence < 0.9 for d in reading.digits)


def test_what_the_model_calls_no_digit_is_left_out_and_doubted():
    sure, flat = np.eye(10)[3], np.full(10, 0.1)
    crops = [DigitCrop(np.zeros((28, 28), np.uint8), (40 * i, 0, 30, 40)) for i in range(4)]
    kept, probs, split, doubt = _drop_not_digits(crops, [flat, sure, sure, sure], [False] * 4, [False] * 4)
    assert [c.box[0] for c in kept] == [40, 80, 120] and len(probs) == len(split) == 3
    assert doubt.tolist() == [0.1, 1.0, 1.0], "its neighbour is no surer than the left-out crop was"
    mark = DigitCrop(np.zeros((28, 28), np.uint8), (40, 10, 30, 20))  # half as tall as the digits beside it
    marked = [crops[0], mark, *crops[2:]]
    kept, _, _, doubt = _drop_not_digits(marked, [sure, flat, sure, sure], [False] * 4, [False] * 4)
    assert len(kept) == 3 and doubt.tolist() == [0.1, 0.1, 1.0]
    kept, _, _, doubt = _drop_not_digits(crops, [sure, flat, sure, sure], [False] * 4, [False] * 4)
    assert len(kept) == 4 and (doubt == 1).all(), "as tall as its neighbours, inside a number: a digit read badly"
    kept, _, _, doubt = _drop_not_digits(crops, [sure, np.full(10, NO_DIGIT)] * 2, [False] * 4, [False] * 4)
    assert len(kept) == 4 and (doubt == 1).all()
    _, _, _, doubt = _drop_not_digits(crops, [sure] * 4, [False] * 4, [False, True, False, False])
    assert doubt.tolist() == [1.0, DOUBT_SPLIT, 1.0, 1.0], "a crop that also reads as two digits is a guess"


def test_a_digit_inside_a_number_the_model_barely_reads_is_not_left_out_as_a_mark(mnist_test, classifier):
    """Numbers written small in a big picture (presentation `small-in-small`): the middle digit
    of `87157` and of `394` scores under NO_DIGIT, and was left out as a mark (`8717`, `34`)
    before a crop as tall as the digits beside it was kept."""
    kind = "small-in-small"
    photos = list(make_presentations(mnist_test.images, mnist_test.labels, kind, 100, 777 + KINDS.index(kind)))
    wanted = {9: "87157", 99: "394"}
    assert {i: photos[i].text for i in wanted} == wanted
    assert {i: read_digits(photos[i].image, classifier).text for i in wanted} == wanted


def test_a_last_digit_as_tall_as_the_one_before_is_not_left_out_as_a_mark(mnist_test, classifier):
    """A number's last crop that the model barely reads was left out as a mark (`79917` read
    `7991`); one as tall as the digit before it is kept. Presentation `small-in-small`, #73."""
    kind = "small-in-small"
    photo = list(make_presentations(mnist_test.images, mnist_test.labels, kind, 74, 777 + KINDS.index(kind)))[73]
    assert photo.text == "79917"
    assert read_digits(photo.image, classifier).text == "79917"


def test_an_unsure_first_digit_as_tall_as_the_next_is_not_left_out_as_a_sign(mnist_test, classifier):
    """A number's first crop that the model barely reads, and no variant agrees on, is left out as
    a currency sign; an odd first digit was too (`815` read `15`). A sign is drawn taller than the
    digits; a crop as tall as the digit after it is kept. Presentation `small-in-small`."""
    kind = "small-in-small"
    photos = list(make_presentations(mnist_test.images, mnist_test.labels, kind, 40, 777 + KINDS.index(kind)))
    wanted = {7: "815", 38: "57775"}
    assert {i: photos[i].text for i in wanted} == wanted
    assert {i: read_digits(photos[i].image, classifier).text for i in wanted} == wanted


@pytest.mark.parametrize("sign", ["$", "EUR"])
def test_a_currency_sign_before_a_number_is_left_out_or_doubted(mnist_test, classifier, sign):
    from edge_digits.field_photos import _mark

    page = _page()
    mark = _mark(sign, 100, 8)
    h, w = mark.shape
    region = page[150:150 + h, 80:80 + w]
    region[:] = np.minimum(region, (255 * (1 - mark[..., None])).astype(np.uint8))
    for k, x in enumerate((200, 290, 380)):
        _draw_digit(page, mnist_test.images[k + 3], x, 150, 100)
    truth = "".join(str(v) for v in mnist_test.labels[3:6])
    reading = read_digits(page, classifier)
    left_out = reading.text == truth
    doubted = reading.text[1:] == truth and reading.digits[0].confidence < 0.9
    assert left_out or doubted, reading.line()



def test_a_currency_sign_before_an_amount_is_not_its_first_digit(mnist_test, classifier):
    """A $ reads as a 5 and a € as an 8 or a 6, barely (top score under 0.7) and with no variant
    agreeing. Left in, the amount gained a first digit: 6 of these 24 read exactly before, 24 now.
    Development field seeds 557-558 (2,000 photos): 27 read exactly that did not, 3 no more."""
    from edge_digits.field_photos import _mark

    texts, truths = [], []
    for sign in ("$", "EUR"):
        for pen in (4, 8):
            for height in (48, 100):
                for k in (0, 6, 12):
                    page = _page(640, 300)
                    mark = _mark(sign, height, pen)
                    h, w = mark.shape
                    region = page[60:60 + h, 40:40 + w]
                    region[:] = np.minimum(region, (255 * (1 - mark[..., None])).astype(np.uint8))
                    for d in range(3):
                        _draw_digit(page, mnist_test.images[k + d], 40 + w + height // 4 + d * height * 4 // 5,
                                    60 + h // 10, height)
                    texts.append(read_digits(page, classifier).text)
                    truths.append("".join(str(v) for v in mnist_test.labels[k:k + 3]))
    assert sum(t == truth for t, truth in zip(texts, truths)) >= 21, list(zip(texts, truths))


def test_a_dollar_sign_read_as_an_unsure_five_is_left_out():
    """A $ reaching above and below the digit after it, read as an unsure 5, is a sign; a 5
    on the line with the digits after it, or read surely, is a digit."""
    after = DigitCrop(np.zeros((28, 28), np.uint8), (100, 50, 40, 60))
    dollar = DigitCrop(np.zeros((28, 28), np.uint8), (40, 40, 40, 80))
    five = DigitCrop(np.zeros((28, 28), np.uint8), (40, 52, 40, 58))
    assert _dollar([dollar, after], [5, 3], np.array([0.1, 1.0]))
    assert not _dollar([five, after], [5, 3], np.array([0.1, 1.0]))
    assert not _dollar([dollar, after], [5, 3], np.array([0.9, 1.0]))
    assert not _dollar([dollar, after], [6, 3], np.array([0.1, 1.0]))


def test_a_dollar_sign_the_model_half_believes_is_no_first_digit(mnist_test, classifier):
    """Forced punctuation photos with a $ before the amount that the model reads as a 5 at
    0.7-0.9 (over the SIGN_TOP that leaves out barer signs), unsure under the variants: none
    of these three read exactly before, each with a 5 in front."""
    wanted = {214: "69", 267: "607", 283: "4089"}
    photos = list(make_field_photos(mnist_test.images, mnist_test.labels, max(wanted) + 1, seed=909,
                                    scene="punctuation"))
    assert {i: photos[i].text for i in wanted} == wanted
    readings = {i: read_digits(photos[i].image, classifier) for i in wanted}
    assert {i: r.text for i, r in readings.items()} == wanted, {i: r.line() for i, r in readings.items()}


@pytest.mark.parametrize("amount", ["1500", "250", "3250"])
def test_a_slash_and_dash_closing_an_amount_are_not_read_surely_as_a_one(mnist_test, classifier, amount):
    """`1500/-`, as amounts are written on cheques in South Asia: the slash reads as a sure 1
    (`15001`, every digit at 1.0). A number's own last 1 may have a dash after it too (`1431,-`),
    so a 1 closing a number with a dash close after it is doubted, not left out."""
    for k in range(3):
        page, x = _page(), 40
        for d in amount:
            _draw_digit(page, mnist_test.images[int(np.nonzero(mnist_test.labels == int(d))[0][k])], x, 200, 80)
            x += 62
        cv2.line(page, (x + 40, 212), (x + 10, 268), (30, 30, 30), 6)  # the slash
        slashed = read_digits(cv2.GaussianBlur(page, (0, 0), 0.8), classifier)
        cv2.line(page, (x + 58, 240), (x + 90, 240), (30, 30, 30), 6)  # the dash
        reading = read_digits(cv2.GaussianBlur(page, (0, 0), 0.8), classifier)
        assert slashed.text == reading.text == amount + "1", (slashed.line(), reading.line())
        assert slashed.digits[-1].confidence > DOUBT_SPLIT, "without the dash, nothing to doubt"
        assert reading.digits[-1].confidence <= DOUBT_SPLIT, reading.line()


@pytest.mark.parametrize("gain", [0.25, 0.15])
def test_an_underexposed_photo_reads_like_the_photo(mnist_test, classifier, gain):
    """A photo taken in dim light: every grey level a quarter or less of the photo's. Its faint
    digits fell under the least contrast that counts as ink (18 grey levels, right for paper
    at 120 or brighter): 28 and 7 of these 40 numbers read exactly, against 38 in the photos.
    Dimmer paper now asks for proportionally less contrast."""
    photos = make_photos(mnist_test.images, mnist_test.labels, 40, seed=31, digits_per_photo=(2, 4))
    bright = sum(read_digits(p.image, classifier).text == p.text for p in photos)
    dim = sum(read_digits((p.image * gain).astype(np.uint8), classifier).text == p.text for p in photos)
    assert dim >= bright - 2, (dim, bright)


# --------------------------------------------------------------------------- training data from the field


def test_labelled_crops_match_the_truth(mnist_train):
    photos = list(make_field_photos(mnist_train.images, mnist_train.labels, 20, seed=5))
    pairs = [pair for p in photos for pair in labelled_crops(p)]
    assert len(pairs) >= 0.6 * sum(len(p.text) for p in photos)
    assert all(img.shape == (28, 28) and 0 <= label <= 9 for img, label in pairs)


def test_labelled_crops_can_keep_what_is_no_single_digit(mnist_train):
    photos = [field_photo([mnist_train.images[i] for i in range(k, k + 4)],
                          [int(v) for v in mnist_train.labels[k:k + 4]], np.random.default_rng(k), scene="touching")
              for k in range(0, 40, 4)]
    plain = [pair for p in photos for pair in labelled_crops(p)]
    pairs = [pair for p in photos for pair in labelled_crops(p, not_digits=True)]
    outliers = [img for img, label in pairs if label == NOT_A_DIGIT]
    assert outliers and len(pairs) > len(plain)
    for img in outliers:  # never a lone upright stroke: that is a 1 to the eye too
        ys, xs = np.nonzero(img > 64)
        assert xs.max() - xs.min() + 1 >= 0.35 * (ys.max() - ys.min() + 1)


def test_glued_pairs_are_wide_and_normalised(mnist_train):
    out = glued_pairs(mnist_train.images[:500], 40, np.random.default_rng(0))
    assert out.shape == (40, 28, 28) and out.dtype == np.uint8
    for img in out:
        ys, xs = np.nonzero(img)
        width, height = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
        assert 16 <= width <= 20 and height < width  # wider than tall, fitted by its width


def test_signs_are_cut_whole_by_the_pipeline_and_are_no_upright_stroke():
    from edge_digits.field_photos import drawn_signs

    out = drawn_signs(60, np.random.default_rng(0))
    assert out.shape == (60, 28, 28) and out.dtype == np.uint8
    again = drawn_signs(60, np.random.default_rng(0))
    assert np.array_equal(out, again), "deterministic by seed"
    for img in out:  # fitted into 20x20 as a crop is, never a lone upright stroke
        ys, xs = np.nonzero(img)
        width, height = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
        assert max(width, height) >= 16 and width >= 0.35 * height


def test_style_varied_digits_stay_mnist_like(mnist_train):
    out = style_varied(mnist_train.images[:30], np.random.default_rng(0))
    assert out.shape == (30, 28, 28) and out.dtype == np.uint8
    corr = [np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1]
            for a, b in zip(out, mnist_train.images[:30])]
    assert 0.3 < np.median(corr) < 0.98


def test_style_varied_ones_get_flags_and_nines_curled_feet(mnist_train):
    """Other writers' 1s have a long flag (read as 7s and 4s by a model that never saw one), and
    their 9s a foot curled back to the left (read as 3s)."""

    def widths(images):
        return np.median([np.ptp(np.nonzero(img > 64)[1]) + 1 for img in images])

    for digit in (1, 9):
        some = mnist_train.images[mnist_train.labels == digit][:200]
        plain = style_varied(some, np.random.default_rng(0))
        styled = style_varied(some, np.random.default_rng(0), np.full(len(some), digit))
        assert widths(styled) >= widths(plain) + 1, digit


def test_flagged_ones_carry_long_flags_beside_as_many_sevens(mnist_train):
    """The 1s drawn for training get a flag reaching well left of the stem; the 7s come
    alongside; the same seed draws the same crops."""
    images, labels = flagged_ones(mnist_train.images, mnist_train.labels, 60, np.random.default_rng(3))
    again, _ = flagged_ones(mnist_train.images, mnist_train.labels, 60, np.random.default_rng(3))
    assert images.shape == (120, 28, 28) and images.dtype == np.uint8 and np.array_equal(images, again)
    assert list(labels) == [1] * 60 + [7] * 60

    def aspect(some):  # width over height of the ink
        return np.median([np.ptp(np.nonzero(img > 64)[1]) / np.ptp(np.nonzero(img > 64)[0]) for img in some])

    plain = style_varied(mnist_train.images[mnist_train.labels == 1][:60], np.random.default_rng(3))
    assert aspect(images[:60]) >= aspect(plain) + 0.15


def test_curled_nines_end_in_a_wide_curl_beside_as_many_threes(mnist_train):
    """The 9s drawn for training carry ink low on the left, where an MNIST 9 has none."""
    images, labels = curled_nines(mnist_train.images, mnist_train.labels, 60, np.random.default_rng(3))
    again, _ = curled_nines(mnist_train.images, mnist_train.labels, 60, np.random.default_rng(3))
    assert images.shape == (120, 28, 28) and images.dtype == np.uint8 and np.array_equal(images, again)
    assert list(labels) == [9] * 60 + [3] * 60

    def low_left(some):  # inked pixels in the bottom-left corner of the 28×28 crop
        return np.median([(img[18:, :10] > 64).sum() for img in some])

    plain = style_varied(mnist_train.images[mnist_train.labels == 9][:60], np.random.default_rng(3))
    assert low_left(plain) == 0 and low_left(images[:60]) >= 8


def test_open_fours_are_open_where_the_nines_beside_them_are_closed(mnist_train):
    images, labels = open_fours(mnist_train.images, mnist_train.labels, 60, np.random.default_rng(3))
    again, _ = open_fours(mnist_train.images, mnist_train.labels, 60, np.random.default_rng(3))
    assert images.shape == (120, 28, 28) and np.array_equal(images, again)
    assert list(labels) == [4] * 60 + [9] * 60

    def closed(img):  # encloses some paper: a loop
        mask = cv2.copyMakeBorder((img > 100).astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
        cv2.floodFill(mask, None, (0, 0), 2, flags=4)
        return np.count_nonzero(mask == 0) >= 8

    assert sum(map(closed, images[:60])) <= 3 and sum(map(closed, images[60:])) >= 30


def test_data_field_writes_the_other_hands_for_training(tmp_path):
    from edge_digits.labelled import read_folder
    from tests.helpers import cli

    result = cli("data", "field", "--out", tmp_path / "hands", "--photos", "0", "--styled", "0", "--flagged", "5",
                 "--curled", "4", "--open-fours", "3", "--seed", "1")
    assert result.exit_code == 0, result.output
    assert result.output.endswith(
        "0 restyled digits, 10 flagged 1s and 7s, 8 curled 9s and 3s, 6 open 4s and 9s\n"), result.output
    labels = sorted(read_folder(tmp_path / "hands").labels.tolist())
    assert labels == sorted([1] * 5 + [7] * 5 + [9] * 4 + [3] * 4 + [4] * 3 + [9] * 3)


# --------------------------------------------------------------------------- the real development set

REAL_FLOOR = {"tune": 0.8, "report": 0.8}  # exact reads with the shipped model (83%, 87%): benchmarks/README.md


def test_real_development_set_is_complete_and_licensed():
    from edge_digits.benchmarks.reading_accuracy import REAL_SET, real_images

    rows = real_images()
    assert len(rows) >= 60
    assert all(row["file"].is_file() and row["text"].isdigit() for row in rows)
    sources = {row["source"] for row in rows}
    assert len(sources) >= 8
    assert max(sum(r["source"] == s for r in rows) for s in sources) <= 0.2 * len(rows)
    splits = {s: {r["split"] for r in rows if r["source"] == s} for s in sources}
    assert all(len(v) == 1 for v in splits.values()), "a source lies in one half only"
    listed = (REAL_SET / "SOURCES.md").read_text()
    assert all(s in listed for s in sources)


def test_real_development_set_reads_above_its_floor(classifier):
    from edge_digits.benchmarks.reading_accuracy import real_accuracy

    scores = real_accuracy(classifier)
    for split, floor in REAL_FLOOR.items():
        assert scores[split]["exact"] >= floor, (split, scores[split])
    assert scores["all"]["confident_exact"] >= 0.9, scores["all"]


# --------------------------------------------------------------------------- labelled folders and field training data


def test_data_field_writes_a_labelled_folder_train_reads(tmp_path):
    from edge_digits.labelled import folder_sha256, read_folder
    from tests.helpers import cli

    result = cli("data", "field", "--out", tmp_path / "field", "--photos", "10", "--styled", "20", "--seed", "3")
    assert result.exit_code == 0, result.output
    digits = read_folder(tmp_path / "field")
    assert len(digits) >= 30 and digits.images.shape[1:] == (28, 28)
    assert result.output == f"{len(digits)} crops in {tmp_path / 'field'}: {len(digits) - 20} from 10 field photos, " \
                            "20 restyled digits\n"
    assert len(folder_sha256(tmp_path / "field")) == 64


def test_not_digit_crops_train_towards_no_digit(tmp_path):
    from edge_digits.labelled import NOT_A_DIGIT as X
    from edge_digits.labelled import read_folder
    from edge_digits.train.augment import dataset
    from tests.helpers import cli

    result = cli("data", "field", "--out", tmp_path / "field", "--photos", "20", "--styled", "30", "--seed", "3",
                 "--not-digits", "--glued", "12")
    assert result.exit_code == 0, result.output
    digits = read_folder(tmp_path / "field")
    with_x = read_folder(tmp_path / "field", not_digits=True)
    cut = (with_x.labels == X).sum() - 12
    assert cut >= 1 and result.output.endswith(f"30 restyled digits, {cut} not digits (x), 12 glued digits (x)\n")
    assert (digits.labels >= 0).all() and (with_x.labels == X).sum() >= 10
    assert len(with_x) == len(digits) + (with_x.labels == X).sum()
    _, y = next(iter(dataset(with_x.images, with_x.labels, len(with_x), False, 0, shuffle=False)))
    y = y.numpy()
    assert np.allclose(y[with_x.labels == X], 0.1) and (y[with_x.labels >= 0].max(axis=1) == 1).all()
    run = cli("train", "--extra-data", tmp_path / "field", "--not-digits", "--epochs", "1", "--limit", "300",
              "--validation-split", "0", "--out", tmp_path / "run")
    assert run.exit_code == 0, run.output
    assert (tmp_path / "run" / "model.keras").is_file()


@pytest.mark.parametrize("labels, message", [
    (None, "no labels.csv"),
    ("name,label\na.png,1\n", "line 1: the header must be file,label"),
    ("file,label\na.png,12\n", "line 2: label '12' is not 0-9 or x"),
    ("file,label\n\nmissing.png,3\n", "line 3: missing.png is missing or not an image"),
    ("file,label\nx.png,x\n", "no labelled digits"),
])
def test_train_extra_data_refuses_a_bad_folder(tmp_path, labels, message):
    from tests.helpers import cli, one_line_error

    folder = tmp_path / "extra"
    folder.mkdir()
    if labels is not None:
        (folder / "labels.csv").write_text(labels)
    result = cli("train", "--extra-data", folder, "--epochs", "1", "--limit", "100", "--out", tmp_path / "run")
    assert result.exit_code == 2
    assert message in one_line_error(result)
    assert not (tmp_path / "run").exists()
