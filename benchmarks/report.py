"""The benchmark's table, speed-ups, JSON file and plot."""

from __future__ import annotations

import json
import os

from edge_digits.atomic import atomic_path, write_text


def _keras_accuracy(results: list[dict]) -> float | None:
    for row in results:
        if row["name"] == "keras-call" and row.get("accuracy") is not None:
            return row["accuracy"]
    return None


def _find(results: list[dict], name: str) -> dict | None:
    """The row called `name` (the one-thread one where there are several)."""
    rows = [r for r in results if r["name"] == name and r.get("latency_us")]
    return next((r for r in rows if r["threads"] == 1), rows[0] if rows else None)


def table(document: dict) -> str:
    """One row per model/runtime/threads, like `yolo benchmark`, then speed-ups and pipeline figures."""
    results = document["results"]
    keras_acc = _keras_accuracy(results)
    head = (f"{'model':<16} {'runtime':<14} {'thr':>3} {'size':>10} {'accuracy':>9} {'Δ Keras':>8} "
            f"{'photos':>7} {'p50 µs':>10} {'p99 µs':>10} {'img/s':>9}")
    lines = [document.get("reference") or "", head, "-" * len(head)]
    for r in results:
        if r.get("status"):
            lines.append(f"{r['name']:<16} {r['runtime']:<14} {r['threads']:>3}  {r['status']}")
            continue
        delta = "" if keras_acc is None else f"{100 * (r['accuracy'] - keras_acc):+.2f}"
        photos = "" if r.get("photo_accuracy") is None else f"{100 * r['photo_accuracy']:.1f}%"
        lines.append(
            f"{r['name']:<16} {r['runtime']:<14} {r['threads']:>3} {r['size_bytes'] / 1024:>6.0f} KiB "
            f"{100 * r['accuracy']:>8.2f}% {delta:>8} {photos:>7} {r['latency_us']['p50']:>10.1f} "
            f"{r['latency_us']['p99']:>10.1f} {r['throughput_ips']:>9.0f}"
        )
    lines.append("")
    lines.extend(speedups(results))
    lines.extend(same_precision(results))
    lines.extend(floor_lines(document))
    from .micro import lines as tflm_lines  # hook: the TFLite Micro section, when the run has one

    lines.extend(tflm_lines(document))
    for key, fmt in (
        ("pipeline", "capture pipeline ({model}, {threads} thread, {frames} frames 640x480): {fps} frames/s, "
                     "p50 {ms_p50} ms/frame, frames read exactly {frames_read_exactly:.1%}"),
        ("preview", "capture --serve ({model}, {frames} frames 640x480, median of {trials}): {wall[fps_served]} "
                    "frames/s, {wall[fps_viewer]} with one /stream.mjpg viewer (×{wall[viewer_ratio]}; "
                    "capture-thread CPU ×{thread_cpu[viewer_ratio]}, process CPU ×{process_cpu[viewer_ratio]})"),
        ("classify_overhead", "classify overhead over bare invoke() ({model}): {overhead_pct}% "
                              "({classify_us_p50} µs vs {invoke_us_p50} µs)"),
        ("cold_start", "edge cold start ({model}): {seconds_p50} s to first classification, "
                       "peak RSS {peak_rss_mb} MiB"),
    ):
        if key in document:
            lines.append(fmt.format(**document[key]))
    lines.extend(reading_lines(document))
    return "\n".join(lines)


def reading_lines(document: dict) -> list[str]:
    """Whole pictures read exactly: the real development set's halves and the field generator."""
    if "reading" not in document:
        return []
    from .reading_accuracy import table as reading_table

    r = document["reading"]
    sets = {f"real {name}": s for name, s in r.get("real", {}).items()}
    sets[f"field (seed {r['field']['seed']})"] = r["field"]
    return ["", f"pictures read ({r['model']}; confident: every digit >= {r['field']['threshold']}):",
            reading_table(sets)]


def speedups(results: list[dict]) -> list[str]:
    """p50 speed-up of each TFLite row (1 thread) against Keras predict, Keras call and ONNX Runtime."""
    refs = {label: _find(results, name) for label, name in
            (("Keras predict", "keras-predict"), ("Keras call", "keras-call"),
             ("ONNX Runtime float32", "onnx-float32"))}
    refs = {label: row for label, row in refs.items() if row}
    if not refs:
        return []
    lines = ["speed-up at batch 1 (p50), one thread: " + ", ".join(f"vs {label}" for label in refs)]
    for r in results:
        if r["name"].startswith("tflite-") and r["threads"] == 1 and r.get("latency_us"):
            ratios = "  ".join(f"{ref['latency_us']['p50'] / r['latency_us']['p50']:>7.1f}×" for ref in refs.values())
            lines.append(f"  {r['name']:<15} {r['runtime']:<12} {ratios}")
    return lines


PEERS = ("onnx", "openvino")


def _measured(results: list[dict], fmt: str, threads: int) -> list[dict]:
    return [r for r in results if r["format"] == fmt and r["threads"] == threads and r.get("latency_us")
            and r["name"].split("-")[0] in ("tflite", *PEERS)]


def same_precision(results: list[dict]) -> list[str]:
    """Our file on LiteRT against each peer runtime at the same precision and thread count, then
    which int8 runtime is fastest at batch 1 and by how much."""
    lines: list[str] = []
    for fmt in ("int8", "float32"):
        for threads in sorted({r["threads"] for r in results}):
            rows = _measured(results, fmt, threads)
            ours = next((r for r in rows if r["name"].startswith("tflite-")), None)
            others = [r for r in rows if not r["name"].startswith("tflite-")]
            if ours is None or not others:
                continue
            if not lines:
                lines.append("same precision, batch 1 (p50): our file on LiteRT against each peer")
            mine = ours["latency_us"]["p50"]
            ratios = "  ".join(f"vs {r['runtime']} {r['latency_us']['p50']:.1f} µs {r['latency_us']['p50'] / mine:.2f}×"
                               for r in others)
            lines.append(f"  {fmt:<8} {threads} thr  {ours['runtime']} {mine:.1f} µs  {ratios}")
    for threads in sorted({r["threads"] for r in results}):
        rows = sorted(_measured(results, "int8", threads), key=lambda r: r["latency_us"]["p50"])
        if len(rows) > 1:
            (best, fast), (second, slow) = ((r, r["latency_us"]["p50"]) for r in rows[:2])
            lines.append(f"  fastest int8 runtime, {threads} thread(s): {best['name']} on {best['runtime']} "
                         f"({fast:.1f} µs), {slow / fast:.2f}× ahead of {second['name']} on {second['runtime']} "
                         f"({slow:.1f} µs)")
    return lines


def floor_lines(document: dict) -> list[str]:
    """The hardware floor: MACs per image over the int8 MAC rate, and each int8 row against it."""
    f = document.get("floor")
    if not f:
        return []
    lines = [f"floor: {f['macs_per_image']:,} MACs per image (counted in {f['model']}); int8 rate "
             f"{f['macs_per_cycle']} MACs/cycle/core (assumed for {f['instruction']}) × {f['clock_mhz']:.0f} MHz "
             f"(/proc/cpuinfo) = {f['int8_gmacs_per_core']} GMAC/s a core → {f['floor_us_one_core']} µs an image "
             "on one core"]
    for r in document["results"]:
        if r["format"] == "int8" and r.get("latency_us"):
            floor_us = f["floor_us_one_core"] / r["threads"]
            p50 = r["latency_us"]["p50"]
            lines.append(f"  {r['name']:<15} {r['runtime']:<12} {r['threads']} thr  p50 {p50:.1f} µs = "
                         f"{p50 / floor_us:.2f}× the floor ({100 * floor_us / p50:.0f}% of peak)")
    return lines


def write_json(document: dict, path: str | os.PathLike) -> None:
    write_text(path, json.dumps(document, indent=2) + "\n")


def plot(document: dict, path: str | os.PathLike) -> None:
    """Latency distribution per model (box plot, log scale) and accuracy against size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in document["results"] if r.get("latency_us")]
    fig, (ax_lat, ax_acc) = plt.subplots(1, 2, figsize=(13, 5))
    labels = [f"{r['name']}\n{r['runtime']} ×{r['threads']}" for r in rows]
    stats = [{"label": label, "whislo": r["latency_us"]["min"], "q1": r["latency_us"]["p50"] - 0.5 *
              r["latency_us"]["std"], "med": r["latency_us"]["p50"], "q3": r["latency_us"]["p90"],
              "whishi": r["latency_us"]["p99"], "fliers": [r["latency_us"]["max"]]} for label, r in zip(labels, rows)]
    for s in stats:
        s["q1"] = max(s["whislo"], min(s["q1"], s["med"]))
    ax_lat.bxp(stats, orientation="horizontal", showfliers=True)
    ax_lat.set_xscale("log")
    ax_lat.set_xlabel("batch-1 latency, µs (min, p50, p90, p99, max)")
    ax_lat.set_title("Latency per model")
    ax_lat.tick_params(axis="y", labelsize=7)
    seen: set[str] = set()
    for r in rows:
        if r["name"] in seen:  # the same file at another thread count: same size and accuracy
            continue
        seen.add(r["name"])
        ax_acc.scatter(r["size_bytes"] / 1024, 100 * r["accuracy"], s=40)
        ax_acc.annotate(r["name"], (r["size_bytes"] / 1024, 100 * r["accuracy"]), fontsize=7,
                        xytext=(4, 2 + 8 * (len(seen) % 3)), textcoords="offset points")
    ax_acc.set_xscale("log")
    ax_acc.set_xlabel("size on disk, KiB")
    ax_acc.set_ylabel("MNIST test accuracy, %")
    ax_acc.set_title("Accuracy against size")
    ax_acc.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
