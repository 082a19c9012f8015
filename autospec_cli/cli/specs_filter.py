"""`autospec specs filter`: keep the specifications one can trust (AutoSpec §6.2)."""

from __future__ import annotations

from pathlib import Path

import typer

from autospec_cli.cli.common import console, emit_json, want_json
from autospec_cli.io import check_writable


def register(app: typer.Typer) -> None:
    """Add ``filter`` to the ``specs`` sub-app."""
    app.command("filter")(filter_cmd)


def filter_cmd(
    ctx: typer.Context,
    specs: Path = typer.Argument(..., metavar="SPECS", help="Specification set (JSON).",
                                 show_default=False),
    out: Path = typer.Option(..., "--output", "-o", help="Filtered spec set JSON to write."),
    min_confidence: float = typer.Option(
        0.0, "--min-confidence", metavar="C",
        help="Keep specs whose Wilson lower bound of the purity is at least C (0..1)."),
    min_support: int = typer.Option(0, "--min-support", metavar="S",
                                    help="Keep specs mined from at least S points."),
    level: float = typer.Option(0.95, "--level", help="Two-sided level of the Wilson bound."),
    force: bool = typer.Option(False, "--force", help="Overwrite OUTPUT if it exists."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Keep the specs with enough confidence and support.

    Purity is the share of a spec's generation points that satisfy its own output
    constraint; confidence is the Wilson lower bound of that share at --level, so a spec
    mined from few points needs a higher purity to pass.
    """
    from autospec_cli.specs.confidence import filter_specs
    from autospec_cli.specs.model import SpecSet

    check_writable(out, force)
    specset = SpecSet.load(specs)
    kept = filter_specs(specset, min_confidence=min_confidence, min_support=min_support,
                        level=level)
    kept.save(out, force=force)
    summary = {"output": str(out), "kept": len(kept.specs), "of": len(specset.specs),
               "min_confidence": min_confidence, "min_support": min_support, "level": level,
               "support_kept": sum(s.support for s in kept.specs),
               "support_all": sum(s.support for s in specset.specs)}
    if want_json(ctx, json_out):
        emit_json(summary)
        return
    console.print(f"kept {summary['kept']} of {summary['of']} specs (confidence >= "
                  f"{min_confidence:g} at level {level:g}, support >= {min_support}); "
                  f"wrote {out}", markup=False, highlight=False, soft_wrap=True)
