"""The benchmark's TFLite Micro section: every int8 model run in TFLM, and an MCU latency estimate.

Per int8 model: bit-exact with LiteRT's reference kernels (yes/no on the same test images),
the tensor arena TFLM's recording allocator measured (and with the export's margin), flash
bytes, and MACs per image counted from the graph. Nothing here runs on a microcontroller:
the latency is an estimate from MACs with the assumption printed beside it. TFLM's Python
interpreter runs reference kernels, so its own speed on this machine says nothing useful.
"""

from __future__ import annotations

from pathlib import Path

import click

from edge_digits.data import Digits

# CMSIS-NN int8 kernels, cycles per MAC (convolutions and fully connected), at a common clock.
MCUS = (
    {"core": "Cortex-M4", "mhz": 168, "cycles_per_mac": 2.0},  # e.g. STM32F407
    {"core": "Cortex-M7", "mhz": 216, "cycles_per_mac": 1.0},  # e.g. STM32F746
)
ASSUMPTION = ("MCU ms is an estimate, not a measurement: MACs x cycles/MAC / clock, with CMSIS-NN int8 kernels "
              "at ~2 cycles/MAC on Cortex-M4 (168 MHz) and ~1 on Cortex-M7 (216 MHz); the DSP extension's "
              "SMLAD does two 16-bit MACs per instruction, and Lai et al. 2018 (CMSIS-NN, arXiv:1801.06601) "
              "ran a ~12 M MAC CIFAR-10 CNN in ~0.1 s on a 216 MHz Cortex-M7. Pooling, softmax and TFLM's "
              "own overhead are left out.")


def estimate_ms(macs: int) -> dict[str, float]:
    """Milliseconds per image on each MCU of MCUS, from the MAC count alone."""
    return {f"{m['core']} @ {m['mhz']} MHz": round(macs * m["cycles_per_mac"] / (m["mhz"] * 1e3), 2) for m in MCUS}


def tflm_section(models: dict[str, Path], test: Digits, samples: int = 1000) -> dict:
    """The `tflm` part of the benchmark document: one row per int8 model (skipped rows say why)."""
    from edge_digits.convert.micro import check_micro

    rows, version = [], None
    for name, path in models.items():
        try:
            check = check_micro(path, test, samples)
        except click.ClickException as error:  # TFLM not installed, an op it lacks, a float model
            rows.append({"name": name, "model": path.name, "status": f"skipped: {error.message}"})
            continue
        version = check.tflm_version
        rows.append({"name": name, "model": path.name, "bit_exact": check.mismatches == 0,
                     "samples": check.samples, "mismatches": check.mismatches, "arena_bytes": check.arena_bytes,
                     "arena_measured_bytes": check.arena_measured_bytes, "flash_bytes": check.flash_bytes,
                     "macs_per_image": check.macs_per_image, "accuracy": round(check.accuracy, 6),
                     "mcu_estimate_ms": estimate_ms(check.macs_per_image)})
    return {"tflm_version": version, "reference": "LiteRT reference kernels", "assumption": ASSUMPTION,
            "mcus": list(MCUS), "rows": rows}


def _p50(results: list[dict], name: str) -> float | None:
    row = next((r for r in results if r["name"] == name and r["threads"] == 1 and r.get("latency_us")), None)
    return row["latency_us"]["p50"] if row else None


def lines(document: dict) -> list[str]:
    """The TFLM table under the benchmark table, and the micro model's latency against the seed's."""
    section = document.get("tflm")
    if not section:
        return []
    mcus = [f"{m['core']} ms*" for m in section["mcus"]]
    head = (f"{'TFLite Micro':<18} {'bit-exact':>10} {'arena B':>9} {'measured':>9} {'flash B':>9} "
            f"{'MACs/image':>11} {'accuracy':>9} " + " ".join(f"{m:>13}" for m in mcus))
    out = ["", f"TFLite Micro {section['tflm_version']} (bit-exact: same int8 outputs as "
               f"{section['reference']} on every image)", head]
    for r in section["rows"]:
        if r.get("status"):
            out.append(f"{r['name']:<18} {r['status']}")
            continue
        exact = f"{'yes' if r['bit_exact'] else 'NO'} {r['samples']}"
        estimates = " ".join(f"{ms:>13.2f}" for ms in r["mcu_estimate_ms"].values())
        out.append(f"{r['name']:<18} {exact:>10} {r['arena_bytes']:>9,} {r['arena_measured_bytes']:>9,} "
                   f"{r['flash_bytes']:>9,} {r['macs_per_image']:>11,} {100 * r['accuracy']:>8.2f}% {estimates}")
    out.append(f"* {section['assumption']}")
    micro, seed = _p50(document["results"], "tflite-micro-int8"), _p50(document["results"], "tflite-int8")
    if micro and seed:
        out.append(f"micro int8 vs seed int8, LiteRT batch 1, 1 thread, p50: {micro:.1f} µs vs {seed:.1f} µs "
                   f"(1/{seed / micro:.1f})")
    return out
