"""`autospec specs` commands (to be filled in)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add these commands to the `specs` sub-app."""
