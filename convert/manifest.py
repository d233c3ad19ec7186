"""manifest.json beside the models: what each file is, its sha256, and how well it verified.

The edge runner reads it to check a file before use; a model that fails its check is
never recorded, so the manifest only ever describes files that passed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from edge_digits.atomic import move_in, signals_deferred, write_text
from edge_digits.edge.runtime import Classifier, sha256_of


def read(path: str | os.PathLike) -> dict:
    """The manifest at `path`, or an empty one."""
    path = Path(path)
    if not path.is_file():
        return {"models": {}}
    try:
        manifest = json.loads(path.read_text())
    except ValueError:
        return {"models": {}}
    manifest.setdefault("models", {})
    return manifest


def finetune_record(keras_path: Path, sha256: str) -> dict | None:
    """What a fine-tuned model started from and learned from (base sha256, field data size and hash):
    the `finetune` record of the history.json `train` wrote beside it, when it describes this very file."""
    try:
        record = json.loads((Path(keras_path).parent / "history.json").read_text()).get("finetune")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(record, dict) or record.get("model_sha256") != sha256:
        return None
    return {key: record[key] for key in ("base_model", "base_sha256", "extra_data") if key in record}


def model_entry(model_file: Path, fmt: str, verification: dict, calibration: dict | None) -> dict:
    """One file's record: format, sha256, size, tensors with their quantization, figures."""
    classifier = Classifier(model_file, verify_manifest=False)
    entry = {
        "format": fmt,
        "sha256": sha256_of(model_file),
        "size_bytes": model_file.stat().st_size,
        "input": classifier.input.describe(),
        "output": classifier.output.describe(),
        "verification": verification,
    }
    if calibration is not None:
        entry["calibration"] = calibration
    return entry


def commit(staging: Path, out_dir: Path, header: dict, entries: dict[str, dict]) -> dict:
    """Move the staged models named in `entries` into `out_dir` and record them in its manifest.json.

    No moment leaves a model beside a manifest that contradicts it: first the manifest forgets the
    files about to change (a reader then checks nothing for them, and is never told a wrong sha256),
    then the files move in, then the manifest lists them. SIGINT/SIGTERM wait until all is done.
    Other files' entries are kept.
    """
    path = out_dir / "manifest.json"
    with signals_deferred():
        manifest = read(path)
        changing = [name for name in entries if name in manifest["models"]]
        if changing:
            for name in changing:
                del manifest["models"][name]
            _write(path, manifest)
        move_in(staging, out_dir, list(entries))
        _merge(manifest, header, entries)
        _write(path, manifest)
    return manifest


def update(path: Path, header: dict, entries: dict[str, dict]) -> dict:
    """Merge new entries into the manifest (other files' entries are kept) and write it atomically."""
    manifest = read(path)
    _merge(manifest, header, entries)
    _write(path, manifest)
    return manifest


def _merge(manifest: dict, header: dict, entries: dict[str, dict]) -> None:
    """The header (source, evaluation, versions) describes the folder's first .keras model: a
    second model converted into the same folder (models/digits_micro.keras beside digits.keras)
    keeps it, and its entries name their own source (`source_file`)."""
    if header and manifest.get("source", {}).get("file") in (None, header["source"]["file"]):
        if "finetune" not in header:
            manifest.pop("finetune", None)  # the previous model's, not this one's
        manifest.update(header)
    manifest["models"].update(entries)


def _write(path: Path, manifest: dict) -> None:
    write_text(path, json.dumps(manifest, indent=2, sort_keys=False) + "\n")
