"""auto_LiRPA on current torch/numpy, and batched bound computation.

The only auto_LiRPA on PyPI is 0.3 (2022, install with ``pip install --no-deps
auto-lirpa==0.3``). On torch 2.13 / numpy 2 it needs these shims, all applied by
:func:`import_auto_lirpa` (idempotent; each applied only when needed):

- before import: ``numpy.lib.arraysetops`` (removed in numpy 2; ``isin`` is top level),
  ``torch.onnx.symbolic_helper._set_opset_version`` (removed), ``torch._C.Node.__getitem__``
  (removed; old behaviour ``getattr(node, node.kindOf(k))(k)``), ``torch._six.string_classes``
  (torch._six was removed in torch 2.0);
- after import: ``BoundedModule._named_members`` accepts the ``remove_duplicate`` argument
  newer ``Module.parameters()`` passes; ``BoundAveragePool`` / ``BoundMaxPool``
  ``bound_backward`` use ``.reshape`` where ``.view`` fails for batch > 1.

Workarounds applied by :func:`compute_bounds` rather than by patching: a model without
parameters gets a zero parameter added to its output (0.3 indexes ``parameters()[0]``);
``sparse_spec_alpha`` is off (alpha-CROWN on MLPs trips an assertion with it), and so is
``sparse_features_alpha`` (on conv nets, alpha-CROWN at batch > 1 after a call with another
batch size fails with a shape mismatch); MaxPool under
alpha-CROWN runs one box at a time (batched it fails). Softmax under CROWN fails: verify
logits. A newer auto_LiRPA (>= 0.4, installed from source) is used as is, without shims.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import sys
import textwrap
import types
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from autospec_cli.errors import ConfigError, VerifierError

INSTALL_HINT = ("complete it with: pip install --no-deps auto-lirpa==0.3 appdirs tqdm setuptools "
                "(`autospec doctor` prints the command for this environment)")
METHODS: dict[str, str] = {"ibp": "IBP", "crown": "CROWN", "alpha-crown": "alpha-CROWN",
                           "crown-optimized": "alpha-CROWN"}
_LEGACY_OPTS: dict[str, Any] = {"sparse_spec_alpha": False, "sparse_features_alpha": False}


def installed_version() -> str | None:
    """The installed auto_LiRPA distribution's version, or None."""
    from importlib import metadata

    for dist in ("auto_LiRPA", "auto-lirpa", "auto_lirpa"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            return metadata.version(dist)
    return None


def _is_legacy(version: str | None) -> bool:
    from packaging.version import InvalidVersion, Version

    if version is None:
        return True
    try:
        return Version(version) < Version("0.4")
    except InvalidVersion:
        return True


def _pre_import_shims() -> None:
    if "numpy.lib.arraysetops" not in sys.modules:
        try:
            importlib.import_module("numpy.lib.arraysetops")
        except ImportError:
            mod = types.ModuleType("numpy.lib.arraysetops")
            mod.isin = np.isin  # type: ignore[attr-defined]
            sys.modules["numpy.lib.arraysetops"] = mod
    import torch.onnx.symbolic_helper as helper

    if not hasattr(helper, "_set_opset_version"):
        from torch.onnx._internal.torchscript_exporter._globals import GLOBALS

        def _set_opset_version(version: int) -> None:
            GLOBALS.export_onnx_opset_version = version

        helper._set_opset_version = _set_opset_version  # type: ignore[attr-defined]
    if not hasattr(torch._C.Node, "__getitem__"):
        torch._C.Node.__getitem__ = lambda self, k: getattr(self, self.kindOf(k))(k)  # type: ignore
    if not hasattr(torch, "_six"):
        six = types.ModuleType("torch._six")
        six.string_classes = (str, bytes)  # type: ignore[attr-defined]
        sys.modules["torch._six"] = six
        torch._six = six  # type: ignore[attr-defined]


def _post_import_patches(lirpa: Any) -> None:
    bm = lirpa.BoundedModule
    if not getattr(bm._named_members, "_autospec_shim", False):
        original = bm._named_members

        def _named_members(self: Any, get_members_fn: Any, prefix: str = "", recurse: bool = True,
                           remove_duplicate: bool = True) -> Any:
            return original(self, get_members_fn, prefix, recurse)

        _named_members._autospec_shim = True  # type: ignore[attr-defined]
        bm._named_members = _named_members
    pooling = importlib.import_module("auto_LiRPA.operators.pooling")
    for cls in (pooling.BoundAveragePool, pooling.BoundMaxPool):
        _reshape_not_view(cls, pooling)


def _reshape_not_view(cls: type, module: types.ModuleType) -> None:
    """Recompile ``cls.bound_backward`` with ``.view(`` -> ``.reshape(`` (same semantics where
    view works; also works on the non-contiguous tensors batch > 1 produces)."""
    method = cls.bound_backward  # type: ignore[attr-defined]
    if getattr(method, "_autospec_shim", False):
        return
    source = textwrap.dedent(inspect.getsource(method)).replace(".view(", ".reshape(")
    namespace = dict(vars(module))
    exec(compile(source, f"<autospec shim {cls.__name__}.bound_backward>", "exec"), namespace)
    patched = namespace["bound_backward"]
    patched._autospec_shim = True
    cls.bound_backward = patched  # type: ignore[attr-defined]


def import_auto_lirpa() -> Any:
    """The ``auto_LiRPA`` module, shimmed for torch 2 / numpy 2 when it is the 0.3 release.

    Raises :class:`VerifierError` with the install command when it is missing or broken.
    """
    version = installed_version()
    if version is None and importlib.util.find_spec("auto_LiRPA") is None:
        raise VerifierError(f"auto_LiRPA is not installed; {INSTALL_HINT}")
    legacy = _is_legacy(version)
    try:
        if legacy:
            _pre_import_shims()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # auto_LiRPA calls warnings.simplefilter("once") while it imports, which would put
            # its own rule in front of ours and print torch's deprecation notes on every run.
            simplefilter, warnings.simplefilter = warnings.simplefilter, _no_filter_change
            try:
                lirpa = importlib.import_module("auto_LiRPA")
            finally:
                warnings.simplefilter = simplefilter
        if legacy:
            _post_import_patches(lirpa)
    except ImportError as e:
        raise VerifierError(
            f"auto_LiRPA {version or ''} fails to import ({e}); {INSTALL_HINT}") from None
    return lirpa


def is_legacy() -> bool:
    """Whether the installed auto_LiRPA is the shimmed 0.3 release."""
    return _is_legacy(installed_version())


# --- bounds --------------------------------------------------------------------------------


class _ZeroParam(nn.Module):
    """``model(x) + 0`` through a parameter: auto_LiRPA 0.3 fails on models without one."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.zero = nn.Parameter(torch.zeros(1), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) + self.zero


def bound_input_shape(model: nn.Module, n_inputs: int) -> tuple[int, ...]:
    """The per-sample input shape the bounded network is traced with. Boxes are reshaped to
    it so no Reshape sits between the input and a conv layer (auto_LiRPA 0.3 fails there)."""
    shape = getattr(model, "net_input_shape", None) or getattr(model, "input_shape", None)
    if shape is None or int(np.prod(shape)) != n_inputs:
        return (int(n_inputs),)
    return tuple(int(v) for v in shape)


def bounded_module(model: nn.Module, input_shape: tuple[int, ...], *, device: str = "cpu") -> Any:
    """The (cached) ``BoundedModule`` for ``model`` on inputs ``(N, *input_shape)``.

    Models with a ``folded()`` method (:class:`~.arch.MLP`, :class:`~.arch.ConvNet`) are
    bounded in folded form (no normalisation layers, BatchNorm inside the conv). The cache
    lives on the model object and assumes its weights do not change afterwards (call
    :func:`clear_cache` after training further).
    """
    cache: dict[tuple[Any, str], Any] = model.__dict__.setdefault("_lirpa_cache", {})
    key = (tuple(input_shape), device)
    if key not in cache:
        lirpa = import_auto_lirpa()
        folded = getattr(model, "folded", None)
        net = folded() if callable(folded) else model.eval()
        if not any(True for _ in net.parameters()):
            net = _ZeroParam(net)
        if device != "cpu":
            import copy

            # Copy without the cache: cached BoundedModules do not deep-copy.
            saved = model.__dict__.pop("_lirpa_cache", None)
            try:
                net = copy.deepcopy(net).to(device)
            finally:
                if saved is not None:
                    model.__dict__["_lirpa_cache"] = saved
        opts = dict(_LEGACY_OPTS) if is_legacy() else {}
        with _quiet():
            cache[key] = lirpa.BoundedModule(net, torch.zeros(1, *input_shape, device=device),
                                             bound_opts=opts, device=device)
    return cache[key]


def clear_cache(model: nn.Module) -> None:
    """Forget the cached BoundedModules of ``model``."""
    model.__dict__.pop("_lirpa_cache", None)


def _no_filter_change(*args: Any, **kwargs: Any) -> None:
    """Replaces ``warnings.simplefilter`` while auto_LiRPA imports (:func:`import_auto_lirpa`)."""


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _method(method: str) -> str:
    key = method.strip().lower().replace("_", "-")
    if key not in METHODS:
        raise ConfigError(f"unknown bound method {method!r}; use IBP, CROWN or alpha-CROWN")
    return METHODS[key]


def outward_float32(lo: Any, hi: Any) -> tuple[np.ndarray, np.ndarray]:
    """``lo``/``hi`` rounded to float32 *outwards* (lo down, hi up), so the float32 box
    contains the given one and bounds over it stay sound for every point of the original."""
    lo64 = np.asarray(lo, dtype=np.float64)
    hi64 = np.asarray(hi, dtype=np.float64)
    lo32, hi32 = lo64.astype(np.float32), hi64.astype(np.float32)
    lo32 = np.where(lo32.astype(np.float64) > lo64, np.nextafter(lo32, np.float32(-np.inf)), lo32)
    hi32 = np.where(hi32.astype(np.float64) < hi64, np.nextafter(hi32, np.float32(np.inf)), hi32)
    return lo32.astype(np.float32), hi32.astype(np.float32)


def _as_boxes(lo: Any, hi: Any, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    lo32, hi32 = outward_float32(lo, hi)
    lo_t = torch.as_tensor(lo32, device=device)
    hi_t = torch.as_tensor(hi32, device=device)
    if lo_t.ndim == 1:
        lo_t, hi_t = lo_t[None], hi_t[None]
    lo_t, hi_t = lo_t.reshape(len(lo_t), -1), hi_t.reshape(len(hi_t), -1)
    if lo_t.shape != hi_t.shape:
        raise ConfigError(
            f"box bounds of different shapes {tuple(lo_t.shape)} and {tuple(hi_t.shape)}")
    if bool((lo_t > hi_t).any()):
        raise ConfigError("a box has a lower bound above its upper bound")
    return lo_t, hi_t


def compute_bounds(
    model: nn.Module,
    lo: Any,
    hi: Any,
    C: Any = None,
    method: str = "CROWN",
    *,
    alpha_iterations: int = 20,
    alpha_lr: float = 0.5,
    device: str = "cpu",
    bound_upper: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Lower/upper bounds of the outputs (or of ``C @ y``) over a batch of input boxes.

    ``lo``/``hi``: (N, n_inputs) box corners (flattened inputs; one box may be 1-D).
    ``C``: optional (N, k, n_outputs) or (k, n_outputs) specification matrix. ``method``:
    ``IBP``, ``CROWN`` or ``alpha-CROWN``. Returns float64 arrays (N, k) (k = n_outputs
    without C). ``model``: an :class:`~.onnx_to_torch.OnnxTorchModel`, :class:`~.arch.MLP`,
    :class:`~.arch.ConvNet` or any module taking ``(N, *model.input_shape)`` or flat inputs.
    ``bound_upper=False`` computes lower bounds only (about half the work for CROWN and
    alpha-CROWN); the upper bounds come back as +inf. Boxes are rounded outward to float32.
    """
    import_auto_lirpa()
    name = _method(method)
    lo_t, hi_t = _as_boxes(lo, hi, device)
    C_t = None
    if C is not None:
        C_t = torch.as_tensor(np.asarray(C, dtype=np.float32), device=device)
        if C_t.ndim == 2:
            C_t = C_t.expand(len(lo_t), *C_t.shape)
        if C_t.ndim != 3 or len(C_t) != len(lo_t):
            raise ConfigError(
                f"C must be (N, k, n_outputs) with N = {len(lo_t)}, got {tuple(C_t.shape)}")
    if name == "alpha-CROWN" and len(lo_t) > 1 and _has_maxpool(model):
        parts = [_bounds_once(model, lo_t[i:i + 1], hi_t[i:i + 1],
                              None if C_t is None else C_t[i:i + 1], name, alpha_iterations,
                              alpha_lr, device, bound_upper) for i in range(len(lo_t))]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return _bounds_once(model, lo_t, hi_t, C_t, name, alpha_iterations, alpha_lr, device,
                        bound_upper)


def _has_maxpool(model: nn.Module) -> bool:
    return any(isinstance(m, nn.MaxPool2d) for m in model.modules())


def _bounds_once(model: nn.Module, lo: torch.Tensor, hi: torch.Tensor, C: torch.Tensor | None,
                 method: str, iterations: int, lr: float, device: str, bound_upper: bool = True
                 ) -> tuple[np.ndarray, np.ndarray]:
    lirpa = import_auto_lirpa()
    shape = bound_input_shape(model, lo.shape[1])
    try:  # tracing fails on some graphs auto_LiRPA 0.3 cannot build (e.g. ceil_mode pooling)
        bm = bounded_module(model, shape, device=device)
    except (RuntimeError, AssertionError, IndexError, ValueError, NotImplementedError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise VerifierError(f"auto_LiRPA could not build this network: {msg}") from None
    lo, hi = lo.reshape(len(lo), *shape), hi.reshape(len(hi), *shape)
    if method == "alpha-CROWN":
        bm.set_bound_opts({"optimize_bound_args": {"iteration": int(iterations), "lr_alpha": lr}})
    ptb = lirpa.PerturbationLpNorm(norm=float("inf"), x_L=lo, x_U=hi)
    x = lirpa.BoundedTensor((lo + hi) / 2, ptb)
    grad = torch.enable_grad() if method == "alpha-CROWN" else torch.no_grad()
    try:
        with _quiet(), grad:
            lb, ub = bm.compute_bounds(x=(x,), method=method, C=C, bound_upper=bound_upper)
    except (RuntimeError, AssertionError, IndexError, ValueError, NotImplementedError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise VerifierError(f"auto_LiRPA {method} failed on this network: {msg}") from None
    lower = lb.detach().cpu().double().numpy()
    if ub is None:
        return lower, np.full_like(lower, np.inf)
    return lower, ub.detach().cpu().double().numpy()


def relu_preactivation_bounds(
    model: nn.Module, lo: Any, hi: Any, method: str = "CROWN", *, device: str = "cpu"
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Bounds of every ReLU's input over each box, one ``(lower, upper)`` pair per ReLU node
    in graph order, each of shape ``(N, *units)``.

    These are the intermediate bounds auto_LiRPA computes on its way to the output bounds:
    interval arithmetic for ``IBP``, a backward (CROWN) pass per pre-activation layer for
    ``CROWN`` (and for ``alpha-CROWN``, which optimises only the output bounds).
    """
    name = _method(method)
    if name == "alpha-CROWN":
        name = "CROWN"
    lo_t, hi_t = _as_boxes(lo, hi, device)
    _bounds_once(model, lo_t, hi_t, None, name, 0, 0.0, device)
    bm = bounded_module(model, bound_input_shape(model, lo_t.shape[1]), device=device)
    out = []
    relus = getattr(bm, "relus", None) or [n for n in bm._modules.values()
                                             if type(n).__name__ == "BoundRelu"]
    for relu in relus:
        pre = relu.inputs[0]
        lower, upper = getattr(pre, "lower", None), getattr(pre, "upper", None)
        if lower is None or upper is None:
            raise VerifierError(
                f"auto_LiRPA kept no {name} bounds for the input of ReLU {relu.name}")
        out.append((lower.detach().cpu().double().numpy(), upper.detach().cpu().double().numpy()))
    return out
