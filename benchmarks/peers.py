"""Other runtimes on the same model at the same precision: ONNX Runtime and OpenVINO.

A fair comparison gives each peer what ours has: the same weights, the same int8 calibration
images (the class-balanced sample recorded in manifest.json), an explicit thread count, and
no idle spinning (on a 2-core machine a spinning thread pool slows everything else).

- ONNX Runtime float32: the Keras model exported with tf2onnx.
- ONNX Runtime int8: that export quantized with `onnxruntime.quantization.quantize_static`
  (QDQ, per-channel int8 weights, uint8 activations, MinMax calibration like the TFLite
  converter's).
- OpenVINO int8 and float32: our own .tflite files, which OpenVINO reads directly, compiled
  with f32 as the inference precision (so nothing is silently run in bf16).

All of these need the `bench` extra; a missing package gives a skipped row.
"""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import numpy as np

from edge_digits.edge.runtime import Classifier
from edge_digits.formats import to_inputs

from .runners import Runner

# ONNX Runtime's session options for a fair, quiet measurement: no busy-waiting thread pools.
ORT_NO_SPIN = {"session.intra_op.allow_spinning": "0", "session.inter_op.allow_spinning": "0"}


def missing(*modules: str) -> str | None:
    """None when every module is importable, else a skipped-row reason."""
    gone = [m for m in modules if importlib.util.find_spec(m) is None]
    return f"skipped: not installed ({', '.join(gone)}; pip install '.[bench]')" if gone else None


def export_onnx(keras_path: Path, work_dir: Path) -> Path:
    """The Keras model as ONNX (opset 17, dynamic batch), via tf2onnx."""
    import tensorflow as tf
    import tf2onnx

    from edge_digits.train.keras_io import load_model

    model = load_model(keras_path)
    spec = (tf.TensorSpec((None, 28, 28, 1), tf.float32, name="image"),)
    proto, _ = tf2onnx.convert.from_function(tf.function(lambda x: model(x, training=False)),
                                             input_signature=spec, opset=17)
    path = work_dir / "digits_float32.onnx"
    path.write_bytes(proto.SerializeToString())
    return path


def calibration_images(int8_tflite: Path) -> tuple[np.ndarray, str]:
    """The images our int8 file was calibrated on, as its manifest.json entry records them.

    convert draws a class-balanced sample (seed 0) of `size` rows from the calibration source;
    drawing it again from the same source gives the same images.
    """
    from edge_digits.convert.tflite import balanced_sample
    from edge_digits.data import load_digits, load_mnist

    entry: dict = {}
    manifest = int8_tflite.parent / "manifest.json"
    if manifest.is_file():
        entry = json.loads(manifest.read_text()).get("models", {}).get(int8_tflite.name, {}).get("calibration", {})
    size, source = int(entry.get("size", 500)), entry.get("source", "mnist:train")
    if source.startswith("mnist:"):
        digits = load_mnist(source.split(":", 1)[1])
    elif Path(source).is_file():
        digits = load_digits(source, "train", need_labels=False)
    else:  # the calibration CSV is not on this machine: the converter's default source
        digits, source = load_mnist("train"), f"mnist:train (recorded source {source} not found)"
    if digits.labels is not None:
        rows = balanced_sample(digits.labels, size)
    else:
        rows = np.random.default_rng(0).permutation(len(digits))[:size]
    return digits.images[rows], f"{len(rows)} images from {source}, class-balanced: {digits.labels is not None}"


def quantize_onnx(float_path: Path, images: np.ndarray, work_dir: Path) -> Path:
    """Static int8 quantization of the ONNX export: QDQ, per-channel weights, MinMax calibration."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"image": to_inputs(images[i : i + 100])}
                                 for i in range(0, len(images), 100)])

        def get_next(self):
            return next(self.batches, None)

    prepared = work_dir / "digits_float32_prepared.onnx"
    quant_pre_process(str(float_path), str(prepared), skip_symbolic_shape=True)  # no sympy needed
    path = work_dir / "digits_int8.onnx"
    # u8 activations × s8 weights: what VPDPBUSD multiplies, and a little faster here than s8 × s8.
    quantize_static(str(prepared), str(path), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return path


class OnnxRunner(Runner):
    """ONNX Runtime, float32 input (pixels / 255), explicit threads, spinning off."""

    def __init__(self, path: Path, fmt: str, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        for key, value in ORT_NO_SPIN.items():
            options.add_session_config_entry(key, value)
        start = time.perf_counter()
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        load_s = time.perf_counter() - start
        self.input_name = self.session.get_inputs()[0].name
        super().__init__(f"onnx-{fmt}", fmt, "onnxruntime", threads, path.stat().st_size, load_s)

    def one(self, image):
        return self.session.run(None, {self.input_name: to_inputs(image)})[0]

    def many(self, images):
        return np.concatenate([self.one(images[i : i + 256]) for i in range(0, len(images), 256)])


class OpenVinoRunner(Runner):
    """OpenVINO on our .tflite file; pixels become the model's input through our own lookup table."""

    def __init__(self, path: Path, fmt: str, threads: int):
        import openvino as ov

        self.io = Classifier(path, threads=1)  # reads the input/output quantization from the file
        config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
                  "INFERENCE_PRECISION_HINT": "f32"}
        core = ov.Core()
        start = time.perf_counter()
        self.request = core.compile_model(core.read_model(str(path)), "CPU", config).create_infer_request()
        load_s = time.perf_counter() - start
        batched = core.read_model(str(path))
        batched.reshape({batched.inputs[0]: ov.PartialShape([-1, *self.io.input.shape[1:]])})
        self.batched = core.compile_model(batched, "CPU", config).create_infer_request()
        super().__init__(f"openvino-{fmt}", fmt, "openvino", threads, path.stat().st_size, load_s)

    def one(self, image):
        out = self.request.infer({0: self.io.to_input(image)})
        return self.io._dequantize(next(iter(out.values())))

    def many(self, images):
        out = [next(iter(self.batched.infer({0: self.io.to_input(images[i : i + 256])}).values()))
               for i in range(0, len(images), 256)]
        return self.io._dequantize(np.concatenate(out))
