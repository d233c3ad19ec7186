"""What the user asked `edge-digits benchmark` for, and the run configuration it becomes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .selection import select_models
from .suite import BenchConfig


@dataclass
class BenchOptions:
    """The benchmark command's options, one field per flag."""

    keras_path: Path | None = None
    tflite_paths: tuple[Path, ...] = ()
    test_csv: Path | None = None
    limit: int | None = None
    threads: tuple[int, ...] = (1, 2)
    runtimes: str = "litert"
    warmup: int = 20
    runs: int = 300
    keras_runs: int = 30
    photos: int = 300
    pipeline_frames: int = 300
    no_peers: bool = False
    no_cold_start: bool = False
    skip_failures: bool = False
    json_file: Path | None = None
    plot_file: Path | None = None
    min_accuracy: float | None = None


def bench_config(options: BenchOptions, default_keras: Path | None = None) -> BenchConfig:
    """Choose the models (BadInput for a named file that cannot run) and load the test images."""
    from edge_digits.data import load_digits

    models = select_models(options.keras_path, options.tflite_paths, options.skip_failures, default_keras)
    test = load_digits(options.test_csv, "test", need_labels=True).head(options.limit)
    return BenchConfig(models.keras, models.tflite, test, threads=list(options.threads),
                       runtimes=options.runtimes.split(","), warmup=options.warmup, runs=options.runs,
                       keras_runs=options.keras_runs, photos=options.photos, pipeline_frames=options.pipeline_frames,
                       cold_start=not options.no_cold_start, peers=not options.no_peers, reference=models.reference,
                       failed=models.failed)
