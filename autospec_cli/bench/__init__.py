"""GDVB: configs, covering arrays, network and property transformations, generation and runs."""

from __future__ import annotations

from autospec_cli.exports import lazy_exports

_EXPORTS = {
    "covering_array": "covering",
    "CoveringArray": "covering",
    "generate": "generate",
    "run": "run",
    "read_gdvb": "run",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
