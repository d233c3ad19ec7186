"""The floor under every latency row: multiply-accumulates per image and the CPU's int8 MAC rate.

`macs_per_image` counts from the graph itself (the .tflite ops or the Keras layers), so a
changed architecture changes the figure. `int8_mac_rate` reads /proc/cpuinfo: the VNNI flags
decide the MACs a core can do per cycle (an assumption stated in the output), the clock is the
kernel's "cpu MHz". MACs / rate is the time no runtime can beat on one core.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# int8 multiply-accumulates per cycle per core, by the best dot-product instruction the CPU has
# (an assumption, printed with the figure). One VPDPBUSD on a 512-bit register does 64 u8×s8
# MACs; we assume two a cycle (AMD Zen 5 and Intel server cores with two 512-bit vector ports),
# and two 256-bit ones with AVX-VNNI alone. Without VNNI, AVX2 needs VPMADDUBSW + VPMADDWD + VPADDD
# for 32 MACs.
MACS_PER_CYCLE = (("avx512_vnni", 128), ("avx_vnni", 64), ("avx2", 32), ("sse4_1", 8))
SCALAR_MACS_PER_CYCLE = 1


def _tflite_macs(path: Path) -> int:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # No delegate, so the ops stay visible (XNNPACK would fold them into one DELEGATE node).
    interp = Interpreter(model_path=str(path),
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    shapes = {t["index"]: tuple(int(d) for d in t["shape"]) for t in interp.get_tensor_details()}
    total = 0
    for op in interp._get_ops_details():
        name, ins, outs = op["op_name"], list(op["inputs"]), list(op["outputs"])
        if name not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        out, weights = shapes[outs[0]], shapes[ins[1]]
        batch = out[0] if out else 1
        if name == "CONV_2D":  # weights [out_c, kh, kw, in_c]; out [n, h, w, out_c]
            total += int(np.prod(out)) * int(np.prod(weights[1:])) // batch
        elif name == "DEPTHWISE_CONV_2D":  # weights [1, kh, kw, out_c]
            total += int(np.prod(out)) * weights[1] * weights[2] // batch
        else:  # weights [units, inputs]
            total += weights[0] * weights[1]
    return total


def _keras_macs(path: Path) -> int:
    import keras

    from edge_digits.train.keras_io import load_model

    total = 0
    for layer in load_model(path).layers:
        if isinstance(layer, keras.layers.Conv2D):
            kh, kw, in_c, out_c = layer.kernel.shape
            _, h, w, _ = layer.output.shape
            total += h * w * out_c * kh * kw * in_c
        elif isinstance(layer, keras.layers.Dense):
            total += int(np.prod(layer.kernel.shape))
    return int(total)


def macs_per_image(path: str | os.PathLike) -> int:
    """Multiply-accumulates of one forward pass at batch 1 (convolutions and dense layers)."""
    path = Path(path)
    return _keras_macs(path) if path.suffix == ".keras" else _tflite_macs(path)


@dataclass(frozen=True)
class MacRate:
    """The machine's int8 MAC rate on one core, and how it was derived."""

    instruction: str  # the flag that decided macs_per_cycle, "" when none matched
    macs_per_cycle: int
    clock_mhz: float

    @property
    def macs_per_second(self) -> float:
        return self.macs_per_cycle * self.clock_mhz * 1e6

    def floor_us(self, macs: int, cores: int = 1) -> float:
        """The time the MACs alone take at this rate."""
        return macs / (self.macs_per_second * cores) * 1e6


def int8_mac_rate(cpuinfo: str | None = None) -> MacRate | None:
    """From /proc/cpuinfo (or the text given); None where there is no such file or no clock."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return None
    flags: set[str] = set()
    clock = None
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("flags", "Features") and not flags:
            flags = set(value.split())
        elif key == "cpu MHz" and clock is None:
            clock = float(value)
    if clock is None:
        return None
    flag, per_cycle = next(((f, n) for f, n in MACS_PER_CYCLE if f in flags), ("", SCALAR_MACS_PER_CYCLE))
    return MacRate(flag, per_cycle, clock)
