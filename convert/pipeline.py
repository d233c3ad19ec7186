"""`edge-digits convert`: Keras → TFLite formats, each verified, the good ones recorded."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge_digits import __version__
from edge_digits.atomic import atomic_path, staging_dir
from edge_digits.data import Digits
from edge_digits.edge.runtime import sha256_of
from edge_digits.errors import BadInput
from edge_digits.formats import DEFAULT_FORMATS, format_info, tflite_file_name

from . import manifest as manifest_io
from .tflite import balanced_sample, convert
from .verify import Verification, verify


@dataclass
class Converted:
    fmt: str
    path: Path
    size_bytes: int
    verification: Verification
    written: bool  # False when it failed --max-drop and the old file was kept


@dataclass
class ConvertReport:
    keras_accuracy: float
    results: list[Converted] = field(default_factory=list)
    manifest: Path | None = None

    def table(self) -> str:
        head = f"{'format':<8} {'file':<28} {'size':>10} {'accuracy':>9} {'Δ vs Keras':>11} {'agreement':>10}"
        lines = [head, f"{'keras':<8} {'':<28} {'':>10} {100 * self.keras_accuracy:>8.2f}% {'':>11} {'':>10}"]
        for r in self.results:
            v = r.verification
            note = "" if r.written else "  FAILED --max-drop: not written"
            lines.append(
                f"{r.fmt:<8} {r.path.name:<28} {r.size_bytes / 1024:>7.1f} KiB {100 * v.accuracy:>8.2f}% "
                f"{v.delta_vs_keras:>+10.2f}  {100 * v.agreement:>9.2f}%{note}"
            )
        return "\n".join(lines)

    @property
    def failed(self) -> list[Converted]:
        return [r for r in self.results if not r.written]


def _progress_bar(total: int):
    """A tqdm bar on stderr for calibration (quiet when tqdm is missing)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="calibrating int8", unit="img", file=sys.stderr, leave=False,
                disable=None)  # None: off when stderr is not a terminal (CI logs)


@dataclass(frozen=True)
class ConvertOptions:
    """What to make: the formats, the int8 file's input/output type and calibration size, the accuracy gate."""

    formats: tuple[str, ...] = DEFAULT_FORMATS
    io_type: str = "int8"  # int8, uint8 (raw 0-255 pixels in) or float32
    calibration_samples: int = 500
    max_drop: float = 0.5  # points below Keras beyond which a file is not written
    name: str | None = None  # file name stem (default: the .keras file's stem)


def convert_all(keras_path: Path, out_dir: Path, calibration: Digits, evaluation: Digits,
                options: ConvertOptions = ConvertOptions()) -> ConvertReport:
    """Convert, verify against Keras with LiteRT, write files that pass, update manifest.json."""
    import tensorflow as tf

    from edge_digits.train.fit import predict_probabilities
    from edge_digits.train.keras_io import load_model

    model = load_model(keras_path)
    out_dir = Path(out_dir)
    name = options.name or keras_path.stem
    if calibration.labels is not None:
        rows = balanced_sample(calibration.labels, options.calibration_samples)
    else:
        rows = np.random.default_rng(0).permutation(len(calibration))[:options.calibration_samples]
    calib_images = calibration.images[rows]
    calib_info = {"size": int(len(rows)), "source": calibration.source,
                  "class_balanced": calibration.labels is not None}

    keras_probs = predict_probabilities(model, evaluation.images)
    keras_accuracy = float((keras_probs.argmax(1) == evaluation.labels).mean())
    report = ConvertReport(keras_accuracy)
    source_sha = sha256_of(keras_path)
    entries: dict[str, dict] = {}
    # Every new file waits in a staging folder; the good ones move in with the manifest at the end,
    # so an interrupted run changes nothing and a finished one never leaves a file its manifest contradicts.
    with staging_dir(out_dir, f"{name}.convert") as staging:
        for fmt in options.formats:
            calibrated = format_info(fmt).calibrated
            bar = _progress_bar(len(calib_images)) if calibrated else None
            flatbuffer = convert(model, fmt, calib_images if calibrated else None, options.io_type,
                                 progress=bar.update if bar else None)
            if bar:
                bar.close()
            target = out_dir / tflite_file_name(name, fmt)
            staged = staging / target.name
            staged.write_bytes(flatbuffer)
            checked = verify(staged, evaluation.images, evaluation.labels, keras_probs)
            passed = checked.delta_vs_keras >= -options.max_drop
            if passed:
                entry = manifest_io.model_entry(staged, fmt, checked.as_dict(), calib_info if calibrated else None)
                entries[target.name] = {**entry, "source_file": keras_path.name, "source_sha256": source_sha}
            else:
                staged.unlink()  # keep the previous good file of that name
            report.results.append(Converted(fmt, target, len(flatbuffer), checked, passed))

        header = {
            "edge_digits_version": __version__,
            "tensorflow_version": tf.__version__,
            "source": {"file": keras_path.name, "sha256": source_sha},
            "evaluation": {"source": evaluation.source, "size": len(evaluation), "keras_accuracy": keras_accuracy},
        }
        finetune = manifest_io.finetune_record(keras_path, source_sha)
        if finetune is not None:
            header["finetune"] = finetune
        if entries:
            report.manifest = out_dir / "manifest.json"
            manifest_io.commit(staging, out_dir, header, entries)
    return report


def check_output_dir(out_dir: Path) -> None:
    """Fail early, in one line, when the output folder cannot be written."""
    if out_dir.exists() and not out_dir.is_dir():
        raise BadInput(f"{out_dir}: exists and is not a folder")
    with atomic_path(out_dir / ".write-check") as probe:
        probe.unlink()  # only the permission mattered
