"""TFLite Micro export with the real TFLM interpreter (tflite-micro wheel), real LiteRT and a real g++."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from edge_digits.edge.runtime import sha256_of
from tests.helpers import cli, one_line_error

pytest.importorskip("tflite_micro", reason="the micro extra: pip install '.[micro]'")
GXX = shutil.which("g++")
needs_gxx = pytest.mark.skipif(GXX is None, reason="g++ not installed (.ci/run installs it)")
MODELS = os.path.join(os.path.dirname(__file__), "..", "models")

# MicroMutableOpResolver's Add...() methods as TFLM's micro_mutable_op_resolver.h declares them (a subset):
# the stub below has only these, so a wrongly named generated call does not compile.
TFLM_METHODS = ["AddAdd", "AddAveragePool2D", "AddConcatenation", "AddConv2D", "AddDepthwiseConv2D",
                "AddDequantize", "AddFullyConnected", "AddHardSwish", "AddLogistic", "AddMaxPool2D", "AddMean",
                "AddMul", "AddPad", "AddQuantize", "AddRelu", "AddRelu6", "AddReshape", "AddSoftmax", "AddTanh"]
RESOLVER_STUB = """\
// Stub of TFLM's header for a syntax check on a host without TFLM: same names, no kernels.
#pragma once
typedef enum { kTfLiteOk = 0, kTfLiteError = 1 } TfLiteStatus;
namespace tflite {
template <unsigned int tOpCount>
class MicroMutableOpResolver {
 public:
METHODS
};
}  // namespace tflite
""".replace("METHODS", "\n".join(f"  TfLiteStatus {m}() {{ return kTfLiteOk; }}" for m in TFLM_METHODS))


@pytest.fixture(scope="module")
def micro_keras(tmp_path_factory):
    """`train --arch micro` for real: two epochs on 4,000 MNIST images (seconds; enough steps for BatchNorm)."""
    out = tmp_path_factory.mktemp("micro_train")
    result = cli("train", "--arch", "micro", "--epochs", "2", "--limit", "4000", "--no-augment",
                 "--validation-split", "0", "--batch-size", "16", "--out", out)
    assert result.exit_code == 0, result.output
    return out / "model.keras"


@pytest.fixture(scope="module")
def exported(tmp_path_factory, micro_keras, eval_csv):
    """`convert --micro` on the freshly trained micro model: int8, then the TFLM export."""
    out = tmp_path_factory.mktemp("micro_export")
    result = cli("convert", "--model", micro_keras, "--micro", "--calibration-samples", "200",
                 "--eval-csv", eval_csv, "--out", out, "--name", "tiny")
    assert result.exit_code == 0, result.output
    return out, result


def test_micro_arch_is_small_and_cmsis_friendly():
    from edge_digits.train.model import build

    model = build("micro")
    assert model.name == "digits_micro" and model.count_params() == 33_882
    assert build().name == "digits_cnn"  # the seed stays the default
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [16, 32, 64] and all(c.kernel_size == (3, 3) for c in convs)


def test_convert_micro_writes_the_three_files_and_a_manifest_record(exported):
    out, result = exported
    model = out / "tiny_int8.tflite"
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "tiny_float32.tflite", "tiny_int8.cc",
                                                     "tiny_int8.h", "tiny_int8.tflite", "tiny_int8_ops.h"]
    micro = json.loads((out / "manifest.json").read_text())["models"]["tiny_int8.tflite"]["micro"]
    assert micro["flash_bytes"] == model.stat().st_size
    assert micro["ops"] == ["CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"]
    assert micro["resolver"] == ["AddConv2D", "AddMaxPool2D", "AddReshape", "AddFullyConnected", "AddSoftmax"]
    assert micro["macs_per_image"] == 1_844_800
    measured = micro["arena_measured_bytes"]
    assert micro["arena_bytes"] == -(-(measured + max(1024, measured // 10)) // 16) * 16
    assert micro["arena_bytes"] <= 32 * 1024
    check = micro["verification"]
    assert check["samples"] == 1000 and check["bit_exact"] and check["mismatches"] == 0
    assert check["accuracy"] > 0.85
    assert micro["input"] == {"dtype": "int8", "shape": [1, 28, 28, 1], "scale": pytest.approx(1 / 255),
                              "zero_point": -128}
    import tflite_micro

    assert micro["tflm_version"] == tflite_micro.__version__
    lines = result.stdout.splitlines()
    assert lines[-5] == (f"micro tiny_int8: {micro['flash_bytes']:,} bytes flash, arena {micro['arena_bytes']:,} "
                         f"bytes (measured {measured:,}), 5 ops (CONV_2D, MAX_POOL_2D, RESHAPE, FULLY_CONNECTED, "
                         f"SOFTMAX), 1,844,800 MACs/image")
    assert lines[-3:] == [f"wrote {out / name}" for name in ("tiny_int8.h", "tiny_int8.cc", "tiny_int8_ops.h")]


def test_ops_header_registers_exactly_the_models_ops(exported):
    out, _ = exported
    text = (out / "tiny_int8_ops.h").read_text()
    assert "using OpResolver = tflite::MicroMutableOpResolver<kNumOps>;" in text
    assert "constexpr unsigned int kNumOps = 5;" in text
    calls = [line.split("resolver.")[1].split("(")[0] for line in text.splitlines() if "resolver.Add" in line]
    assert calls == ["AddConv2D", "AddMaxPool2D", "AddReshape", "AddFullyConnected", "AddSoftmax"]


@needs_gxx
def test_generated_files_compile(exported, tmp_path):
    out, _ = exported
    stub = tmp_path / "tensorflow" / "lite" / "micro" / "micro_mutable_op_resolver.h"
    stub.parent.mkdir(parents=True)
    stub.write_text(RESOLVER_STUB)
    main = tmp_path / "check.cc"
    main.write_text('#include "tiny_int8.h"\n#include "tiny_int8_ops.h"\n'
                    "int main() { tiny_int8::OpResolver r; return tiny_int8::RegisterOps(r) == kTfLiteOk "
                    "&& kTinyInt8ArenaSize > 0 ? 0 : 1; }\n")
    for source in (out / "tiny_int8.cc", main):
        run = subprocess.run([GXX, "-std=c++17", "-fsyntax-only", "-Wall", "-Werror", f"-I{out}", f"-I{tmp_path}",
                              str(source)], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr


@needs_gxx
def test_the_c_array_is_the_tflite_file_byte_for_byte(exported, tmp_path):
    out, _ = exported
    program = tmp_path / "dump.cc"
    program.write_text('#include <cstdio>\n#include <cstdint>\n#include "tiny_int8.h"\n'
                       "int main(int, char** argv) {\n"
                       '  if (reinterpret_cast<std::uintptr_t>(g_tiny_int8_model_data) % 16 != 0) return 2;\n'
                       '  FILE* f = std::fopen(argv[1], "wb");\n'
                       "  std::fwrite(g_tiny_int8_model_data, 1, g_tiny_int8_model_data_len, f);\n"
                       "  return std::fclose(f);\n}\n")
    binary = tmp_path / "dump"
    build = subprocess.run([GXX, "-std=c++17", "-O0", f"-I{out}", str(program), str(out / "tiny_int8.cc"),
                            "-o", str(binary)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    subprocess.run([str(binary), str(tmp_path / "back.tflite")], check=True)
    assert (tmp_path / "back.tflite").read_bytes() == (out / "tiny_int8.tflite").read_bytes()


def test_convert_micro_on_an_existing_tflite(exported, tmp_path, eval_csv):
    out, _ = exported
    shutil.copy(out / "tiny_int8.tflite", tmp_path / "copy.tflite")
    result = cli("convert", "--tflite", tmp_path / "copy.tflite", "--micro", "--eval-csv", eval_csv)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "copy.cc").read_text().replace("copy", "tiny_int8") == (out / "tiny_int8.cc").read_text()
    entry = json.loads((tmp_path / "manifest.json").read_text())["models"]["copy.tflite"]
    assert entry["sha256"] == sha256_of(tmp_path / "copy.tflite") and entry["micro"]["verification"]["bit_exact"]


def _keras_to_int8(tmp_path, layers_between, seed: int = 1):
    """A small real int8 model with the given layers between the first conv and the classifier."""
    import keras
    from keras import layers

    from edge_digits.convert.tflite import convert
    from edge_digits.data import load_mnist

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(4, 3, strides=2), *layers_between,
                              layers.Flatten(), layers.Dense(10, activation="softmax")])
    path = tmp_path / "odd.tflite"
    path.write_bytes(convert(model, "int8", load_mnist("test").images[:50]))
    return path


def _fails_cleanly(tmp_path, *args) -> str:
    before = sorted(p.name for p in tmp_path.iterdir())
    result = cli("convert", "--micro", *args)
    assert result.exit_code == 1, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no file left behind
    return one_line_error(result)


def test_an_op_tflm_lacks_fails_in_one_line(tmp_path, eval_csv):
    from keras import layers

    path = _keras_to_int8(tmp_path, [layers.Activation("gelu")])
    import tflite_micro

    assert _fails_cleanly(tmp_path, "--tflite", path, "--eval-csv", eval_csv) == (
        f"Error: odd.tflite: TFLite Micro {tflite_micro.__version__} has no kernel for op GELU")


def test_a_mismatch_with_litert_fails_in_one_line(tmp_path, eval_csv):
    """TFLM's int8 TANH rounds differently from LiteRT's reference kernel on a few inputs."""
    from keras import layers

    path = _keras_to_int8(tmp_path, [layers.Activation("tanh")])
    error = _fails_cleanly(tmp_path, "--tflite", path, "--eval-csv", eval_csv)
    assert error.startswith("Error: odd.tflite: TFLite Micro output differs from LiteRT's reference kernels on ")
    assert " of 1000 images (first: #" in error


def test_an_arena_over_budget_fails_in_one_line(exported, tmp_path, eval_csv):
    out, _ = exported
    shutil.copy(out / "tiny_int8.tflite", tmp_path / "tiny.tflite")
    arena = json.loads((out / "manifest.json").read_text())["models"]["tiny_int8.tflite"]["micro"]["arena_bytes"]
    measured = json.loads((out / "manifest.json").read_text())["models"]["tiny_int8.tflite"]["micro"][
        "arena_measured_bytes"]
    assert _fails_cleanly(tmp_path, "--tflite", tmp_path / "tiny.tflite", "--eval-csv", eval_csv,
                          "--max-arena", arena - 1) == (
        f"Error: tiny.tflite: TFLite Micro arena {arena:,} bytes (measured {measured:,} + margin) "
        f"is over --max-arena {arena - 1:,}")


def test_a_float_model_is_bad_input(converted):
    out, _ = converted
    result = cli("convert", "--tflite", out / "digits_float32.tflite", "--micro")
    assert result.exit_code == 2
    assert one_line_error(result) == (
        f"Error: {out / 'digits_float32.tflite'}: TFLite Micro export needs a full-integer model (int8 input and "
        "output), this one takes float32: convert with --int8")


@pytest.mark.parametrize("args, message", [
    ((), "give either --model M.keras or --tflite F.tflite (the latter with --micro)"),
    (("--tflite", "x.tflite", "--int8", "--micro"),
     "--tflite exports an existing file for TFLite Micro: use it with --micro and no format flag"),
])
def test_convert_argument_errors(args, message):
    result = cli("convert", *args)
    assert result.exit_code == 2 and one_line_error(result) == f"Error: {message}"


def test_resolver_method_names_follow_tflm():
    from edge_digits.convert.micro import resolver_method

    names = {op: resolver_method(op) for op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D",
                                                "L2_POOL_2D", "BATCH_MATMUL", "PADV2", "ADD_N", "RELU6")}
    assert names == {"CONV_2D": "AddConv2D", "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
                     "FULLY_CONNECTED": "AddFullyConnected", "MAX_POOL_2D": "AddMaxPool2D", "L2_POOL_2D": "AddL2Pool2D",
                     "BATCH_MATMUL": "AddBatchMatMul", "PADV2": "AddPadV2", "ADD_N": "AddAddN", "RELU6": "AddRelu6"}


def test_macs_of_the_shipped_seed_model_by_hand():
    from edge_digits.convert.macs import count_macs

    conv1 = 28 * 28 * 32 * (5 * 5 * 1)
    conv2 = 14 * 14 * 64 * (3 * 3 * 32)
    conv3 = 14 * 14 * 64 * (3 * 3 * 64)
    dense = 7 * 7 * 64 * 256 + 256 * 10
    counted = count_macs(os.path.join(MODELS, "digits_int8.tflite"))
    assert counted["total"] == conv1 + conv2 + conv3 + dense == 12_270_592
    assert [o["op"] for o in counted["per_op"] if o["macs"]] == ["CONV_2D"] * 3 + ["FULLY_CONNECTED"] * 2
    assert count_macs(os.path.join(MODELS, "digits_float32.tflite"))["total"] == counted["total"]
    assert np.sum([o["macs"] for o in counted["per_op"]]) == counted["total"]


def test_mcu_estimate_is_macs_times_cycles_over_clock():
    from edge_digits.benchmarks.micro import estimate_ms

    assert estimate_ms(1_844_800) == {"Cortex-M4 @ 168 MHz": round(1_844_800 * 2 / 168e3, 2),
                                      "Cortex-M7 @ 216 MHz": round(1_844_800 / 216e3, 2)}


def test_benchmark_has_a_tflm_section_for_the_micro_model(exported, tmp_path):
    out, _ = exported
    shutil.copy(out / "tiny_int8.tflite", tmp_path / "digits_micro_int8.tflite")
    result = cli("benchmark", "--tflite", tmp_path / "digits_micro_int8.tflite", "--limit", "300", "--threads", "1",
                 "--warmup", "2", "--runs", "5", "--photos", "0", "--pipeline-frames", "0", "--no-cold-start",
                 "--field-photos", "0", "--no-onnx", "--json", tmp_path / "bench.json")
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "bench.json").read_text())
    assert [r["name"] for r in document["results"] if r["name"].startswith("tflite")] == ["tflite-micro-int8"]
    (row,) = document["tflm"]["rows"]
    micro = json.loads((out / "manifest.json").read_text())["models"]["tiny_int8.tflite"]["micro"]
    assert row["bit_exact"] and row["samples"] == 300 and row["mismatches"] == 0
    assert (row["arena_bytes"], row["flash_bytes"], row["macs_per_image"]) == (
        micro["arena_bytes"], micro["flash_bytes"], 1_844_800)
    estimates = " ".join(f"{ms:>13.2f}" for ms in row["mcu_estimate_ms"].values())
    assert (f"tflite-micro-int8     yes 300 {row['arena_bytes']:>9,} {row['arena_measured_bytes']:>9,} "
            f"{row['flash_bytes']:>9,}   1,844,800 {100 * row['accuracy']:>8.2f}% {estimates}") in result.stdout
    assert "* MCU ms is an estimate, not a measurement" in result.stdout
