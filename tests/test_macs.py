"""The floor: MACs counted from the graph, and the int8 MAC rate read from /proc/cpuinfo text."""

from __future__ import annotations

import pytest

from edge_digits.benchmarks.macs import MacRate, int8_mac_rate, macs_per_image

# The seed CNN: 28·28·32·5·5 + 14·14·64·3·3·32 + 14·14·64·3·3·64 + 3136·256 + 256·10
SEED_MACS = 627_200 + 3_612_672 + 7_225_344 + 802_816 + 2_560


@pytest.mark.parametrize("fmt", ["float32", "int8", "dynamic", "float16"])
def test_every_format_counts_the_same_macs_as_the_keras_model(fmt, converted, tiny_model_path):
    assert macs_per_image(converted[0] / f"digits_{fmt}.tflite") == SEED_MACS
    assert macs_per_image(tiny_model_path) == SEED_MACS


def test_vnni_flags_decide_the_rate():
    text = "processor\t: 0\ncpu MHz\t\t: 2600.000\nflags\t\t: fpu sse4_1 avx2 avx512f avx512_vnni\n"
    rate = int8_mac_rate(text)
    assert rate == MacRate("avx512_vnni", 128, 2600.0)
    assert rate.macs_per_second == 128 * 2.6e9
    assert rate.floor_us(SEED_MACS) == pytest.approx(SEED_MACS / (128 * 2.6e3))
    assert rate.floor_us(SEED_MACS, cores=2) == pytest.approx(rate.floor_us(SEED_MACS) / 2)
    assert int8_mac_rate(text.replace(" avx512_vnni", "")) == MacRate("avx2", 32, 2600.0)
    assert int8_mac_rate(text.replace("avx512_vnni", "avx_vnni")) == MacRate("avx_vnni", 64, 2600.0)
    assert int8_mac_rate("flags\t\t: fpu\ncpu MHz\t\t: 1000\n") == MacRate("", 1, 1000.0)
    assert int8_mac_rate("flags\t\t: fpu avx512_vnni\n") is None  # no clock: no floor
