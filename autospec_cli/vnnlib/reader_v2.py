"""Read VNN-LIB 2.0 queries with the standard's own parser (PyPI ``vnnlib`` 1.x).

The official parser type-checks the query and ``vnnlib.compat.transform`` reduces it to
"reachability" cases: an input box and a disjunction of polytopes ``A y <= b``, exactly our
:class:`~autospec_cli.vnnlib.property.Property` form. Only single-network queries with one
input and one output tensor can be reduced this way (the transformer's own restriction).
Tensor elements are flattened in row-major order: ``X[0,2]`` of an input of shape ``[1,10]``
is input 2.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from autospec_cli.errors import VnnlibError
from autospec_cli.vnnlib.property import Case, Polytope, Property


def _vnnlib() -> Any:
    try:
        import vnnlib
        import vnnlib.compat

        vnnlib.parse_query_string  # noqa: B018 - the 0.0.x package of the same name lacks it
    except (ImportError, AttributeError):
        raise VnnlibError(
            "reading VNN-LIB 2.0 needs the standard's parser: pip install 'vnnlib>=1.0'"
        ) from None
    return vnnlib


def one_line(err: Exception) -> str:
    """The official parser's (JSON, multi-line) error as one line."""
    text = str(err).strip()
    try:
        d = json.loads(text)
        e = d["errors"][0]
        msg = f"line {e.get('line', '?')}: {e.get('message', 'error')}"
        if e.get("offendingSymbol"):
            msg += f" ({e['offendingSymbol']})"
        if e.get("hint"):
            msg += f"; {e['hint']}"
        n = d.get("error_count", 1)
        return msg + (f" (+{n - 1} more errors)" if n > 1 else "")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return " ".join(text.split())


def parse_vnnlib2(
    text: str, *, n_inputs: int | None = None, n_outputs: int | None = None
) -> Property:
    """Parse VNN-LIB 2.0 text into a Property (every input must end up bounded)."""
    vnnlib = _vnnlib()
    try:
        query = vnnlib.parse_query_string(text)
        cases = vnnlib.compat.transform(query)
    except vnnlib.VNNLibException as e:
        raise VnnlibError(f"VNN-LIB 2.0: {one_line(e)}") from None
    net = query.networks[0]
    in_shape = [int(d) for d in net.inputs[0].shape]
    out_shape = [int(d) for d in net.outputs[0].shape]
    n_in = int(np.prod(in_shape))
    n_out = int(np.prod(out_shape))
    for n, want, what in ((n_in, n_inputs, "inputs"), (n_out, n_outputs, "outputs")):
        if want is not None and n != want:
            raise VnnlibError(f"the property declares {n} {what} but the model has {want}")
    out = []
    for c in cases:
        box = np.array(c.input_box, dtype=np.float64).reshape(-1, 2)
        lo, hi = box[:, 0].copy(), box[:, 1].copy()
        bad = np.flatnonzero(~(np.isfinite(lo) & np.isfinite(hi)))
        if bad.size:
            idx = ",".join(str(int(k)) for k in np.unravel_index(int(bad[0]), in_shape))
            name = net.inputs[0].name
            raise VnnlibError(f"input {name}[{idx}] is unbounded; every input needs a finite box")
        polys = []
        for p in c.output_constraints:
            A = np.array(p.coeff_matrix, dtype=np.float64).reshape(-1, n_out)
            polys.append(Polytope(A, np.array(p.rhs, dtype=np.float64)))
        if not polys:
            polys = [Polytope(np.zeros((0, n_out)), np.zeros(0))]
        out.append(Case(lo, hi, polys))
    if not out:
        raise VnnlibError("VNN-LIB 2.0: the query has no cases")
    meta = {"vnnlib_version": "2.0", "network": net.name,
            "input_shape": in_shape, "output_shape": out_shape}
    return Property(out, n_inputs=n_in, n_outputs=n_out, meta=meta)
