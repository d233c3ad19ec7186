"""The stand-alone benchmark commands (photo accuracy, soak, training speed, preview) on tiny inputs.

They measure; these tests only check that each runs end to end and reports what it says.
"""

from __future__ import annotations

import re

from click.testing import CliRunner

from edge_digits.benchmarks import photo_accuracy, presentation, preview, soak, train_speed


def test_photo_accuracy_reports_both_kinds(converted):
    model = converted[0] / "digits_int8.tflite"
    result = CliRunner().invoke(photo_accuracy.main, ["--model", str(model), "--single", "4", "--multi", "2",
                                                      "--field", "3", "--no-real", "--seed", "5"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"single digits {10}4 photos \(seed 5\): [\d.]+% read exactly, [\d.]+% right digit count, "
                        r"[\d.]+% digits right", lines[0]), lines[0]
    assert lines[1].startswith("2-4 digit numbers      2 photos (seed 6): ")
    assert lines[3] == "field photos (seed 7), per failure class:"
    assert lines[4].split() == ["images", "exact", "count", "conf.share", "conf.exact"]
    assert lines[5].startswith("all                 3 ")
    assert re.fullmatch(r"model digits_int8\.tflite, \d+ s", lines[-1])


def test_photo_accuracy_is_a_plain_function(converted):
    from edge_digits.edge.runtime import Classifier

    r = photo_accuracy.photo_accuracy(Classifier(converted[0] / "digits_int8.tflite"), 5, 1, (1, 1))
    assert set(r) == {"photos", "exact", "right_count", "digits_right"} and r["photos"] == 5
    assert 0 <= r["exact"] <= r["right_count"] <= 1


def test_presentation_reports_every_kind(converted):
    model = converted[0] / "digits_int8.tflite"
    result = CliRunner().invoke(presentation.main, ["--model", str(model), "--count", "3", "--seed", "2"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["pictures", "exact"]
    kinds = [re.fullmatch(r"(\S.*?) +3 +[\d.]+%", line).group(1) for line in lines[1:-1]]
    assert kinds == ["square-frame", "rows", "small-in-big", "tilted", "tilted, upright", "stretched-frame", "dim",
                     "dim, full light", "on-desk", "held-up", "enclosed", "printed", "black-and-white",
                     "black-and-white, grey", "small-in-small"]
    assert re.fullmatch(r"model digits_int8\.tflite, \d+ s", lines[-1])


def test_soak_samples_rss_three_times(converted):
    result = CliRunner().invoke(soak.main, ["--frames", "24", "--model", str(converted[0] / "digits_int8.tflite"),
                                            "--max-growth", "50"])
    assert result.exit_code == 0, result.output
    first, second = result.stdout.splitlines()
    assert re.fullmatch(r"24 frames in [\d.]+ s; RSS start [\d.]+ MiB, middle [\d.]+ MiB, end [\d.]+ MiB "
                        r"\([+-][\d.]+ MiB\)", first), first
    assert second.startswith("capture: 24 frames, ") and second.endswith("stopped by end of input")


def test_train_speed_is_a_click_command():
    result = CliRunner().invoke(train_speed.main, ["--epochs", "0"])
    assert result.exit_code == 2 and "Invalid value for '--epochs'" in result.output


def test_preview_is_a_click_command():
    result = CliRunner().invoke(preview.main, ["--trials", "0"])
    assert result.exit_code == 2 and "Invalid value for '--trials'" in result.output
