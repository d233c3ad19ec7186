"""Multiply-accumulates per image, counted from a .tflite graph's own tensor shapes.

MACs are what a microcontroller pays for (CMSIS-NN's int8 kernels spend their time there),
so the benchmark turns them into a Cortex-M latency estimate. Only LiteRT is needed: the
graph is read with the default delegates off, so every builtin op is visible.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def _macs(op: str, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> int:
    """One op's MACs for the whole batch of its output (0 for ops that multiply nothing)."""
    if op == "CONV_2D":  # filter [out_c, kh, kw, in_c]
        _, kh, kw, in_c = shapes[1]
        return int(np.prod(out)) * kh * kw * in_c
    if op == "DEPTHWISE_CONV_2D":  # filter [1, kh, kw, out_c]: one input channel per output
        _, kh, kw, _ = shapes[1]
        return int(np.prod(out)) * kh * kw
    if op == "FULLY_CONNECTED":  # weights [units, in]
        return int(np.prod(out)) * shapes[1][1]
    return 0


def count_macs(model_path: str | os.PathLike) -> dict:
    """{"total": MACs per image, "per_op": [{"op", "macs"}]} for a batch-1 (or resizable) model."""
    from edge_digits.edge.runtime import interpreter_class

    cls, runtime = interpreter_class()
    kwargs = {}
    if runtime == "litert":
        from ai_edge_litert.interpreter import OpResolverType

        kwargs["experimental_op_resolver_type"] = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interpreter = cls(model_content=Path(model_path).read_bytes(), **kwargs)
    interpreter.allocate_tensors()
    shape = {d["index"]: tuple(int(v) for v in d["shape"]) for d in interpreter.get_tensor_details()}
    batch = max(1, int(interpreter.get_input_details()[0]["shape"][0]))
    per_op = []
    for op in interpreter._get_ops_details():  # the public API has no per-op view
        inputs = [shape.get(int(i), ()) for i in op["inputs"] if int(i) >= 0]
        macs = _macs(op["op_name"], inputs, shape[int(op["outputs"][0])]) // batch
        per_op.append({"op": op["op_name"], "macs": macs})
    return {"total": sum(o["macs"] for o in per_op), "per_op": per_op}
