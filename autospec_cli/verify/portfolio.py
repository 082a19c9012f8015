"""``portfolio``: run several backends in turn on one instance until one decides it.

The default order is ``attack`` (a cheap falsifier, given ``attack_share`` of the time limit)
then the complete or bounding backends ``bab`` and ``lirpa`` with whatever time is left.
Members that are not installed or not available here are skipped. The first *decided* answer
wins: ``unsat`` as given, ``sat`` only once its counterexample passes the runner's check (an
invalid one is noted and the next member runs). If nobody decides, the answer is ``timeout``
when the time ran out, else ``unknown``; the members' messages are joined.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, ClassVar

from autospec_cli.errors import VerifierError
from autospec_cli.verify.base import Instance, Parameter, Result, Verdict, Verifier

DEFAULT_MEMBERS = "attack,bab,lirpa"


def _member_names(spec: str) -> list[str]:
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise VerifierError("portfolio: option backends is empty; e.g. backends=attack,bab")
    if "portfolio" in names:
        raise VerifierError("portfolio: a portfolio cannot contain itself")
    return names


def usable_members(spec: str) -> tuple[list[str], list[str]]:
    """``(usable, skipped-with-reason)`` for a comma-separated member list."""
    from autospec_cli.verify.registry import get_backend_class

    usable: list[str] = []
    skipped: list[str] = []
    for name in _member_names(spec):
        try:
            ok, why = get_backend_class(name).available()
        except VerifierError as e:
            ok, why = False, str(e)
        (usable if ok else skipped).append(name if ok else f"{name} ({why})")
    return usable, skipped


class PortfolioVerifier(Verifier):
    """Attack first, then a complete backend with the remaining time (members configurable)."""

    name: ClassVar[str] = "portfolio"
    complete: ClassVar[bool] = True
    parameters: ClassVar[dict[str, Parameter]] = {
        "backends": Parameter(
            str,
            DEFAULT_MEMBERS,
            "comma-separated members, tried in order; unavailable ones are skipped",
        ),
        "attack_share": Parameter(float, 0.1, "fraction of the time limit the attack member gets",
                                  min=0, max=1),
        "seed": Parameter(int, 0, "seed passed to members that take one"),
    }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        usable, skipped = usable_members(self.options["backends"])
        if not usable:
            raise VerifierError(
                f"portfolio: no usable member among {self.options['backends']}: "
                f"{'; '.join(skipped)}"
            )
        self.members = usable
        self.skipped = skipped

    @classmethod
    def available(cls) -> tuple[bool, str]:
        usable, skipped = usable_members(DEFAULT_MEMBERS)
        return (True, "") if usable else (False, "; ".join(skipped))

    def _member(self, name: str) -> Verifier:
        from autospec_cli.verify.registry import get_backend_class

        cls = get_backend_class(name)
        opts = {"seed": self.options["seed"]} if "seed" in cls.parameters else {}
        return cls(**opts)

    def verify_instance(self, instance: Instance) -> Result:
        from autospec_cli.verify.runner import verify_guarded

        deadline = time.monotonic() + instance.timeout
        notes: list[str] = []
        for k, name in enumerate(self.members):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            last = k == len(self.members) - 1
            budget = (
                left
                if (name != "attack" or last)
                else max(0.5, instance.timeout * self.options["attack_share"])
            )
            result = verify_guarded(
                self._member(name), replace(instance, timeout=min(left, budget))
            )
            if result.verdict.decided:
                return replace(
                    result,
                    time=0.0,
                    message=f"{name}: {result.message}".rstrip(": "),
                    extra={**result.extra, "member": name},
                )
            notes.append(
                f"{name}: {result.verdict.value}"
                + (f" ({result.message})" if result.message else "")
            )
        verdict = Verdict.TIMEOUT if time.monotonic() >= deadline else Verdict.UNKNOWN
        return Result(verdict, message="; ".join(notes)[:500])
