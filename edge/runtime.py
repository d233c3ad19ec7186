"""A TFLite classifier for the device: LiteRT first, then tflite-runtime, then tf.lite.

It reads the input/output dtype, shape and quantization from the model (never assumes
them), turns uint8 pixels into the model's input through a 256-entry lookup table (exact
for float32, int8 and uint8 inputs, and nearly free), and returns probabilities. No
TensorFlow here unless the user forces `--runtime tensorflow` or has nothing else.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_digits.errors import BadInput
from edge_digits.formats import RUNTIME_MODULES, RUNTIMES, scale_pixels
from edge_digits.stderr import silenced_stderr


def interpreter_class(runtime: str | None = None) -> tuple[type, str]:
    """(Interpreter class, runtime name): the one asked for, or the first one installed."""
    names = [runtime] if runtime else list(RUNTIMES)
    for name in names:
        if name not in RUNTIME_MODULES:
            raise BadInput(f"unknown runtime {name!r}; choose from {', '.join(RUNTIMES)}")
        try:
            with silenced_stderr():  # TensorFlow's absl/oneDNN start-up lines
                module = importlib.import_module(RUNTIME_MODULES[name])
        except ImportError:
            continue
        if name == "tensorflow":
            if not runtime:
                warnings.warn("no LiteRT or tflite-runtime installed: falling back to tf.lite.Interpreter",
                              stacklevel=2)
            return module.lite.Interpreter, name
        return module.Interpreter, name
    if runtime:
        raise BadInput(f"runtime {runtime!r} is not installed (pip install '.[edge]' brings ai-edge-litert)")
    raise BadInput("no TFLite runtime installed: pip install ai-edge-litert")


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_manifest(path: Path, content: bytes, warn: Callable[[str], None] | None = None) -> dict | None:
    """The manifest entry for `path` if a manifest.json sits beside it; BadInput on a sha256 mismatch.

    `content` is the file as already read, so the model is read from disk once. A model that the
    manifest beside it does not list is used unchecked, and `warn` is told so.
    """
    manifest = path.parent / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        entry = json.loads(manifest.read_text()).get("models", {}).get(path.name)
    except (ValueError, AttributeError):
        raise BadInput(f"{manifest}: not a valid manifest (JSON)") from None
    if entry is None:
        if warn is not None:
            warn(f"{path.name} is not listed in {manifest}: its sha256 was not checked")
        return None
    if entry.get("sha256") != hashlib.sha256(content).hexdigest():
        raise BadInput(f"{path}: sha256 does not match {manifest}; the file was changed or damaged")
    return entry


@dataclass(frozen=True)
class TensorInfo:
    """What the model says about one tensor."""

    index: int
    dtype: np.dtype
    shape: tuple[int, ...]
    scale: float
    zero_point: int

    @property
    def quantized(self) -> bool:
        return self.dtype != np.float32 and self.scale != 0.0

    def describe(self) -> dict:
        out = {"dtype": np.dtype(self.dtype).name, "shape": list(self.shape)}
        if self.quantized:
            out.update(scale=self.scale, zero_point=self.zero_point)
        return out


def _tensor_info(detail: dict) -> TensorInfo:
    scale, zero_point = detail.get("quantization", (0.0, 0))
    return TensorInfo(detail["index"], np.dtype(detail["dtype"]), tuple(int(d) for d in detail["shape"]),
                      float(scale), int(zero_point))


def _output_table(info: TensorInfo) -> np.ndarray | None:
    """Probability for every raw 8-bit output byte (indexed by the byte as uint8)."""
    if not info.quantized:
        return None
    raw = np.arange(256, dtype=np.uint8).view(info.dtype).astype(np.float32)
    return ((raw - info.zero_point) * info.scale).astype(np.float32)


def _input_table(info: TensorInfo) -> np.ndarray:
    """Model input value for every uint8 pixel 0..255 (the model expects pixels / 255)."""
    x = scale_pixels(np.arange(256), "float64")
    if not info.quantized:
        return x.astype(info.dtype)
    limits = np.iinfo(info.dtype)
    q = np.round(x / info.scale + info.zero_point)
    return np.clip(q, limits.min, limits.max).astype(info.dtype)


class Classifier:
    """A .tflite digit classifier: `probabilities(images)` for uint8 (N, 28, 28) images."""

    def __init__(self, model_path: str | os.PathLike, runtime: str | None = None, threads: int = 1,
                 verify_manifest: bool = True):
        path = Path(model_path)
        if not path.is_file():
            raise BadInput(f"{path}: no such model file")
        content = path.read_bytes()
        if len(content) < 8 or content[4:8] != b"TFL3":
            raise BadInput(f"{path}: not a TFLite model (no TFL3 FlatBuffer identifier)")
        self.warnings: list[str] = []  # for the user, e.g. a model its manifest does not list
        self.manifest_entry = check_manifest(path, content, self.warnings.append) if verify_manifest else None
        cls, self.runtime = interpreter_class(runtime)
        try:
            # silenced: LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate" on every start
            with warnings.catch_warnings(), silenced_stderr():
                warnings.simplefilter("ignore")  # tf.lite's deletion notice; we warned above
                self.interpreter = cls(model_content=content, num_threads=threads)
                self.interpreter.allocate_tensors()
        except Exception as exc:  # runtimes raise ValueError/RuntimeError for damaged files
            reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
            raise BadInput(f"{path}: damaged or unsupported TFLite model: {reason}") from None
        self.path, self.threads, self.size_bytes = path, threads, len(content)
        inputs, outputs = self.interpreter.get_input_details(), self.interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise BadInput(f"{path}: expected one input and one output tensor")
        self.input, self.output = _tensor_info(inputs[0]), _tensor_info(outputs[0])
        if self.input.shape[1:] not in ((28, 28, 1), (28, 28)):
            raise BadInput(f"{path}: input shape {list(self.input.shape)} is not [N, 28, 28, 1]")
        if len(self.output.shape) != 2 or self.output.shape[-1] != 10:
            raise BadInput(f"{path}: output shape {list(self.output.shape)} is not [N, 10] (one score per digit)")
        self._table = _input_table(self.input)
        self._out_table = _output_table(self.output)
        self._batch = self.input.shape[0]
        self._one_shape = (1, *self.input.shape[1:])

    def _resize(self, batch: int) -> None:
        if batch != self._batch:
            self.interpreter.resize_tensor_input(self.input.index, [batch, *self.input.shape[1:]])
            with silenced_stderr():
                self.interpreter.allocate_tensors()
            self._batch = batch

    def _dequantize(self, raw: np.ndarray) -> np.ndarray:
        if self._out_table is None:
            return raw.astype(np.float32, copy=False)
        return self._out_table[raw.view(np.uint8)]

    def invoke_raw(self, x: np.ndarray) -> np.ndarray:
        """Run the interpreter on an already-converted input tensor (the bare invoke)."""
        interp = self.interpreter
        interp.set_tensor(self.input.index, x)
        interp.invoke()
        return interp.get_tensor(self.output.index)

    def to_input(self, images: np.ndarray) -> np.ndarray:
        """uint8 (N, 28, 28) pixels → the model's input tensor (dtype, quantization, shape)."""
        x = self._table[images]
        return x.reshape(len(images), *self.input.shape[1:])

    def probabilities(self, images: np.ndarray, batch_size: int = 1) -> np.ndarray:
        """(N, 10) float32 probabilities for uint8 images (N, 28, 28).

        batch_size > 1 resizes the interpreter's batch dimension (the files are converted
        with a fixed batch of 1 for speed on the device, and resize for evaluation).
        """
        images = np.asarray(images)
        if images.dtype != np.uint8:
            raise TypeError("images must be uint8 (N, 28, 28)")
        n = len(images)
        if n == 1 and self._batch == 1:  # the device's hot path: as little as possible around invoke()
            interp = self.interpreter
            interp.set_tensor(self.input.index, self._table[images].reshape(self._one_shape))
            interp.invoke()
            return self._dequantize(interp.get_tensor(self.output.index))
        out = np.empty((n, 10), np.float32)
        step = max(1, min(batch_size, n)) if n else 1
        for start in range(0, n, step):
            chunk = images[start : start + step]
            self._resize(len(chunk))
            out[start : start + len(chunk)] = self._dequantize(self.invoke_raw(self.to_input(chunk)))
        return out
