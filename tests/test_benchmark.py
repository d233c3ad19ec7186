"""`edge-digits benchmark` on a tiny model with few runs: the JSON contract, the table, the plot.

No test asserts a speed: figures come from `edge-digits benchmark` on a quiet machine.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import cli, one_line_error

LATENCY_KEYS = {"mean", "std", "min", "p50", "p90", "p99", "max"}
ROW_KEYS = {"name", "format", "runtime", "threads", "size_bytes", "accuracy", "agreement", "latency_us",
            "throughput_ips", "load_s"}


@pytest.fixture(scope="module")
def bench(tmp_path_factory, converted, tiny_model_path):
    out = tmp_path_factory.mktemp("bench")
    models = converted[0]
    args = ["benchmark", "--model", tiny_model_path, "--limit", "300", "--threads", "1,2", "--warmup", "2",
            "--runs", "20", "--keras-runs", "3", "--photos", "12", "--pipeline-frames", "20", "--field-photos", "6",
            "--json", out / "bench.json", "--plot", out / "bench.png"]
    for fmt in ("float32", "int8", "dynamic", "float16"):
        args += ["--tflite", models / f"digits_{fmt}.tflite"]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return out, result


def test_json_follows_the_contract(bench):
    out, _ = bench
    document = json.loads((out / "bench.json").read_text())
    assert {"cpu", "cores", "versions"} <= set(document["machine"])
    names = [(r["name"], r["threads"]) for r in document["results"]]
    assert ("keras-predict", names[0][1]) in names and any(n == "keras-call" for n, _ in names)
    for fmt in ("float32", "int8", "dynamic", "float16"):
        assert (f"tflite-{fmt}", 1) in names and (f"tflite-{fmt}", 2) in names
    reading = document["reading"]
    assert reading["field"]["images"] == 6 and reading["real"]["all"]["images"] >= 60
    assert {"exact", "right_count", "confident_share", "confident_exact"} <= set(reading["real"]["report"])
    for peer in ("onnx-float32", "onnx-int8", "openvino-int8", "openvino-float32"):
        assert (peer, 1) in names and (peer, 2) in names  # measured, or "skipped: not installed"
    for row in document["results"]:
        assert ROW_KEYS <= set(row)
        if row.get("status"):
            assert row["status"].startswith("skipped")
            continue
        assert set(row["latency_us"]) == LATENCY_KEYS
        lat = row["latency_us"]
        assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
        assert 0 <= row["accuracy"] <= 1 and 0 <= row["agreement"] <= 1
        assert row["throughput_ips"] > 0 and row["load_s"] >= 0 and row["size_bytes"] > 0
        assert row["photo_accuracy"] is not None
    keras = next(r for r in document["results"] if r["name"] == "keras-call")
    assert keras["agreement"] == 1.0 and keras["accuracy"] > 0.8
    int8 = next(r for r in document["results"] if r["name"] == "tflite-int8")
    assert int8["runtime"] == "litert" and int8["agreement"] > 0.95
    assert document["pipeline"]["frames"] == 20 and document["pipeline"]["fps"] > 0
    preview = document["preview"]
    assert preview["frames"] == 20 and preview["frame_size"] == [640, 480]
    for clock in ("wall", "thread_cpu", "process_cpu"):
        assert min(preview[clock][f"fps_{v}"] for v in ("plain", "served", "viewer")) > 0
        assert preview[clock]["viewer_ratio"] == round(preview[clock]["fps_viewer"] / preview[clock]["fps_served"], 3)
    assert document["cold_start"]["peak_rss_mb"] > 0 and document["cold_start"]["seconds_p50"] > 0
    assert "overhead_pct" in document["classify_overhead"]
    # 28·28·32·25 + 14·14·64·9·32 + 14·14·64·9·64 + 3136·256 + 256·10, counted in the int8 file
    assert document["floor"]["macs_per_image"] == 12_270_592
    assert document["floor"]["model"] == "digits_int8.tflite" and document["floor"]["floor_us_one_core"] > 0


def test_table_and_plot(bench, tiny_model_path):
    out, result = bench
    reference, header = result.stdout.splitlines()[:2]
    assert reference == f"Keras reference: {tiny_model_path}"
    for column in ("model", "runtime", "thr", "size", "accuracy", "Δ Keras", "p50 µs", "p99 µs", "img/s"):
        assert column in header
    assert "speed-up at batch 1" in result.stdout and "vs Keras predict" in result.stdout
    assert "capture pipeline" in result.stdout and "cold start" in result.stdout
    lines = result.stdout.splitlines()
    same = lines.index("same precision, batch 1 (p50): our file on LiteRT against each peer")
    assert [line.split()[:3] for line in lines[same + 1 : same + 5]] == [
        ["int8", "1", "thr"], ["int8", "2", "thr"], ["float32", "1", "thr"], ["float32", "2", "thr"]]
    assert "vs onnxruntime" in lines[same + 1] and "vs openvino" in lines[same + 1]
    assert lines[same + 5].startswith("  fastest int8 runtime, 1 thread(s): ")
    floor = next(i for i, line in enumerate(lines) if line.startswith("floor: 12,270,592 MACs per image"))
    assert [line.split()[0] for line in lines[floor + 1 : floor + 7]] == [
        "tflite-int8", "tflite-int8", "onnx-int8", "onnx-int8", "openvino-int8", "openvino-int8"]
    assert "with one /stream.mjpg viewer" in result.stdout
    png = (out / "bench.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_min_accuracy_fails_the_run(converted):
    result = cli("benchmark", "--tflite", converted[0] / "digits_int8.tflite", "--limit", "200",
                 "--threads", "1", "--runs", "5", "--photos", "0", "--pipeline-frames", "0", "--no-cold-start",
                 "--field-photos", "0", "--no-peers", "--keras-runs", "2", "--min-accuracy", "0.999")
    assert result.exit_code == 1
    assert "below --min-accuracy 99.90%" in one_line_error(result)
    assert "tflite-int8" in result.stdout  # the table is still printed


QUICK_SETTINGS = {"threads": [1], "warmup": 1, "runs": 3, "keras_runs": 2, "photos": 0, "cold_start": False,
                  "peers": False}
QUICK = ("--limit", "50", "--threads", "1", "--warmup", "1", "--runs", "3", "--keras-runs", "2", "--photos", "0",
         "--pipeline-frames", "0", "--field-photos", "0", "--no-cold-start", "--no-peers")


@pytest.fixture(scope="module")
def wrong_shape_tflite(tmp_path_factory):
    """A valid TFLite file for 16×16 inputs: runs, but is not a digit classifier for 28×28."""
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    path = tmp_path_factory.mktemp("wrong") / "wrong_float32.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


@pytest.mark.parametrize("problem", ["missing", "truncated", "wrong shape"])
def test_a_named_model_that_cannot_run_is_an_error(problem, converted, tmp_path, wrong_shape_tflite):
    good = converted[0] / "digits_int8.tflite"
    bad = {"missing": tmp_path / "gone_float32.tflite", "wrong shape": wrong_shape_tflite,
           "truncated": tmp_path / "cut_float32.tflite"}[problem]
    if problem == "truncated":
        bad.write_bytes((converted[0] / "digits_float32.tflite").read_bytes()[:5000])
    reason = {"missing": "no such model file",
              "truncated": "damaged or unsupported TFLite model",
              "wrong shape": "input shape [1, 16, 16, 1] is not [N, 28, 28, 1]"}[problem]
    result = cli("benchmark", "--tflite", good, "--tflite", bad, *QUICK, "--min-accuracy", "0.5")
    assert result.exit_code == 2
    error = one_line_error(result)
    assert error.startswith(f"Error: {bad}: {reason}") and error.endswith("(--skip-failures to benchmark the others)")
    assert result.stdout == ""  # nothing was measured


def test_skip_failures_benchmarks_the_others(converted, tmp_path):
    bad = tmp_path / "cut_float32.tflite"
    bad.write_bytes((converted[0] / "digits_float32.tflite").read_bytes()[:5000])
    result = cli("benchmark", "--tflite", converted[0] / "digits_int8.tflite", "--tflite", bad, *QUICK,
                 "--skip-failures", "--min-accuracy", "0.5")
    assert result.exit_code == 0, result.output
    skipped = next(line for line in result.stdout.splitlines() if line.startswith("tflite-float32"))
    assert skipped.split()[1:3] == ["-", "0"] and f"skipped: {bad}: damaged or unsupported" in skipped
    assert any(line.startswith("tflite-int8") and "%" in line for line in result.stdout.splitlines())


def test_tflite_alone_compares_with_the_default_keras_model(converted):
    from edge_digits.paths import models_dir

    default = models_dir() / "digits.keras"
    assert default.is_file()  # the checkout ships it
    result = cli("benchmark", "--tflite", converted[0] / "digits_int8.tflite", *QUICK)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Keras reference: {default} (default)"
    assert [line.split()[0] for line in lines[3:6]] == ["keras-predict", "keras-call", "tflite-int8"]


def test_without_a_keras_model_the_header_says_so(converted, tmp_path):
    from edge_digits.benchmarks.options import BenchOptions, bench_config
    from edge_digits.benchmarks.report import table
    from edge_digits.benchmarks.suite import run_benchmark

    options = BenchOptions(tflite_paths=(converted[0] / "digits_int8.tflite",), limit=30,
                           settings=dict(QUICK_SETTINGS, pipeline_frames=0))
    document = run_benchmark(bench_config(options, default_keras=tmp_path / "none.keras"), log=lambda _: None)
    lines = table(document).splitlines()
    assert lines[0] == "no Keras reference was given (--model): no Δ Keras or agreement"
    assert lines[3].split()[:2] == ["tflite-int8", "litert"] and lines[4] == ""


def test_the_temporary_folder_is_removed_also_on_error(converted, tmp_path, monkeypatch):
    import tempfile

    from edge_digits.benchmarks.options import BenchOptions, bench_config
    from edge_digits.benchmarks.suite import run_benchmark

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    config = bench_config(BenchOptions(tflite_paths=(converted[0] / "digits_int8.tflite",), limit=20,
                                       settings=dict(QUICK_SETTINGS, pipeline_frames=5)),
                          default_keras=tmp_path / "none.keras")
    run_benchmark(config, log=lambda _: None)  # the pipeline's video was written in it
    assert list(tmp_path.iterdir()) == []

    def interrupt(message):
        if message.startswith("capture pipeline"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_benchmark(config, log=interrupt)
    assert list(tmp_path.iterdir()) == []
