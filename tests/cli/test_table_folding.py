"""Tables fold long cells onto more lines at any width; no value is cut with an ellipsis."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from autospec_cli.cli import common
from autospec_cli.cli.common import FoldingTable
from autospec_cli.report.tables import ReportTable

ELLIPSIS = "\u2026"
LONG = "attack-with-a-very-long-member-name"


def _render(table: object, width: int) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None).print(table)
    return buf.getvalue()


@pytest.mark.parametrize("width", [80, 40, 20])
def test_folding_table_keeps_every_character(width: int) -> None:
    t = FoldingTable("verifier", "time (s)", "notes", title="a title")
    t.add_row(LONG, "880.123456789", "x" * 90)
    text = _render(t, width)
    assert ELLIPSIS not in text
    body = [line.split("\u2502") for line in text.splitlines() if line.count("\u2502") == 4]
    assert "".join(cells[1].strip() for cells in body) == LONG
    assert "".join(cells[2].strip() for cells in body) == "880.123456789"


def test_plain_rich_table_would_cut_the_same_cells() -> None:
    """The planted bug: rich's default overflow cuts these cells (so the test above can fail)."""
    from rich.table import Table

    t = Table("verifier", "time (s)", "notes")
    t.add_row(LONG, "880.123456789", "x" * 90)
    assert ELLIPSIS in _render(t, 40)


@pytest.mark.parametrize("width", [80, 40])
def test_report_tables_fold(width: int) -> None:
    rt = ReportTable("scores", "Scores per verifier", ["verifier", "solved", "PAR2"],
                     [[LONG, 12, 880.123456789], ["lirpa", 3, 1.5]])
    assert ELLIPSIS not in _render(rt.to_rich(), width)


@pytest.mark.parametrize("width", [80, 40])
def test_cli_tables_fold_at_narrow_widths(cli_runner, monkeypatch, width: int) -> None:
    monkeypatch.setattr(common.console, "width", width)
    for args in (("verify", "backends"), ("plugins",)):
        code, out, err = cli_runner(*args)
        assert code == 0, err
        assert out.strip() and ELLIPSIS not in out, (args, out)
