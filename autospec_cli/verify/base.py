"""The verifier contract: instances in, one result per instance out.

A backend is a subclass of :class:`Verifier` with capabilities as class attributes and one
method to implement, :meth:`Verifier.verify_instance`. Backends that can share work across
instances (e.g. bounding every property of one model in one batched call) override
:meth:`Verifier.verify_many`. Backends are registered through the entry-point group
``autospec_cli.verifiers`` (see :mod:`autospec_cli.verify.registry`).

Every ``sat`` result must carry a counterexample; the runner re-checks it in onnxruntime
(:mod:`autospec_cli.verify.cex`) and turns a failed check into ``error``.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from autospec_cli.errors import InputError, VerifierError
from autospec_cli.params import Parameter  # re-exported: backends import it from here
from autospec_cli.progress import ProgressFn
from autospec_cli.vnnlib.benchmark import Instance

__all__ = [
    "Counterexample", "Instance", "Parameter", "Result", "Verdict", "Verifier",
]


#: Verdict words used in the wild, mapped to ours: VNN-COMP 2021 result files (``holds`` /
#: ``violated``), tools that speak of safety, and the spellings of a timeout (the VNN-LIB 2.0
#: solver interface prints ``timed-out``).
_VERDICT_ALIASES = {
    "holds": "unsat", "violated": "sat", "safe": "unsat", "unsafe": "sat",
    "timed-out": "timeout", "timed_out": "timeout", "timed out": "timeout",
}


class Verdict(str, enum.Enum):
    """Outcome of one instance. ``sat``: a counterexample exists (property violated)."""

    SAT = "sat"
    UNSAT = "unsat"
    UNKNOWN = "unknown"
    TIMEOUT = "timeout"
    ERROR = "error"

    @property
    def decided(self) -> bool:
        return self in (Verdict.SAT, Verdict.UNSAT)

    @classmethod
    def parse(cls, value: Any) -> Verdict:
        """The verdict a word (or a :class:`Verdict`) names; the only place words are mapped.

        The five words in any case and with surrounding blanks, and the aliases
        ``holds``/``safe`` (unsat), ``violated``/``unsafe`` (sat), ``timed-out``/``timed_out``/
        ``timed out`` (timeout). Anything else raises :class:`InputError`.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, enum.Enum):
            value = value.value
        text = " ".join(str(value).split()).lower()
        try:
            return cls(_VERDICT_ALIASES.get(text, text))
        except ValueError:
            words = ", ".join(v.value for v in cls)
            raise InputError(f"unknown verdict {value!r}; expected one of {words} (or "
                             f"{', '.join(_VERDICT_ALIASES)})") from None


@dataclass
class Counterexample:
    """An input ``x`` (flattened) and the output ``y`` the tool reports for it."""

    x: np.ndarray
    y: np.ndarray

    def to_vnncomp(self) -> str:
        """The VNN-COMP form ``((X_0 v) ... (Y_0 v) ...)``."""
        parts = [f"(X_{i} {float(v)!r})" for i, v in enumerate(np.ravel(self.x))]
        parts += [f"(Y_{j} {float(v)!r})" for j, v in enumerate(np.ravel(self.y))]
        return "(" + "\n ".join(parts) + ")"


@dataclass
class Result:
    verdict: Verdict
    time: float = 0.0
    counterexample: Counterexample | None = None
    message: str = ""
    prepare_time: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class Verifier(ABC):
    """Base class of every backend.

    Subclasses set ``name``, ``complete`` (can it prove unsat *and* find sat?),
    ``parameters`` and implement :meth:`verify_instance`. Options are validated against
    ``parameters`` in the constructor and stored in ``self.options``.
    """

    name: ClassVar[str] = ""
    complete: ClassVar[bool] = False
    parameters: ClassVar[dict[str, Parameter]] = {}

    def __init__(self, **options: Any) -> None:
        unknown = set(options) - set(self.parameters)
        if unknown:
            raise VerifierError(
                f"backend {self.name}: unknown option(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(self.parameters)) or 'none'}"
            )
        self.options: dict[str, Any] = {k: p.default for k, p in self.parameters.items()}
        for k, v in options.items():
            self.options[k] = self.parameters[k].parse(k, v)

    @classmethod
    def available(cls) -> tuple[bool, str]:
        """Can this backend run here? ``(False, reason)`` when a dependency is missing."""
        return True, ""

    @abstractmethod
    def verify_instance(self, instance: Instance) -> Result:
        """Decide one instance within ``instance.timeout`` seconds."""

    def verify_many(
        self, instances: Sequence[Instance], progress: ProgressFn | None = None
    ) -> list[Result]:
        """Decide several instances; the default runs them one by one."""
        results = []
        for i, inst in enumerate(instances):
            results.append(self.verify_instance(inst))
            if progress:
                progress(f"{self.name}", i + 1, len(instances))
        return results

    # Capability checked by the conformance suite (autospec_cli.testing.verifiers): can an
    # incomplete backend find counterexamples (a falsifier) rather than prove (bounding)?
    finds_sat: ClassVar[bool] = False

    # Does the runner first try the exact facts of the network's output layer
    # (autospec_cli.verify.facts) for this backend? True for the in-process provers; an
    # external tool is measured as it is.
    uses_output_facts: ClassVar[bool] = False
