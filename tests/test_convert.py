"""The converter with real TensorFlow and real LiteRT: every format, verified, with a manifest."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from edge_digits.edge.runtime import Classifier, sha256_of
from tests.helpers import cli, one_line_error


def test_every_format_runs_on_litert_and_agrees_with_keras(converted, tiny_run, mnist_test):
    from edge_digits.train.fit import predict_probabilities

    out, result = converted
    images = mnist_test.images[5000:5500]  # outside the verification slice
    keras_labels = predict_probabilities(tiny_run.model, images).argmax(1)
    for fmt in ("float32", "int8", "dynamic", "float16"):
        classifier = Classifier(out / f"digits_{fmt}.tflite", runtime="litert")
        assert classifier.runtime == "litert"
        labels = classifier.probabilities(images).argmax(1)
        assert (labels == keras_labels).mean() >= 0.98, fmt
        assert fmt in result.stdout


def test_table_lists_size_accuracy_delta_agreement(converted):
    _, result = converted
    header = result.stdout.splitlines()[0]
    for column in ("file", "size", "accuracy", "Δ vs Keras", "agreement"):
        assert column in header


def test_manifest_matches_the_files(converted, tiny_model_path):
    out, _ = converted
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["source"]["sha256"] == sha256_of(tiny_model_path)
    assert manifest["tensorflow_version"] and manifest["edge_digits_version"]
    assert set(manifest["models"]) == {f"digits_{f}.tflite" for f in ("float32", "int8", "dynamic", "float16")}
    for name, entry in manifest["models"].items():
        path = out / name
        assert entry["sha256"] == sha256_of(path) and entry["size_bytes"] == path.stat().st_size
        classifier = Classifier(path)
        assert entry["input"] == classifier.input.describe()
        assert entry["output"] == classifier.output.describe()
        assert set(entry["verification"]) >= {"accuracy", "delta_vs_keras", "agreement", "max_abs_prob_diff"}
    int8 = manifest["models"]["digits_int8.tflite"]
    assert int8["input"]["dtype"] == "int8"
    assert int8["input"]["scale"] == pytest.approx(1 / 255) and int8["input"]["zero_point"] == -128
    assert int8["calibration"]["size"] == 200 and int8["calibration"]["source"] == "mnist:train"
    assert not [p for p in os.listdir(out) if p.startswith(".")]  # no temp files left


def test_int8_is_small_and_fixed_batch_but_resizable(converted, mnist_test):
    out, _ = converted
    size = {f: (out / f"digits_{f}.tflite").stat().st_size for f in ("float32", "int8")}
    assert size["int8"] <= 0.30 * size["float32"]
    classifier = Classifier(out / "digits_int8.tflite")
    assert classifier.input.shape == (1, 28, 28, 1)  # fixed batch: full speed on tflite-runtime
    single = classifier.probabilities(mnist_test.images[:64], batch_size=1)
    batched = classifier.probabilities(mnist_test.images[:64], batch_size=64)
    np.testing.assert_allclose(single, batched, atol=1e-6)


def test_builtin_ops_only(converted):
    out, _ = converted
    for fmt in ("float32", "int8", "dynamic", "float16"):
        content = (out / f"digits_{fmt}.tflite").read_bytes()
        assert b"Flex" not in content, fmt  # no Select TF ops
        assert b"StatelessRandom" not in content and b"RandomUniform" not in content


def test_uint8_io_takes_raw_pixels(tmp_path, tiny_model_path, eval_csv, mnist_test):
    result = cli("convert", "--model", tiny_model_path, "--int8", "--io", "uint8", "--calibration-samples",
                 "100", "--eval-csv", eval_csv, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    classifier = Classifier(tmp_path / "model_int8.tflite")
    assert classifier.input.dtype == np.uint8 and classifier.input.zero_point == 0
    labels = classifier.probabilities(mnist_test.images[:500]).argmax(1)
    assert (labels == mnist_test.labels[:500]).mean() > 0.9


def test_max_drop_failure_keeps_the_previous_file(tmp_path, tiny_model_path, eval_csv):
    first = cli("convert", "--model", tiny_model_path, "--int8", "--calibration-samples", "50",
                "--eval-csv", eval_csv, "--out", tmp_path)
    assert first.exit_code == 0, first.output
    before = (tmp_path / "model_int8.tflite").read_bytes()
    manifest_before = (tmp_path / "manifest.json").read_text()
    # A calibration set of one blank image ruins the int8 ranges: accuracy must collapse.
    blank = tmp_path / "blank.csv"
    blank.write_text(",".join(["0"] * 784) + "\n")
    failed = cli("convert", "--model", tiny_model_path, "--int8", "--calibration-csv", blank,
                 "--eval-csv", eval_csv, "--out", tmp_path, "--max-drop", "0.5")
    assert failed.exit_code == 1
    assert "dropped more than 0.5 points" in one_line_error(failed)
    assert "FAILED" in failed.stdout
    assert (tmp_path / "model_int8.tflite").read_bytes() == before
    assert (tmp_path / "manifest.json").read_text() == manifest_before


def test_bad_inputs_are_one_line_errors(tmp_path, tiny_model_path):
    import keras

    cases = []
    cases.append((["--model", tmp_path / "missing.keras"], "no such model file"))
    (tmp_path / "corrupt.keras").write_bytes(b"PK\x03\x04 truncated")
    cases.append((["--model", tmp_path / "corrupt.keras"], "not a"))
    wrong = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    wrong.save(tmp_path / "wrong.keras")
    cases.append((["--model", tmp_path / "wrong.keras"], "input shape"))
    (tmp_path / "a_file").write_text("x")
    cases.append((["--model", tiny_model_path, "--out", tmp_path / "a_file" / "sub"], "cannot write"))
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("1,2,3\n")
    cases.append((["--model", tiny_model_path, "--calibration-csv", bad_csv], "columns"))
    for args, expected in cases:
        out = tmp_path / "out"
        result = cli("convert", "--out", out, *args) if "--out" not in args else cli("convert", *args)
        assert result.exit_code == 2, (args, result.output)
        assert expected in one_line_error(result), args
        assert not list(out.glob("*.tflite")) if out.exists() else True


# ---------------------------------------------------------------- issue 13: interruptions


@pytest.fixture(scope="module")
def other_model(tmp_path_factory, tiny_model_path):
    """The tiny model with a shifted output bias: every converted file differs from the tiny model's."""
    from edge_digits.train.keras_io import load_model, save_model

    model = load_model(tiny_model_path)
    weights = model.get_weights()
    weights[-1] = weights[-1] + 0.01
    model.set_weights(weights)
    return save_model(model, tmp_path_factory.mktemp("other") / "other.keras")


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_interrupted_convert_leaves_models_and_manifest_consistent(signame, tmp_path, converted, other_model,
                                                                    eval_csv):
    import shutil
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "models"
    shutil.copytree(converted[0], out)  # a previous conversion: four models and their manifest
    proc = subprocess.Popen([sys.executable, "-m", "edge_digits", "convert", "--model", str(other_model),
                             "--float32", "--int8", "--calibration-samples", "50", "--eval-csv", str(eval_csv),
                             "--out", str(out), "--name", "digits"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    # Wait until the new int8 file is being verified: the float32 one is finished by then.
    while not [p for p in out.rglob("*digits_int8*") if p != out / "digits_int8.tflite"]:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(getattr(signal, signame))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == {"SIGINT": 1, "SIGTERM": 143}[signame], err  # click's "Aborted!" for Ctrl-C
    assert "Traceback" not in err.decode()
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in converted[0].iterdir())  # no temp files
    manifest = json.loads((out / "manifest.json").read_text())
    for model in out.glob("*.tflite"):
        Classifier(model)  # raises when the manifest's sha256 contradicts the file
        if model.name in manifest["models"]:
            assert manifest["models"][model.name]["sha256"] == sha256_of(model)


def test_rejected_convert_leaves_no_empty_out_folder(tmp_path, tiny_model_path):
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("1,2,3\n")
    for args in (["--model", tiny_model_path, "--calibration-csv", bad_csv], ["--model", tmp_path / "no.keras"]):
        result = cli("convert", *args, "--out", tmp_path / "new" / "models")
        assert result.exit_code == 2
        one_line_error(result)
        assert not (tmp_path / "new" / "models").exists()
