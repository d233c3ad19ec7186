"""What the user asked `edge-digits benchmark` for, and the run configuration it becomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .selection import select_models
from .suite import BenchConfig

# Command-line flags that are not BenchConfig settings, or that are its settings spelled the other way.
_OWN = ("keras_path", "tflite_paths", "test_csv", "limit", "skip_failures", "json_file", "plot_file", "min_accuracy")


@dataclass
class BenchOptions:
    """The benchmark command's options: which models and images, what to write, and the measurement
    settings (BenchConfig's keyword fields, whose defaults live there)."""

    keras_path: Path | None = None
    tflite_paths: tuple[Path, ...] = ()
    test_csv: Path | None = None
    limit: int | None = None
    skip_failures: bool = False
    json_file: Path | None = None
    plot_file: Path | None = None
    min_accuracy: float | None = None
    settings: dict = field(default_factory=dict)  # threads, runtimes, warmup, runs, keras_runs, photos, ...

    @classmethod
    def from_cli(cls, **flags) -> BenchOptions:
        """From the command's keyword arguments: --no-peers, --no-cold-start and --runtimes a,b become settings."""
        own = {name: flags.pop(name) for name in _OWN if name in flags}
        flags["peers"] = not flags.pop("no_peers", False)
        flags["cold_start"] = not flags.pop("no_cold_start", False)
        flags["tflm"] = not flags.pop("no_tflm", False)
        if "runtimes" in flags:
            flags["runtimes"] = flags["runtimes"].split(",")
        return cls(**own, settings=flags)


def bench_config(options: BenchOptions, default_keras: Path | None = None) -> BenchConfig:
    """Choose the models (BadInput for a named file that cannot run) and load the test images."""
    from edge_digits.data import load_digits

    models = select_models(options.keras_path, options.tflite_paths, options.skip_failures, default_keras)
    test = load_digits(options.test_csv, "test", need_labels=True).head(options.limit)
    return BenchConfig(models.keras, models.tflite, test, reference=models.reference, failed=models.failed,
                       **options.settings)
