"""Progress reporting from library code without printing.

Library functions take an optional ``progress`` callable and call it as
``progress(description, completed, total)``; ``total`` may be None when unknown. The CLI turns
these calls into rich progress bars (one bar per description); tests pass nothing.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressFn = Callable[[str, int, "int | None"], None]


def null_progress(description: str, completed: int, total: int | None) -> None:
    """The default: report nothing."""
