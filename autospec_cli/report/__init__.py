"""Reports: tables and plots of verify, GDVB and study campaigns (builders by campaign kind)."""

from __future__ import annotations

from autospec_cli.exports import lazy_exports

_EXPORTS = {
    "REPORTS": "builders",
    "builder_for": "builders",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
