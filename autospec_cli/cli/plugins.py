"""`autospec plugins`: every registered plug-in by kind, with its origin and parameters.

Each kind is one :class:`autospec_cli.plugins.Registry`; this command only reads them. For
verifier backends and spec generators the declared parameters are listed (type, default,
bounds or choices, help), which imports those plug-ins; the other kinds are listed from their
entry points without importing anything.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer

from autospec_cli.cli.common import FoldingTable, console, emit_json, want_json
from autospec_cli.errors import ConfigError

#: Kind (the entry-point group's last word) -> where its registry lives.
KINDS: dict[str, str] = {
    "verifiers": "autospec_cli.verify.registry:VERIFIERS",
    "generators": "autospec_cli.specs.generators.registry:GENERATORS",
    "jobs": "autospec_cli.campaign.jobs:JOB_KINDS",
    "reports": "autospec_cli.report.builders:REPORTS",
    "loaders": "autospec_cli.data.loaders:LOADERS",
}
#: Kinds whose plug-ins declare parameters (listed, which imports the plug-in).
WITH_PARAMETERS = ("verifiers", "generators")


def register(app: typer.Typer) -> None:
    """Add the ``plugins`` command to the root app."""
    app.command("plugins", rich_help_panel="Plug-ins")(plugins)


def registry(kind: str) -> Any:
    """The registry of ``kind`` (one of :data:`KINDS`)."""
    module, _, name = KINDS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


def _parameters(obj: Any) -> dict[str, Any]:
    doc = (obj.__doc__ or "").strip().splitlines()
    return {"doc": doc[0] if doc else "",
            "parameters": {k: p.describe() for k, p in obj.parameters.items()}}


def describe(kinds: list[str]) -> list[dict[str, Any]]:
    """One JSON-ready row per plug-in of ``kinds``: kind, name, target, origin (and doc and
    parameters for backends and generators, or the error that kept it from loading)."""
    rows: list[dict[str, Any]] = []
    for kind in kinds:
        detail = _parameters if kind in WITH_PARAMETERS else None
        rows += registry(kind).describe(detail)
    return rows


def _kinds(kind: str | None) -> list[str]:
    if kind is None:
        return list(KINDS)
    key = kind if kind in KINDS else f"{kind}s"
    if key not in KINDS:
        raise ConfigError(f"unknown plug-in kind {kind!r}; choose one of {', '.join(KINDS)}")
    return [key]


def plugins(
    ctx: typer.Context,
    kind: str | None = typer.Option(None, "--kind", "-k", metavar="|".join(KINDS),
                                    help="Only this kind of plug-in."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
) -> None:
    """List the registered plug-ins (backends, generators, job kinds, reports, data loaders)."""
    rows = describe(_kinds(kind))
    if want_json(ctx, json_out):
        emit_json({"plugins": rows})
        return
    _render(rows)


def _render(rows: list[dict[str, Any]]) -> None:
    """A table per kind (name, origin, target), then one per plug-in that has parameters."""
    from autospec_cli.inert import inert as escape

    for kind in dict.fromkeys(r["kind"] for r in rows):
        table = FoldingTable(title=kind, title_justify="left")
        for col in ("name", "origin", "target"):
            table.add_column(col)
        mine = [r for r in rows if r["kind"] == kind]
        for r in mine:
            target = f"[red]{escape(r['error'])}[/]" if "error" in r else escape(r["target"])
            table.add_row(escape(r["name"]), escape(r["origin"]), target)
        console.print(table)
        for r in mine:
            if r.get("parameters"):
                console.print(_parameter_table(f"{kind} {r['name']}", r["parameters"]))


def _parameter_table(title: str, parameters: dict[str, dict[str, Any]]) -> Any:
    from autospec_cli.inert import inert as escape

    table = FoldingTable(title=f"{title}: parameters", title_justify="left")
    for col in ("parameter", "type", "default", "allowed", "help"):
        table.add_column(col)
    for name, p in parameters.items():
        allowed = []
        if p.get("choices"):
            allowed.append("|".join(map(str, p["choices"])))
        if p.get("min") is not None:
            allowed.append(f">= {p['min']}")
        if p.get("max") is not None:
            allowed.append(f"<= {p['max']}")
        if p.get("optional"):
            allowed.append("none")
        table.add_row(escape(name), p["type"], escape(repr(p["default"])),
                      escape(", ".join(allowed)), escape(p["help"]))
    return table
