"""Report tables: one small model rendered as rich (terminal), CSV and Markdown.

A :class:`ReportTable` is a title, column names and rows of plain values; it round-trips
through a plain dict (``to_dict``/``from_dict``) so report builders can return tables in
their JSON and the CLI can render them. Floats are shown with a fixed number of digits in
rich and Markdown; CSV keeps full precision. ``None`` is an empty cell (``-`` on screen).
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autospec_cli.inert import inert
from autospec_cli.io import atomic_write_text


def format_cell(value: Any, digits: int = 2) -> str:
    """A value for display: floats with ``digits`` decimals, None as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.{digits}f}"
    return str(value)


@dataclass
class ReportTable:
    """A titled table of plain values; ``name`` is its file stem (``NAME.csv``, ``NAME.md``)."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    digits: int = 2

    def add(self, *values: Any) -> None:
        """Append a row (as many values as columns)."""
        if len(values) != len(self.columns):
            raise ValueError(f"table {self.name}: {len(values)} values for "
                             f"{len(self.columns)} columns")
        self.rows.append(list(values))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "columns": list(self.columns),
                "rows": [list(r) for r in self.rows]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReportTable:
        return cls(str(d.get("name", "table")), str(d.get("title", "")),
                   [str(c) for c in d["columns"]], [list(r) for r in d.get("rows", [])])

    def to_csv(self) -> str:
        """CSV with a header row; floats at full precision, None empty."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.columns)
        for r in self.rows:
            w.writerow(["" if v is None else repr(v) if isinstance(v, float) else v for v in r])
        return buf.getvalue()

    def to_markdown(self) -> str:
        """A GitHub-flavoured Markdown table under a ``###`` title; numbers right-aligned."""
        def esc(text: str) -> str:
            return text.replace("|", "\\|").replace("\n", " ")

        numeric = [all(isinstance(r[k], (int, float)) or r[k] is None for r in self.rows)
                   and bool(self.rows) for k in range(len(self.columns))]
        lines = [f"### {esc(self.title)}", "", "| " + " | ".join(map(esc, self.columns)) + " |",
                 "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
        for r in self.rows:
            lines.append("| " + " | ".join(esc(format_cell(v, self.digits)) for v in r) + " |")
        return "\n".join(lines) + "\n"

    def to_rich(self) -> Any:
        """A :class:`rich.table.Table` (imported lazily) whose cells fold onto more lines at
        narrow widths rather than being cut with an ellipsis."""
        from rich.table import Table

        t = Table(title=inert(self.title))
        for k, c in enumerate(self.columns):
            numeric = bool(self.rows) and all(isinstance(r[k], (int, float)) or r[k] is None
                                              for r in self.rows)
            t.add_column(inert(c), justify="right" if numeric else "left", overflow="fold")
        for r in self.rows:
            t.add_row(*(inert(format_cell(v, self.digits)) for v in r))
        return t

    def write(self, folder: str | os.PathLike[str], *, force: bool = True) -> list[Path]:
        """Write ``NAME.csv`` and ``NAME.md`` into ``folder`` (atomically); return the paths."""
        out = Path(folder)
        return [atomic_write_text(out / f"{self.name}.csv", self.to_csv(), force=force),
                atomic_write_text(out / f"{self.name}.md", self.to_markdown(), force=force)]


def markdown_document(title: str, tables: Sequence[ReportTable],
                      figures: Iterable[str | os.PathLike[str]] = (),
                      notes: Sequence[str] = ()) -> str:
    """A whole report in Markdown: title, notes, every table, and the figures as images."""
    parts = [f"# {title}", ""]
    parts += [f"{n}\n" for n in notes]
    parts += [t.to_markdown() for t in tables]
    for f in figures:
        name = Path(f).name
        parts.append(f"![{Path(name).stem}]({name})\n")
    return "\n".join(parts)
