"""The auto_LiRPA shims keep working on this torch / numpy (fails loudly when they break).

If one of these fails after upgrading torch or numpy, see the notes at the top of
autospec_cli/models/lirpa_compat.py: one of the four pre-import shims or the post-import
patches no longer applies, and the `lirpa` / `bab` backends cannot bound anything.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autospec_cli.models import lirpa_compat as lc
from autospec_cli.models.arch import MLP

BROKEN = ("auto_LiRPA shims broken on torch {torch} / numpy {numpy}: {what}; "
          "fix autospec_cli/models/lirpa_compat.py")


def _fail(what: str) -> None:
    pytest.fail(BROKEN.format(torch=torch.__version__, numpy=np.__version__, what=what))


def test_import_auto_lirpa_works() -> None:
    try:
        lirpa = lc.import_auto_lirpa()
    except Exception as e:  # noqa: BLE001 - any failure here is the message we want
        _fail(f"import_auto_lirpa raised {type(e).__name__}: {e}")
    for name in ("BoundedModule", "BoundedTensor", "PerturbationLpNorm"):
        if not hasattr(lirpa, name):
            _fail(f"auto_LiRPA has no {name}")
    if lc.is_legacy():
        if not getattr(lirpa.BoundedModule._named_members, "_autospec_shim", False):
            _fail("BoundedModule._named_members was not patched")


def _crown(model: torch.nn.Module, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    try:
        return lc.compute_bounds(model, lo, hi, method="CROWN")
    except Exception as e:  # noqa: BLE001
        _fail(f"CROWN on {type(model).__name__} raised {type(e).__name__}: {e}")
        raise


def _assert_contains(model: torch.nn.Module, lo: np.ndarray, hi: np.ndarray,
                     lb: np.ndarray, ub: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    X = lo + (hi - lo) * rng.random((2000, lo.size))
    with torch.no_grad():
        Y = model(torch.as_tensor(X, dtype=torch.float32)).reshape(len(X), -1).double().numpy()
    tol = 1e-4 * (1 + np.abs(Y))
    if not (np.all(Y >= lb - tol) and np.all(Y <= ub + tol)):
        _fail(f"CROWN bounds of {type(model).__name__} do not contain sampled outputs")
    if not np.all(ub - lb < 1e6):
        _fail("CROWN bounds are not finite")


def test_bounded_module_on_an_mlp_computes_crown_bounds() -> None:
    torch.manual_seed(0)
    model = MLP(4, [10, 5], 1)
    lo, hi = -np.ones(4), np.ones(4)
    bm = lc.bounded_module(model, (4,))
    assert type(bm).__name__ == "BoundedModule"
    lb, ub = _crown(model, lo, hi)
    assert lb.shape == ub.shape == (1, 1)
    _assert_contains(model, lo, hi, lb, ub)


def test_crown_on_a_converted_acasxu_network(shared_data) -> None:
    from autospec_cli.models.onnx_to_torch import load_onnx_as_torch

    path = shared_data / "vnncomp2021" / "acasxu" / "ACASXU_run2a_1_1_batch_2000.onnx"
    model = load_onnx_as_torch(path, check=True)
    lo = np.array([0.6, -0.5, -0.5, 0.45, -0.5])
    hi = np.array([0.68, 0.5, 0.5, 0.5, -0.45])
    lb, ub = _crown(model, lo, hi)
    assert lb.shape == (1, 5)
    _assert_contains(model, lo, hi, lb, ub)
    C = np.array([[[-1.0, 1, 0, 0, 0]]])  # y1 - y0 with the C-matrix form
    lbc, ubc = lc.compute_bounds(model, lo, hi, C=C, method="CROWN")
    assert lbc.shape == (1, 1) and lbc[0, 0] >= lb[0, 1] - ub[0, 0] - 1e-3
