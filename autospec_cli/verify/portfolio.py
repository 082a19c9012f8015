"""``portfolio``: run several backends in turn on one instance until one decides it.

The default order is ``attack`` (a cheap falsifier, given ``attack_share`` of the time limit)
then the complete or bounding backends ``bab`` and ``lirpa`` with whatever time is left.
Members that are not installed or not available here are skipped. The first *decided* answer
wins: ``unsat`` as given, ``sat`` only once its counterexample passes the runner's check (an
invalid one is noted and the next member runs). If nobody decides, the answer is ``timeout``
when the time ran out, else ``unknown``; the members' messages are joined.

A member may carry its own options in brackets, checked against that backend's declared
parameters: ``backends=lirpa[method=alpha-crown],attack[restarts=4;steps=50],bab`` (pairs
separated by ``;``, since ``,`` separates members).
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from typing import Any, ClassVar

from autospec_cli.errors import VerifierError
from autospec_cli.verify.base import Instance, Parameter, Result, Verdict, Verifier
from autospec_cli.verify.registry import get_backend_class, parse_option_pairs
from autospec_cli.verify.runner import verify_guarded

DEFAULT_MEMBERS = "attack,bab,lirpa"


_MEMBER = re.compile(r"^\s*([A-Za-z0-9_.:-]+)\s*(?:\[([^\[\]]*)\])?\s*$")


def split_members(spec: str) -> list[str]:
    """``a[x=1;y=2],b`` -> ``["a[x=1;y=2]", "b"]`` (commas inside brackets do not split)."""
    parts, depth, cur = [], 0, ""
    for ch in spec:
        depth += (ch == "[") - (ch == "]")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_members(spec: str) -> list[tuple[str, list[str]]]:
    """``(name, ["key=value", ...])`` for each member of a ``backends`` value."""
    members = []
    for item in split_members(spec):
        m = _MEMBER.match(item)
        if m is None:
            raise VerifierError(f"portfolio: cannot read member {item!r}; write NAME or "
                                "NAME[key=value;key=value]")
        pairs = [p.strip() for p in (m.group(2) or "").split(";") if p.strip()]
        members.append((m.group(1), pairs))
    if not members:
        raise VerifierError("portfolio: option backends is empty; e.g. backends=attack,bab")
    if any(name == "portfolio" for name, _ in members):
        raise VerifierError("portfolio: a portfolio cannot contain itself")
    return members


def usable_members(spec: str) -> tuple[list[str], list[str]]:
    """``(usable, skipped-with-reason)`` member names for a ``backends`` value."""
    usable: list[str] = []
    skipped: list[str] = []
    for name, _ in parse_members(spec):
        try:
            ok, why = get_backend_class(name).available()
        except VerifierError as e:
            ok, why = False, str(e)
        (usable if ok else skipped).append(name if ok else f"{name} ({why})")
    return usable, skipped


class PortfolioVerifier(Verifier):
    """Attack first, then a complete backend with the remaining time (members configurable)."""

    uses_output_facts: ClassVar[bool] = True
    name: ClassVar[str] = "portfolio"
    complete: ClassVar[bool] = True
    parameters: ClassVar[dict[str, Parameter]] = {
        "backends": Parameter(
            str,
            DEFAULT_MEMBERS,
            "comma-separated members tried in order, each NAME or NAME[key=value;...]; "
            "unavailable ones are skipped",
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
        # Each member's own options, parsed now so a bad one fails before any instance runs;
        # one backend may appear twice with different options (lirpa[method=crown],...).
        self.member_specs: list[tuple[str, dict[str, Any]]] = []
        for name, pairs in parse_members(self.options["backends"]):
            if name in usable:
                cls = get_backend_class(name)
                opts = parse_option_pairs(cls, pairs)
                if "seed" in cls.parameters:
                    opts.setdefault("seed", self.options["seed"])
                self.member_specs.append((name, opts))

    @classmethod
    def available(cls) -> tuple[bool, str]:
        usable, skipped = usable_members(DEFAULT_MEMBERS)
        return (True, "") if usable else (False, "; ".join(skipped))

    def verify_instance(self, instance: Instance) -> Result:
        deadline = time.monotonic() + instance.timeout
        notes: list[str] = []
        for k, (name, opts) in enumerate(self.member_specs):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            last = k == len(self.member_specs) - 1
            budget = (
                left
                if (name != "attack" or last)
                else max(0.5, instance.timeout * self.options["attack_share"])
            )
            result = verify_guarded(
                get_backend_class(name)(**opts), replace(instance, timeout=min(left, budget))
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
