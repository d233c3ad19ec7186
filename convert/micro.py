"""TFLite Micro export: the model as a C array, its op resolver, its arena size, checked by TFLM itself.

People deploying to a microcontroller convert by hand with `xxd`, guess the tensor arena, and
find out on the device that an op is missing. Here TFLM's own kernels (the `tflite-micro`
wheel) run the model before anything is written: the arena is measured with its recording
allocator, every output must be bit-identical to LiteRT's reference kernels on held-out
digits, and an op TFLM lacks, a mismatch or an arena over budget fails with one line and
leaves no file behind. (LiteRT's default XNNPACK kernels requantize with their own rounding
and may land one step away on some outputs; that comparison is recorded, not enforced.)
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge_digits import __version__
from edge_digits.atomic import atomic_path
from edge_digits.data import Digits
from edge_digits.edge.runtime import Classifier, sha256_of
from edge_digits.errors import BadInput, CheckFailed

from . import manifest as manifest_io
from .macs import count_macs

DEFAULT_SAMPLES = 1000
# The arena TFLM's recording allocator measures, plus this margin: CMSIS-NN's optimised
# kernels ask for scratch buffers (im2col) that the reference kernels measured here do not.
# The host build has 64-bit pointers, so its bookkeeping structs overstate a 32-bit MCU's.
MARGIN_FRACTION = 0.10
MARGIN_MIN_BYTES = 1024
MARGIN_TEXT = "measured + max(10%, 1024 bytes), rounded up to 16 bytes (CMSIS-NN scratch buffers)"
# Builtin op names whose MicroMutableOpResolver method does not follow the CONV_2D → AddConv2D rule.
_METHOD_EXCEPTIONS = {"BATCH_MATMUL": "AddBatchMatMul", "CUMSUM": "AddCumSum", "PADV2": "AddPadV2"}


@dataclass
class MicroExport:
    """What `convert --micro` checked and wrote for one .tflite file."""

    model: Path
    name: str
    flash_bytes: int
    arena_measured_bytes: int
    arena_bytes: int
    ops: list[str]
    resolver: list[str]
    samples: int
    mismatches: int  # images whose TFLM output differs from LiteRT's reference kernels
    max_steps: int
    first_mismatch: int | None
    accuracy: float
    litert_accuracy: float
    macs_per_image: int
    tflm_version: str
    input: dict
    output: dict
    xnnpack: dict  # how LiteRT's default (XNNPACK) kernels compare: they may round differently by a step
    files: list[Path] = field(default_factory=list)

    def entry(self) -> dict:
        """The `micro` record in manifest.json."""
        return {
            "files": [p.name for p in self.files],
            "flash_bytes": self.flash_bytes,
            "arena_bytes": self.arena_bytes,
            "arena_measured_bytes": self.arena_measured_bytes,
            "arena_margin": MARGIN_TEXT,
            "ops": self.ops,
            "resolver": self.resolver,
            "macs_per_image": self.macs_per_image,
            "input": self.input,
            "output": self.output,
            "verification": {"samples": self.samples, "bit_exact": self.mismatches == 0,
                             "mismatches": self.mismatches, "max_steps": self.max_steps,
                             "accuracy": round(self.accuracy, 6),
                             "reference": "LiteRT reference kernels (OpResolverType.BUILTIN_REF)",
                             "litert_accuracy": round(self.litert_accuracy, 6),
                             "litert_xnnpack": self.xnnpack},
            "tflm_version": self.tflm_version,
        }

    def summary(self) -> str:
        return (f"micro {self.name}: {self.flash_bytes:,} bytes flash, arena {self.arena_bytes:,} bytes "
                f"(measured {self.arena_measured_bytes:,}), {len(self.ops)} ops ({', '.join(self.ops)}), "
                f"{self.macs_per_image:,} MACs/image\n"
                f"TFLM {self.tflm_version}: bit-exact with LiteRT's reference kernels on {self.samples:,} images, "
                f"accuracy {100 * self.accuracy:.2f}% (LiteRT with XNNPACK {100 * self.litert_accuracy:.2f}%, "
                f"same label on {100 * self.xnnpack['label_agreement']:.2f}%)\n"
                + "\n".join(f"wrote {p}" for p in self.files))


# ---------------------------------------------------------------- the model's ops
def model_ops(content: bytes) -> list[str]:
    """Builtin op names in the model's operator-code table (what the op resolver must hold)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = schema.Model.GetRootAsModel(content, 0)
    ops = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())  # TFLM's own rule
        name = names.get(builtin, f"BUILTIN_{builtin}")
        if name == "CUSTOM":
            name = f"CUSTOM:{code.CustomCode().decode()}"
        if name not in ops:
            ops.append(name)
    return ops


def resolver_method(op: str) -> str:
    """MicroMutableOpResolver's method for a builtin op: CONV_2D → AddConv2D (TFLM's generator's rule)."""
    if op in _METHOD_EXCEPTIONS:
        return _METHOD_EXCEPTIONS[op]
    parts = re.split(r"[_-]", op)
    return "Add" + "".join(p[0].upper() + p[1:].lower() if p[0].isalpha() else p.upper() for p in parts if p)


# ---------------------------------------------------------------- TFLM runs
@contextlib.contextmanager
def _captured_fds() -> Iterator[list[str]]:
    """Collect what C++ code writes to fd 1 and 2 (TFLM's MicroPrintf) instead of the terminal."""
    text: list[str] = []
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield text
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            text.append(sink.read().decode(errors="replace"))


def _tflm():
    try:
        import tflite_micro
        from tflite_micro import runtime
    except ImportError:
        raise BadInput("convert --micro needs TFLite Micro: pip install 'edge-digits[micro]'") from None
    return runtime, tflite_micro.__version__


def _interpreter(content: bytes, arena_size: int, name: str):
    """A TFLM interpreter with the recording allocator; an op TFLM lacks is one CheckFailed line."""
    runtime, version = _tflm()
    with _captured_fds() as log:
        try:
            interpreter = runtime.Interpreter.from_bytes(
                content, arena_size=arena_size, intrepreter_config=runtime.InterpreterConfig.kAllocationRecording)
        except RuntimeError:
            interpreter = None
    if interpreter is not None:
        return interpreter
    missing = re.search(r"Didn't find op for builtin opcode '([^']+)'", log[0])
    if missing:
        raise CheckFailed(f"{name}: TFLite Micro {version} has no kernel for op {missing.group(1)}")
    first = next((line.strip() for line in log[0].splitlines() if line.strip()), "no reason given")
    raise CheckFailed(f"{name}: TFLite Micro {version} cannot run it: {first[:160]}")


def measure_arena(content: bytes, name: str, sample: np.ndarray) -> int:
    """Bytes of tensor arena TFLM really used for one invoke (its recording allocator's total)."""
    interpreter = _interpreter(content, max(1 << 20, 10 * len(content)), name)
    interpreter.set_input(sample, 0)
    interpreter.invoke()
    with _captured_fds() as log:
        interpreter.print_allocations()
    found = re.search(r"Arena allocation total (\d+) bytes", log[0])
    if not found:
        raise CheckFailed(f"{name}: TFLite Micro printed no arena total")
    return int(found.group(1))


def with_margin(measured: int) -> int:
    """The arena to allocate on the device: the measured bytes plus MARGIN_TEXT's margin."""
    return int(math.ceil((measured + max(MARGIN_MIN_BYTES, MARGIN_FRACTION * measured)) / 16) * 16)


def run_tflm(content: bytes, arena_size: int, inputs: np.ndarray, name: str) -> np.ndarray:
    """Raw outputs of TFLM for each (1, ...) input, one invoke per image as on the device."""
    interpreter = _interpreter(content, arena_size, name)
    out = []
    for x in inputs:
        interpreter.set_input(x[None], 0)
        interpreter.invoke()
        out.append(np.array(interpreter.get_output(0)).reshape(-1))
    return np.stack(out)


def run_litert(content: bytes, inputs: np.ndarray, reference_kernels: bool) -> np.ndarray:
    """Raw LiteRT outputs per image: its reference kernels (what TFLM's are ported from) or its default ones.

    The default kernels (XNNPACK) requantize with their own rounding and can land one
    quantization step away from the reference on some outputs.
    """
    from edge_digits.edge.runtime import interpreter_class

    cls, runtime = interpreter_class()
    kwargs = {}
    if reference_kernels:
        if runtime != "litert":
            raise BadInput("the TFLite Micro check compares against LiteRT: pip install ai-edge-litert")
        from ai_edge_litert.interpreter import OpResolverType

        kwargs["experimental_op_resolver_type"] = OpResolverType.BUILTIN_REF
    with _captured_fds():  # LiteRT's "Created XNNPACK delegate" line
        interpreter = cls(model_content=content, num_threads=1, **kwargs)
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]
    out = []
    for x in inputs:
        interpreter.set_tensor(source, x[None])
        interpreter.invoke()
        out.append(interpreter.get_tensor(target).reshape(-1).copy())
    return np.stack(out)


def _agreement(tflm_out: np.ndarray, other: np.ndarray) -> dict:
    steps = np.abs(tflm_out.astype(np.int32) - other.astype(np.int32))
    differing = np.flatnonzero((steps > 0).any(axis=1))
    return {"bit_exact": not len(differing), "images_differing": len(differing),
            "first": int(differing[0]) if len(differing) else None, "max_steps": int(steps.max(initial=0)),
            "label_agreement": round(float((tflm_out.argmax(1) == other.argmax(1)).mean()), 6)}


# ---------------------------------------------------------------- C++ files
def c_name(stem: str) -> str:
    """A C identifier from a file stem: digits_micro-int8 → digits_micro_int8."""
    ident = re.sub(r"\W", "_", stem)
    return ident if not ident[0].isdigit() else f"m_{ident}"


def _quant(info: dict) -> str:
    return f"scale {info.get('scale', 1.0):.9g}, zero point {info.get('zero_point', 0)}"


def render_header(name: str, model: Path, sha: str, arena_bytes: int, measured: int, inp: dict, out: dict) -> str:
    ident, guard = c_name(name), c_name(name).upper() + "_H_"
    return f"""\
// {name}.h: {model.name} as a C array for TensorFlow Lite Micro.
// Generated by edge-digits {__version__} (edge-digits convert --micro); do not edit.
// sha256 of {model.name}: {sha}
#ifndef {guard}
#define {guard}

#include <cstdint>

// The FlatBuffer, 16-byte aligned and const (it stays in flash): pass it to tflite::GetModel().
extern const unsigned char g_{ident}_model_data[];
extern const unsigned int g_{ident}_model_data_len;

// Tensor arena for tflite::MicroInterpreter, in bytes: TFLM's recording allocator measured
// {measured} on the host; this is {MARGIN_TEXT}.
constexpr unsigned int k{_camel(ident)}ArenaSize = {arena_bytes};

// Input {inp['dtype']} {inp['shape']}, {_quant(inp)}: q = round(pixel / 255 / scale) + zero point.
constexpr float k{_camel(ident)}InputScale = {inp.get('scale', 1.0):.9g}f;
constexpr int32_t k{_camel(ident)}InputZeroPoint = {inp.get('zero_point', 0)};
// Output {out['dtype']} {out['shape']}, {_quant(out)}: probability = (q - zero point) * scale.
constexpr float k{_camel(ident)}OutputScale = {out.get('scale', 1.0):.9g}f;
constexpr int32_t k{_camel(ident)}OutputZeroPoint = {out.get('zero_point', 0)};

#endif  // {guard}
"""


def render_source(name: str, content: bytes) -> str:
    ident = c_name(name)
    rows = []
    for start in range(0, len(content), 12):
        rows.append("    " + ", ".join(f"0x{b:02x}" for b in content[start : start + 12]) + ",")
    body = "\n".join(rows)
    return f"""\
// {name}.cc: generated by edge-digits {__version__} (edge-digits convert --micro); do not edit.
#include "{name}.h"

alignas(16) const unsigned char g_{ident}_model_data[] = {{
{body}
}};
const unsigned int g_{ident}_model_data_len = {len(content)};
"""


def render_ops(name: str, ops: list[str], methods: list[str]) -> str:
    ident = c_name(name)
    guard = ident.upper() + "_OPS_H_"
    calls = "\n".join(f"  if (resolver.{method}() != kTfLiteOk) return kTfLiteError;  // {op}"
                      for op, method in zip(ops, methods))
    return f"""\
// {name}_ops.h: exactly the ops {name} uses, for tflite::MicroMutableOpResolver.
// Generated by edge-digits {__version__} from the model's operator codes; do not edit.
#ifndef {guard}
#define {guard}

#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"

namespace {ident} {{

constexpr unsigned int kNumOps = {len(methods)};
using OpResolver = tflite::MicroMutableOpResolver<kNumOps>;

// Registers every op of the model; returns kTfLiteError if one cannot be added.
inline TfLiteStatus RegisterOps(OpResolver& resolver) {{
{calls}
  return kTfLiteOk;
}}

}}  // namespace {ident}

#endif  // {guard}
"""


def _camel(ident: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in ident.split("_"))


# ---------------------------------------------------------------- the check and the export
def check_micro(model_path: Path, evaluation: Digits, samples: int = DEFAULT_SAMPLES,
                max_arena: int | None = None) -> MicroExport:
    """Run an int8 .tflite in TFLM: its ops, its measured arena, its outputs against LiteRT's.

    An op TFLM lacks or an arena over `max_arena` raises CheckFailed; output mismatches are
    counted (`mismatches`), so the benchmark can report them and the export can refuse them.
    """
    model_path = Path(model_path)
    litert = Classifier(model_path, verify_manifest=False)  # BadInput for a missing or damaged file
    if litert.input.dtype.name not in ("int8", "uint8") or litert.output.dtype.name not in ("int8", "uint8"):
        raise BadInput(f"{model_path}: TFLite Micro export needs a full-integer model (int8 input and output), "
                       f"this one takes {litert.input.dtype.name}: convert with --int8")
    if evaluation.labels is None:
        raise BadInput("convert --micro needs labelled evaluation images")
    content = model_path.read_bytes()
    _, tflm_version = _tflm()
    ops = model_ops(content)
    inputs, labels = litert.to_input(evaluation.images[:samples]), evaluation.labels[:samples]

    measured = measure_arena(content, model_path.name, inputs[:1])
    arena = with_margin(measured)
    if max_arena is not None and arena > max_arena:
        raise CheckFailed(f"{model_path.name}: TFLite Micro arena {arena:,} bytes (measured {measured:,} + margin) "
                          f"is over --max-arena {max_arena:,}")
    tflm_out = run_tflm(content, arena, inputs, model_path.name)  # runs in exactly the arena we recommend
    reference = _agreement(tflm_out, run_litert(content, inputs, reference_kernels=True))
    optimized = run_litert(content, inputs, reference_kernels=False)
    return MicroExport(
        model=model_path, name=model_path.stem, flash_bytes=len(content), arena_measured_bytes=measured,
        arena_bytes=arena, ops=ops, resolver=[resolver_method(op) for op in ops], samples=len(inputs),
        mismatches=reference["images_differing"], max_steps=reference["max_steps"],
        first_mismatch=reference["first"], accuracy=float((tflm_out.argmax(1) == labels).mean()),
        litert_accuracy=float((optimized.argmax(1) == labels).mean()),
        xnnpack=_agreement(tflm_out, optimized), macs_per_image=count_macs(model_path)["total"],
        tflm_version=tflm_version, input=litert.input.describe(), output=litert.output.describe(),
    )


def export_micro(model_path: Path, evaluation: Digits, out_dir: Path | None = None, name: str | None = None,
                 samples: int = DEFAULT_SAMPLES, max_arena: int | None = None) -> MicroExport:
    """Check an int8 .tflite with TFLM (ops, arena, bit-exact vs LiteRT), then write NAME.cc/.h/_ops.h.

    Nothing is written unless every check passes; manifest.json in `out_dir` gets a `micro`
    record under the model's entry.
    """
    model_path = Path(model_path)
    out_dir = Path(out_dir or model_path.parent)
    report = check_micro(model_path, evaluation, samples, max_arena)
    if report.mismatches:
        raise CheckFailed(f"{model_path.name}: TFLite Micro output differs from LiteRT's reference kernels on "
                          f"{report.mismatches} of {report.samples} images (first: #{report.first_mismatch}, "
                          f"max |Δ| {report.max_steps} steps)")
    report.name = name = name or model_path.stem
    content = model_path.read_bytes()
    texts = {
        out_dir / f"{name}.h": render_header(name, model_path, sha256_of(model_path), report.arena_bytes,
                                             report.arena_measured_bytes, report.input, report.output),
        out_dir / f"{name}.cc": render_source(name, content),
        out_dir / f"{name}_ops.h": render_ops(name, report.ops, report.resolver),
    }
    report.files = list(texts)
    with contextlib.ExitStack() as stack:  # all three files appear together, or none does
        temps = {path: stack.enter_context(atomic_path(path)) for path in texts}
        for path, tmp in temps.items():
            tmp.write_text(texts[path])
        _record(out_dir / "manifest.json", model_path, report)
    return report


def _record(manifest_path: Path, model_path: Path, report: MicroExport) -> None:
    """Add the `micro` record under the model's manifest entry (a fresh entry if it has none)."""
    manifest = manifest_io.read(manifest_path)
    entry = manifest["models"].get(model_path.name)
    if entry is None or entry.get("sha256") != sha256_of(model_path):
        entry = manifest_io.model_entry(model_path, "int8", {"accuracy": round(report.litert_accuracy, 6),
                                                              "samples": report.samples}, None)
    entry["micro"] = report.entry()
    manifest_io.update(manifest_path, {}, {model_path.name: entry})

