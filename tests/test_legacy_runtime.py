"""The converted files on the legacy tflite-runtime 2.14 (numpy < 2), in its own environment.

`make test` builds `.venv-legacy` with tflite-runtime==2.14.0, numpy<2 and
opencv-python-headless<4.12 and installs this package into it without dependencies.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edge_digits.edge.runtime import Classifier

ROOT = Path(__file__).resolve().parent.parent
LEGACY_PYTHON = Path(os.environ.get("EDGE_DIGITS_LEGACY_PYTHON", ROOT / ".venv-legacy" / "bin" / "python"))

SCRIPT = """
import json, sys
import numpy as np
from edge_digits.edge.runtime import Classifier
images = np.load(sys.argv[1])
out = {"numpy": np.__version__}
for path in sys.argv[2:]:
    classifier = Classifier(path, runtime="tflite-runtime")
    out[path] = {"runtime": classifier.runtime,
                 "labels": classifier.probabilities(images).argmax(1).tolist()}
print(json.dumps(out))
"""


def legacy_python() -> Path:
    if not LEGACY_PYTHON.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{LEGACY_PYTHON} missing: `make test` builds it")
        pytest.skip(f"{LEGACY_PYTHON} missing: run `make test` to build the legacy environment")
    return LEGACY_PYTHON


def test_float32_int8_dynamic_run_on_tflite_runtime_2_14(converted, mnist_test, tmp_path):
    python = legacy_python()
    out, _ = converted
    images = mnist_test.images[:300]
    np.save(tmp_path / "images.npy", images)
    files = [str(out / f"digits_{fmt}.tflite") for fmt in ("float32", "int8", "dynamic")]
    proc = subprocess.run([str(python), "-c", SCRIPT, str(tmp_path / "images.npy"), *files],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["numpy"].startswith("1.")
    for path in files:
        assert result[path]["runtime"] == "tflite-runtime"
        legacy = np.array(result[path]["labels"])
        litert = Classifier(path, runtime="litert").probabilities(images).argmax(1)
        assert (legacy == litert).mean() >= 0.99, path
        assert (legacy == mnist_test.labels[:300]).mean() > 0.85, path
