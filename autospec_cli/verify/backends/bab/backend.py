"""``bab``: a complete verifier (branch and bound over input boxes or ReLU activations).

``split`` chooses what to branch on. ``input`` (the default for networks with at most
:data:`RELU_MIN_INPUTS` inputs, or that are not affine/ReLU chains) is described below.
``relu`` (the default for affine/ReLU networks with more inputs: MNIST MLPs, intrusion
detectors, and the twin networks of monotonicity properties) runs
:func:`autospec_cli.verify.backends.bab.relu_split.relu_split_search` per case:
alpha-CROWN at the root, then batches of subdomains defined by split ReLUs bounded with
beta-CROWN, neurons chosen by filtered smart branching, fully split leaves decided by an LP.

Each case of the property (input box × disjunction of unsafe polytopes) is searched by
:class:`autospec_cli.verify.backends.bab.search.CaseSearch`: a short gradient attack, then batches
of sub-boxes bounded with CROWN (native float64 for affine/ReLU chains, auto_LiRPA's CROWN
otherwise), refuted boxes dropped, the others shrunk to where their linear bounds allow a
counterexample, probed at their centre and CROWN minimising corner (plus a few gradient
steps from there), and bisected along the input chosen by trial bisection or by bound
coefficients. It answers

* ``sat`` only with a counterexample that onnxruntime confirms *exactly* (the input rounded to
  float32 inside the box, onnxruntime's output inside an unsafe polytope without tolerance);
  the runner re-checks it with VNN-COMP's tolerances as for every backend;
* ``unsat`` only when every sub-box of every case was refuted with a safety margin that
  covers floating-point rounding (see :mod:`autospec_cli.verify.backends.bab.search`);
* ``timeout`` when ``instance.timeout`` runs out, ``unknown`` when boxes became too small to
  split without a decision (and, with ``leaf=milp``, their MILP did not decide them either).

Exact leaves (``leaf``, the optional ``milp`` extra: HiGHS through ``highspy``; see
:mod:`autospec_cli.verify.backends.bab.milp`). With ``leaf=milp`` (the default ``auto`` picks
it when ``highspy`` imports) input splitting hands every box that reaches ``min_width`` -- which
would otherwise end ``unknown`` -- and, within ``leaf_share`` of the search's time, boxes with
at most ``leaf_unstable`` unstable ReLUs to an exact LP/MILP decision (``leaf_time`` seconds
each); activation splitting decides a polytope its search gives up on (live-subdomain cap,
open leaves) by a MILP over the box with the time left, and ``milp_refine=lp|milp`` tightens
the root's intermediate bounds by LP/MILP first (``milp_refine_time``). A refutation counts
only through a safe LP dual bound or a MILP dual bound above a margin; a solver's point is
only a candidate, confirmed in onnxruntime as above. Without ``highspy`` the search works as
before (``leaf=milp`` and ``milp_refine`` then give a one-line error).

Input splitting scales with the input dimension: it is meant for up to ~10 inputs (ACAS Xu 5,
throughput windows 4). Models are converted with
:func:`autospec_cli.models.onnx_to_torch.load_onnx_as_torch` (checked against onnxruntime);
models and properties come from the process-wide caches of :mod:`autospec_cli.verify.loading`.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from autospec_cli.errors import VerifierError
from autospec_cli.verify.base import Counterexample, Instance, Parameter, Result, Verdict, Verifier
from autospec_cli.verify.falsify import snap_float32
from autospec_cli.verify.loading import derived, load_property, load_torch_model, onnx_runner
from autospec_cli.vnnlib.property import Case
from autospec_cli.vnnlib.twin import PRODUCER as TWIN

#: ``split=auto`` splits activations on affine/ReLU networks with more inputs than this and
#: input boxes otherwise. Measured: input splitting decides ACAS Xu (5 inputs) in under a
#: second where activation splitting decided 0 of 6 instances in 20 s; on 784-input MNIST MLPs
#: activation splitting decided 17 of 18 and input splitting 13 (20 s each); alpha-beta-CROWN
#: uses the same threshold of 20.
RELU_MIN_INPUTS = 20


def _load(path: Path, device: str) -> tuple[Any, Any]:
    """The onnxruntime runner and the search's bounder of one ONNX file (cached)."""

    def bounder() -> Any:
        from autospec_cli.verify.backends.bab.search import Bounder

        return Bounder(load_torch_model(path, device=device), runner.n_inputs, device)

    runner = onnx_runner(path, threads=1)
    return runner, derived(path, "bab.Bounder", bounder, device)


def _is_twin(path: Path) -> bool:
    """A twin network of a monotonicity property (:mod:`autospec_cli.vnnlib.twin`)? Its output
    ``f(x') - f(x)`` is 0 on the whole face ``d = 0`` of its input box, a gap input splitting
    never closes; ``split=auto`` splits its activations instead."""
    import onnx

    try:
        return bool(onnx.load(str(path), load_external_data=False).producer_name == TWIN)
    except Exception:  # noqa: BLE001 - unreadable here means the loaders report it
        return False


@contextmanager
def _torch_threads(n: int) -> Any:
    import torch

    old = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def confirm_in_onnxruntime(
    runner: Any, case: Case, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(x32, y)`` if ``x`` rounded to float32 inside ``case``'s box is an exact counterexample
    in onnxruntime (output in an unsafe polytope with zero tolerance), else None."""
    x32 = snap_float32(np.asarray(x, dtype=np.float64).reshape(1, -1), case.lo, case.hi)
    if not case.contains(x32)[0]:
        return None
    y = np.asarray(runner.run(x32), dtype=np.float64).reshape(1, -1)
    if not (np.all(np.isfinite(y)) and case.unsafe(y)[0]):
        return None
    return x32[0], y[0]


class BabVerifier(Verifier):
    """Complete: branch and bound over input boxes or ReLU activations (``split``), CROWN /
    alpha-beta-CROWN bounds; every sat confirmed in onnxruntime."""

    uses_output_facts: ClassVar[bool] = True
    name: ClassVar[str] = "bab"
    complete: ClassVar[bool] = True
    parameters: ClassVar[dict[str, Parameter]] = {
        "batch": Parameter(int, 1024, "sub-boxes bounded per CROWN call", min=1),
        "rel_tol": Parameter(
            float,
            0.0,
            "safety margin of a refutation, relative to 1 + |b| + |bound| "
            "(0: automatic, 1e-6 for float64 bounds and 1e-5 for float32)",
            min=0,
        ),
        "min_width": Parameter(
            float, 1e-9, "boxes narrower than this (relative) are not split further", min=0
        ),
        "attack_restarts": Parameter(int, 32, "gradient-attack restarts per case before branching",
                                     min=0),
        "attack_steps": Parameter(int, 40, "gradient-attack steps", min=0),
        "branching": Parameter(
            str,
            "mixed",
            "split input per box: trial (bisect the input whose halves bound best), coef "
            "(largest width x bound coefficient) or mixed (each box one of them at random)",
            choices=("mixed", "trial", "coef"),
        ),
        "polish_steps": Parameter(
            int, 8, "gradient steps from each surviving box's candidate points (0: none)", min=0
        ),
        "alpha_steps": Parameter(
            int, 0, "alpha-CROWN steps on the output bound of every box (0: plain CROWN)", min=0
        ),
        "threads": Parameter(int, 1, "torch threads while searching (0: leave torch's setting)",
                             min=0),
        "seed": Parameter(int, 0, "random seed of the attack"),
        "device": Parameter(str, "cpu", "where to bound and search", choices=("cpu", "cuda")),
        "split": Parameter(
            str,
            "auto",
            "what to branch on: input (split the input box), relu (split unstable ReLUs, "
            "for affine/ReLU networks) or auto (relu for affine/ReLU networks with more than "
            f"{RELU_MIN_INPUTS} inputs, else input)",
            choices=("auto", "input", "relu"),
        ),
        "relu_batch": Parameter(int, 64, "relu split: subdomains bounded per pass", min=1),
        "relu_iters": Parameter(int, 10, "relu split: alpha/beta steps per pass", min=0),
        "relu_branching": Parameter(
            str, "fsb", "relu split: neuron choice (fsb: filtered smart branching; babsr)",
            choices=("fsb", "babsr"),
        ),
        "relu_max_live": Parameter(
            int, 20_000, "relu split: live subdomains before answering unknown", min=1
        ),
        "leaf": Parameter(
            str,
            "auto",
            "exact leaves with HiGHS (the milp extra): milp (input split: boxes that reach "
            "min_width or have few unstable ReLUs are decided by a MILP; relu split: a polytope "
            "the search leaves undecided is decided by a MILP over the box), none, or auto "
            "(milp when highspy is installed)",
            choices=("auto", "milp", "none"),
        ),
        "leaf_unstable": Parameter(
            int, 16, "input split: boxes with at most this many unstable ReLUs go to the MILP",
            min=0,
        ),
        "leaf_share": Parameter(
            float, 0.5, "input split: share of the search's time MILP leaves may use", min=0
        ),
        "leaf_time": Parameter(
            float, 1.0, "input split: seconds per MILP leaf (boxes at min_width: 5x)", min=0
        ),
        "milp_refine": Parameter(
            str,
            "none",
            "relu split: tighten the root's intermediate bounds of unstable neurons with HiGHS "
            "before the search: lp (triangle relaxation) or milp (binary per unstable ReLU); "
            "only tighter bounds are kept",
            choices=("none", "lp", "milp"),
        ),
        "milp_refine_time": Parameter(
            float, 0.25, "relu split: share of the instance's time milp_refine may use "
            "(values > 1: seconds)", min=0,
        ),
        "relu_refine": Parameter(
            bool, False, "relu split: bound the layers after a split again in each subdomain "
            "(sound; no gain measured on eran's 9x200 net, ~8% fewer subdomains per second)"
        ),
    }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        from autospec_cli.verify.backends.bab import milp

        has_milp = milp.available()
        needs = [k for k, off in (("leaf", ("auto", "none")), ("milp_refine", ("none",)))
                 if self.options[k] not in off]
        if needs and not has_milp:
            raise VerifierError(
                f"bab: {' and '.join(needs)} need highspy (pip install 'autospec-cli[milp]')"
            )
        self.leaf = "milp" if self.options["leaf"] == "milp" or (
            self.options["leaf"] == "auto" and has_milp) else "none"
        if self.options["device"] == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise VerifierError("bab: device=cuda but torch sees no CUDA GPU; use device=cpu")

    def _config(self, n_cases: int = 1, n_inputs: int = 0) -> Any:
        """The input-split search settings. A property of many input boxes shares one attack
        budget among its cases (``attack_restarts`` in all, at least 2 per case): nn4sys-style
        properties have hundreds of small boxes, where a full attack per case cost more than
        deciding the case (measured: 10 boxes of a 1-4096-4096-1 net, 297 s, mostly attacks)."""
        from autospec_cli.verify.backends.bab.search import SearchConfig

        o = self.options
        restarts = o["attack_restarts"]
        if n_cases > 1 and restarts > 0:
            restarts = max(2, -(-restarts // n_cases))
        return SearchConfig(
            batch=o["batch"],
            rel_tol=o["rel_tol"] or None,
            min_width=o["min_width"],
            attack_restarts=restarts,
            attack_steps=o["attack_steps"],
            seed=o["seed"],
            branching=o["branching"],
            polish_steps=o["polish_steps"],
            alpha_steps=o["alpha_steps"],
            leaf=self.leaf,
            leaf_unstable=o["leaf_unstable"],
            leaf_share=o["leaf_share"],
            leaf_time=o["leaf_time"],
            root_alpha=n_inputs > RELU_MIN_INPUTS,
        )

    def _relu_config(self) -> Any:
        from autospec_cli.verify.backends.bab.relu_split import ReluSplitConfig

        o = self.options
        return ReluSplitConfig(
            batch=o["relu_batch"],
            iters=o["relu_iters"],
            branching=o["relu_branching"],
            max_live=o["relu_max_live"],
            refine=o["relu_refine"],
            attack_restarts=o["attack_restarts"],
            attack_steps=o["attack_steps"],
            seed=o["seed"],
            leaf=self.leaf,
            milp_refine=o["milp_refine"],
            milp_refine_time=o["milp_refine_time"],
        )

    def _relu_layers(self, path: Path, bounder: Any, n_inputs: int) -> Any:
        """The float64 affine/ReLU chain of the model when activation splitting is chosen."""
        mode = self.options["split"]
        if mode == "input" or (mode == "auto" and n_inputs <= RELU_MIN_INPUTS
                               and not derived(path, "bab.is_twin", lambda: _is_twin(path))):
            return None
        from autospec_cli.verify.backends.bab.relu_split import relu_chain

        layers = derived(path, "bab.relu_chain", lambda: relu_chain(bounder.model, n_inputs),
                         self.options["device"])
        if layers is None and mode == "relu":
            raise VerifierError(
                "bab: split=relu needs a network of affine layers and ReLUs; use split=input"
            )
        return layers

    def _network64(self, path: Path, bounder: Any) -> Any:
        """The model in float64 for the attacks of activation splitting (its convolutions are
        much cheaper than their dense expansion in the layers)."""

        def build() -> Any:
            import torch

            from autospec_cli.models.onnx_to_torch import load_onnx_as_torch

            # A fresh conversion, not a copy of the cached model: other backends of a
            # portfolio share that one, and after auto_LiRPA has bounded it its parameters
            # cannot be deep-copied (RuntimeError from torch's __deepcopy__: every MNIST study
            # instance left to bab by lirpa and attack ended in `error`).
            net = load_onnx_as_torch(path, check=False).double().eval()
            for p in net.parameters():
                p.requires_grad_(False)

            def run(X: torch.Tensor) -> torch.Tensor:
                return net(X).reshape(X.shape[0], -1)

            return run

        return derived(path, "bab.network64", build, self.options["device"])

    def verify_instance(self, instance: Instance) -> Result:
        with _torch_threads(self.options["threads"]):
            return self._verify(instance)

    def _verify(self, instance: Instance) -> Result:
        from autospec_cli.verify.backends.bab.relu_split import relu_split_search
        from autospec_cli.verify.backends.bab.search import CaseSearch, OutOfTime

        start = time.monotonic()
        deadline = start + float(instance.timeout)
        runner, bounder = _load(Path(instance.onnx), self.options["device"])
        prop = load_property(
            instance.vnnlib, n_inputs=runner.n_inputs, n_outputs=runner.n_outputs
        )
        try:
            relu_layers = self._relu_layers(Path(instance.onnx), bounder, runner.n_inputs)
        except VerifierError as e:
            return Result(Verdict.ERROR, message=str(e))
        network = None if relu_layers is None else self._network64(Path(instance.onnx), bounder)
        prepare = time.monotonic() - start
        extra: dict[str, Any] = {"native_bounds": bounder.native, "cases": len(prop.cases),
                                 "split": "input" if relu_layers is None else "relu"}
        undecided: list[str] = []
        stats: list[dict[str, Any]] = []
        for k, case in enumerate(prop.cases):
            found: dict[str, Any] = {}

            def confirm(
                x: np.ndarray, case: Case = case, found: dict[str, Any] = found
            ) -> np.ndarray | None:
                hit = confirm_in_onnxruntime(runner, case, x)
                if hit is None:
                    return None
                found["x"], found["y"] = hit
                return hit[1]

            if relu_layers is not None:
                out = relu_split_search(relu_layers, case, deadline=deadline, confirm=confirm,
                                        config=self._relu_config(), network=network)
                if out.verdict == "timeout":
                    extra["stats"] = stats + [out.stats]
                    return Result(Verdict.TIMEOUT, prepare_time=prepare, extra=extra,
                                  message=f"time limit reached in case {k} (relu split)")
            else:
                search = CaseSearch(bounder, case, self._config(len(prop.cases), runner.n_inputs),
                                    deadline, confirm)
                try:
                    out = search.run()
                except OutOfTime:
                    extra["stats"] = stats + [search.stats]
                    return Result(
                        Verdict.TIMEOUT,
                        prepare_time=prepare,
                        extra=extra,
                        message=f"time limit reached in case {k} after "
                        f"{search.stats['boxes']} boxes",
                    )
            stats.append(out.stats)
            if out.verdict == "sat":
                extra.update(stats=stats, phase=out.phase, case=k)
                return Result(
                    Verdict.SAT,
                    counterexample=Counterexample(found["x"], found["y"]),
                    message=f"counterexample found by {out.phase} in case {k}",
                    prepare_time=prepare,
                    extra=extra,
                )
            if out.verdict != "unsat":
                undecided.append(f"case {k}: {out.phase}")
        extra["stats"] = stats
        if undecided:
            return Result(
                Verdict.UNKNOWN, message="; ".join(undecided), prepare_time=prepare, extra=extra
            )
        if relu_layers is not None:
            done = "every case refuted by activation splitting"
        else:
            done = f"all {sum(s['boxes'] for s in stats)} sub-boxes refuted"
        return Result(
            Verdict.UNSAT,
            message=done,
            prepare_time=prepare,
            extra=extra,
        )
