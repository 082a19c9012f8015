"""What ``autospec doctor`` checks: is each piece of a verification run ready here, and if not,
the one command that completes it.

A plain ``pip install autospec-cli`` (or ``pipx install``) cannot bring everything: auto_LiRPA
0.3's metadata pins a torch from 2022, so it must be installed with ``--no-deps`` (and then
what it imports, appdirs, tqdm and setuptools, the ``lirpa`` extra, comes separately); Marabou and
Dask are optional extras; external tools live in the user's tools file. Rather than let the
first run fail, :func:`diagnose` reports each piece:

- core (a missing one makes ``doctor`` exit 1): the runtime libraries every command needs
  (numpy, torch, onnx, onnxruntime) and the backends of the default ``portfolio`` -- ``lirpa``
  (auto_LiRPA), ``attack``, ``bab``;
- optional (reported, never fatal): ``marabou`` (the ``Marabou`` executable of ``maraboupy``),
  the Dask executors (``distributed``), each external tool of the tools file (its executable),
  and any third-party backend plug-in.

Fix commands name this interpreter (``python -m pip``) so they install into the environment
that runs ``autospec``; inside a pipx environment they are ``pipx inject`` commands.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shlex
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from autospec_cli import __version__
from autospec_cli.errors import AutospecError
from autospec_cli.verify.registry import backend_names, describe_backends, load_tools

DISTRIBUTION = "autospec-cli"
#: auto_LiRPA 0.3 and what it imports (the ``lirpa`` extra): all installed with ``--no-deps``,
#: since auto_LiRPA's metadata pins a torch from 2022 and the others need nothing more.
LIRPA_REQUIREMENTS = ("auto-lirpa==0.3", "appdirs", "tqdm", "setuptools")
MARABOU_REQUIREMENT = "maraboupy==2.0.0"
DASK_REQUIREMENT = "dask[distributed]>=2024.1"
TORCH_REQUIREMENT = "torch==2.13.0"
#: Backends the default ``portfolio`` runs: core pieces.
CORE_BACKENDS = ("lirpa", "attack", "bab", "portfolio")
#: Runtime modules every command needs, with the requirement that provides each.
CORE_MODULES = {"numpy": "numpy", "torch": TORCH_REQUIREMENT, "onnx": "onnx",
                "onnxruntime": "onnxruntime"}

EXIT_READY, EXIT_CORE_MISSING = 0, 1


@dataclass(frozen=True)
class Check:
    """One piece: ``kind`` is ``core`` or ``optional``; ``fix`` the command that completes it
    (empty when ready or when no command can)."""

    name: str
    kind: str
    ready: bool
    detail: str = ""
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def in_pipx(prefix: str | None = None) -> bool:
    """Whether this interpreter runs inside a pipx-managed environment."""
    parts = Path(prefix if prefix is not None else sys.prefix).parts
    return "pipx" in parts or ".pipx" in parts


def install_command(*requirements: str, no_deps: bool = False, prefix: str | None = None,
                    python: str | None = None) -> str:
    """The one command that installs ``requirements`` into this environment."""
    names = " ".join(shlex.quote(r) for r in requirements)
    if in_pipx(prefix):
        extra = " --pip-args=--no-deps" if no_deps else ""
        return f"pipx inject{extra} {DISTRIBUTION} {names}"
    flags = " --no-deps" if no_deps else ""
    return f"{shlex.quote(python or sys.executable)} -m pip install{flags} {names}"


def _module_check(module: str, requirement: str) -> Check:
    try:
        mod = importlib.import_module(module)
    except Exception as e:  # a broken install raises more than ImportError
        return Check(module, "core", False, f"cannot import {module}: {e}",
                     install_command(requirement))
    return Check(module, "core", True, str(getattr(mod, "__version__", "")))


def _backend_fix(name: str) -> str:
    if name == "lirpa":
        return install_command(*LIRPA_REQUIREMENTS, no_deps=True)
    if name == "marabou":
        return install_command(MARABOU_REQUIREMENT)
    return ""


def _backend_checks() -> list[Check]:
    out = []
    for row in describe_backends(backend_names()):
        name = row["name"]
        if name == "external":  # a mechanism, not a tool: each named tool is checked below
            continue
        kind = "core" if name in CORE_BACKENDS else "optional"
        ready = bool(row["available"])
        out.append(Check(f"backend {name}", kind, ready, str(row.get("reason") or ""),
                         "" if ready else _backend_fix(name)))
    return out


def _dask_check() -> Check:
    if importlib.util.find_spec("distributed") is None:
        return Check("executor dask", "optional", False,
                     "distributed is not installed (--executor dask-local / dask)",
                     install_command(DASK_REQUIREMENT))
    return Check("executor dask", "optional", True)


def _tool_checks(tools_file: str | os.PathLike[str] | None) -> list[Check]:
    out = []
    for name, conf in sorted(load_tools(tools_file).items()):
        command = conf.get("command")
        label = f"external:{name}"
        if not isinstance(command, list) or not command:
            out.append(Check(label, "optional", False,
                             "no command list in its [tools.NAME] table",
                             ""))
            continue
        exe = str(command[0])
        found = (shutil.which(exe) if os.sep not in exe else
                 (exe if os.access(exe, os.X_OK) and Path(exe).is_file() else None))
        out.append(Check(label, "optional", found is not None,
                         "" if found else f"{exe}: not found or not executable", ""))
    return out


def diagnose(tools_file: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Every check, whether all core pieces are ready and the exit code ``doctor`` uses."""
    checks = [_module_check(m, r) for m, r in CORE_MODULES.items()]
    try:
        checks += _backend_checks()
    except AutospecError as e:  # a broken plug-in declaration
        checks.append(Check("backends", "core", False, str(e), ""))
    checks.append(_dask_check())
    checks += _tool_checks(tools_file)
    core_ready = all(c.ready for c in checks if c.kind == "core")
    return {"version": __version__, "python": sys.version.split()[0],
            "environment": "pipx" if in_pipx() else "pip",
            "checks": [c.to_dict() for c in checks], "core_ready": core_ready,
            "exit_code": EXIT_READY if core_ready else EXIT_CORE_MISSING}
