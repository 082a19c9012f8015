"""Training-factor studies: configs, designs, training and verification through verifyrun."""

from __future__ import annotations

from autospec_cli.exports import lazy_exports

_EXPORTS = {
    "StudyConfig": "config",
    "load_config": "config",
    "config_from_dict": "config",
    "run_study": "run",
    "design_runs": "run",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
