"""``lirpa``: sound output bounds with auto_LiRPA (IBP, CROWN, alpha-CROWN); incomplete.

Reduction. Every case of a property (an input box and a disjunction of unsafe polytopes
``A_k y <= b_k``, see :mod:`autospec_cli.vnnlib.property`) becomes one bounding query: the
box, and a specification matrix ``C`` stacking the rows of all the case's polytopes. auto_LiRPA
lower-bounds every row of ``C y`` over the box. A polytope is *refuted* when one of its rows
``i`` has ``lower(A_i y) > b_i`` (no output in the box satisfies that row, so none satisfies
the conjunction); a case is safe when all its polytopes are refuted; the property holds
(``unsat``) when every case is safe. Anything else is ``unknown``: the backend never says
``sat``. (Bounding a case's rows together is the same as one box per polytope: each row of
``C`` gets its own bound, and its own alpha under alpha-CROWN.)

Batching. :meth:`LirpaVerifier.verify_many` groups instances by ONNX model; the cases of all
their properties are stacked into batches of ``batch_size`` boxes, ``C`` padded with zero rows
whose ``b`` is +inf (they never decide), and each batch is bounded in one call -- not one call
per property. ``method=alpha-crown`` runs CROWN over every box first and optimises only the
boxes CROWN left undecided. Once a case of a property is undecided by the last method, the
property's other boxes are skipped.

Soundness margins: boxes are rounded outward to float32; a row refutes only when its lower
bound exceeds ``b_i`` by ``tolerance * (1 + |b_i|)`` (float32 arithmetic inside auto_LiRPA).

Time: the bounding time of each batch is shared among its boxes' instances; an instance whose
share exceeds its time limit before all its cases are bounded is a ``timeout``. Model loading
is shared equally (``prepare_time``). Models and properties come from the process-wide caches of
:mod:`autospec_cli.verify.loading`.

Library use: :func:`bound_property_batch` (verdicts for properties of an in-memory model),
:func:`decide_properties` (with margins, budgets and errors) and :func:`unstable_relus`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from autospec_cli.errors import VerifierError
from autospec_cli.progress import ProgressFn
from autospec_cli.verify.base import Instance, Parameter, Result, Verdict, Verifier
from autospec_cli.verify.loading import load_property, load_torch_model
from autospec_cli.verify.runner import one_line
from autospec_cli.vnnlib.property import Case, Property

METHOD_STAGES: dict[str, tuple[str, ...]] = {
    "ibp": ("IBP",),
    "crown": ("CROWN",),
    "alpha-crown": ("CROWN", "alpha-CROWN"),
}


# --- queries: one per case --------------------------------------------------------------------


@dataclass
class _Query:
    """One case as a bounding query: box, stacked rows ``C``/``b`` and each row's polytope."""

    owner: int
    lo: np.ndarray
    hi: np.ndarray
    C: np.ndarray  # (k, n_outputs)
    b: np.ndarray  # (k,)
    poly: np.ndarray  # (k,) polytope index of each row
    n_polys: int
    margin: float = float("nan")  # best case margin over the methods run so far (nan: not run)


def _case_query(owner: int, case: Case) -> _Query | None | bool:
    """The query of ``case``; True when it is vacuously safe, False when it cannot be refuted."""
    if not case.disjuncts or bool(np.any(case.lo > case.hi)):
        return True  # no unsafe polytope, or an empty box
    if any(p.A.shape[0] == 0 for p in case.disjuncts):
        return False  # an empty conjunction: every output is unsafe
    C = np.vstack([p.A for p in case.disjuncts])
    b = np.concatenate([p.b for p in case.disjuncts])
    poly = np.concatenate([np.full(p.A.shape[0], k) for k, p in enumerate(case.disjuncts)])
    return _Query(owner, case.lo, case.hi, C, b, poly, len(case.disjuncts))


def _pad(queries: Sequence[_Query]) -> tuple[np.ndarray, ...]:
    """Stack queries into ``lo, hi (N, n)``, ``C (N, K, m)``, ``b (N, K)`` (+inf padding),
    ``poly (N, K)`` (-1 padding) and ``n_polys (N,)``."""
    n, m = len(queries), queries[0].C.shape[1]
    K = max(len(q.b) for q in queries)
    C = np.zeros((n, K, m))
    b = np.full((n, K), np.inf)
    poly = np.full((n, K), -1)
    for i, q in enumerate(queries):
        k = len(q.b)
        C[i, :k], b[i, :k], poly[i, :k] = q.C, q.b, q.poly
    lo = np.stack([q.lo for q in queries])
    hi = np.stack([q.hi for q in queries])
    return lo, hi, C, b, poly, np.array([q.n_polys for q in queries])


def judge(lb: np.ndarray, b: np.ndarray, poly: np.ndarray, n_polys: np.ndarray,
          tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Per box: is every polytope refuted, and the margin ``min_polytopes max_rows (lb - b)``.

    ``lb``, ``b``, ``poly``: (N, K) lower bounds of the rows, right-hand sides (+inf on padding)
    and polytope index of each row (-1 on padding). A row refutes its polytope when
    ``lb - b > tolerance * (1 + |b|)``.
    """
    P = int(max(1, n_polys.max()))
    member = poly[:, :, None] == np.arange(P)[None, None, :]  # (N, K, P)
    with np.errstate(invalid="ignore"):
        gap = lb - b  # -inf on padding
        refutes = gap > tolerance * (1.0 + np.abs(b))
    refuted = (member & refutes[:, :, None]).any(axis=1)  # (N, P)
    exists = np.arange(P)[None, :] < n_polys[:, None]
    safe = (refuted | ~exists).all(axis=1)
    best = np.where(member, gap[:, :, None], -np.inf).max(axis=1)
    margin = np.where(exists, best, np.inf).min(axis=1)
    return safe, margin


# --- deciding properties of one model ----------------------------------------------------------


@dataclass
class Decision:
    """What :func:`decide_properties` found for each property (parallel lists)."""

    verdicts: list[Verdict]
    margins: list[float]  # min over bounded cases of the case margin (> 0 on every case: holds)
    times: list[float]  # bounding time attributed to each property (seconds)
    boxes: list[int]  # cases bounded
    messages: list[str] = field(default_factory=list)


@dataclass
class _State:
    """Progress of one :func:`decide_properties` call."""

    n: int
    budgets: np.ndarray
    verdict: list[Verdict | None] = field(default_factory=list)
    margin: np.ndarray = field(default_factory=lambda: np.zeros(0))
    spent: np.ndarray = field(default_factory=lambda: np.zeros(0))
    boxes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    message: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.verdict = [None] * self.n
        self.margin = np.full(self.n, np.inf)
        self.spent = np.zeros(self.n)
        self.boxes = np.zeros(self.n, dtype=int)
        self.message = [""] * self.n

    def alive(self, owner: int) -> bool:
        if self.verdict[owner] is not None:
            return False
        if self.spent[owner] >= self.budgets[owner]:
            self.verdict[owner] = Verdict.TIMEOUT
            return False
        return True

    def settle(self, owner: int, verdict: Verdict, message: str = "") -> None:
        if self.verdict[owner] is None:
            self.verdict[owner], self.message[owner] = verdict, message


def decide_properties(
    model: Any,
    props: Sequence[Property],
    *,
    method: str = "crown",
    batch_size: int = 1024,
    device: str = "cpu",
    tolerance: float = 1e-5,
    alpha_iterations: int = 20,
    budgets: Sequence[float] | None = None,
    progress: ProgressFn | None = None,
) -> Decision:
    """Bound every case of every property of ``model`` in batched C-matrix calls.

    ``model``: a torch module auto_LiRPA can bound (an ``OnnxTorchModel``, ``MLP``,
    ``ConvNet``); ``props`` must match its flattened input/output sizes. Verdicts are
    ``unsat`` (holds), ``unknown``, ``timeout`` (its share of the bounding time passed its
    ``budgets`` entry, seconds) or ``error`` (auto_LiRPA failed on a batch; see ``messages``).
    """
    key = method.strip().lower().replace("_", "-")
    if key == "crown-optimized":
        key = "alpha-crown"
    if key not in METHOD_STAGES:
        raise VerifierError(f"lirpa: unknown method {method!r}; use ibp, crown or alpha-crown")
    if batch_size < 1:
        raise VerifierError("lirpa: batch_size must be >= 1")
    n = len(props)
    state = _State(n, np.asarray(budgets if budgets is not None else [np.inf] * n, dtype=float))
    todo: list[_Query] = []
    for owner, prop in enumerate(props):
        for case in prop.cases:
            q = _case_query(owner, case)
            if q is False:
                state.settle(owner, Verdict.UNKNOWN, "a case's unsafe region is every output")
                state.margin[owner] = -np.inf
            elif isinstance(q, _Query):
                todo.append(q)
    queries = list(todo)
    stages = METHOD_STAGES[key]
    for s, stage in enumerate(stages):
        todo = _run_stage(model, todo, stage, s == len(stages) - 1, state, progress,
                          dict(batch_size=batch_size, device=device, tolerance=tolerance,
                               alpha_iterations=alpha_iterations))
    for q in queries:
        if not np.isnan(q.margin):
            state.boxes[q.owner] += 1
            state.margin[q.owner] = min(state.margin[q.owner], q.margin)
    for owner in range(n):
        state.settle(owner, Verdict.UNSAT)
    return Decision(list(state.verdict), state.margin.tolist(), state.spent.tolist(),  # type: ignore[arg-type]
                    state.boxes.tolist(), state.message)


def _run_stage(model: Any, todo: list[_Query], stage: str, last: bool, state: _State,
               progress: ProgressFn | None, opts: dict[str, Any]) -> list[_Query]:
    """Bound the live queries of ``todo`` with ``stage``; return those left unsafe."""
    from autospec_cli.models.lirpa_compat import compute_bounds

    left: list[_Query] = []
    pos, total = 0, len(todo)
    while pos < total:
        chunk: list[_Query] = []
        while pos < total and len(chunk) < opts["batch_size"]:
            if state.alive(todo[pos].owner):
                chunk.append(todo[pos])
            pos += 1
        if not chunk:
            break
        lo, hi, C, b, poly, n_polys = _pad(chunk)
        owners = np.array([q.owner for q in chunk])
        t0 = time.perf_counter()
        try:
            lb, _ = compute_bounds(model, lo, hi, C=C, method=stage, device=opts["device"],
                                   alpha_iterations=opts["alpha_iterations"], bound_upper=False)
        except VerifierError as e:
            _share(state, owners, time.perf_counter() - t0)
            for o in set(owners.tolist()):
                state.settle(o, Verdict.ERROR, str(e))
            continue
        _share(state, owners, time.perf_counter() - t0)
        safe, margin = judge(lb, b, poly, n_polys, opts["tolerance"])
        for q, ok, m in zip(chunk, safe, margin, strict=True):
            q.margin = float(m) if np.isnan(q.margin) else max(q.margin, float(m))
            if ok:
                continue
            if last:
                state.settle(q.owner, Verdict.UNKNOWN, f"{stage} bounds do not refute every case")
            else:
                left.append(q)
        if progress:
            progress(f"lirpa {stage}", pos, total)
    return left


def _share(state: _State, owners: np.ndarray, seconds: float) -> None:
    """Attribute ``seconds`` to the owners of a batch, per box."""
    np.add.at(state.spent, owners, seconds / max(1, len(owners)))


def bound_property_batch(
    model: Any, props: Sequence[Property], *, method: str = "crown", batch_size: int = 1024,
    device: str = "cpu", tolerance: float = 1e-5, alpha_iterations: int = 20,
) -> list[bool]:
    """For each property: does it provably hold (True) or is it undecided (False)?

    All cases of all ``props`` are bounded together (see :func:`decide_properties`); raises
    :class:`VerifierError` when auto_LiRPA cannot bound the model.
    """
    d = decide_properties(model, props, method=method, batch_size=batch_size, device=device,
                          tolerance=tolerance, alpha_iterations=alpha_iterations)
    for v, msg in zip(d.verdicts, d.messages, strict=True):
        if v is Verdict.ERROR:
            raise VerifierError(msg)
    return [v is Verdict.UNSAT for v in d.verdicts]


# --- ReLU stability ----------------------------------------------------------------------------


@dataclass
class ReluStability:
    """Per box: ReLUs whose pre-activation interval straddles 0 (unstable), is >= 0 (active)
    or <= 0 (inactive); ``total`` ReLU units in the network."""

    unstable: np.ndarray
    active: np.ndarray
    inactive: np.ndarray
    total: int


def relu_stability(model: Any, lo: Any, hi: Any, method: str = "crown", *,
                   device: str = "cpu") -> ReluStability:
    """Classify every ReLU unit over each input box (``lo``/``hi``: (N, n) or one box (n,)).

    Pre-activation bounds are auto_LiRPA's intermediate bounds: interval arithmetic for
    ``ibp``, a CROWN backward pass per layer for ``crown`` (``alpha-crown`` uses CROWN's).
    A unit is unstable when ``lower < 0 < upper``.
    """
    from autospec_cli.models.lirpa_compat import relu_preactivation_bounds

    layers = relu_preactivation_bounds(model, lo, hi, method, device=device)
    n = np.atleast_2d(np.asarray(lo)).shape[0]
    unstable, active, inactive = (np.zeros(n, dtype=int) for _ in range(3))
    total = 0
    for lower, upper in layers:
        lower, upper = lower.reshape(n, -1), upper.reshape(n, -1)
        unstable += ((lower < 0) & (upper > 0)).sum(axis=1)
        active += (lower >= 0).sum(axis=1)
        inactive += ((upper <= 0) & (lower < 0)).sum(axis=1)
        total += lower.shape[1]
    return ReluStability(unstable, active, inactive, total)


def unstable_relus(model: Any, lo: Any, hi: Any, method: str = "crown", *,
                   device: str = "cpu") -> np.ndarray:
    """Number of unstable ReLUs (pre-activation bounds with ``lower < 0 < upper``) per box."""
    return relu_stability(model, lo, hi, method, device=device).unstable


# --- the backend -------------------------------------------------------------------------------


class LirpaVerifier(Verifier):
    """auto_LiRPA IBP / CROWN / alpha-CROWN bounds, a model's properties batched; never sat."""

    uses_output_facts: ClassVar[bool] = True
    name: ClassVar[str] = "lirpa"
    complete: ClassVar[bool] = False
    parameters: ClassVar[dict[str, Parameter]] = {
        "method": Parameter(str, "crown", "bound method (alpha-crown runs CROWN first and "
                            "optimises only what it leaves undecided)",
                            choices=("ibp", "crown", "alpha-crown")),
        "device": Parameter(str, "cpu", "where auto_LiRPA runs", choices=("cpu", "cuda")),
        "batch_size": Parameter(int, 1024, "input boxes bounded per auto_LiRPA call", min=1),
        "alpha_iterations": Parameter(int, 20, "alpha-CROWN optimisation steps", min=1),
        "tolerance": Parameter(float, 1e-5, "a row refutes only when its lower bound exceeds b "
                               "by tolerance * (1 + |b|) (float32 rounding guard)", min=0),
    }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if self.options["device"] == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise VerifierError("lirpa: device=cuda but torch sees no CUDA GPU; use device=cpu")

    @classmethod
    def available(cls) -> tuple[bool, str]:
        """Whether torch and auto_LiRPA are installed, found without importing them: listing
        backends must not pay torch's import (about a second). An install that is present but
        fails to import is reported when the backend first runs (as an ``error`` verdict)."""
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            return False, "torch is not installed (see README: install torch first)"
        if importlib.util.find_spec("auto_LiRPA") is None:
            from autospec_cli.models.lirpa_compat import INSTALL_HINT

            return False, INSTALL_HINT
        return True, ""

    def verify_instance(self, instance: Instance) -> Result:
        return self.verify_many([instance])[0]

    def verify_many(self, instances: Sequence[Instance],
                    progress: ProgressFn | None = None) -> list[Result]:
        """Decide ``instances``; those sharing an ONNX model are bounded together."""
        groups: dict[str, list[int]] = {}
        for k, inst in enumerate(instances):
            groups.setdefault(str(Path(inst.onnx).resolve()), []).append(k)
        results: list[Result | None] = [None] * len(instances)
        for path, members in groups.items():
            for k, r in zip(members, self._verify_group(path, [instances[k] for k in members],
                                                        progress), strict=True):
                results[k] = r
        return [r for r in results if r is not None]

    def _verify_group(self, path: str, insts: list[Instance],
                      progress: ProgressFn | None) -> list[Result]:
        t0 = time.perf_counter()
        try:
            model = load_torch_model(path)
        except Exception as e:  # unreadable or unsupported model: every instance fails alike
            msg = f"cannot load the model for bounding: {one_line(e)}"
            return [Result(Verdict.ERROR, message=msg) for _ in insts]
        prepare = (time.perf_counter() - t0) / len(insts)
        props: list[Property | None] = []
        read_time: list[float] = []
        errors: dict[int, str] = {}
        for k, inst in enumerate(insts):
            t1 = time.perf_counter()
            try:
                props.append(load_property(inst.vnnlib, n_inputs=model.n_inputs,
                                           n_outputs=model.n_outputs))
            except Exception as e:
                props.append(None)
                errors[k] = one_line(e)
            read_time.append(time.perf_counter() - t1)
        live = [k for k in range(len(insts)) if props[k] is not None]
        decision = decide_properties(
            model, [props[k] for k in live], method=self.options["method"],  # type: ignore[misc]
            batch_size=self.options["batch_size"], device=self.options["device"],
            tolerance=self.options["tolerance"], alpha_iterations=self.options["alpha_iterations"],
            budgets=[max(0.0, insts[k].timeout - prepare - read_time[k]) for k in live],
            progress=progress)
        out = [Result(Verdict.ERROR, time=prepare + read_time[k], prepare_time=prepare,
                      message=errors.get(k, "")) for k in range(len(insts))]
        for j, k in enumerate(live):
            out[k] = self._result(decision, j, prepare + read_time[k], prepare)
        return out

    def _result(self, d: Decision, j: int, overhead: float, prepare: float) -> Result:
        verdict, margin = d.verdicts[j], d.margins[j]
        method = self.options["method"]
        extra = {"method": method, "boxes": d.boxes[j],
                 "margin": float(margin) if np.isfinite(margin) else None}
        msg = {Verdict.UNSAT: f"{method} bounds refute every unsafe region",
               Verdict.TIMEOUT: "time limit reached before every case was bounded"}.get(
                   verdict, d.messages[j])
        if verdict is Verdict.UNKNOWN and np.isfinite(margin):
            msg = f"{msg} (worst margin {margin:.4g})"
        return Result(verdict, time=max(1e-9, overhead + d.times[j]), message=msg,
                      prepare_time=prepare, extra=extra)
