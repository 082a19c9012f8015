"""Untrusted text made inert before it is rendered.

File and folder names, labels, feature names, parser messages and anything else read from a
user's files may contain rich markup (``[/]``, ``[bold]``) or emoji codes (``:x:``). Every
renderer passes such text through :func:`inert` before it goes into a rich string or table
cell (the consoles are created with emoji codes off), and error messages quote a file's
content only through :func:`excerpt`: a short, escaped piece of *our own* input.
"""

from __future__ import annotations

from rich.markup import escape

EXCERPT_CHARS = 40


def inert(value: object) -> str:
    """``value`` as text that rich prints literally (markup brackets escaped)."""
    return escape(str(value))


def excerpt(text: str | bytes, limit: int = EXCERPT_CHARS) -> str:
    """At most ``limit`` characters of ``text`` as a quoted, escaped Python literal (control
    characters and non-ASCII shown as escapes), ``...`` marking a cut."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "backslashreplace")
    cut = len(text) > limit
    shown = ascii(text[:limit])
    return shown + ("..." if cut else "")
