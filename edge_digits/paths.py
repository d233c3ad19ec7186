"""Where things live: run folders and the shipped release models."""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


def models_dir() -> Path:
    """The shipped models: `edge_digits/models` when installed, `models/` in a checkout."""
    try:
        import edge_digits.models as pkg

        return Path(next(iter(pkg.__path__)))
    except (ImportError, StopIteration):
        return MODELS_DIR


def default_model() -> Path | None:
    """The shipped int8 model, if this install has one."""
    path = models_dir() / "digits_int8.tflite"
    return path if path.is_file() else None


def next_run_dir(kind: str, root: str | Path = "runs") -> Path:
    """runs/<kind>/exp, exp2, exp3 ... (Ultralytics' convention): never overwrite a run."""
    base = Path(root) / kind
    n = 1
    while True:
        path = base / ("exp" if n == 1 else f"exp{n}")
        if not path.exists():
            return path
        n += 1
