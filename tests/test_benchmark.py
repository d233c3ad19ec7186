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
            "--runs", "20", "--keras-runs", "3", "--photos", "12", "--pipeline-frames", "20",
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
    assert any(n == "onnx-float32" for n, _ in names)  # measured, or "skipped: not installed"
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


def test_table_and_plot(bench):
    out, result = bench
    header = result.stdout.splitlines()[0]
    for column in ("model", "runtime", "thr", "size", "accuracy", "Δ Keras", "p50 µs", "p99 µs", "img/s"):
        assert column in header
    assert "speed-up at batch 1" in result.stdout and "vs Keras predict" in result.stdout
    assert "capture pipeline" in result.stdout and "cold start" in result.stdout
    assert "with one /stream.mjpg viewer" in result.stdout
    png = (out / "bench.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_min_accuracy_fails_the_run(converted):
    result = cli("benchmark", "--tflite", converted[0] / "digits_int8.tflite", "--limit", "200",
                 "--threads", "1", "--runs", "5", "--photos", "0", "--pipeline-frames", "0", "--no-cold-start",
                 "--min-accuracy", "0.999")
    assert result.exit_code == 1
    assert "below --min-accuracy 99.90%" in one_line_error(result)
    assert "tflite-int8" in result.stdout  # the table is still printed
