"""Latency statistics with the names LiteRT's benchmark_model uses."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def latency_stats(samples_us: list[float] | np.ndarray) -> dict[str, float]:
    """mean, std, min, p50, p90, p99, max in µs."""
    a = np.asarray(samples_us, dtype=np.float64)
    return {
        "mean": round(float(a.mean()), 2), "std": round(float(a.std()), 2), "min": round(float(a.min()), 2),
        "p50": round(float(np.percentile(a, 50)), 2), "p90": round(float(np.percentile(a, 90)), 2),
        "p99": round(float(np.percentile(a, 99)), 2), "max": round(float(a.max()), 2),
    }


def time_calls(fn: Callable[[], object], warmup: int, runs: int) -> list[float]:
    """Microseconds per call after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    samples = []
    clock = time.perf_counter
    for _ in range(runs):
        start = clock()
        fn()
        samples.append((clock() - start) * 1e6)
    return samples
