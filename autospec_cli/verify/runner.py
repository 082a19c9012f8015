"""Run a backend over instances: time it, contain its failures, and validate every ``sat``.

The runner is the only place that decides what a backend's answer is worth:

* an exception inside a backend becomes ``error`` with a one-line message (one bad instance
  does not stop the others);
* every ``sat`` is re-checked with :func:`autospec_cli.verify.cex.check_counterexample`; a
  ``sat`` without a counterexample, or whose counterexample fails the check, becomes ``error``
  with the reason -- never ``sat``. When the backend reported no outputs ``y``, the
  onnxruntime outputs are stored in the counterexample so the written file is complete;
* an answer that arrives more than ``LATE_GRACE`` seconds after the instance's time limit is
  recorded as ``timeout`` (VNN-COMP scoring counts late answers as timeouts). In-process
  backends are expected to respect ``instance.timeout`` themselves; external tools are killed.

:func:`run_one` is a top-level function so that campaign jobs
(:mod:`autospec_cli.verifyrun.jobs`) can call it per instance in worker processes.
"""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from autospec_cli.errors import VnnlibError
from autospec_cli.progress import ProgressFn
from autospec_cli.verify.base import Counterexample, Instance, Result, Verdict, Verifier
from autospec_cli.verify.cex import check_counterexample
from autospec_cli.verify.registry import make_backend

if TYPE_CHECKING:
    from autospec_cli.vnnlib.product import Prepared

LATE_GRACE = 1.0  # seconds past the limit before an answer counts as a timeout


def one_line(e: BaseException) -> str:
    """``Type: message`` on one line, trimmed."""
    msg = " ".join(str(e).split())
    text = f"{type(e).__name__}: {msg}" if msg else type(e).__name__
    return text[:300]


def validate_result(instance: Instance, result: Result) -> Result:
    """Re-check a ``sat`` result's counterexample; anything else passes through unchanged."""
    if result.verdict is not Verdict.SAT:
        return result
    cex = result.counterexample
    if cex is None:
        return replace(
            result,
            verdict=Verdict.ERROR,
            message=_join("sat without a counterexample", result.message),
        )

    try:
        check = check_counterexample(instance.onnx, instance.vnnlib, cex.x, cex.y)
    except Exception as e:  # unreadable model or property while checking
        return replace(
            result,
            verdict=Verdict.ERROR,
            message=_join(f"counterexample could not be checked: {one_line(e)}", result.message),
        )
    if not check.ok:
        return replace(
            result,
            verdict=Verdict.ERROR,
            message=_join(f"invalid counterexample: {check.reason}", result.message),
        )
    extra = {**result.extra, "cex_check": check.reason, "cex_exact": check.exact}
    if cex.y is None or len(cex.y) == 0:
        assert check.y_model is not None  # a check that passed ran the model
        cex = Counterexample(x=cex.x, y=check.y_model)
    return replace(result, counterexample=cex, extra=extra)


def _join(a: str, b: str) -> str:
    return f"{a} ({b})" if b else a


def _finish(instance: Instance, result: Result, elapsed: float) -> Result:
    """Fill the wall time, mark late answers, validate sat."""
    if not isinstance(result, Result):
        return Result(
            Verdict.ERROR, elapsed, message=f"backend returned {type(result).__name__}, not Result"
        )
    if result.time <= 0:
        result = replace(result, time=elapsed)
    if result.verdict.decided and result.time > instance.timeout + LATE_GRACE:
        return replace(
            result,
            verdict=Verdict.TIMEOUT,
            counterexample=None,
            message=_join(
                f"{result.verdict.value} after the {instance.timeout:g} s limit", result.message
            ),
        )
    return validate_result(instance, result)


def product_instance(instance: Instance) -> tuple[Instance, Prepared] | None:
    """For a VNN-LIB 2.0 query that is no property of one model (several networks, inputs or
    outputs, hidden nodes, linear constraints across inputs: :mod:`autospec_cli.vnnlib.query2`)
    the instance over its augmented network, and the preparation (for replaying witnesses on
    the original networks); None for every other instance. Every network of the query that
    needs a model file uses the instance's model, so a query naming several distinct models
    is refused here (``autospec-solver`` takes one model per network)."""
    from autospec_cli.vnnlib.product import prepare
    from autospec_cli.vnnlib.query2 import reduce_query
    from autospec_cli.vnnlib.reader import is_vnnlib2, read_text
    from autospec_cli.vnnlib.reader_v2 import has_unbounded_input, is_simple, parse_query

    try:  # a 2.0 query starts with its version: the head of the file decides
        opener = gzip.open if str(instance.vnnlib).endswith(".gz") else open
        with opener(instance.vnnlib, "rb") as fh:
            head = fh.read(1 << 16).decode("utf-8", errors="replace")
    except (OSError, EOFError):
        return None  # unreadable: the backend reports it as usual
    if not is_vnnlib2(re.sub(r";[^\n]*", " ", head)):
        return None
    text = read_text(instance.vnnlib)
    query = parse_query(text)
    if is_simple(query) and not has_unbounded_input(text):
        return None
    names = reduce_query(query).model_names
    if len(names) != 1:
        raise VnnlibError(f"the query declares {len(names)} networks with their own models "
                          f"({', '.join(names)}); give each its model with autospec-solver "
                          "verify --network NAME=MODEL.onnx")
    prep = prepare(text, {names[0]: instance.onnx})
    return replace(instance, onnx=prep.onnx, vnnlib=prep.vnnlib), prep


def restricted_note(prep: Prepared) -> str:
    """Why an ``unsat`` over a query with unbounded inputs is reported ``unknown``."""
    names = prep.reduction.prop.meta["restricted_inputs"]
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return (f"no counterexample in a closed search box, but {', '.join(names[:3])}{more} "
            "are unbounded in the query: no proof")


def _replayed(prep: Prepared, result: Result) -> Result:
    """A ``sat`` over the augmented network kept only if its witness satisfies the query on
    the original networks in onnxruntime (strict comparisons strict); else ``unknown``."""
    from autospec_cli.vnnlib.product import replay

    if result.verdict is Verdict.UNSAT and prep.reduction.prop.meta.get("restricted_inputs"):
        return replace(result, verdict=Verdict.UNKNOWN,
                       message=_join(restricted_note(prep), result.message))
    if result.verdict is not Verdict.SAT or result.counterexample is None:
        return result
    ok, x, z = replay(prep, result.counterexample.x)
    if not ok:
        return replace(result, verdict=Verdict.UNKNOWN, counterexample=None,
                       message=_join("the witness does not satisfy the query on the original "
                                     "networks", result.message))
    cex = Counterexample(x=x, y=z.astype(np.float64))
    return replace(result, counterexample=cex, extra={**result.extra, "replayed": True})


def by_output_facts(instance: Instance) -> Result | None:
    """``unsat`` when every case of the property contradicts the exact facts of the model's
    output layer (:mod:`autospec_cli.verify.facts`: a Softmax's range and sums, ...); None
    when there are no such facts or they leave some case open. A model or property that
    cannot be read gives None: the backend reports it."""
    from autospec_cli.verify.facts import output_facts, refuted_by_output_facts
    from autospec_cli.verify.loading import load_property

    t0 = time.perf_counter()
    try:
        facts = output_facts(instance.onnx)
        if facts is None or not refuted_by_output_facts(load_property(instance.vnnlib), facts):
            return None
    except Exception:  # noqa: BLE001 - unreadable inputs are the backend's to report
        return None
    what = f"{facts.source} output range" + (" and sums" if facts.groups else "")
    return Result(Verdict.UNSAT, time.perf_counter() - t0,
                  message=f"every case contradicts the {what} (exact certificate)",
                  extra={"decided_by": "output_facts"})


def _facts_first(verifier: Verifier, instance: Instance) -> Result | None:
    """:func:`by_output_facts` for a backend that uses them; duck-typed verifiers (wrappers,
    plug-ins) without the attribute are run as they are."""
    if not getattr(verifier, "uses_output_facts", False):
        return None
    return by_output_facts(instance)


def verify_guarded(verifier: Verifier, instance: Instance) -> Result:
    """Call ``verifier.verify_instance`` timing it, turning exceptions into ``error``,
    validating sat. A 2.0 query over an augmented network (:func:`product_instance`) is
    decided there and its witness replayed on the original networks. Backends that use them
    first try the output layer's exact facts (:func:`by_output_facts`)."""
    t0 = time.perf_counter()
    try:
        reduced = product_instance(instance)
        if reduced is not None:
            inst2, prep = reduced
            result = verifier.verify_instance(inst2)
            done = _finish(inst2, result, time.perf_counter() - t0)
            return _replayed(prep, done)
        decided = _facts_first(verifier, instance)
        result = decided if decided is not None else verifier.verify_instance(instance)
    except Exception as e:
        return Result(Verdict.ERROR, time.perf_counter() - t0, message=one_line(e))
    return _finish(instance, result, time.perf_counter() - t0)


def run_one(backend_name: str, options: Mapping[str, Any], instance: Instance) -> Result:
    """Build backend ``backend_name`` with ``options`` and decide one instance."""
    t0 = time.perf_counter()
    try:
        verifier = make_backend(backend_name, **dict(options))
    except Exception as e:
        return Result(Verdict.ERROR, time.perf_counter() - t0, message=one_line(e))
    return verify_guarded(verifier, instance)


def _overrides_many(verifier: Verifier) -> bool:
    return type(verifier).verify_many is not Verifier.verify_many


def _run_batched(
    verifier: Verifier, instances: Sequence[Instance], progress: ProgressFn | None
) -> list[Result]:
    """Let a backend that shares work across instances decide them in one call (one by one
    when any is a 2.0 query over an augmented network)."""
    if any(_maybe_product(i) for i in instances):
        return _run_serial(verifier, instances, progress)
    decided = {k: r for k, inst in enumerate(instances)
               if (r := _facts_first(verifier, inst)) is not None}
    rest = [inst for k, inst in enumerate(instances) if k not in decided]
    t0 = time.perf_counter()
    try:
        raw = verifier.verify_many(rest, progress=progress) if rest else []
        if len(raw) != len(rest):
            raise RuntimeError(f"verify_many returned {len(raw)} results for {len(rest)} "
                               "instances")
    except Exception:
        return _run_serial(verifier, instances, progress)  # fall back to one by one
    share = (time.perf_counter() - t0) / max(1, len(rest))
    results = iter(raw)
    return [_finish(inst, decided[k], decided[k].time) if k in decided
            else _finish(inst, next(results), share) for k, inst in enumerate(instances)]


def _maybe_product(instance: Instance) -> bool:
    try:
        return product_instance(instance) is not None
    except Exception:  # noqa: BLE001 - verify_guarded reports it
        return True


def _run_serial(
    verifier: Verifier, instances: Sequence[Instance], progress: ProgressFn | None
) -> list[Result]:
    out = []
    for k, inst in enumerate(instances):
        out.append(verify_guarded(verifier, inst))
        if progress:
            progress(verifier.name or "verify", k + 1, len(instances))
    return out


def run_instances(
    verifier: Verifier,
    instances: Sequence[Instance],
    *,
    progress: ProgressFn | None = None,
) -> list[Result]:
    """Decide ``instances`` with ``verifier`` in this process; results come back in the order
    of ``instances``. A backend that overrides ``verify_many`` gets all instances in one call.

    Parallel runs go through campaign jobs (:mod:`autospec_cli.verifyrun.jobs`), whose
    executors give each job its own process and hard timeout.
    """
    if not instances:
        return []
    if _overrides_many(verifier):
        return _run_batched(verifier, instances, progress)
    return _run_serial(verifier, instances, progress)

