"""What the VNN-LIB 2.0 solver interface (chapter "Solver Command-line Interface") needs.

* :func:`capabilities` -- the answers to ``<solver> supports --<capability>``, one string per
  output line, derived from what our pipeline handles: the ONNX -> torch converter's
  ``SUPPORTED_OPS`` (the operators bound propagation and gradient search understand), the
  VNN-LIB readers (1.0 and 2.0) and the reduction of 2.0 queries over several networks,
  several inputs/outputs, hidden nodes and linear constraints to an augmented network
  (:data:`THEORIES`; polynomial constraints are not claimed).
* :func:`query_declarations` -- the variables a query declares (name, element type, shape)
  in declaration order, for checking ``--network`` arguments and printing assignments.
* :func:`format_assignment` -- the command-line assignment format: per variable a line
  ``<name> <type> [d1,d2,...]`` then one value per line, row-major.

Element types: ``real`` and ``float32``. ``sat`` answers are exact for float32: every
counterexample is replayed in onnxruntime on the float32 model. ``unsat`` answers come from
bound propagation in floating point without directed rounding (sound up to rounding error far
below typical margins, but not proven IEEE-754 faithful); queries that want that caveat spelt
out should declare ``real``.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autospec_cli.errors import VnnlibError
from autospec_cli.vnnlib.query2 import Reduction

OPSET_RANGE = ("9", "21")
ELEMENT_TYPES = ["real", "float32"]
#: integer outputs (Shape, Cast to an integer type): their values are integers, which the
#: float64 bounds and the float32 replay represent exactly up to 2^24
OUTPUT_ONLY_TYPES = ["int32", "int64", "bool"]
#: what the reduction to an augmented network (:mod:`autospec_cli.vnnlib.query2`,
#: :mod:`autospec_cli.vnnlib.product`) decides: hidden nodes (H), several input and output
#: tensors (MIO), several networks -- independent (MNET), equal (MENET), isomorphic (MINET) --,
#: comparisons between nodes (MNC) and linear constraints over any variables (LIN). Not
#: claimed: polynomial constraints (POLY), refused with an error.
THEORIES = {
    "hidden-node-theories": ["NH", "H"],
    "multiple-input-output-theories": ["SIO", "MIO"],
    "multiple-network-theories": ["SNET", "MNET", "MENET", "MINET"],
    "multiple-node-comparison-theories": ["SNC", "MNC"],
    "arithmetic-complexity-theories": ["BND", "OUTC", "LIN"],
}
BOOLEANS = {
    "optimised-disjunctive-reasoning": False,
    "serialise-assignments": False,
    "unsat-proofs": False,
}
CAPABILITY_NAMES = [
    "onnx-opset-versions",
    "onnx-element-types",
    "onnx-operators",
    "onnx-operators-unsat-proofs",
    "vnnlib-versions",
    *THEORIES,
    *BOOLEANS,
]

_DTYPE_NAMES = {
    "Real": "real",
    "F16": "float16",
    "F32": "float32",
    "F64": "float64",
    "BF16": "bfloat16",
    "I8": "int8",
    "I16": "int16",
    "I32": "int32",
    "I64": "int64",
    "U8": "uint8",
    "U16": "uint16",
    "U32": "uint32",
    "U64": "uint64",
    "Bool": "bool",
}
_ONNX_TYPES = {1: "float32", 10: "float16", 11: "float64", 16: "bfloat16"}


def supported_operators() -> list[str]:
    """ONNX operators the converter (and so every backend) handles, sorted."""
    from autospec_cli.models.onnx_to_torch import SUPPORTED_OPS

    return sorted(SUPPORTED_OPS)


def capabilities(name: str) -> list[str]:
    """Output lines for ``supports --<name>``; raises KeyError for an unknown capability."""
    if name == "onnx-opset-versions":
        return list(OPSET_RANGE)
    if name == "onnx-element-types":
        return list(ELEMENT_TYPES) + [f"{t} (outputs only)" for t in OUTPUT_ONLY_TYPES]
    if name == "onnx-operators":
        return supported_operators()
    if name == "onnx-operators-unsat-proofs":
        return []  # no UNSAT proofs
    if name == "vnnlib-versions":
        return ["1.0", "2.0"]
    if name in THEORIES:
        return list(THEORIES[name])
    if name in BOOLEANS:
        return ["true" if BOOLEANS[name] else "false"]
    raise KeyError(name)


@dataclass
class Variable:
    name: str
    dtype: str  # "float32", "real", ... (VNN-LIB 1.0: "Real")
    shape: list[int]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1


@dataclass
class NetworkDecl:
    name: str
    inputs: list[Variable] = field(default_factory=list)
    outputs: list[Variable] = field(default_factory=list)
    hidden: list[Variable] = field(default_factory=list)
    equal_to: str = ""
    isomorphic_to: str = ""


@dataclass
class QueryDecls:
    version: str  # "1.0" or "2.0"
    networks: list[NetworkDecl]


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", errors="replace")


def query_declarations(path: str | os.PathLike[str]) -> QueryDecls:
    """Declarations of a VNN-LIB file (2.0 via the standard's parser, 1.0 by scanning)."""
    p = Path(path)
    if not p.is_file():
        raise VnnlibError(f"{p}: query file not found")
    text = _read_text(p)
    if "vnnlib-version" not in text:
        return _decls_v1(text)
    from autospec_cli.vnnlib.reader_v2 import parse_query

    try:
        query = parse_query(text)
    except VnnlibError as e:
        raise VnnlibError(f"{p}: {e}") from None
    nets = []
    for n in query.networks:
        conv = lambda vs: [Variable(v.name, _dtype_name(v.dtype), list(v.shape)) for v in vs]  # noqa: E731
        nets.append(
            NetworkDecl(
                n.name,
                conv(n.inputs),
                conv(n.outputs),
                conv(n.hidden),
                n.equal_to or "",
                n.isometric_to or "",
            )
        )
    return QueryDecls("2.0", nets)


def _dtype_name(dtype: Any) -> str:
    return _DTYPE_NAMES.get(
        getattr(dtype, "name", str(dtype)), str(getattr(dtype, "name", dtype)).lower()
    )


def _decls_v1(text: str) -> QueryDecls:
    import re

    names = re.findall(r"\(\s*declare-const\s+([XY]_\d+)\s+Real\s*\)", text)
    xs = [Variable(n, "Real", []) for n in names if n.startswith("X_")]
    ys = [Variable(n, "Real", []) for n in names if n.startswith("Y_")]
    if not xs or not ys:
        raise VnnlibError("VNN-LIB 1.0 query declares no X_i or no Y_j constants")
    return QueryDecls("1.0", [NetworkDecl("", xs, ys)])


def onnx_input_types(model: str | os.PathLike[str]) -> list[str]:
    """Element type names of the model's graph inputs, e.g. ``["float32"]``."""
    import onnx

    from autospec_cli.models.runtime import unpacked_onnx

    try:
        m = onnx.load(str(unpacked_onnx(model)), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - a file that is no ONNX model is bad input
        raise VnnlibError(f"{model}: not a readable ONNX model ({' '.join(str(e).split())})"
                          ) from None
    inits = {i.name for i in m.graph.initializer}
    ins = [i for i in m.graph.input if i.name not in inits]
    if not ins:
        raise VnnlibError(f"{model}: model has no input")
    return [_ONNX_TYPES.get(i.type.tensor_type.elem_type,
                            f"onnx-type-{i.type.tensor_type.elem_type}") for i in ins]


def onnx_input_type(model: str | os.PathLike[str]) -> str:
    """Element type name of the model's first graph input, e.g. ``float32``."""
    return onnx_input_types(model)[0]


def format_assignment(decls: QueryDecls, x: np.ndarray, y: np.ndarray) -> str:
    """The command-line assignment format for a single-network query."""
    lines: list[str] = []
    net = decls.networks[0]
    values = {"in": np.ravel(x), "out": np.ravel(y)}
    for kind, variables in (("in", net.inputs), ("out", net.outputs)):
        flat = values[kind]
        if decls.version == "1.0":
            for v in variables:
                idx = int(v.name.split("_")[1])
                lines += [f"{v.name} {v.dtype} []", repr(float(flat[idx]))]
            continue
        offset = 0
        for v in variables:
            part = flat[offset : offset + v.size]
            offset += v.size
            lines.append(f"{v.name} {v.dtype} [{','.join(str(d) for d in v.shape)}]")
            if v.dtype in OUTPUT_ONLY_TYPES:
                lines += [str(int(round(float(a)))) for a in part]
                continue
            cast = np.float32 if v.dtype == "float32" else np.float64
            lines += [repr(float(cast(a))) for a in part]
    return "\n".join(lines)


def format_product_assignment(red: Reduction, x: np.ndarray, z: np.ndarray) -> str:
    """The assignment format for a query decided over the augmented network: per network,
    its inputs (from ``x``), outputs and hidden nodes (from ``z``, the original networks'
    values replayed in onnxruntime)."""
    lines: list[str] = []
    flat_x = np.ravel(x)
    for net in red.networks:
        for s in net.inputs + net.outputs + net.hidden:
            part = (flat_x[s.offset:s.offset + s.size] if s.kind == "input"
                    else np.ravel(z)[s.offset:s.offset + s.size])
            lines.append(f"{s.name} {s.dtype} [{','.join(str(d) for d in s.shape)}]")
            if s.dtype in OUTPUT_ONLY_TYPES:
                lines += [str(int(round(float(a)))) for a in part]
                continue
            cast = np.float32 if s.dtype == "float32" else np.float64
            lines += [repr(float(cast(a))) for a in part]
    return "\n".join(lines)
