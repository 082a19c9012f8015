"""Reading delimited text tables into header + rows, and columns into float arrays.

Shared by every CSV-like reader (generic CSV, throughput traces, flow CSVs, NSL-KDD). Uses the
``csv`` module (no pandas): CRLF and LF line endings, a UTF-8 byte-order mark, and files that
are not UTF-8 (the original CIC-IDS2017 files write the en dash in Windows-1252) are accepted.
Large files are read in chunks of rows (:func:`iter_chunks`) so memory stays bounded by the
numeric arrays, not by millions of Python strings. Numbers are converted column by column
with numpy: 10^4 rows of 80 columns take about 0.1 s.
"""

from __future__ import annotations

import codecs
import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from pathlib import Path

import numpy as np

from autospec_cli.errors import InputError

CHUNK_ROWS = 20_000


@dataclass
class Table:
    """A text table (or a chunk of one): ``header`` (None when the file has none), ``rows`` of
    string cells, the file line number of each row, and how many blank rows were skipped."""

    path: Path
    header: list[str] | None
    rows: list[list[str]]
    lines: list[int]
    blank_rows: int = 0

    def line_of(self, row_index: int) -> int:
        """The 1-based line number in the file of data row ``row_index``."""
        return self.lines[row_index]


def check_file(path: str | os.PathLike[str]) -> Path:
    """A readable, non-empty file, or an :class:`InputError` saying what is wrong."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file or folder")
    if p.is_dir():
        raise InputError(f"{p} is a folder; expected a file")
    if p.stat().st_size == 0:
        raise InputError(f"{p} is empty")
    return p


def detect_encoding(path: str | os.PathLike[str]) -> str:
    """``utf-8-sig`` if the whole file decodes as UTF-8, else ``cp1252`` when it decodes as
    that; an InputError for a file with NUL bytes or that is neither (a binary file)."""
    for encoding in ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        with open(path, "rb") as fh:
            try:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    if b"\x00" in block:
                        raise InputError(f"{path}: a binary file (NUL bytes), not CSV text")
                    decoder.decode(block)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                continue
        return "utf-8-sig" if encoding == "utf-8" else encoding
    raise InputError(f"{path}: not text (neither UTF-8 nor Windows-1252); expected a CSV file")


def csv_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Non-empty ``*.csv`` files under a folder (recursively, hidden ones skipped), sorted."""
    root = Path(folder)
    found = []
    for f in root.rglob("*.csv"):
        rel = f.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if f.is_file() and f.stat().st_size:
            found.append(f)
    return sorted(found, key=lambda f: f.relative_to(root).as_posix())


def relative_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` (posix), or its name when ``root`` is the file itself."""
    return path.name if path == root else path.relative_to(root).as_posix()


def first_line(path: str | os.PathLike[str]) -> str:
    """The first line of a text file without its line ending ('' for binary-looking files)."""
    with open(path, "rb") as fh:
        head = fh.readline(1 << 16)
    if b"\x00" in head:
        return ""
    try:
        return head.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        return head.decode("cp1252", errors="replace").rstrip("\r\n")


def iter_chunks(
    path: str | os.PathLike[str], *, header: bool = True, chunk_rows: int | None = None
) -> Iterator[Table]:
    """Parse a comma-separated file in chunks of at most ``chunk_rows`` data rows.

    Every chunk carries the header. Rows whose cells are all blank are skipped and counted;
    a row with the wrong number of fields, or a file without data rows, is an error.
    ``chunk_rows`` defaults to :data:`CHUNK_ROWS`.
    """
    chunk_rows = chunk_rows or CHUNK_ROWS
    p = check_file(path)
    with open(p, encoding=detect_encoding(p), newline="") as fh:
        reader = csv.reader(fh)
        head: list[str] | None = None
        if header:
            head = next(reader, None)
            if head is None or not any(c.strip() for c in head):
                raise InputError(f"{p} has no header row")
        width = len(head) if head is not None else None
        rows: list[list[str]] = []
        lines: list[int] = []
        blank, total = 0, 0
        try:
            for row in reader:
                if not row or (not row[0].strip() and not "".join(row).strip()):
                    blank += 1
                    continue
                width = width if width is not None else len(row)
                if len(row) != width:
                    where = "the header has" if head is not None else "the first row has"
                    raise InputError(
                        f"{p}: line {reader.line_num} has {len(row)} fields but {where} {width}"
                    )
                rows.append(row)
                lines.append(reader.line_num)
                if len(rows) >= chunk_rows:
                    total += len(rows)
                    yield Table(p, head, rows, lines, blank)
                    rows, lines, blank = [], [], 0
        except csv.Error as e:
            raise InputError(f"{p}: malformed CSV near line {reader.line_num}: {e}") from None
    if not rows and not total:
        raise InputError(f"{p} has no data rows" + (" after its header" if header else ""))
    if rows:
        yield Table(p, head, rows, lines, blank)


def read_table(path: str | os.PathLike[str], *, header: bool = True) -> Table:
    """The whole file as one :class:`Table` (for files known to be small)."""
    chunks = list(iter_chunks(path, header=header, chunk_rows=1 << 62))
    return chunks[0]


def dedupe_names(names: list[str]) -> list[str]:
    """Make names unique deterministically: the 2nd ``a`` becomes ``a.1``, the 3rd ``a.2``."""
    seen: dict[str, int] = {}
    out: list[str] = []
    taken = set(names)
    for name in names:
        if name not in seen:
            seen[name] = 0
            out.append(name)
            continue
        k = seen[name]
        while True:
            k += 1
            cand = f"{name}.{k}"
            if cand not in taken:
                break
        seen[name] = k
        taken.add(cand)
        out.append(cand)
    return out


def to_floats(cells: list[str], name: str, path: Path, lines: list[int]) -> np.ndarray:
    """Cells as float64. Blank cells become NaN; ``Infinity``/``NaN`` are accepted.

    Any other non-numeric cell raises an :class:`InputError` naming the column, line and value.
    """
    try:
        return np.array(cells, dtype=str).astype(np.float64)
    except ValueError:
        pass
    out = np.empty(len(cells), dtype=np.float64)
    for i, cell in enumerate(cells):
        s = cell.strip()
        if not s:
            out[i] = np.nan
            continue
        try:
            out[i] = float(s)
        except ValueError:
            raise InputError(
                f"{path}: column {name!r} has a non-numeric value {s[:40]!r} on line "
                f"{lines[i]}; choose numeric feature columns as features",
                param="features",
            ) from None
    return out


def column_floats(table: Table, index: int, name: str) -> np.ndarray:
    """Column ``index`` of a table as float64 (see :func:`to_floats`)."""
    return to_floats([row[index] for row in table.rows], name, table.path, table.lines)


def columns_matrix(table: Table, indices: list[int], names: list[str]) -> np.ndarray:
    """The float matrix (n, len(indices)) of the chosen columns.

    Fast path: all cells of the chunk go through ``float`` in one pass; any blank or
    non-numeric cell falls back to the column-wise :func:`to_floats` for NaN and messages.
    """
    n, d = len(table.rows), len(indices)
    if d == 0:
        return np.empty((n, 0), dtype=np.float64)
    getter = itemgetter(*indices) if d > 1 else (lambda row: (row[indices[0]],))
    flat = chain.from_iterable(map(getter, table.rows))
    try:
        return np.fromiter(map(float, flat), dtype=np.float64, count=n * d).reshape(n, d)
    except ValueError:
        cols = [column_floats(table, i, c) for i, c in zip(indices, names, strict=True)]
        return np.column_stack(cols)
