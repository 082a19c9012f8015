"""Find verifier backends by name through the entry-point group ``autospec_cli.verifiers``.

Built-in backends (``portfolio`` included) are declared in this package's ``pyproject.toml``
exactly like outside plugins; a third-party package adds one with::

    [project.entry-points."autospec_cli.verifiers"]
    mytool = "mypkg.verifier:MyVerifier"

:data:`VERIFIERS` is a :class:`autospec_cli.plugins.Registry` (precedence, errors and lazy
loading are the same for every kind of plug-in): :func:`get_backend_class` imports only the
module of the backend asked for.

Named external tools
--------------------
``external:NAME`` runs a VNN-COMP tool configured in a TOML file (``--tools FILE``, else
``$AUTOSPEC_TOOLS``, else ``$XDG_CONFIG_HOME/autospec/tools.toml``, by default
``~/.config/autospec/tools.toml``)::

    [tools.nnenum]
    command = ["/opt/nnenum/vnncomp_scripts/run_instance.sh", "v1", "{category}",
               "{onnx}", "{vnnlib}", "{results}", "{timeout}"]
    prepare = ["/opt/nnenum/vnncomp_scripts/prepare_instance.sh", "v1", "{category}",
               "{onnx}", "{vnnlib}"]          # optional
    grace = 5                                  # any other `external` option, optional

Every key of a ``[tools.NAME]`` table is an option of the ``external`` backend (see
:class:`autospec_cli.verify.backends.external.ExternalVerifier`); options given on the
command line (``--opt key=value``) override the file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autospec_cli.errors import ConfigError, PluginError, VerifierError
from autospec_cli.params import parse_pairs
from autospec_cli.plugins import Registry
from autospec_cli.verify.base import Verifier

GROUP = "autospec_cli.verifiers"
EXTERNAL = "external"

#: The verifier backends (see :mod:`autospec_cli.plugins` for where they come from).
VERIFIERS: Registry[type[Verifier]] = Registry("verifier backend", GROUP, base=Verifier)


def backend_names() -> list[str]:
    """Names of the registered backends, sorted."""
    return VERIFIERS.names()


def get_backend_class(name: str) -> type[Verifier]:
    """Import and return the backend class registered as ``name`` (``external:X`` -> external)."""
    return VERIFIERS.load(name.split(":", 1)[0])


@dataclass(frozen=True)
class BackendSpec:
    """A backend resolved to its entry-point name, its options and a label for outputs."""

    entry: str
    options: dict[str, Any] = field(default_factory=dict)
    label: str = ""


def default_tools_path() -> Path:
    """The tools file used when no ``--tools`` is given."""
    env = os.environ.get("AUTOSPEC_TOOLS")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autospec" / "tools.toml"


def load_tools(path: str | os.PathLike[str] | None = None) -> dict[str, dict[str, Any]]:
    """Read ``[tools.NAME]`` tables from a TOML file (``{}`` when the default file is absent)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib

    p = Path(path) if path is not None else default_tools_path()
    if not p.is_file():
        if path is not None:
            raise ConfigError(f"tools file {p} not found; create it or give no tools file",
                              param="tools_file")
        return {}
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"tools file {p}: not valid TOML ({e})") from None
    tools = data.get("tools", {})
    if not isinstance(tools, dict) or not all(isinstance(v, dict) for v in tools.values()):
        raise ConfigError(f"tools file {p}: expected tables [tools.NAME] with a command list")
    return tools


def resolve_backend(
    name: str,
    options: Mapping[str, Any] | None = None,
    *,
    tools_file: str | os.PathLike[str] | None = None,
) -> BackendSpec:
    """Turn a user's backend name into entry point + options (``external:NAME`` read from TOML)."""
    opts = dict(options or {})
    if ":" not in name:
        get_backend_class(name)  # fail early on unknown names
        return BackendSpec(name, opts, name)
    base, tool = name.split(":", 1)
    if base != EXTERNAL:
        raise VerifierError(f"backend {name!r}: only external:NAME takes a tool name")
    tools = load_tools(tools_file)
    if tool not in tools:
        where = tools_file or default_tools_path()
        known = ", ".join(sorted(tools)) or "none"
        raise VerifierError(f"external tool {tool!r} is not configured in {where}; known: {known}")
    merged: dict[str, Any] = {"tool": tool, **tools[tool], **opts}
    return BackendSpec(EXTERNAL, merged, f"{EXTERNAL}-{tool}")


def make_backend(
    name: str, *, tools_file: str | os.PathLike[str] | None = None, **options: Any
) -> Verifier:
    """Instantiate a backend by name with validated options (see :func:`resolve_backend`)."""
    spec = resolve_backend(name, options, tools_file=tools_file)
    return get_backend_class(spec.entry)(**spec.options)


def parse_option_pairs(cls: type[Verifier], pairs: Iterable[str]) -> dict[str, Any]:
    """Parse CLI ``key=value`` strings against ``cls.parameters`` (typed, bounds checked)."""
    return parse_pairs(cls.parameters, pairs, f"backend {cls.name}")


def describe_backends(names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Name, availability (with reason), completeness and declared parameters of each backend."""
    rows = []
    for name in names or backend_names():
        row: dict[str, Any] = {"name": name}
        try:
            cls = get_backend_class(name)
            ok, reason = cls.available()
            row.update(
                available=bool(ok),
                reason=reason,
                complete=cls.complete,
                doc=(cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else "",
                parameters={k: p.describe() for k, p in cls.parameters.items()},
            )
        except (VerifierError, PluginError) as e:
            row.update(available=False, reason=str(e), complete=False, doc="", parameters={})
        rows.append(row)
    return rows
